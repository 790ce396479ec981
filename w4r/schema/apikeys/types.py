"""GraphQL types of API keys. A key's secret is never a field: only its creation returns it."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import strawberry

from w4r.apikeys.models import ApiKey
from w4r.apikeys.service import is_active, utc_now
from w4r.schema.context import Info


@strawberry.type(
    name="ApiKey", description="A key a partner app or integration sends as its bearer token."
)
class ApiKeyNode:
    id: UUID
    name: str
    display_prefix: str = strawberry.field(
        description="The start of the key, to recognise it (e.g. 'w4r_AbCd1234'); the whole "
        "key is shown only once, when it is created."
    )
    scopes: list[str] = strawberry.field(
        description="What the key may do: cases:read, actions:record, actions:import."
    )
    section_code: str | None = strawberry.field(
        description="The section that owns the key; null for a key of the IS."
    )
    created_at: datetime
    created_by: str = strawberry.field(description="Who created the key (their subject).")
    last_used_at: datetime | None = strawberry.field(
        description="When the key was last used, to the minute."
    )
    expires_at: datetime | None
    revoked_at: datetime | None
    revoked_by: str | None
    is_active: bool = strawberry.field(description="Neither revoked nor expired.")

    @classmethod
    def from_model(cls, key: ApiKey, *, section_code: str | None, now: datetime) -> ApiKeyNode:
        return cls(
            id=key.id,
            name=key.name,
            display_prefix=key.display_prefix,
            scopes=list(key.scopes),
            section_code=section_code,
            created_at=key.created_at,
            created_by=key.created_by,
            last_used_at=key.last_used_at,
            expires_at=key.expires_at,
            revoked_at=key.revoked_at,
            revoked_by=key.revoked_by,
            is_active=is_active(key, now),
        )


def api_key_node(info: Info, key: ApiKey) -> ApiKeyNode:
    """A key of the request's scope: owned by its section, or by the IS in the global scope."""
    section = info.context.section
    return ApiKeyNode.from_model(
        key, section_code=None if section is None else section.code, now=utc_now()
    )
