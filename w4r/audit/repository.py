"""All SQL of the audit log: appending rows and reading pages of them.

Row-level security decides which rows a session sees (its section's, or every row in the
global scope); nothing here filters by section by hand.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import insert, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from w4r.audit.models import AuditEntry


@dataclass(frozen=True, slots=True)
class AuditFilterSpec:
    """Which rows to list; None means no condition."""

    since: datetime | None = None
    until: datetime | None = None
    actor_subject: str | None = None
    action: str | None = None


class AuditRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def append(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert ``rows`` (column values; ``section_id`` comes from the binding)."""
        if rows:
            await self._session.execute(insert(AuditEntry), list(rows))

    async def page(
        self,
        spec: AuditFilterSpec,
        *,
        before: tuple[datetime, UUID] | None,
        limit: int,
    ) -> list[AuditEntry]:
        """Newest first; ``before`` is the (occurred_at, id) key the page starts after."""
        query = select(AuditEntry).order_by(AuditEntry.occurred_at.desc(), AuditEntry.id.desc())
        if spec.since is not None:
            query = query.where(AuditEntry.occurred_at >= spec.since)
        if spec.until is not None:
            query = query.where(AuditEntry.occurred_at < spec.until)
        if spec.actor_subject is not None:
            query = query.where(AuditEntry.actor_subject == spec.actor_subject)
        if spec.action is not None:
            query = query.where(AuditEntry.action == spec.action)
        if before is not None:
            query = query.where(tuple_(AuditEntry.occurred_at, AuditEntry.id) < before)
        return list((await self._session.execute(query.limit(limit))).scalars())
