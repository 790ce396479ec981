"""The audit log query: a section's admins see its rows, IS admins every row (global)."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import strawberry

from w4r.audit.repository import AuditFilterSpec, AuditRepository
from w4r.schema.audit.types import AuditEntryNode, AuditLogFilter
from w4r.schema.context import Info
from w4r.schema.errors import bad_user_input
from w4r.schema.pagination import (
    Connection,
    build_connection,
    decode_cursor,
    invalid_cursor,
    page_size,
)

AUDIT_CURSOR = "AuditEntry"


def _moment(value: datetime | None, name: str) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise bad_user_input(f"`{name}` needs a time zone offset, e.g. 2026-12-10T09:00:00Z.")
    return value.astimezone(UTC)


def _spec(filter: AuditLogFilter | None) -> AuditFilterSpec:  # noqa: A002
    if filter is None:
        return AuditFilterSpec()
    since = _moment(filter.since, "since")
    until = _moment(filter.until, "until")
    if since is not None and until is not None and until < since:
        raise bad_user_input("`until` is before `since`.")
    return AuditFilterSpec(
        since=since, until=until, actor_subject=filter.actor_subject, action=filter.action
    )


def _before(after: str | None) -> tuple[datetime, UUID] | None:
    if after is None:
        return None
    occurred_at, entry_id = decode_cursor(AUDIT_CURSOR, after, 2)
    try:
        moment = datetime.fromisoformat(occurred_at)
        if moment.tzinfo is None:
            raise invalid_cursor()
        return moment.astimezone(UTC), UUID(entry_id)
    except (ValueError, OverflowError) as error:
        raise invalid_cursor() from error


@strawberry.type
class AuditQueries:
    @strawberry.field(
        description="Who did what, newest first: at a section's endpoint that section's "
        "entries (its admins), in the global scope every entry (IS admins)."
    )
    async def audit_log(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        filter: AuditLogFilter | None = None,  # noqa: A002
    ) -> Connection[AuditEntryNode]:
        limit = page_size(first)
        spec = _spec(filter)
        entries = await AuditRepository(info.context.session).page(
            spec, before=_before(after), limit=limit + 1
        )
        # Reading the log reads who did what (staff identities): that is audited too.
        info.context.audit.personal_data("Query.auditLog", [entry.id for entry in entries[:limit]])
        return build_connection(
            entries,
            limit,
            kind=AUDIT_CURSOR,
            key=lambda entry: (entry.occurred_at.isoformat(), str(entry.id)),
            node=AuditEntryNode.from_model,
        )
