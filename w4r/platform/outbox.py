"""What every outbox drainer shares: the retry schedule and the background loop.

An outbox (supporters' mail, webhook deliveries) is written in the transaction of the change
that needs it and drained by each replica in the background. The drainers differ in what
they send; they share when to try again (:class:`RetryPolicy`: doubled waits, capped, with
optional jitter so that receivers that failed together are not retried together) and how
they run (:class:`BackgroundLoop`: drain, then wait for the next poll or a wake-up; an error
is logged by its class only and the loop goes on, so it outlives a database outage).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 8
    base_seconds: float = 60.0
    max_seconds: float = 6 * 3600.0
    jitter: float = 0.0
    """Up to this share of each wait is taken off at random (0 = exact waits)."""

    def delay(
        self, attempts_made: int, *, uniform: Callable[[], float] = random.random
    ) -> timedelta:
        """The wait after ``attempts_made`` failed attempts: doubled each time, capped, then
        shortened by up to ``jitter`` of itself."""
        seconds = min(self.base_seconds * 2 ** max(attempts_made - 1, 0), self.max_seconds)
        return timedelta(seconds=seconds * (1.0 - self.jitter * uniform()))

    def is_exhausted(self, attempts_made: int) -> bool:
        return attempts_made >= self.max_attempts


class BackgroundLoop:
    """Runs ``work`` now, then every ``poll_seconds`` or as soon as woken, until stopped."""

    def __init__(self, name: str, work: Callable[[], Awaitable[None]]) -> None:
        self._name = name
        self._work = work
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    @property
    def is_running(self) -> bool:
        return self._task is not None

    def start(self, poll_seconds: float) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(poll_seconds), name=self._name)

    def wake(self) -> None:
        """Look for due work now instead of at the next poll."""
        self._wake.set()

    async def stop(self) -> None:
        if self._task is not None:
            task, self._task = self._task, None
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self, poll_seconds: float) -> None:
        while True:
            try:
                await self._work()
            except Exception as error:  # the loop must outlive a database outage
                # The class only: a message may quote an address or a URL.
                logger.error("%s: drain failed (%s); retrying", self._name, type(error).__name__)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=poll_seconds)
