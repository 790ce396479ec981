"""Budgets that refill over time, in memory or shared through Redis.

One mechanism serves every limit of the platform (GraphQL cost budgets per API key and per
IP, public write limits per IP and per section): the ``limits`` package's sliding window
counter, which refills continuously as the window slides. The store is in process memory by
default; with ``W4R_REDIS_URL`` set it is Redis, so every replica spends from the same
budget.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter

logger = logging.getLogger(__name__)


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


class Budgets:
    """Spend ``cost`` units from the budget of ``(bucket, identity)``."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage
        self._limiter = SlidingWindowCounterRateLimiter(storage)

    @classmethod
    def in_memory(cls) -> Budgets:
        return cls(MemoryStorage())

    @classmethod
    def from_url(cls, redis_url: str | None) -> Budgets:
        """Redis when a URL is given (``redis://host:port/db``), else process memory."""
        if not redis_url:
            return cls.in_memory()
        uri = redis_url if redis_url.startswith("async+") else "async+" + redis_url
        return cls(RedisStorage(uri, implementation="redispy", key_prefix="w4r"))

    @property
    def shared(self) -> bool:
        return not isinstance(self._storage, MemoryStorage)

    async def spend(self, bucket: str, identity: str, cost: int, allowance: Allowance) -> Verdict:
        """Take ``cost`` from the budget, or nothing when it does not hold that much."""
        item = allowance.item(bucket)
        if cost > allowance.amount:
            return Verdict(False, allowance.amount, 0, allowance.seconds)
        allowed = await self._limiter.hit(item, identity, cost=max(cost, 0))
        stats = await self._limiter.get_window_stats(item, identity)
        retry = 0 if allowed else max(1, math.ceil(stats.reset_time - time.time()))
        return Verdict(allowed, allowance.amount, max(stats.remaining, 0), retry)

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
