"""Ledger queries for section staff."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import strawberry

from w4r.actions.repository import LedgerRepository
from w4r.schema.actions.enums import TallyStateEnum
from w4r.schema.actions.types import TallyNode
from w4r.schema.context import Info
from w4r.schema.pagination import (
    Connection,
    build_connection,
    decode_cursor,
    invalid_cursor,
    page_size,
)

TALLY_CURSOR = "Tally"


@strawberry.type
class ActionQueries:
    @strawberry.field(description="This section's tallies, oldest first (section staff).")
    async def tallies(
        self,
        info: Info,
        state: TallyStateEnum | None = None,  # type: ignore[valid-type]
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[TallyNode]:
        limit = page_size(first)
        cursor = None
        if after is not None:
            created_at, tally_id = decode_cursor(TALLY_CURSOR, after, 2)
            try:
                cursor = (datetime.fromisoformat(created_at), UUID(tally_id))
            except ValueError as error:
                raise invalid_cursor() from error
        repository = LedgerRepository(info.context.session)
        tallies = await repository.tallies(
            state=None if state is None else state.value, limit=limit + 1, after=cursor
        )
        lines = await repository.tally_lines([tally.id for tally in tallies])
        return build_connection(
            tallies,
            limit,
            kind=TALLY_CURSOR,
            key=lambda tally: (tally.created_at.isoformat(), str(tally.id)),
            node=lambda tally: TallyNode.from_model(tally, lines[tally.id]),
        )
