"""What a caller gives to create an event, register for one, or report on one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from w4r.actions.models import ActionType
from w4r.events.models import AddressVisibility, EventFormat


@dataclass(frozen=True, slots=True)
class EventTextDraft:
    language: str
    title: str
    description: str | None = None


@dataclass(frozen=True, slots=True)
class EventDraft:
    campaign_year: int
    format: EventFormat
    language: str
    texts: Sequence[EventTextDraft]
    starts_at: datetime
    ends_at: datetime
    time_zone: str
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
    address_visibility: AddressVisibility = AddressVisibility.PUBLIC
    case_ids: Sequence[UUID] = ()


@dataclass(frozen=True, slots=True)
class RegistrationDraft:
    name: str
    email: str
    guests: int = 0
    may_contact: bool = False
    language: str | None = None
    client_id: str = ""


@dataclass(frozen=True, slots=True)
class ReportLineDraft:
    case_id: UUID
    action_type: ActionType
    quantity: int


@dataclass(frozen=True, slots=True)
class EventSearch:
    latitude: float | None = None
    longitude: float | None = None
    radius_km: float | None = None
    starts_from: datetime | None = None
    starts_to: datetime | None = None
    case_id: UUID | None = None
    format: EventFormat | None = None
    city: str | None = None
    by_distance: bool = False
