"""Reference data kept in memory per process, served only while its version is current.

Some data is read by every public write yet changes a few times a campaign: the campaign
rules (the campaign, the section's window and featured cases) and a section's allowlisted
networks. Migration 0013 gives it a version, the single row of ``reference_version``,
which a trigger replaces in every transaction that changes one of those tables. Each
transaction reads the version together with its tenant binding
(:func:`w4r.platform.database.reference_version`), so asking whether a kept value is current
costs no round trip.

A value is kept with the version its transaction read before loading it. Reads in one
transaction never go back in time (READ COMMITTED takes a newer snapshot for each
statement), so the value reflects at least that version; and since any later change
replaces the version, a value is served only to transactions that see no change since it
was read. A value loaded at version A, after a change to B had committed, is merely kept
under A and reloaded by the next transaction: never stale, at worst read once more.

A value is kept only if the version is still the same after it was read. A transaction that
changed reference data itself sees a new version of its own, so what it read of its own
uncommitted change is never kept for others. It does see, for the rest of the transaction,
what was kept before its change: no request changes this data and then reads it back.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Final, Generic, TypeVar
from uuid import UUID

from sqlalchemy import CheckConstraint, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from w4r.platform.database import current_reference_version, reference_version
from w4r.platform.models import Base

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

DEFAULT_MAX_ENTRIES: Final = 4096


class ReferenceVersion(Base):
    """The one row whose ``version`` changes with any reference data (migration 0013)."""

    __tablename__ = "reference_version"
    __table_args__ = (CheckConstraint("id", name="single"),)

    id: Mapped[bool] = mapped_column(primary_key=True, server_default=text("true"))
    version: Mapped[UUID] = mapped_column(server_default=text("gen_random_uuid()"))


class ReferenceCache(Generic[K, V]):
    """Values by key, each with the reference version it was read at; the least recently
    used go first beyond ``max_entries``. Share one instance per kind of value in a process
    (keys must say whatever the value depends on besides the version, e.g. the section)."""

    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[K, tuple[UUID, V]] = OrderedDict()
        self.hits = 0
        self.loads = 0

    def __len__(self) -> int:
        return len(self._entries)

    async def get(self, session: AsyncSession, key: K, load: Callable[[], Awaitable[V]]) -> V:
        """The value under ``key`` as of the session's transaction: kept, when it was read
        at the version that transaction began with, else ``load()``ed (in that transaction)
        and kept unless the version moved meanwhile."""
        version = await reference_version(session)
        kept = self._entries.get(key)
        if kept is not None and kept[0] == version:
            self._entries.move_to_end(key)
            self.hits += 1
            return kept[1]
        value = await load()
        self.loads += 1
        # Kept only if nothing changed while it was read: not a change another transaction
        # committed meanwhile, nor one this transaction made itself and may roll back
        # (others would be served what they cannot see). One more statement, on a miss only.
        if await current_reference_version(session) == version:
            self._entries[key] = (version, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return value
