"""A section's events as iCalendar (RFC 5545) over plain HTTP, for people's calendars.

``GET /s/<code>/events.ics``: the section's published (and cancelled) events from 30 days
ago on; ``GET /s/<code>/events/<id>.ics``: one. Only public data: an address or link meant
for registered people only is left out (the city stays).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from starlette.requests import Request
from starlette.responses import Response

from w4r.events.calendar import CalendarEvent, render_calendar
from w4r.events.drafts import EventSearch
from w4r.events.models import AddressVisibility, Event, EventStatus, EventText
from w4r.events.repository import EventRepository
from w4r.events.service import pick_text
from w4r.platform.auth import ANONYMOUS
from w4r.platform.errors import SectionResolutionError
from w4r.schema.context import GraphQLServices
from w4r.schema.http import build_context

CALENDAR_MEDIA_TYPE = "text/calendar; charset=utf-8"
PAST_DAYS = 30
MAX_EVENTS = 500


def _location(event: Event) -> str | None:
    if event.latitude is None:
        return None
    public = event.address_visibility is AddressVisibility.PUBLIC
    parts = [event.venue_name, event.street_address] if public else []
    parts += [event.city, event.country]
    return ", ".join(part.replace("\n", ", ") for part in parts if part) or None


def _calendar_event(event: Event, text: EventText) -> CalendarEvent:
    public = event.address_visibility is AddressVisibility.PUBLIC
    return CalendarEvent(
        uid=f"{event.id}@w4r",
        title=text.title,
        description=text.description,
        starts_at=event.starts_at,
        ends_at=event.ends_at,
        time_zone=event.time_zone,
        location=_location(event),
        url=event.online_url if public else None,
        is_cancelled=event.status is EventStatus.CANCELLED,
        updated_at=event.updated_at,
        organizer_name=event.organiser_name,
    )


async def _render(request: Request, event_id: UUID | None) -> Response:
    services: GraphQLServices = request.app.state.graphql_services
    try:
        context = await build_context(request, ANONYMOUS, services)
    except SectionResolutionError as error:
        return Response(str(error), error.status_code, media_type="text/plain")
    section = context.section
    if section is None:
        return Response("Ask a section's calendar: /s/<code>/events.ics", 404)
    try:
        repository = EventRepository(context.session)
        statuses = [EventStatus.PUBLISHED, EventStatus.CANCELLED]
        if event_id is not None:
            event = await repository.get(event_id)
            events = [event] if event is not None and event.status in statuses else []
            if not events:
                return Response("No such published event.", 404, media_type="text/plain")
        else:
            rows = await repository.search(
                EventSearch(starts_from=datetime.now(UTC) - timedelta(days=PAST_DAYS)),
                statuses=statuses,
                host_subject=None,
                after=None,
                limit=MAX_EVENTS,
            )
            events = [event for event, _ in rows]
        texts = await repository.texts_by_event_ids([event.id for event in events])
        languages = context.accepted_languages or [section.default_language]
        body = render_calendar(
            [
                _calendar_event(event, pick_text(texts[event.id], languages, event.language)[0])
                for event in events
            ],
            name=f"Write for Rights events ({section.code})",
        )
    finally:
        await context.unit_of_work.close()
    return Response(body, media_type=CALENDAR_MEDIA_TYPE)


async def section_calendar(request: Request) -> Response:
    return await _render(request, None)


async def event_calendar(request: Request) -> Response:
    raw: Any = request.path_params.get("event_id")
    try:
        event_id = UUID(str(raw))
    except ValueError:
        return Response("Not an event id.", 404, media_type="text/plain")
    return await _render(request, event_id)
