"""GraphQL inputs of event operations."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import strawberry

from w4r.events.drafts import EventDraft, EventTextDraft
from w4r.events.models import AddressVisibility
from w4r.schema.actions.enums import ActionTypeEnum
from w4r.schema.events.types import AddressVisibilityEnum, EventFormatEnum


@strawberry.input
class EventTextInput:
    language: str
    title: str
    description: str | None = None


@strawberry.input
class EventInput:
    campaign: int = strawberry.field(description="The campaign's year.")
    format: EventFormatEnum  # type: ignore[valid-type]
    language: str = strawberry.field(description="The event's own language (BCP 47).")
    texts: list[EventTextInput]
    starts_at: datetime
    ends_at: datetime
    time_zone: str = strawberry.field(description="IANA time zone of the place.")
    organiser_name: str
    organiser_email: str | None = None
    venue_name: str | None = None
    street_address: str | None = None
    city: str | None = None
    country: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    online_url: str | None = None
    capacity: int | None = None
    address_visibility: AddressVisibilityEnum = AddressVisibility.PUBLIC  # type: ignore[valid-type]
    case_ids: list[UUID] = strawberry.field(default_factory=list)

    def to_draft(self) -> EventDraft:
        return EventDraft(
            campaign_year=self.campaign,
            format=self.format,
            language=self.language,
            texts=[
                EventTextDraft(
                    language=text.language, title=text.title, description=text.description
                )
                for text in self.texts
            ],
            starts_at=self.starts_at,
            ends_at=self.ends_at,
            time_zone=self.time_zone,
            organiser_name=self.organiser_name,
            organiser_email=self.organiser_email,
            venue_name=self.venue_name,
            street_address=self.street_address,
            city=self.city,
            country=self.country,
            latitude=self.latitude,
            longitude=self.longitude,
            online_url=self.online_url,
            capacity=self.capacity,
            address_visibility=self.address_visibility,
            case_ids=self.case_ids,
        )


@strawberry.input
class EventUpdateInput:
    id: UUID
    event: EventInput = strawberry.field(description="The event as it should be (replaces all).")


@strawberry.input
class EventDecisionInput:
    id: UUID
    note: str | None = None


@strawberry.input
class EventRegisterInput:
    event_id: UUID
    name: str
    email: str
    client_id: str = strawberry.field(description="A UUID the site keeps for this device.")
    guests: int = 0
    may_contact: bool = strawberry.field(
        default=False, description="Consent to be contacted by the section afterwards."
    )
    language: str | None = None


@strawberry.input
class EventRegistrationCancelInput:
    cancellation_token: str = strawberry.field(
        description="The secret returned once by eventRegister."
    )


@strawberry.input
class EventReportLineInput:
    case_id: UUID
    action_type: ActionTypeEnum  # type: ignore[valid-type]
    quantity: int


@strawberry.input
class EventReportInput:
    event_id: UUID
    attendance: int
    lines: list[EventReportLineInput]
    note: str | None = None


@strawberry.input
class NearInput:
    latitude: float
    longitude: float
    radius_km: float


@strawberry.input
class EventFilter:
    near: NearInput | None = None
    from_: datetime | None = strawberry.field(default=None, name="from")
    to: datetime | None = None
    case: UUID | None = None
    format: EventFormatEnum | None = None  # type: ignore[valid-type]
    city: str | None = None
