"""GraphQL inputs of API key mutations."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import strawberry


@strawberry.input
class ApiKeyCreateInput:
    name: str = strawberry.field(description="What the key is for, e.g. 'Petition site'.")
    scopes: list[str] = strawberry.field(
        description="At least one of cases:read, actions:record, actions:import (a key of the "
        "IS, created in the global scope: cases:read only)."
    )
    expires_at: datetime | None = strawberry.field(
        default=None, description="When the key stops working; never when omitted."
    )


@strawberry.input
class ApiKeyRevokeInput:
    id: UUID
