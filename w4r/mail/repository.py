"""All SQL of the mail outbox (in the session's bound section)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from w4r.mail.models import MailStatus, OutboxMail


class MailRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, mail: OutboxMail) -> OutboxMail:
        self._session.add(mail)
        await self._session.flush()
        return mail

    async def claim_due(self, limit: int) -> list[OutboxMail]:
        """Due pending mail, locked for this transaction; rows another sender holds are
        skipped, not waited for (several replicas drain one outbox)."""
        result = await self._session.execute(
            select(OutboxMail)
            .where(
                OutboxMail.status == MailStatus.PENDING,
                OutboxMail.next_attempt_at <= func.now(),
            )
            .order_by(OutboxMail.next_attempt_at, OutboxMail.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list(result.scalars())

    async def mark_sent(self, mail_id: UUID) -> None:
        await self._finish(mail_id, status=MailStatus.SENT, sent_at=func.now(), last_error=None)

    async def mark_failed(self, mail_id: UUID, error: str) -> None:
        await self._finish(mail_id, status=MailStatus.FAILED, last_error=error)

    async def _finish(self, mail_id: UUID, **values: Any) -> None:
        # The body held a secret link: once the mail is done it is of no further use.
        await self._session.execute(
            update(OutboxMail)
            .where(OutboxMail.id == mail_id)
            .values(
                attempts=OutboxMail.attempts + 1,
                last_attempt_at=func.now(),
                body=None,
                **values,
            )
        )

    async def retry_later(self, mail_id: UUID, error: str, at: datetime) -> None:
        await self._session.execute(
            update(OutboxMail)
            .where(OutboxMail.id == mail_id)
            .values(
                attempts=OutboxMail.attempts + 1,
                last_attempt_at=func.now(),
                last_error=error,
                next_attempt_at=at,
            )
        )

    async def of_person(
        self, supporter_id: UUID | None, addresses: Sequence[str]
    ) -> list[OutboxMail]:
        """Mail to this supporter, or to one of these addresses (ignoring letter case)."""
        return list(
            (
                await self._session.execute(
                    select(OutboxMail)
                    .where(self._person(supporter_id, addresses))
                    .order_by(OutboxMail.created_at, OutboxMail.id)
                )
            ).scalars()
        )

    async def delete_of_person(self, supporter_id: UUID | None, addresses: Sequence[str]) -> int:
        result = await self._session.execute(
            delete(OutboxMail).where(self._person(supporter_id, addresses)).returning(OutboxMail.id)
        )
        return len(result.all())

    @staticmethod
    def _person(supporter_id: UUID | None, addresses: Sequence[str]) -> Any:
        lowered = [address.lower() for address in addresses]
        by_address = func.lower(OutboxMail.recipient).in_(lowered)
        if supporter_id is None:
            return by_address
        return or_(OutboxMail.supporter_id == supporter_id, by_address)

    async def recent_count(self, supporter_id: UUID, since: datetime) -> int:
        """Mail queued for this supporter since ``since`` (a bound on mail to one person)."""
        result = await self._session.execute(
            select(func.count())
            .select_from(OutboxMail)
            .where(OutboxMail.supporter_id == supporter_id, OutboxMail.created_at >= since)
        )
        return int(result.scalar_one())
