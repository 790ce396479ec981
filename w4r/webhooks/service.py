"""Rules about webhooks: who owns a subscription, what it may point at and hear, and what
each change of the platform enqueues.

Owners. A subscription belongs to a section, managed by its admins (and IS admins) at the
section's endpoint, or to one of the section's API keys with ``cases:read``, managed by that
key alone. Admins see every subscription of their section, their keys' too; a key sees its
own. The global scope has none: deliveries are tenant-owned, so they belong to a section.

Enqueueing (:class:`WebhookOutbox`) happens in the transaction of the change, through the
session that made it: a rolled-back change enqueues nothing.

- A section's own changes (events published or cancelled, registrations) go to that
  section's subscribers only.
- Changes of global, public data (a case published, an outcome added, a case's worldwide
  total reaching a milestone) go to every section's subscribers of that kind, whether or not
  the section features the case: a section may feature it later, and a case it no longer
  features may still matter to it. One statement binds the transaction to each section in
  turn (row-level security lets it write only the bound section's rows) and restores the
  caller's binding (``webhook_enqueue_everywhere``, migration 0009).
- A section's own total reaching a milestone goes to the section's own subscriptions, not
  to its API keys' (a section's totals are for its staff; keys get public data only).

Milestones (:class:`MilestoneChecker`): a ledger write only leaves a mark; the dispatcher
checks marked totals after those writes committed and records each threshold once, with
its deliveries, in one transaction. See docs/webhooks.md for why the check is not in the
ledger write itself.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from w4r.cases.models import Case, CaseOutcome, CaseStatus
from w4r.events.models import Event, Registration
from w4r.platform.auth import ApiScope, Principal, Role
from w4r.platform.database import TenantBinding
from w4r.platform.errors import InvalidInputError, PermissionDeniedError, ProblemCode
from w4r.platform.validation import Problems
from w4r.webhooks import payloads
from w4r.webhooks.destinations import check_url
from w4r.webhooks.models import (
    MAX_DESCRIPTION_LENGTH,
    DeliveryStatus,
    EventKind,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)
from w4r.webhooks.repository import Owner, WebhookRepository
from w4r.webhooks.signing import SecretBox, new_secret

MAX_SUBSCRIPTIONS_PER_OWNER: Final = 20


@dataclass(frozen=True, slots=True)
class WebhookPolicy:
    """The deployment's webhook configuration that the API needs."""

    box: SecretBox
    allow_loopback: bool = False
    wake_dispatcher: Callable[[], None] | None = None
    """Called once a redelivery is committed, so it goes out before the next poll."""


@dataclass(frozen=True, slots=True)
class WebhookDraft:
    url: str
    events: Sequence[str]
    """Event kind values, e.g. ``case.published``; unknown ones are refused."""
    description: str | None = None


@dataclass(frozen=True, slots=True)
class WebhookChanges:
    """What to change; None leaves a field as it is."""

    url: str | None = None
    events: Sequence[str] | None = None
    description: str | None = None
    is_enabled: bool | None = None


@dataclass(frozen=True, slots=True)
class CreatedWebhook:
    subscription: WebhookSubscription
    secret: str
    """The signing secret: returned once, to the caller who created the webhook."""


def event_kinds(values: Sequence[str], problems: Problems, field: str = "events") -> list[str]:
    """Known kinds, each once, in the order of :class:`EventKind`."""
    chosen: set[EventKind] = set()
    for value in values:
        try:
            chosen.add(EventKind(value.strip()))
        except ValueError:
            known = ", ".join(kind.value for kind in EventKind)
            problems.add(
                field, ProblemCode.UNKNOWN_EVENT_KIND, f"{value!r} is not an event kind: {known}."
            )
    if not values:
        problems.add(field, ProblemCode.REQUIRED, "Subscribe to at least one kind of event.")
    return [kind.value for kind in EventKind if kind in chosen]


