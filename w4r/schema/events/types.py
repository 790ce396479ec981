"""GraphQL types of events and registrations."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import strawberry

from w4r.events.models import (
    AddressVisibility,
    Event,
    EventFormat,
    EventStatus,
    Registration,
    RegistrationStatus,
)
from w4r.events.service import coarse, pick_text, shown_status
from w4r.platform.auth import Role
from w4r.schema.cases.types import CaseNode
from w4r.schema.context import Info

EventStatusEnum = strawberry.enum(EventStatus, name="EventStatus")
EventFormatEnum = strawberry.enum(EventFormat, name="EventFormat")
AddressVisibilityEnum = strawberry.enum(AddressVisibility, name="AddressVisibility")
RegistrationStatusEnum = strawberry.enum(RegistrationStatus, name="RegistrationStatus")

STAFF = frozenset({Role.SECTION_ADMIN, Role.SECTION_EDITOR, Role.IS_ADMIN})


def may_see_private(info: Info, event: Event) -> bool:
    """The section's staff, and the host of this event."""
    principal = info.context.principal
    if principal.role in STAFF:
        return True
    return (
        principal.role is Role.EVENT_HOST
        and event.host_subject is not None
        and event.host_subject == principal.subject
    )


@strawberry.type(name="EventText")
class EventTextNode:
    language: str
    is_fallback: bool
    title: str
    description: str | None


@strawberry.type(name="Venue", description="Where the event takes place.")
class VenueNode:
    name: str | None = strawberry.field(
        description="Null, like the street, when the address is for registered people only."
    )
    street_address: str | None = strawberry.field(
        description="Null when the address is for registered people only."
    )
    city: str | None
    country: str | None
    latitude: float | None = strawberry.field(
        description="Rounded to about 1 km when the address is for registered people only."
    )
    longitude: float | None


