"""The in-process copy of the section registry that request routing reads (with each
section's languages, which the language negotiation of every request needs).

Resolving a request's section must not cost a database round trip, so each replica keeps a
snapshot of every section's id, code and hosts, reloaded when older than ``ttl_seconds``
and at once after this replica commits a change. Another replica sees a change within
``ttl_seconds`` (W4R_SECTION_CACHE_SECONDS, 5 by default).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from uuid import UUID

from w4r.tenants.repository import RegistryRow


@dataclass(frozen=True, slots=True)
class SectionRef:
    """What routing knows of a section."""

    id: UUID
    code: str
    hosts: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    default_language: str = ""
    time_zone: str = "UTC"
    require_trusted_documents: bool = False
    """Anonymous writes must be trusted documents (checked before execution)."""


@dataclass(frozen=True, slots=True)
class RegistrySnapshot:
    by_code: Mapping[str, SectionRef] = field(default_factory=dict)
    by_host: Mapping[str, SectionRef] = field(default_factory=dict)

    @classmethod
    def from_rows(cls, rows: list[RegistryRow]) -> RegistrySnapshot:
        refs = [
            SectionRef(
                id=row.id,
                code=row.code,
                hosts=row.hosts,
                languages=row.languages,
                default_language=row.default_language,
                time_zone=row.time_zone,
                require_trusted_documents=row.require_trusted_documents,
            )
            for row in rows
        ]
        return cls(
            by_code=MappingProxyType({ref.code: ref for ref in refs}),
            by_host=MappingProxyType({host: ref for ref in refs for host in ref.hosts}),
        )


Loader = Callable[[], Awaitable[list[RegistryRow]]]


class SectionRegistry:
    def __init__(self, load: Loader, *, ttl_seconds: float) -> None:
        self._load = load
        self.ttl_seconds = ttl_seconds
        self._snapshot: RegistrySnapshot | None = None
        self._loaded_at = 0.0
        self._lock = asyncio.Lock()

    async def snapshot(self) -> RegistrySnapshot:
        snapshot = self._snapshot
        if snapshot is not None and time.monotonic() - self._loaded_at < self.ttl_seconds:
            return snapshot
        async with self._lock:
            # Another request may have reloaded while this one waited for the lock.
            if self._snapshot is not None and time.monotonic() - self._loaded_at < self.ttl_seconds:
                return self._snapshot
            started = time.monotonic()
            self._snapshot = RegistrySnapshot.from_rows(await self._load())
            self._loaded_at = started
            return self._snapshot

    def invalidate(self) -> None:
        """Reload on next use (called after this replica commits a section change)."""
        self._loaded_at = float("-inf")