class WebhookService:
    """The webhooks of the bound section, managed by ``actor``."""

    def __init__(
        self,
        session: AsyncSession,
        binding: TenantBinding,
        actor: Principal,
        policy: WebhookPolicy,
    ) -> None:
        self._webhooks = WebhookRepository(session)
        self._binding = binding
        self._actor = actor
        self._policy = policy

    def owner(self) -> Owner:
        """Section admins and IS admins manage the section's webhooks; a section's API key
        with cases:read its own. Raises PermissionDeniedError for anyone else."""
        if self._binding.section_id is None:
            raise InvalidInputError.one(
                None,
                ProblemCode.OUT_OF_SCOPE,
                "Webhooks belong to a section: call this at /s/<code>/graphql.",
            )
        actor = self._actor
        if actor.role in {Role.SECTION_ADMIN, Role.IS_ADMIN} and actor.scopes is None:
            return Owner(api_key_id=None)
        if (
            actor.role is Role.PARTNER_APP
            and actor.api_key_id is not None
            and actor.scopes is not None
            and ApiScope.READ_PUBLIC in actor.scopes
        ):
            return Owner(api_key_id=actor.api_key_id)
        raise PermissionDeniedError(
            "Webhooks are managed by a section's admins and by its API keys with cases:read."
        )

    async def create(self, draft: WebhookDraft) -> CreatedWebhook:
        owner = self.owner()
        problems = Problems()
        url = check_url(draft.url, problems, allow_loopback=self._policy.allow_loopback)
        events = event_kinds(draft.events, problems)
        description = problems.text(
            draft.description, "description", max_length=MAX_DESCRIPTION_LENGTH
        )
        problems.raise_any()
        if await self._webhooks.count_owned(owner) >= MAX_SUBSCRIPTIONS_PER_OWNER:
            raise InvalidInputError.one(
                None,
                ProblemCode.NOT_ALLOWED,
                f"At most {MAX_SUBSCRIPTIONS_PER_OWNER} webhooks each: delete one you no "
                "longer use, or subscribe one URL to several kinds of event.",
            )
        subscription_id = uuid.uuid4()
        secret = new_secret()
        subscription = await self._webhooks.add_subscription(
            WebhookSubscription(
                id=subscription_id,
                api_key_id=owner.api_key_id,
                url=url,
                events=events,
                description=description,
                secret_ciphertext=self._policy.box.seal(secret, subscription_id),
                created_by=self._actor.subject or self._actor.role.value,
            )
        )
        return CreatedWebhook(subscription=subscription, secret=secret)

    async def _visible(self, subscription_id: UUID, *, lock: bool = False) -> WebhookSubscription:
        subscription = await self._webhooks.subscription(
            subscription_id, owner=self.owner(), lock=lock
        )
        if subscription is None:
            raise InvalidInputError.one(
                "id", ProblemCode.NOT_FOUND, f"There is no webhook {subscription_id} here."
            )
        return subscription

    async def update(self, subscription_id: UUID, changes: WebhookChanges) -> WebhookSubscription:
        subscription = await self._visible(subscription_id, lock=True)
        problems = Problems()
        values: dict[str, Any] = {}
        if changes.url is not None:
            values["url"] = check_url(
                changes.url, problems, allow_loopback=self._policy.allow_loopback
            )
        if changes.events is not None:
            values["events"] = event_kinds(changes.events, problems)
        if changes.description is not None:
            values["description"] = problems.text(
                changes.description, "description", max_length=MAX_DESCRIPTION_LENGTH
            )
        if changes.is_enabled is not None:
            values["is_enabled"] = changes.is_enabled
        problems.raise_any()
        if not values:
            return subscription
        return await self._webhooks.update_subscription(subscription, **values)

    async def delete(self, subscription_id: UUID) -> WebhookSubscription:
        """Delete the webhook with its deliveries and their attempt log."""
        subscription = await self._visible(subscription_id, lock=True)
        await self._webhooks.delete_subscription(subscription)
        return subscription

    async def page(
        self, *, after: tuple[datetime, UUID] | None, limit: int
    ) -> list[WebhookSubscription]:
        return await self._webhooks.subscriptions_page(owner=self.owner(), after=after, limit=limit)

    async def deliveries(
        self, subscription_id: UUID, *, before: tuple[datetime, UUID] | None, limit: int
    ) -> list[WebhookDelivery]:
        """The webhook's deliveries, newest first; NOT_FOUND for another owner's webhook."""
        subscription = await self._visible(subscription_id)
        return await self._webhooks.deliveries_page(subscription.id, before=before, limit=limit)

    async def attempts(self, delivery_ids: Sequence[UUID]) -> dict[UUID, list[WebhookAttempt]]:
        return await self._webhooks.attempts_by_delivery_id(delivery_ids)

    async def redeliver(self, delivery_id: UUID) -> WebhookDelivery:
        """Queue a delivery again (delivered or failed): same id, same data, new attempts."""
        owner = self.owner()
        delivery = await self._webhooks.delivery(delivery_id, lock=True)
        visible = (
            None
            if delivery is None
            else await self._webhooks.subscription(delivery.subscription_id, owner=owner)
        )
        if delivery is None or visible is None:
            raise InvalidInputError.one(
                "deliveryId", ProblemCode.NOT_FOUND, f"There is no delivery {delivery_id} here."
            )
        if delivery.status is DeliveryStatus.PENDING:
            raise InvalidInputError.one(
                "deliveryId",
                ProblemCode.IN_PROGRESS,
                "The delivery is still queued: it will be attempted again without asking.",
            )
        return await self._webhooks.requeue(delivery)


