"""API key queries."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import strawberry

from w4r.apikeys.service import ApiKeyService
from w4r.schema.apikeys.types import ApiKeyNode, api_key_node
from w4r.schema.context import Info
from w4r.schema.pagination import (
    Connection,
    build_connection,
    decode_cursor,
    invalid_cursor,
    page_size,
)

API_KEY_CURSOR = "ApiKey"


def _after(cursor: str | None) -> tuple[datetime, UUID] | None:
    if cursor is None:
        return None
    created_at, key_id = decode_cursor(API_KEY_CURSOR, cursor, 2)
    try:
        created = datetime.fromisoformat(created_at)
        if created.tzinfo is None:
            raise invalid_cursor()
        return created.astimezone(UTC), UUID(key_id)
    except (ValueError, OverflowError) as error:
        raise invalid_cursor() from error


@strawberry.type
class ApiKeyQueries:
    @strawberry.field(
        description="The keys of this request's scope, oldest first, revoked ones included: "
        "a section's at its endpoint, the IS's in the global scope (section admins, IS admins).",
    )
    async def api_keys(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[ApiKeyNode]:
        limit = page_size(first)
        cursor = _after(after)
        service = ApiKeyService(info.context.session, info.context.binding, info.context.principal)
        api_keys = await service.page(after=cursor, limit=limit + 1)
        return build_connection(
            api_keys,
            limit,
            kind=API_KEY_CURSOR,
            key=lambda key: (key.created_at.isoformat(), str(key.id)),
            node=lambda key: api_key_node(info, key),
        )
