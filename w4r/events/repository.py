"""All SQL about events, their texts and cases, registrations and reports."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    Float,
    Numeric,
    Text,
    case,
    cast,
    delete,
    func,
    literal,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from w4r.events.drafts import EventSearch
from w4r.events.geo import MAX_RADIUS_KM, bounding_boxes, distance_sql, in_boxes_sql
from w4r.events.models import (
    AddressVisibility,
    Event,
    EventCase,
    EventReport,
    EventReportLine,
    EventStatus,
    EventText,
    Registration,
    RegistrationStatus,
)
from w4r.platform.grouping import group_by, group_pairs

ROUNDING_MARGIN_KM = 2.0
ERASED_NAME = "(erased)"
"""The name an erased registration keeps (its seats still count)."""
"""Rounding to 0.01 degree moves a point by at most about 0.8 km: the box prefilter on the
exact columns is widened by this much so that no rounded point inside the radius is lost."""


def _rounded(column: Any) -> Any:
    return cast(func.round(cast(column, Numeric), 2), Float)


class EventRepository:
    """Events of the section the session is bound to (row-level security)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, event_id: UUID, *, lock: bool = False) -> Event | None:
        query = select(Event).where(Event.id == event_id)
        if lock:
            query = query.with_for_update()
        return (await self._session.execute(query)).scalar_one_or_none()

    async def add(self, row: Any) -> Any:
        self._session.add(row)
        await self._session.flush()
        await self._session.refresh(row)
        return row

    async def update(self, event: Event, **values: Any) -> Event:
        await self._session.execute(
            update(Event).where(Event.id == event.id).values(**values, updated_at=func.now())
        )
        await self._session.refresh(event)
        return event

    async def replace_texts(self, event_id: UUID, texts: Sequence[dict[str, Any]]) -> None:
        await self._session.execute(delete(EventText).where(EventText.event_id == event_id))
        self._session.add_all(EventText(event_id=event_id, **values) for values in texts)
        await self._session.flush()

    async def replace_cases(self, event_id: UUID, case_ids: Sequence[UUID]) -> None:
        await self._session.execute(delete(EventCase).where(EventCase.event_id == event_id))
        self._session.add_all(
            EventCase(event_id=event_id, case_id=case_id, position=position)
            for position, case_id in enumerate(case_ids)
        )
        await self._session.flush()

    async def search(
        self,
        search: EventSearch,
        *,
        statuses: Sequence[EventStatus],
        host_subject: str | None,
        after: tuple[Any, UUID] | None,
        limit: int,
        exact_private_points: bool = True,
    ) -> list[tuple[Event, float | None]]:
        """Events matching ``search``, by start time or by distance (then id), with their
        distance when a point is given. A bounding box on the indexed coordinates narrows the
        rows first; the exact great-circle distance decides."""
        distance: Any = literal(None, Float)
        query: Any = select(Event)
        visible: Any = Event.status.in_(statuses)
        if host_subject is not None:
            visible = or_(visible, Event.host_subject == host_subject)
        query = query.where(visible)
        if search.latitude is not None and search.longitude is not None:
            radius = search.radius_km or 0.0
            latitude: Any = Event.latitude
            longitude: Any = Event.longitude
            margin = 0.0
            if not exact_private_points:
                # A registered-only place is searched at its public, rounded point: exact
                # distances (or radii) would let anyone find the address by trial.
                is_private = Event.address_visibility == AddressVisibility.REGISTERED
                latitude = case((is_private, _rounded(Event.latitude)), else_=Event.latitude)
                longitude = case((is_private, _rounded(Event.longitude)), else_=Event.longitude)
                margin = ROUNDING_MARGIN_KM
            distance = distance_sql(latitude, longitude, search.latitude, search.longitude)
            boxes = bounding_boxes(
                search.latitude, search.longitude, min(radius + margin, MAX_RADIUS_KM)
            )
            query = query.where(
                Event.latitude.is_not(None),
                in_boxes_sql(Event.latitude, Event.longitude, boxes),
                distance <= radius,
            )
        if search.starts_from is not None:
            query = query.where(Event.ends_at >= search.starts_from)
        if search.starts_to is not None:
            query = query.where(Event.starts_at <= search.starts_to)
        if search.format is not None:
            query = query.where(Event.format == search.format)
        if search.city is not None:
            query = query.where(func.lower(Event.city) == search.city.lower())
        if search.case_id is not None:
            query = query.where(
                select(EventCase.event_id)
                .where(EventCase.event_id == Event.id, EventCase.case_id == search.case_id)
                .exists()
            )
        order = distance if search.by_distance else Event.starts_at
        query = query.add_columns(distance.label("distance_km"))
        if after is not None:
            query = query.where(tuple_(order, Event.id) > tuple_(*after))
        query = query.order_by(order, Event.id).limit(limit)
        return [
            (event, None if km is None else float(km))
            for event, km in await self._session.execute(query)
        ]

    # --- batch reads -------------------------------------------------------------------

    async def by_ids(self, ids: Sequence[UUID]) -> dict[UUID, Event]:
        """The events among ``ids`` that the bound section owns (row-level security)."""
        result = await self._session.execute(select(Event).where(Event.id.in_(ids)))
        return {event.id: event for event in result.scalars()}

    async def texts_by_event_ids(self, ids: Sequence[UUID]) -> dict[UUID, list[EventText]]:
        result = await self._session.execute(
            select(EventText).where(EventText.event_id.in_(ids)).order_by(EventText.language)
        )
        return group_by(ids, result.scalars(), lambda text: text.event_id)

    async def case_ids_by_event_ids(self, ids: Sequence[UUID]) -> dict[UUID, list[UUID]]:
        result = await self._session.execute(
            select(EventCase.event_id, EventCase.case_id)
            .where(EventCase.event_id.in_(ids))
            .order_by(EventCase.event_id, EventCase.position)
        )
        return group_pairs(ids, result)

    async def seats_by_event_ids(self, ids: Sequence[UUID]) -> dict[UUID, int]:
        """Confirmed people (registrants and their guests) per event."""
        result = await self._session.execute(
            select(Registration.event_id, func.sum(1 + Registration.guests))
            .where(
                Registration.event_id.in_(ids),
                Registration.status == RegistrationStatus.CONFIRMED,
                Registration.flag.is_(None),  # a flagged registration takes no seat
            )
            .group_by(Registration.event_id)
        )
        seats = dict.fromkeys(ids, 0)
        for event_id, count in result:
            seats[event_id] = int(count)
        return seats

    # --- registrations -----------------------------------------------------------------

    async def registrations(
        self,
        event_id: UUID,
        statuses: Sequence[RegistrationStatus],
        *,
        include_flagged: bool = True,
    ) -> list[Registration]:
        query = (
            select(Registration)
            .where(Registration.event_id == event_id, Registration.status.in_(statuses))
            .order_by(Registration.created_at, Registration.id)
        )
        if not include_flagged:
            query = query.where(Registration.flag.is_(None))
        result = await self._session.execute(query)
        return list(result.scalars())

    async def registration_by_email(
        self, event_id: UUID, email: str, *, include_flagged: bool
    ) -> Registration | None:
        query = select(Registration).where(
            Registration.event_id == event_id,
            func.lower(Registration.email) == email.lower(),
            Registration.status != RegistrationStatus.CANCELLED,
        )
        if not include_flagged:
            query = query.where(Registration.flag.is_(None))
        result = await self._session.execute(query.order_by(Registration.created_at).limit(1))
        return result.scalar_one_or_none()

    async def registration_by_token_hash(self, token_hash: str) -> Registration | None:
        result = await self._session.execute(
            select(Registration).where(Registration.cancellation_token_hash == token_hash)
        )
        return result.scalar_one_or_none()

    async def active_registrations_of_client(
        self, event_id: UUID, client_id: str, *, include_flagged: bool
    ) -> int:
        query = (
            select(func.count())
            .select_from(Registration)
            .where(
                Registration.event_id == event_id,
                Registration.client_id == client_id,
                Registration.status != RegistrationStatus.CANCELLED,
            )
        )
        if not include_flagged:
            query = query.where(Registration.flag.is_(None))
        return int((await self._session.execute(query)).scalar_one())

    async def set_registration_status(
        self, registration: Registration, status: RegistrationStatus, at: datetime | None = None
    ) -> None:
        values: dict[str, Any] = {"status": status}
        if status is RegistrationStatus.CANCELLED:
            values["cancelled_at"] = at
        await self._session.execute(
            update(Registration).where(Registration.id == registration.id).values(**values)
        )
        await self._session.refresh(registration)

    # --- reports -----------------------------------------------------------------------

    async def latest_report(
        self, event_id: UUID
    ) -> tuple[EventReport | None, list[EventReportLine]]:
        report = (
            await self._session.execute(
                select(EventReport)
                .where(EventReport.event_id == event_id)
                .order_by(EventReport.revision.desc())
                .limit(1)
            )
        ).scalar_one_or_none()
        if report is None:
            return None, []
        lines = await self._session.execute(
            select(EventReportLine).where(
                EventReportLine.event_id == event_id,
                EventReportLine.revision == report.revision,
            )
        )
        return report, list(lines.scalars())

    # --- a supporter's erasure ---------------------------------------------------------

    async def registrations_by_email(self, emails: Sequence[str]) -> list[Registration]:
        """Every registration (any event, any status) made with one of these emails,
        ignoring letter case."""
        result = await self._session.execute(
            select(Registration)
            .where(func.lower(Registration.email).in_([email.lower() for email in emails]))
            .order_by(Registration.created_at, Registration.id)
        )
        return list(result.scalars())

    async def registrations_of_events_ended_before(self, before: datetime) -> list[UUID]:
        """Registrations still naming a person, of events that ended before ``before``."""
        result = await self._session.execute(
            select(Registration.id)
            .join(
                Event,
                (Event.section_id == Registration.section_id) & (Event.id == Registration.event_id),
            )
            .where(Event.ends_at < before, Registration.name != ERASED_NAME)
            .order_by(Registration.id)
        )
        return list(result.scalars())

    async def anonymise_registrations(self, ids: Sequence[UUID]) -> int:
        """Replace the person in these registrations and keep the rest, so every count of
        seats, guests and statuses stays the same. The email becomes a unique address in
        the reserved ``.invalid`` domain (the one-active-registration-per-email index), the
        cancellation token an unguessable hash that matches no token."""
        if not ids:
            return 0
        result = await self._session.execute(
            update(Registration)
            .where(Registration.id.in_(ids))
            .values(
                name=ERASED_NAME,
                email=func.concat("erased-", Registration.id, "@erased.invalid"),
                language=None,
                may_contact=False,
                client_id="erased",
                cancellation_token_hash=func.encode(
                    func.sha256(func.convert_to(func.gen_random_uuid().cast(Text), "UTF8")),
                    "hex",
                ),
            )
            .returning(Registration.id)
        )
        return len(result.all())