class WebhookOutbox:
    """What the platform's changes enqueue, in the transaction that makes them."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._webhooks = WebhookRepository(session)

    # --- a section's own changes -----------------------------------------------------------

    async def event_published(self, event: Event) -> None:
        await self._webhooks.enqueue(
            EventKind.EVENT_PUBLISHED, payloads.event_published(event), public=True
        )

    async def event_cancelled(self, event: Event) -> None:
        await self._webhooks.enqueue(
            EventKind.EVENT_CANCELLED, payloads.event_cancelled(event), public=True
        )

    async def registration_created(
        self, event: Event, registration: Registration, seats_taken: int
    ) -> None:
        await self._webhooks.enqueue(
            EventKind.REGISTRATION_CREATED,
            payloads.registration_created(event, registration, seats_taken),
            public=True,
        )

    async def totals_changed(self, pairs: Sequence[tuple[UUID, UUID]]) -> None:
        """Mark (campaign, case) pairs whose totals this ledger write changed."""
        await self._webhooks.mark_totals_changed(pairs)

    # --- changes of global, public data -----------------------------------------------------

    async def case_published(self, case: Case) -> None:
        await self.everywhere(EventKind.CASE_PUBLISHED, payloads.case_published(case))

    async def case_outcome_added(self, case: Case, outcome: CaseOutcome) -> None:
        # An outcome of a draft case is not public yet: publishing the case announces it.
        if case.status is CaseStatus.PUBLISHED:
            await self.everywhere(
                EventKind.CASE_OUTCOME_ADDED, payloads.case_outcome_added(case, outcome)
            )

    async def everywhere(self, event: EventKind, data: payloads.Data) -> int:
        """Enqueue ``event`` for the subscribers of every section, in this transaction."""
        return await self._webhooks.enqueue_everywhere(event, data)


class MilestoneChecker:
    """Turns the marks of one section's ledger writes into milestones, once each."""

    def __init__(self, session: AsyncSession, thresholds: Sequence[int]) -> None:
        self._session = session
        self._thresholds = sorted(set(thresholds))
        self._webhooks = WebhookRepository(session)
        self._outbox = WebhookOutbox(session)

    def _reached(self, total: int) -> list[int]:
        return [threshold for threshold in self._thresholds if threshold <= total]

    async def check(self, section_code: str) -> int:
        """Check the bound section's marked totals; returns how many milestones this call
        recorded. A threshold already recorded (by an earlier or a concurrent check) is not
        recorded again, so each fires exactly once even if the total later drops below it
        (an event report's correction) and rises again."""
        pairs = await self._webhooks.claim_milestone_checks()
        if not pairs or not self._thresholds:
            return 0
        recorded = 0
        for campaign_id in sorted({campaign_id for campaign_id, _ in pairs}, key=str):
            campaign = await self._webhooks.campaign(campaign_id)
            if campaign is None:
                continue
            total = await self._webhooks.section_total(campaign_id)
            for threshold in await self._webhooks.record_section_milestones(
                campaign_id, self._reached(total), total
            ):
                recorded += 1
                await self._webhooks.enqueue(
                    EventKind.TOTALS_MILESTONE_REACHED,
                    payloads.section_milestone(
                        campaign_id=campaign_id,
                        year=campaign.year,
                        section_code=section_code,
                        threshold=threshold,
                        total=total,
                    ),
                    public=False,
                )
            for pair_campaign_id, case_id in pairs:
                if pair_campaign_id == campaign_id:
                    recorded += await self._check_case(campaign_id, campaign.year, case_id)
        return recorded

    async def _check_case(self, campaign_id: UUID, year: int, case_id: UUID) -> int:
        total = await self._webhooks.case_total(campaign_id, case_id)
        reached = await self._webhooks.record_case_milestones(
            campaign_id, case_id, self._reached(total), total
        )
        case = await self._webhooks.case(case_id) if reached else None
        if case is None:
            return 0
        for threshold in reached:
            await self._outbox.everywhere(
                EventKind.TOTALS_MILESTONE_REACHED,
                payloads.case_milestone(
                    campaign_id=campaign_id, year=year, case=case, threshold=threshold, total=total
                ),
            )
        return len(reached)
