"""Live totals: every replica LISTENs on PostgreSQL and fans changes out to its subscribers.

A ledger write NOTIFYs ``w4r_totals`` with its campaign and case in the writing transaction,
so the notice exists only if the write committed. Each replica keeps one listening
connection (reconnecting after a loss) and signals the subscribers of the topics touched:
``(campaign, case)`` and ``(campaign, any case)``. Signals are throttled per topic: at most
one per ``interval`` seconds, the first at once after a quiet spell and a last one after a
burst, so a subscriber always ends on the current totals.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

from w4r.actions.repository import NOTIFY_CHANNEL
from w4r.platform.listening import listen_forever

logger = logging.getLogger(__name__)

Topic = tuple[UUID, UUID | None]


class TotalsHub:
    def __init__(self, dsn: str, *, interval_seconds: float) -> None:
        self._dsn = dsn
        self.interval_seconds = interval_seconds
        self._subscribers: dict[Topic, set[asyncio.Queue[None]]] = defaultdict(set)
        self._last_sent: dict[Topic, float] = {}
        self._pending: dict[Topic, asyncio.TimerHandle] = {}
        self._task: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="w4r-totals-listener")

    async def wait_connected(self) -> None:
        """Return once the listener is connected (bound the wait with asyncio.timeout)."""
        await self._connected.wait()

    async def stop(self) -> None:
        for handle in self._pending.values():
            handle.cancel()
        self._pending.clear()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _listen(self) -> None:
        await listen_forever(
            self._dsn,
            NOTIFY_CHANNEL,
            self._on_notify,
            name="totals",
            connected=self._on_connected,
            disconnected=self._connected.clear,
        )

    def _on_connected(self, _pid: int) -> None:
        self._connected.set()
        # Anything may have changed while no one listened: refresh every topic.
        for topic in list(self._subscribers):
            self._mark(topic)

    def _on_notify(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        try:
            message = json.loads(payload)
            campaign_id = UUID(message["campaign"])
            case_id = UUID(message["case"])
        except (ValueError, KeyError, TypeError):
            logger.warning("ignoring a malformed totals notice: %r", payload)
            return
        self._mark((campaign_id, case_id))
        self._mark((campaign_id, None))

    def _mark(self, topic: Topic) -> None:
        if not self._subscribers.get(topic) or topic in self._pending:
            return
        loop = asyncio.get_running_loop()
        wait = self._last_sent.get(topic, float("-inf")) + self.interval_seconds - time.monotonic()
        self._pending[topic] = loop.call_later(max(wait, 0.0), self._flush, topic)

    def _flush(self, topic: Topic) -> None:
        self._pending.pop(topic, None)
        self._last_sent[topic] = time.monotonic()
        for queue in self._subscribers.get(topic, ()):
            if queue.empty():  # a subscriber that has not read the last signal needs no other
                queue.put_nowait(None)

    @contextlib.asynccontextmanager
    async def subscribe(
        self, campaign_id: UUID, case_id: UUID | None
    ) -> AsyncIterator[asyncio.Queue[None]]:
        """A queue that receives a signal whenever the topic's totals may have changed."""
        topic = (campaign_id, case_id)
        queue: asyncio.Queue[None] = asyncio.Queue(maxsize=1)
        self._subscribers[topic].add(queue)
        try:
            yield queue
        finally:
            self._subscribers[topic].discard(queue)
            if not self._subscribers[topic]:
                del self._subscribers[topic]
                handle = self._pending.pop(topic, None)
                if handle is not None:
                    handle.cancel()
