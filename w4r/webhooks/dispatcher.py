"""Delivering the outbox over HTTPS: claimed safely across replicas, retried with backoff.

Like the mail sender, the dispatcher visits one section at a time (the outbox is
tenant-owned): it binds a transaction to the section, first turns the section's totals marks
into milestones (:class:`~w4r.webhooks.service.MilestoneChecker`), commits, then claims due
deliveries with ``FOR UPDATE SKIP LOCKED``, sends them concurrently, records every attempt
and commits. A replica that finds rows locked skips them; one that dies mid-send leaves its
rows pending (its transaction rolls back) and another sends them later: delivery is at
least once, and the ``W4R-Webhook-Id`` header lets a receiver drop a duplicate. One
webhook's deliveries go out one after the other, oldest first; different webhooks' at the
same time.

Each request is a POST of the raw JSON body with the signed headers
(:mod:`w4r.webhooks.signing`), no redirects followed, a timeout on the whole exchange. A 2xx
answer delivers; anything else (another status, a timeout, a refused connection) is retried
after a doubled wait with jitter, until the attempts run out: then the delivery has failed
(``webhookRedeliver`` queues it again). Nothing of a request is logged but ids, the event
kind, the status code and an error class: never a URL, a secret or a body.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final
from uuid import UUID

import httpx

from w4r.platform.database import Database, TenantBinding
from w4r.platform.metrics import WEBHOOK_DELIVERIES
from w4r.platform.outbox import BackgroundLoop, RetryPolicy
from w4r.tenants.repository import RegistryRow, SectionRepository
from w4r.webhooks import payloads
from w4r.webhooks.destinations import ForbiddenDestinationError, check_destination
from w4r.webhooks.models import MAX_RESPONSE_EXCERPT, AttemptOutcome, DeliveryStatus
from w4r.webhooks.repository import Claimed, WebhookRepository
from w4r.webhooks.service import MilestoneChecker
from w4r.webhooks.signing import SealedSecretError, SecretBox, signed_headers

logger = logging.getLogger(__name__)

USER_AGENT: Final = "w4r-webhooks/1"


@dataclass(frozen=True, slots=True)
class DispatchPolicy:
    retry: RetryPolicy
    timeout_seconds: float = 10.0
    batch_size: int = 20
    milestones: tuple[int, ...] = ()
    allow_loopback: bool = False


@dataclass(frozen=True, slots=True)
class AttemptResult:
    outcome: AttemptOutcome
    duration_ms: int
    status_code: int | None = None
    error: str | None = None
    response_excerpt: str | None = None


@dataclass
class DispatchReport:
    sections: int = 0
    milestones: int = 0
    delivered: int = 0
    retried: int = 0
    failed: int = 0
    by_section: dict[UUID, tuple[int, int, int]] = field(default_factory=dict)

    def add(self, section_id: UUID, delivered: int, retried: int, failed: int) -> None:
        self.delivered += delivered
        self.retried += retried
        self.failed += failed
        if delivered or retried or failed:
            before = self.by_section.get(section_id, (0, 0, 0))
            self.by_section[section_id] = (
                before[0] + delivered,
                before[1] + retried,
                before[2] + failed,
            )


def excerpt(text: str) -> str | None:
    """The start of a response body, printable characters only, for the attempt log."""
    cleaned = "".join(
        character for character in text[:MAX_RESPONSE_EXCERPT] if character.isprintable()
    )
    return cleaned or None


class WebhookDispatcher:
    def __init__(
        self,
        database: Database,
        box: SecretBox,
        policy: DispatchPolicy,
        *,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self._database = database
        self._box = box
        self._policy = policy
        self._client = client or httpx.AsyncClient(
            timeout=httpx.Timeout(policy.timeout_seconds),
            follow_redirects=False,
            headers={"user-agent": USER_AGENT},
        )
        self._loop = BackgroundLoop("w4r-webhook-dispatcher", self._drain_and_log)

    @property
    def database(self) -> Database:
        return self._database

    async def _sections(self) -> list[RegistryRow]:
        async with self._database.session(TenantBinding.global_scope()) as session:
            return await SectionRepository(session).registry()

    async def drain(self, section_ids: Sequence[UUID] | None = None) -> DispatchReport:
        """Check the milestones and send every delivery due now, in every section (or in
        those given), once each."""
        report = DispatchReport()
        sections = await self._sections()
        if section_ids is not None:
            wanted = set(section_ids)
            sections = [section for section in sections if section.id in wanted]
        for section in sections:
            report.sections += 1
            report.milestones += await self._check_milestones(section)
            while True:
                claimed, delivered, retried, failed = await self._drain_batch(section.id)
                report.add(section.id, delivered, retried, failed)
                if claimed < self._policy.batch_size:
                    break
        return report

    async def _check_milestones(self, section: RegistryRow) -> int:
        binding = TenantBinding.for_section(section.id)
        async with self._database.session(binding) as session:
            recorded = await MilestoneChecker(session, self._policy.milestones).check(section.code)
            await session.commit()
        return recorded

    async def _drain_batch(self, section_id: UUID) -> tuple[int, int, int, int]:
        delivered = retried = failed = 0
        async with self._database.session(TenantBinding.for_section(section_id)) as session:
            repository = WebhookRepository(session)
            claimed = await repository.claim_due(self._policy.batch_size)
            results = await self._attempt_all(claimed)
            for item, result in zip(claimed, results, strict=True):
                delivery = item.delivery
                await repository.add_attempt(
                    delivery.id,
                    outcome=result.outcome,
                    duration_ms=result.duration_ms,
                    status_code=result.status_code,
                    error=result.error,
                    response_excerpt=result.response_excerpt,
                )
                if result.outcome is AttemptOutcome.DELIVERED:
                    await repository.finish(delivery.id, DeliveryStatus.DELIVERED)
                    delivered += 1
                elif result.outcome is AttemptOutcome.FAILED:
                    await repository.finish(delivery.id, DeliveryStatus.FAILED)
                    failed += 1
                else:
                    due = datetime.now(UTC) + self._policy.retry.delay(delivery.attempts + 1)
                    await repository.retry_later(delivery.id, due)
                    retried += 1
                WEBHOOK_DELIVERIES.labels(
                    event=delivery.event.value, outcome=result.outcome.value
                ).inc()
            await session.commit()
        return len(claimed), delivered, retried, failed

    async def _attempt_all(self, claimed: Sequence[Claimed]) -> list[AttemptResult]:
        """Every claimed delivery's attempt, in the order claimed: one webhook's deliveries
        one after the other (so they arrive in order when all succeed), different
        webhooks' at the same time."""
        by_subscription: dict[UUID, list[int]] = {}
        for index, item in enumerate(claimed):
            by_subscription.setdefault(item.subscription.id, []).append(index)
        results: list[AttemptResult | None] = [None] * len(claimed)

        async def in_order(indexes: list[int]) -> None:
            for index in indexes:
                results[index] = await self._attempt(claimed[index])

        await asyncio.gather(*(in_order(indexes) for indexes in by_subscription.values()))
        return [result for result in results if result is not None]

    def _retry_or_fail(self, attempts_made: int) -> AttemptOutcome:
        if self._policy.retry.is_exhausted(attempts_made):
            return AttemptOutcome.FAILED
        return AttemptOutcome.RETRYING

    async def _attempt(self, item: Claimed) -> AttemptResult:
        """One request for one delivery; never raises (every outcome is logged)."""
        delivery, subscription = item.delivery, item.subscription
        attempts_made = delivery.attempts + 1
        if not item.owner_is_active:
            return AttemptResult(AttemptOutcome.FAILED, 0, error="ApiKeyInactive")
        try:
            secret = self._box.open(subscription.secret_ciphertext, subscription.id)
        except SealedSecretError as error:
            # The deployment's key changed: retried, so that restoring the key recovers.
            logger.error("webhook delivery %s not sent: %s", delivery.id, type(error).__name__)
            return AttemptResult(self._retry_or_fail(attempts_made), 0, error=type(error).__name__)
        try:
            await check_destination(subscription.url, allow_loopback=self._policy.allow_loopback)
        except ForbiddenDestinationError as error:
            logger.warning("webhook delivery %s not sent: %s", delivery.id, type(error).__name__)
            return AttemptResult(AttemptOutcome.FAILED, 0, error=type(error).__name__)
        body = payloads.body(
            delivery_id=delivery.id,
            event=delivery.event,
            created_at=delivery.created_at,
            data=delivery.payload,
        )
        headers = signed_headers(
            delivery_id=delivery.id,
            event=delivery.event.value,
            secret=secret,
            timestamp=int(time.time()),
            body=body,
        )
        started = time.monotonic()
        try:
            # The whole exchange is bounded, not only each read: a receiver that trickles
            # its answer cannot hold a dispatcher.
            async with asyncio.timeout(self._policy.timeout_seconds):
                status_code, head = await self._post(subscription.url, body, headers)
        except (httpx.HTTPError, TimeoutError) as error:
            return AttemptResult(
                self._retry_or_fail(attempts_made),
                _elapsed_ms(started),
                error=type(error).__name__,
            )
        duration = _elapsed_ms(started)
        if 200 <= status_code < 300:
            return AttemptResult(AttemptOutcome.DELIVERED, duration, status_code=status_code)
        return AttemptResult(
            self._retry_or_fail(attempts_made),
            duration,
            status_code=status_code,
            error="HTTPStatus",
            response_excerpt=excerpt(head.decode("utf-8", errors="replace")),
        )

    async def _post(self, url: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        """The status code, and the start of the body of an unsuccessful answer (the rest
        is never read)."""
        async with self._client.stream(
            "POST", url, content=body, headers={**headers, "content-type": "application/json"}
        ) as response:
            head = b""
            if not response.is_success:
                async for chunk in response.aiter_bytes():
                    head += chunk
                    if len(head) >= 4 * MAX_RESPONSE_EXCERPT:
                        break
            return response.status_code, head

    # --- the background loop of a replica -------------------------------------------------

    def start(self, poll_seconds: float) -> None:
        self._loop.start(poll_seconds)

    def wake(self) -> None:
        self._loop.wake()

    async def stop(self) -> None:
        await self._loop.stop()

    async def aclose(self) -> None:
        await self.stop()
        await self._client.aclose()

    async def _drain_and_log(self) -> None:
        report = await self.drain()
        if report.delivered or report.retried or report.failed or report.milestones:
            logger.info(
                "webhooks: %d delivered, %d to retry, %d failed, %d milestones reached",
                report.delivered,
                report.retried,
                report.failed,
                report.milestones,
            )


def _elapsed_ms(started: float) -> int:
    return max(int((time.monotonic() - started) * 1000), 0)
