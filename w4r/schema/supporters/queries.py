"""A supporter's data, for the section's admins to answer an access request."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import strawberry
from strawberry.scalars import JSON

from w4r.platform.errors import InvalidInputError
from w4r.schema.context import Info
from w4r.schema.errors import bad_user_input
from w4r.schema.supporters.mutations import supporter_service


def _exported_ids(export: dict[str, Any]) -> list[UUID]:
    """The ids of the exported rows, for the audit log (which keeps ids, never data)."""
    ids = [] if export["supporter"] is None else [UUID(export["supporter"]["id"])]
    for collection in ("consents", "signatures", "eventRegistrations", "tallies", "mail"):
        ids.extend(UUID(row["id"]) for row in export[collection])
    return ids


@strawberry.type
class SupporterQueries:
    @strawberry.field(
        description="Everything this section holds about an email, as machine-readable JSON "
        "(section admins; GDPR access and portability).",
    )
    async def supporter_export(self, info: Info, email: str) -> JSON:
        try:
            service = await supporter_service(info)
            export = await service.export(email)
        except InvalidInputError as error:
            raise bad_user_input(str(error)) from error
        info.context.audit.export("supporter", _exported_ids(export))
        return JSON(export)
