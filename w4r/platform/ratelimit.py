"""Budgets that refill over time, in memory or shared through Redis.

One mechanism serves every limit of the platform (GraphQL cost budgets per API key and per
IP, public write limits per IP and per section): the ``limits`` package's sliding window
counter, which refills continuously as the window slides. The store is in process memory by
default; with ``W4R_REDIS_URL`` set it is Redis, so every replica spends from the same
budget.

The sliding window counter weighs the previous window's count by how much of it still
overlaps the sliding window: ``previous * (time left in this window / window) + current``.
A budget therefore refills smoothly, and :meth:`Budgets.spend` can say exactly when it will
hold a given cost again (the ``Retry-After`` of a refusal).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import cast

import redis.asyncio
from limits import RateLimitItem, RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.storage.base import SlidingWindowCounterSupport
from limits.aio.strategies import SlidingWindowCounterRateLimiter

logger = logging.getLogger(__name__)

DEFAULT_KEY_PREFIX = "w4r"


@dataclass(frozen=True, slots=True)
class Allowance:
    """How much may be spent per window: ``amount`` units every ``seconds``."""

    amount: int
    seconds: int

    def item(self, namespace: str) -> RateLimitItem:
        return RateLimitItemPerSecond(self.amount, self.seconds, namespace=namespace)


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of one spend."""

    allowed: bool
    limit: int
    remaining: int
    retry_after_seconds: int
    """0 when allowed; otherwise whole seconds until the budget holds the cost again."""


@dataclass(frozen=True, slots=True)
class SlidingWindow:
    """One budget's sliding window as the store reports it (times in seconds)."""

    previous_count: int
    previous_seconds_left: float
    current_count: int
    current_seconds_left: float
    """Until the current fixed window ends (the store keeps its key one window longer)."""
    seconds: int

    def weighted_count(self, elapsed: float = 0.0) -> float:
        """What the budget has spent, ``elapsed`` seconds from now if nothing more is spent."""
        if elapsed <= self.current_seconds_left:
            overlap = max(self.previous_seconds_left - elapsed, 0.0)
            return self.previous_count * overlap / self.seconds + self.current_count
        # The current window has become the previous one, and it slides out in turn.
        into_next = elapsed - self.current_seconds_left
        return self.current_count * max(self.seconds - into_next, 0.0) / self.seconds

    def seconds_until_room_for(self, cost: int, amount: int) -> float:
        """How long until ``cost`` fits under ``amount`` again (0 if it fits now)."""
        room = amount - cost
        if self.weighted_count() <= room:
            return 0.0
        if self.current_count <= room:
            # The previous window's share shrinks linearly until this window ends.
            needed = (self.previous_count * self.previous_seconds_left / self.seconds) - (
                room - self.current_count
            )
            return needed * self.seconds / self.previous_count
        share_kept = room / self.current_count if self.current_count else 0.0
        return self.current_seconds_left + self.seconds * (1 - share_kept)


class Budgets:
    """Spend ``cost`` units from the budget of ``(bucket, identity)``."""

    def __init__(
        self, storage: Storage, *, connection_pool: redis.asyncio.ConnectionPool | None = None
    ) -> None:
        self._storage = storage
        self._limiter = SlidingWindowCounterRateLimiter(storage)
        self._connection_pool = connection_pool

    @classmethod
    def in_memory(cls) -> Budgets:
        return cls(MemoryStorage())

    @classmethod
    def from_url(cls, redis_url: str | None, *, key_prefix: str = DEFAULT_KEY_PREFIX) -> Budgets:
        """Redis when a URL is given (``redis://host:port/db``), else process memory.

        Every key starts with ``key_prefix``: deployments (or test runs) that share one Redis
        server keep apart by prefix. The connection pool is ours, so :meth:`close` can
        release it on shutdown.
        """
        if not redis_url:
            return cls.in_memory()
        plain_url = redis_url.removeprefix("async+")
        pool = redis.asyncio.ConnectionPool.from_url(plain_url)
        storage = RedisStorage(
            "async+" + plain_url,
            implementation="redispy",
            key_prefix=key_prefix,
            connection_pool=pool,  # type: ignore[arg-type]  # passed on to redis-py as is
        )
        return cls(storage, connection_pool=pool)

    @property
    def shared(self) -> bool:
        return not isinstance(self._storage, MemoryStorage)

    async def spend(self, bucket: str, identity: str, cost: int, allowance: Allowance) -> Verdict:
        """Take ``cost`` from the budget, or nothing when it does not hold that much."""
        if cost > allowance.amount:
            return Verdict(False, allowance.amount, 0, allowance.seconds)
        item = allowance.item(bucket)
        allowed = await self._limiter.hit(item, identity, cost=max(cost, 0))
        window = await self._window(item, identity, allowance)
        remaining = max(allowance.amount - math.floor(window.weighted_count()), 0)
        if allowed:
            return Verdict(True, allowance.amount, remaining, 0)
        wait = window.seconds_until_room_for(cost, allowance.amount)
        return Verdict(False, allowance.amount, remaining, max(1, math.ceil(wait)))

    async def peek(self, bucket: str, identity: str, allowance: Allowance) -> int:
        """What is left of the budget, without spending."""
        stats = await self._limiter.get_window_stats(allowance.item(bucket), identity)
        return max(stats.remaining, 0)

    async def check(self) -> bool:
        """The store answers (always true in memory)."""
        return bool(await self._storage.check())

    async def reset(self) -> None:
        """Forget every budget (tests and operators)."""
        await self._storage.reset()

    async def close(self) -> None:
        """Release the Redis connections (nothing to do in memory)."""
        if self._connection_pool is not None:
            await self._connection_pool.aclose()

    async def _window(
        self, item: RateLimitItem, identity: str, allowance: Allowance
    ) -> SlidingWindow:
        store = cast("SlidingWindowCounterSupport", self._storage)
        previous, previous_left, current, current_left = await store.get_sliding_window(
            item.key_for(identity), item.get_expiry()
        )
        return SlidingWindow(
            previous_count=previous,
            previous_seconds_left=previous_left,
            current_count=current,
            # The store keeps the current key for two windows; this one ends a window sooner.
            current_seconds_left=max(current_left - allowance.seconds, 0.0),
            seconds=allowance.seconds,
        )
