"""Whole answers kept in memory, and the listener that makes them unservable on a change.

:class:`ResponseStore` holds already serialised answers under opaque byte keys, least
recently used evicted first within a byte budget. Every entry carries the store's
*generation* as it was when the answer started being computed: :meth:`ResponseStore.invalidate`
moves the generation on, so nothing computed before a change is ever served after it, even an
answer that was still being computed when the change happened.

:class:`ChangeListener` keeps one PostgreSQL connection LISTENing on
:data:`CHANGES_CHANNEL`, which triggers on the cached tables NOTIFY in the writing
transaction (migration 0011): a change committed by any replica, the CLI or plain SQL
invalidates every replica's store. While the connection is down the store serves nothing
(a change could go unheard); once it is back the store starts over empty.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from w4r.platform.listening import listen_forever
from w4r.platform.metrics import (
    RESPONSE_CACHE_BYTES,
    RESPONSE_CACHE_EVICTIONS,
    RESPONSE_CACHE_INVALIDATIONS,
)

logger = logging.getLogger(__name__)

CHANGES_CHANNEL: Final = "w4r_response_cache"
"""The channel the triggers of migration 0011 notify (the payload is the table's name)."""
ENTRY_OVERHEAD_BYTES: Final = 200
"""What an entry costs beyond its key and answer bytes (the entry object, the LRU link)."""


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    """One cached answer: the serialised ``data`` of a response and what serves it."""

    data: bytes
    etag: str
    """A weak validator over ``data`` (the rest of a response, its cost report, varies)."""
    generation: int
    expires_at: float
    """In :func:`time.monotonic` seconds."""
    http_max_age_seconds: int
    cost: int
    operation_name: str | None

    @property
    def size(self) -> int:
        return len(self.data) + len(self.etag) + ENTRY_OVERHEAD_BYTES


class ResponseStore:
    """Answers by key within ``max_bytes``; serves nothing until :meth:`resume` is called
    (by the listener once it listens)."""

    def __init__(self, max_bytes: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_bytes = max_bytes
        self.clock = clock
        self.generation = 0
        self.is_available = False
        self._entries: OrderedDict[bytes, StoredAnswer] = OrderedDict()
        self._bytes = 0

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: bytes) -> StoredAnswer | None:
        """The fresh answer under ``key``, or None."""
        if not self.is_available:
            return None
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.generation != self.generation or entry.expires_at <= self.clock():
            self._remove(key)
            return None
        self._entries.move_to_end(key)
        return entry

    def put(self, key: bytes, entry: StoredAnswer) -> bool:
        """Keep ``entry`` unless it was computed in an earlier generation, the store is not
        serving, or it alone exceeds the budget; True when kept."""
        size = len(key) + entry.size
        if not self.is_available or entry.generation != self.generation or size > self.max_bytes:
            return False
        if key in self._entries:
            self._remove(key)
        self._entries[key] = entry
        self._bytes += size
        while self._bytes > self.max_bytes:
            oldest = next(iter(self._entries))
            self._remove(oldest)
            RESPONSE_CACHE_EVICTIONS.inc()
        RESPONSE_CACHE_BYTES.set(self._bytes)
        return True

    def invalidate(self) -> None:
        """Nothing stored or being computed now may be served any more."""
        self.generation += 1
        self._entries.clear()
        self._bytes = 0
        RESPONSE_CACHE_BYTES.set(0)
        RESPONSE_CACHE_INVALIDATIONS.inc()

    def suspend(self) -> None:
        """Serve nothing until :meth:`resume` (changes may go unheard meanwhile)."""
        self.is_available = False
        self.invalidate()

    def resume(self) -> None:
        """Serve again, starting empty."""
        self.invalidate()
        self.is_available = True

    def _remove(self, key: bytes) -> None:
        entry = self._entries.pop(key)
        self._bytes -= len(key) + entry.size


class ChangeListener:
    """LISTENs on :data:`CHANGES_CHANNEL` for ``store`` (reconnecting after a loss)."""

    def __init__(self, dsn: str, store: ResponseStore) -> None:
        self._dsn = dsn
        self.store = store
        self._task: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self.connection_pid: int | None = None
        """The listening connection's server process id (None while disconnected)."""

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="w4r-response-cache-listener")

    async def wait_connected(self) -> None:
        """Return once the store serves (bound the wait with asyncio.timeout)."""
        await self._connected.wait()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.store.suspend()

    async def _listen(self) -> None:
        await listen_forever(
            self._dsn,
            CHANGES_CHANNEL,
            self._on_notify,
            name="response cache",
            connected=self._on_connected,
            disconnected=self._on_disconnected,
        )

    def _on_connected(self, pid: int) -> None:
        self.connection_pid = pid
        # Anything may have changed while no one listened: start over empty.
        self.store.resume()
        self._connected.set()

    def _on_disconnected(self) -> None:
        self._connected.clear()
        self.store.suspend()
        self.connection_pid = None

    def _on_notify(self, _connection: Any, _pid: int, _channel: str, _payload: str) -> None:
        self.store.invalidate()