@strawberry.federation.type(
    name="Event", keys=["id"], description="A letter-writing event of this section."
)
class EventNode:
    id: UUID
    status: EventStatusEnum  # type: ignore[valid-type]
    format: EventFormatEnum  # type: ignore[valid-type]
    language: str = strawberry.field(description="The event's own language.")
    starts_at: datetime
    ends_at: datetime
    time_zone: str = strawberry.field(description="The IANA time zone of the event's place.")
    capacity: int | None
    address_visibility: AddressVisibilityEnum  # type: ignore[valid-type]
    organiser_name: str
    distance_km: float | None = strawberry.field(
        description="From the point searched near, when there was one."
    )
    _model: strawberry.Private[Event]
    _full: strawberry.Private[bool]
    _held_seats: strawberry.Private[int] = 0
    """The seats of the caller's own flagged registration, counted in this answer only, so
    that it reads like the answer to a counted registration."""

    @classmethod
    def from_model(
        cls,
        event: Event,
        info: Info,
        distance_km: float | None = None,
        *,
        registered: bool = False,
        held_seats: int = 0,
    ) -> EventNode:
        return cls(
            id=event.id,
            status=shown_status(event),
            format=event.format,
            language=event.language,
            starts_at=event.starts_at,
            ends_at=event.ends_at,
            time_zone=event.time_zone,
            capacity=event.capacity,
            address_visibility=event.address_visibility,
            organiser_name=event.organiser_name,
            distance_km=None if distance_km is None else round(distance_km, 3),
            _model=event,
            _full=registered
            or event.address_visibility is AddressVisibility.PUBLIC
            or may_see_private(info, event),
            _held_seats=held_seats,
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: UUID) -> EventNode | None:  # noqa: A002
        """The event an entity representation names, as `event` would show it to this
        caller: only in a section's scope, only that section's events (row-level security
        hides the others), drafts and events waiting for approval only for its staff and
        their host; else null."""
        if info.context.section is None:
            return None
        # The service builds on the request's section; imported here, it imports this module.
        from w4r.schema.events.mutations import event_service

        event = await info.context.event_loaders.events_by_id.load(id)
        if event is None or not event_service(info).is_visible(event):
            return None
        return cls.from_model(event, info)

    @strawberry.field(
        description="Title and description in a language (argument, else Accept-Language, "
        "else the section's default), falling back to the event's own language."
    )
    async def text(self, info: Info, language: str | None = None) -> EventTextNode:
        texts = await info.context.event_loaders.texts_by_event_id.load(self.id)
        context = info.context
        requested = (
            [language]
            if language
            else context.accepted_languages
            or ([context.section.default_language] if context.section else [])
        )
        chosen, is_fallback = pick_text(texts, requested, self.language)
        return EventTextNode(
            language=chosen.language,
            is_fallback=is_fallback,
            title=chosen.title,
            description=chosen.description,
        )

    @strawberry.field
    def venue(self) -> VenueNode | None:
        event = self._model
        if event.latitude is None:
            return None
        return VenueNode(
            name=event.venue_name if self._full else None,
            street_address=event.street_address if self._full else None,
            city=event.city,
            country=event.country,
            latitude=event.latitude if self._full else coarse(event.latitude),
            longitude=event.longitude if self._full else coarse(event.longitude),
        )

    @strawberry.field(description="Null when the link is for registered people only.")
    def online_url(self) -> str | None:
        return self._model.online_url if self._full else None

    @strawberry.field(
        description="The section's note on approval, rejection or cancellation (the "
        "section's staff and the event's host only)."
    )
    def review_note(self, info: Info) -> str | None:
        return self._model.review_note if may_see_private(info, self._model) else None

    @strawberry.field(description="The section's staff and the event's host only.")
    def organiser_email(self, info: Info) -> str | None:
        if self._model.organiser_email is None or not may_see_private(info, self._model):
            return None
        info.context.audit.personal_data("Event.organiserEmail", [self.id])
        return self._model.organiser_email

    @strawberry.field(description="Confirmed people, guests included.")
    async def registered_count(self, info: Info) -> int:
        seats = await info.context.event_loaders.seats_by_event_id.load(self.id)
        return seats + self._held_seats

    @strawberry.field(description="Null without a capacity; 0 when full (the waitlist opens).")
    async def spots_left(self, info: Info) -> int | None:
        if self.capacity is None:
            return None
        seats = await info.context.event_loaders.seats_by_event_id.load(self.id)
        return max(self.capacity - seats - self._held_seats, 0)

    @strawberry.field
    async def cases(self, info: Info) -> list[CaseNode]:
        ids = await info.context.event_loaders.case_ids_by_event_id.load(self.id)
        cases = await info.context.case_loaders.cases_by_id.load_many(ids)
        return [CaseNode.from_model(case) for case in cases if case is not None]

    @strawberry.field(description="The section's staff and the event's host only.")
    async def registrations(self, info: Info) -> list[RegistrationNode]:
        if not may_see_private(info, self._model):
            raise strawberry.exceptions.StrawberryGraphQLError(
                "Only the section's staff and the event's host see the attendees.",
                extensions={"code": "FORBIDDEN"},
            )
        from w4r.schema.events.mutations import event_service

        rows = await event_service(info).registrations(self.id)
        info.context.audit.personal_data("Event.registrations", [row.id for row in rows])
        return [RegistrationNode.from_model(row) for row in rows]


@strawberry.type(name="Registration", description="One person's RSVP (personal data).")
class RegistrationNode:
    id: UUID
    name: str
    email: str
    guests: int
    may_contact: bool
    language: str | None
    status: RegistrationStatusEnum  # type: ignore[valid-type]
    created_at: datetime
    flag: str | None = strawberry.field(
        description="Why abuse protection held this registration back (e.g. "
        "'rate-limit-ip'): it takes no seat and is not counted. Null when it counts."
    )

    @classmethod
    def from_model(cls, row: Registration) -> RegistrationNode:
        return cls(
            id=row.id,
            name=row.name,
            email=row.email,
            guests=row.guests,
            may_contact=row.may_contact,
            language=row.language,
            status=row.status,
            created_at=row.created_at,
            flag=row.flag,
        )
