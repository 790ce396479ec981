"""Per-request loaders for events."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.dataloader import DataLoader

from w4r.events.models import Event, EventText
from w4r.events.repository import EventRepository


class EventLoaders:
    def __init__(self, session: AsyncSession) -> None:
        self._events = EventRepository(session)
        self.events_by_id: DataLoader[UUID, Event | None] = DataLoader(self._by_id)
        self.texts_by_event_id: DataLoader[UUID, list[EventText]] = DataLoader(self._texts)
        self.case_ids_by_event_id: DataLoader[UUID, list[UUID]] = DataLoader(self._cases)
        self.seats_by_event_id: DataLoader[UUID, int] = DataLoader(self._seats)

    async def _by_id(self, ids: Sequence[UUID]) -> list[Event | None]:
        """Only the bound section's events: another section's id loads as None."""
        found = await self._events.by_ids(ids)
        return [found.get(event_id) for event_id in ids]

    async def _texts(self, ids: Sequence[UUID]) -> list[list[EventText]]:
        found = await self._events.texts_by_event_ids(ids)
        return [found[event_id] for event_id in ids]

    async def _cases(self, ids: Sequence[UUID]) -> list[list[UUID]]:
        found = await self._events.case_ids_by_event_ids(ids)
        return [found[event_id] for event_id in ids]

    async def _seats(self, ids: Sequence[UUID]) -> list[int]:
        found = await self._events.seats_by_event_ids(ids)
        return [found[event_id] for event_id in ids]
