"""All SQL of webhooks, in the session's bound section (row-level security scopes it).

Subscriptions are listed per owner: the section's admins see every subscription of the
section; an API key sees only its own (``api_key_id``). Enqueueing is one ``INSERT …
SELECT`` from the section's enabled subscriptions of that event kind: the outbox row is
written by the statement that finds who wants it, in the caller's transaction.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import orjson
from sqlalchemy import (
    ColumnElement,
    and_,
    cast,
    delete,
    exists,
    func,
    literal,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncSession

from w4r.apikeys.models import ApiKey
from w4r.campaigns.models import Campaign
from w4r.cases.models import Case
from w4r.platform.grouping import group_by
from w4r.totals.models import CaseRollup, SectionRollup
from w4r.webhooks.models import (
    MILESTONE_CHECK_SLOTS,
    AttemptOutcome,
    CaseMilestone,
    DeliveryStatus,
    EventKind,
    MilestoneCheck,
    SectionMilestone,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)

_MARK_TOTALS_CHANGED = text(
    "INSERT INTO webhook_milestone_checks (campaign_id, case_id, slot) "
    "SELECT * FROM unnest(CAST(:campaign_ids AS uuid[]), CAST(:case_ids AS uuid[]), "
    "CAST(:slots AS smallint[])) "
    "ON CONFLICT (section_id, campaign_id, case_id, slot) DO UPDATE SET slot = EXCLUDED.slot"
)


@dataclass(frozen=True, slots=True)
class Owner:
    """Who manages subscriptions: one API key (its own only), or with ``api_key_id`` None
    the section's admins, who see and manage every subscription of their section."""

    api_key_id: UUID | None

    @property
    def is_section(self) -> bool:
        return self.api_key_id is None


@dataclass(frozen=True, slots=True)
class Claimed:
    delivery: WebhookDelivery
    subscription: WebhookSubscription
    owner_is_active: bool
    """False when the subscription's API key was revoked or expired: deliver nothing."""


def _key_is_active() -> ColumnElement[bool]:
    return exists(
        select(ApiKey.id).where(
            ApiKey.id == WebhookSubscription.api_key_id,
            ApiKey.revoked_at.is_(None),
            or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > func.now()),
        )
    )


def _owner_is_active() -> ColumnElement[bool]:
    return or_(WebhookSubscription.api_key_id.is_(None), _key_is_active())


class WebhookRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    # --- subscriptions ---------------------------------------------------------------------

    @staticmethod
    def _visible_to(query: Any, owner: Owner) -> Any:
        if owner.api_key_id is None:
            return query
        return query.where(WebhookSubscription.api_key_id == owner.api_key_id)

    async def add_subscription(self, subscription: WebhookSubscription) -> WebhookSubscription:
        self._session.add(subscription)
        await self._session.flush()
        await self._session.refresh(subscription)
        return subscription

    async def subscription(
        self, subscription_id: UUID, *, owner: Owner, lock: bool = False
    ) -> WebhookSubscription | None:
        query = self._visible_to(
            select(WebhookSubscription).where(WebhookSubscription.id == subscription_id), owner
        )
        if lock:
            query = query.with_for_update()
        return (await self._session.execute(query)).scalar_one_or_none()

    async def count_owned(self, owner: Owner) -> int:
        """How many subscriptions ``owner`` itself owns (the section's: no key's)."""
        query = select(func.count()).select_from(WebhookSubscription)
        query = query.where(WebhookSubscription.api_key_id.is_not_distinct_from(owner.api_key_id))
        return int((await self._session.execute(query)).scalar_one())

    async def subscriptions_page(
        self, *, owner: Owner, after: tuple[datetime, UUID] | None, limit: int
    ) -> list[WebhookSubscription]:
        query = self._visible_to(
            select(WebhookSubscription)
            .order_by(WebhookSubscription.created_at, WebhookSubscription.id)
            .limit(limit),
            owner,
        )
        if after is not None:
            query = query.where(
                tuple_(WebhookSubscription.created_at, WebhookSubscription.id) > tuple_(*after)
            )
        return list((await self._session.execute(query)).scalars())

    async def update_subscription(
        self, subscription: WebhookSubscription, **values: Any
    ) -> WebhookSubscription:
        for name, value in values.items():
            setattr(subscription, name, value)
        subscription.updated_at = datetime.now(UTC)
        await self._session.flush()
        await self._session.refresh(subscription)
        return subscription

    async def delete_subscription(self, subscription: WebhookSubscription) -> None:
        await self._session.execute(
            delete(WebhookSubscription).where(WebhookSubscription.id == subscription.id)
        )

    # --- the outbox ------------------------------------------------------------------------

    async def enqueue(self, event: EventKind, data: dict[str, Any], *, public: bool) -> int:
        """One pending delivery for each enabled subscription of the bound section that
        listens to ``event`` and whose owner is active; ``public=False`` leaves out the
        subscriptions of API keys (they receive public data only). Returns how many."""
        chosen = select(
            WebhookSubscription.id,
            literal(event.value),
            cast(literal(data, JSONB), JSONB),
        ).where(
            WebhookSubscription.is_enabled,
            WebhookSubscription.events.contains([event.value]),
            _owner_is_active(),
        )
        if not public:
            chosen = chosen.where(WebhookSubscription.api_key_id.is_(None))
        result = await self._session.execute(
            insert(WebhookDelivery)
            .from_select(["subscription_id", "event", "payload"], chosen)
            .returning(WebhookDelivery.id)
        )
        return len(result.all())

    async def enqueue_everywhere(self, event: EventKind, data: dict[str, Any]) -> int:
        """The same as :meth:`enqueue` (public), in every section, in one round trip: the
        database function binds the transaction to each section in turn (so row-level
        security admits only that section's rows) and restores the binding before it
        returns. See migration 0009."""
        result = await self._session.execute(
            text("SELECT webhook_enqueue_everywhere(:kind, CAST(:data AS jsonb))"),
            {"kind": event.value, "data": orjson.dumps(data).decode()},
        )
        return int(result.scalar_one())

    async def claim_due(self, limit: int) -> list[Claimed]:
        """Due deliveries of enabled subscriptions, locked for this transaction; rows another
        dispatcher holds are skipped, not waited for. A disabled subscription's deliveries
        wait until it is enabled again."""
        result = await self._session.execute(
            select(WebhookDelivery, WebhookSubscription, _owner_is_active())
            .join(
                WebhookSubscription,
                and_(
                    WebhookSubscription.section_id == WebhookDelivery.section_id,
                    WebhookSubscription.id == WebhookDelivery.subscription_id,
                ),
            )
            .where(
                WebhookDelivery.status == DeliveryStatus.PENDING,
                WebhookDelivery.next_attempt_at <= func.now(),
                WebhookSubscription.is_enabled,
            )
            .order_by(
                WebhookDelivery.next_attempt_at, WebhookDelivery.created_at, WebhookDelivery.id
            )
            .limit(limit)
            .with_for_update(of=WebhookDelivery, skip_locked=True)
        )
        return [
            Claimed(delivery, subscription, bool(active))
            for delivery, subscription, active in result
        ]

    async def add_attempt(
        self,
        delivery_id: UUID,
        *,
        outcome: AttemptOutcome,
        duration_ms: int,
        status_code: int | None,
        error: str | None,
        response_excerpt: str | None,
    ) -> None:
        self._session.add(
            WebhookAttempt(
                delivery_id=delivery_id,
                outcome=outcome,
                duration_ms=duration_ms,
                status_code=status_code,
                error=error,
                response_excerpt=response_excerpt,
            )
        )
        await self._session.flush()

    async def finish(self, delivery_id: UUID, status: DeliveryStatus) -> None:
        """Delivered or failed: out of the queue."""
        await self._session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == delivery_id)
            .values(
                status=status,
                attempts=WebhookDelivery.attempts + 1,
                last_attempt_at=func.now(),
                delivered_at=func.now() if status is DeliveryStatus.DELIVERED else None,
            )
        )

    async def retry_later(self, delivery_id: UUID, at: datetime) -> None:
        await self._session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == delivery_id)
            .values(
                attempts=WebhookDelivery.attempts + 1,
                last_attempt_at=func.now(),
                next_attempt_at=at,
            )
        )

    async def delivery(self, delivery_id: UUID, *, lock: bool = False) -> WebhookDelivery | None:
        query = select(WebhookDelivery).where(WebhookDelivery.id == delivery_id)
        if lock:
            query = query.with_for_update()
        return (await self._session.execute(query)).scalar_one_or_none()

    async def requeue(self, delivery: WebhookDelivery) -> WebhookDelivery:
        """Pending again, due now, with a fresh retry budget; same id, same data."""
        delivery.status = DeliveryStatus.PENDING
        delivery.attempts = 0
        delivery.delivered_at = None
        delivery.next_attempt_at = datetime.now(UTC)
        await self._session.flush()
        await self._session.refresh(delivery)
        return delivery

    async def deliveries_page(
        self, subscription_id: UUID, *, before: tuple[datetime, UUID] | None, limit: int
    ) -> list[WebhookDelivery]:
        """A subscription's deliveries, newest first (keyset: created_at, id)."""
        query = (
            select(WebhookDelivery)
            .where(WebhookDelivery.subscription_id == subscription_id)
            .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc())
            .limit(limit)
        )
        if before is not None:
            query = query.where(
                tuple_(WebhookDelivery.created_at, WebhookDelivery.id) < tuple_(*before)
            )
        return list((await self._session.execute(query)).scalars())

    async def attempts_by_delivery_id(
        self, delivery_ids: Sequence[UUID]
    ) -> dict[UUID, list[WebhookAttempt]]:
        """Each delivery's attempts, oldest first."""
        result = await self._session.execute(
            select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id.in_(delivery_ids))
            .order_by(WebhookAttempt.attempted_at, WebhookAttempt.id)
        )
        return group_by(delivery_ids, result.scalars(), lambda attempt: attempt.delivery_id)

    # --- totals milestones -------------------------------------------------------------------

    async def mark_totals_changed(self, pairs: Sequence[tuple[UUID, UUID]]) -> None:
        """Leave a mark per (campaign, case) for the milestone check, in the ledger write's
        transaction. The mark's row stays locked until that transaction ends (a no-op
        update, not DO NOTHING, takes the lock), so the check, which skips locked marks,
        only takes a mark once the totals of every write that left it can be read. Marks
        are taken in a fixed order, so concurrent writers cannot deadlock."""
        if not pairs:
            return
        ordered = sorted(set(pairs), key=lambda pair: (str(pair[0]), str(pair[1])))
        await self._session.execute(
            _MARK_TOTALS_CHANGED,
            {
                "campaign_ids": [campaign_id for campaign_id, _ in ordered],
                "case_ids": [case_id for _, case_id in ordered],
                "slots": [random.randrange(MILESTONE_CHECK_SLOTS) for _ in ordered],
            },
        )

    async def claim_milestone_checks(self) -> list[tuple[UUID, UUID]]:
        """Take (delete) the bound section's marks that no running write holds; returns
        their distinct (campaign, case) pairs."""
        free = (
            select(MilestoneCheck.campaign_id, MilestoneCheck.case_id, MilestoneCheck.slot)
            .with_for_update(skip_locked=True)
            .subquery()
        )
        result = await self._session.execute(
            delete(MilestoneCheck)
            .where(
                tuple_(MilestoneCheck.campaign_id, MilestoneCheck.case_id, MilestoneCheck.slot).in_(
                    select(free.c.campaign_id, free.c.case_id, free.c.slot)
                )
            )
            .returning(MilestoneCheck.campaign_id, MilestoneCheck.case_id)
        )
        pairs = {(campaign_id, case_id) for campaign_id, case_id in result}
        return sorted(pairs, key=lambda pair: (str(pair[0]), str(pair[1])))

    async def section_total(self, campaign_id: UUID) -> int:
        """The bound section's actions for the campaign (every case, type and channel)."""
        result = await self._session.execute(
            select(func.coalesce(func.sum(SectionRollup.quantity), 0)).where(
                SectionRollup.campaign_id == campaign_id
            )
        )
        return int(result.scalar_one())

    async def case_total(self, campaign_id: UUID, case_id: UUID) -> int:
        """The case's worldwide actions for the campaign."""
        result = await self._session.execute(
            select(func.coalesce(func.sum(CaseRollup.quantity), 0)).where(
                CaseRollup.campaign_id == campaign_id, CaseRollup.case_id == case_id
            )
        )
        return int(result.scalar_one())

    async def record_section_milestones(
        self, campaign_id: UUID, thresholds: Sequence[int], total: int
    ) -> list[int]:
        """Record the thresholds not yet reached; return those this call recorded (a
        concurrent check that recorded one first wins it: each is recorded once)."""
        if not thresholds:
            return []
        result = await self._session.execute(
            insert(SectionMilestone)
            .values(
                [
                    {"campaign_id": campaign_id, "threshold": threshold, "quantity": total}
                    for threshold in thresholds
                ]
            )
            .on_conflict_do_nothing()
            .returning(SectionMilestone.threshold)
        )
        return sorted(threshold for (threshold,) in result)

    async def record_case_milestones(
        self, campaign_id: UUID, case_id: UUID, thresholds: Sequence[int], total: int
    ) -> list[int]:
        if not thresholds:
            return []
        result = await self._session.execute(
            insert(CaseMilestone)
            .values(
                [
                    {
                        "campaign_id": campaign_id,
                        "case_id": case_id,
                        "threshold": threshold,
                        "quantity": total,
                    }
                    for threshold in thresholds
                ]
            )
            .on_conflict_do_nothing()
            .returning(CaseMilestone.threshold)
        )
        return sorted(threshold for (threshold,) in result)

    async def campaign(self, campaign_id: UUID) -> Campaign | None:
        return await self._session.get(Campaign, campaign_id)

    async def case(self, case_id: UUID) -> Case | None:
        return await self._session.get(Case, case_id)
