"""All SQL about supporters, consents, petition signatures and supporter tokens.

Every statement runs in the session's bound section: row-level security keeps each section
to its own supporters, so no query here names a section.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from w4r.supporters.models import (
    Consent,
    ConsentMethod,
    ConsentPurpose,
    Signature,
    SignatureStatus,
    Supporter,
    SupporterToken,
    TokenKind,
)


class SupporterRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, row: Any) -> Any:
        self._session.add(row)
        await self._session.flush()
        await self._session.refresh(row)
        return row

    # --- supporters ----------------------------------------------------------------------

    async def by_email_hash(self, email_hash: str, *, lock: bool = False) -> Supporter | None:
        query = select(Supporter).where(Supporter.email_hash == email_hash)
        if lock:
            query = query.with_for_update()
        return (await self._session.execute(query)).scalar_one_or_none()

    async def get(self, supporter_id: UUID, *, lock: bool = False) -> Supporter | None:
        query = select(Supporter).where(Supporter.id == supporter_id)
        if lock:
            query = query.with_for_update()
        return (await self._session.execute(query)).scalar_one_or_none()

    async def get_or_create(self, email_hash: str, **values: Any) -> tuple[Supporter, bool]:
        """The supporter with this hash, locked, created from ``values`` when new. Two
        concurrent first signatures of one person meet on the unique key: one inserts,
        the other waits for it and finds the row."""
        inserted = await self._session.execute(
            insert(Supporter)
            .values(email_hash=email_hash, **values)
            .on_conflict_do_nothing(index_elements=["section_id", "email_hash"])
            .returning(Supporter.id)
        )
        created = inserted.scalar_one_or_none() is not None
        supporter = await self.by_email_hash(email_hash, lock=True)
        assert supporter is not None
        if created:
            await self._session.refresh(supporter)
        return supporter, created

    async def update(self, supporter: Supporter, **values: Any) -> Supporter:
        await self._session.execute(
            update(Supporter)
            .where(Supporter.id == supporter.id)
            .values(**values, updated_at=func.now())
        )
        await self._session.refresh(supporter)
        return supporter

    async def touch(self, supporter_id: UUID) -> None:
        """Record the supporter's own activity now (what retention measures from)."""
        await self._session.execute(
            update(Supporter)
            .where(Supporter.id == supporter_id)
            .values(last_activity_at=func.now(), updated_at=func.now())
        )

    async def inactive_since(self, moment: datetime, limit: int) -> list[Supporter]:
        result = await self._session.execute(
            select(Supporter)
            .where(Supporter.last_activity_at < moment)
            .order_by(Supporter.last_activity_at, Supporter.id)
            .limit(limit)
        )
        return list(result.scalars())

    async def delete(self, supporter_id: UUID) -> None:
        """The supporter and, by cascade, their consents and tokens."""
        await self._session.execute(delete(Supporter).where(Supporter.id == supporter_id))

    # --- consents ------------------------------------------------------------------------

    async def consents(self, supporter_id: UUID) -> list[Consent]:
        result = await self._session.execute(
            select(Consent)
            .where(Consent.supporter_id == supporter_id)
            .order_by(Consent.given_at, Consent.id)
        )
        return list(result.scalars())

    async def active_consents(
        self,
        supporter_id: UUID,
        purpose: ConsentPurpose | None = None,
        case_id: UUID | None = None,
    ) -> list[Consent]:
        """Consents not withdrawn (confirmed or waiting for confirmation); of one purpose
        (and case) when given."""
        query = select(Consent).where(
            Consent.supporter_id == supporter_id, Consent.withdrawn_at.is_(None)
        )
        if purpose is not None:
            query = query.where(Consent.purpose == purpose)
        if case_id is not None:
            query = query.where(Consent.case_id == case_id)
        result = await self._session.execute(query.order_by(Consent.given_at, Consent.id))
        return list(result.scalars())

    async def withdraw(
        self,
        consent_ids: Sequence[UUID],
        *,
        method: ConsentMethod,
        withdrawn_by: str | None,
    ) -> int:
        if not consent_ids:
            return 0
        result = await self._session.execute(
            update(Consent)
            .where(Consent.id.in_(consent_ids), Consent.withdrawn_at.is_(None))
            .values(
                withdrawn_at=func.now(),
                withdrawal_method=method,
                withdrawn_by=withdrawn_by,
                confirmation_token_id=None,
            )
            .returning(Consent.id)
        )
        return len(result.all())

    async def confirm_consents(self, token_id: UUID) -> int:
        result = await self._session.execute(
            update(Consent)
            .where(Consent.confirmation_token_id == token_id, Consent.withdrawn_at.is_(None))
            .values(confirmed_at=func.now(), confirmation_token_id=None)
            .returning(Consent.id)
        )
        return len(result.all())

    # --- signatures ----------------------------------------------------------------------

    async def signature(self, signature_id: UUID, *, lock: bool = False) -> Signature | None:
        query = select(Signature).where(Signature.id == signature_id)
        if lock:
            query = query.with_for_update()
        return (await self._session.execute(query)).scalar_one_or_none()

    async def signatures_of(self, supporter_id: UUID) -> list[Signature]:
        result = await self._session.execute(
            select(Signature)
            .where(Signature.supporter_id == supporter_id)
            .order_by(Signature.created_at, Signature.id)
        )
        return list(result.scalars())

    async def open_signature(
        self, supporter_id: UUID, campaign_id: UUID, case_id: UUID
    ) -> Signature | None:
        """The person's pending or counted signature of this petition (never a flagged
        one), locked."""
        result = await self._session.execute(
            select(Signature)
            .where(
                Signature.supporter_id == supporter_id,
                Signature.campaign_id == campaign_id,
                Signature.case_id == case_id,
                Signature.status != SignatureStatus.FLAGGED,
            )
            .with_for_update()
        )
        return result.scalar_one_or_none()

    async def update_signature(self, signature: Signature, **values: Any) -> Signature:
        await self._session.execute(
            update(Signature).where(Signature.id == signature.id).values(**values)
        )
        await self._session.refresh(signature)
        return signature

    async def count_signature(self, signature_id: UUID, action_id: UUID) -> bool:
        """Pending -> counted; False when it was not pending (it never counts twice)."""
        result = await self._session.execute(
            update(Signature)
            .where(Signature.id == signature_id, Signature.status == SignatureStatus.PENDING)
            .values(status=SignatureStatus.COUNTED, action_id=action_id, confirmed_at=func.now())
            .returning(Signature.id)
        )
        return result.first() is not None

    async def unlink_signatures(self, supporter_id: UUID) -> list[UUID]:
        """Remove every personal field from the supporter's signatures; their ids."""
        result = await self._session.execute(
            update(Signature)
            .where(Signature.supporter_id == supporter_id)
            .values(supporter_id=None, name=None, country=None, erased_at=func.now())
            .returning(Signature.id)
        )
        return [signature_id for (signature_id,) in result]

    async def delivery_list(self, case_id: UUID, campaign_id: UUID | None) -> list[Signature]:
        """Counted signatures of the case whose signer consents (confirmed, not withdrawn)
        to having their name handed to the authorities, oldest first."""
        consenting = (
            select(Consent.id)
            .where(
                Consent.supporter_id == Signature.supporter_id,
                Consent.purpose == ConsentPurpose.PETITION_DELIVERY,
                Consent.case_id == Signature.case_id,
                Consent.confirmed_at.is_not(None),
                Consent.withdrawn_at.is_(None),
            )
            .exists()
        )
        query = select(Signature).where(
            Signature.case_id == case_id,
            Signature.status == SignatureStatus.COUNTED,
            Signature.erased_at.is_(None),
            consenting,
        )
        if campaign_id is not None:
            query = query.where(Signature.campaign_id == campaign_id)
        result = await self._session.execute(query.order_by(Signature.created_at, Signature.id))
        return list(result.scalars())

    # --- tokens --------------------------------------------------------------------------

    async def token(self, token_hash: str, kind: TokenKind) -> SupporterToken | None:
        """The token, locked, so two uses of one link cannot both succeed."""
        result = await self._session.execute(
            select(SupporterToken)
            .where(SupporterToken.token_hash == token_hash, SupporterToken.kind == kind)
            .with_for_update()
        )
        return result.scalar_one_or_none()

    async def use_token(self, token_id: UUID) -> None:
        await self._session.execute(
            update(SupporterToken).where(SupporterToken.id == token_id).values(used_at=func.now())
        )

    async def tokens_of(self, supporter_id: UUID) -> list[SupporterToken]:
        result = await self._session.execute(
            select(SupporterToken)
            .where(SupporterToken.supporter_id == supporter_id)
            .order_by(SupporterToken.created_at, SupporterToken.id)
        )
        return list(result.scalars())
