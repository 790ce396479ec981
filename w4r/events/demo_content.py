"""Demo events: letter-writing evenings, a writeathon and an online session, placed on the
next Human Rights Day (10 December) so they are always upcoming. The events are invented for
the demo; the cities, time zones and cases are real."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from w4r.events.drafts import EventTextDraft
from w4r.events.models import AddressVisibility, EventFormat


@dataclass(frozen=True, slots=True)
class DemoEvent:
    section_code: str
    format: EventFormat
    language: str
    texts: tuple[EventTextDraft, ...]
    time_zone: str
    start: time
    hours: int
    organiser_name: str
    case_slugs: tuple[str, ...]
    venue_name: str | None = None
    street_address: str | None = None
    city: str | None = None
    country: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    online_url: str | None = None
    capacity: int | None = None
    address_visibility: AddressVisibility = AddressVisibility.PUBLIC
    day_offset: int = 0


def human_rights_day(today: date) -> date:
    """The next 10 December from ``today`` (today itself if it is one)."""
    this_year = date(today.year, 12, 10)
    return this_year if today <= this_year else date(today.year + 1, 12, 10)


def window(event: DemoEvent, today: date) -> tuple[datetime, datetime]:
    zone = ZoneInfo(event.time_zone)
    day = human_rights_day(today) + timedelta(days=event.day_offset)
    starts = datetime.combine(day, event.start, zone)
    return starts, starts + timedelta(hours=event.hours)


DEMO_EVENTS: tuple[DemoEvent, ...] = (
    DemoEvent(
        section_code="gb",
        format=EventFormat.IN_PERSON,
        language="en",
        texts=(
            EventTextDraft(
                "en",
                "Write for Rights evening at the café",
                "Drop in after work: cards, envelopes and case sheets are ready. Bring a pen.",
            ),
        ),
        time_zone="Europe/London",
        start=time(18, 30),
        hours=3,
        organiser_name="Amnesty International UK, London group",
        case_slugs=("sonia-dahmani", "abortion-support-network-volunteers"),
        venue_name="Community café",
        street_address="1 Example Street",
        city="London",
        country="GB",
        latitude=51.5246,
        longitude=-0.0786,
        capacity=40,
    ),
    DemoEvent(
        section_code="pl",
        format=EventFormat.IN_PERSON,
        language="pl",
        texts=(
            EventTextDraft(
                "pl",
                "Maraton Pisania Listów: 24 godziny",
                "Piszemy listy przez całą dobę, od południa do południa.",
            ),
        ),
        time_zone="Europe/Warsaw",
        start=time(12, 0),
        hours=24,
        organiser_name="Amnesty International Polska, Warszawa",
        case_slugs=("sonia-dahmani", "sai-zaw-thaike"),
        venue_name="Biblioteka",
        street_address="ul. Przykładowa 1",
        city="Warszawa",
        country="PL",
        latitude=52.2297,
        longitude=21.0122,
        capacity=120,
        address_visibility=AddressVisibility.REGISTERED,
    ),
    DemoEvent(
        section_code="au",
        format=EventFormat.IN_PERSON,
        language="en",
        texts=(
            EventTextDraft(
                "en",
                "Letters for Human Rights Day in Sydney",
                "An evening of letter writing by the harbour.",
            ),
        ),
        time_zone="Australia/Sydney",
        start=time(17, 0),
        hours=3,
        organiser_name="Amnesty International Australia, Sydney",
        case_slugs=("young-indigenous-activists-ecuador",),
        venue_name="Town hall",
        city="Sydney",
        country="AU",
        latitude=-33.8732,
        longitude=151.2061,
        capacity=60,
    ),
    DemoEvent(
        section_code="ca",
        format=EventFormat.HYBRID,
        language="fr-CA",
        texts=(
            EventTextDraft(
                "fr-CA",
                "Marathon d'écriture à Montréal",
                "Venez écrire avec nous, sur place ou en ligne.",
            ),
        ),
        time_zone="America/Toronto",
        start=time(19, 0),
        hours=2,
        organiser_name="Amnistie internationale Canada, Montréal",
        case_slugs=("sonia-dahmani", "students-in-the-usa"),
        venue_name="Maison de quartier",
        city="Montréal",
        country="CA",
        latitude=45.5019,
        longitude=-73.5674,
        online_url="https://meet.example.org/w4r-montreal",
        capacity=30,
    ),
    DemoEvent(
        section_code="us",
        format=EventFormat.ONLINE,
        language="en",
        texts=(
            EventTextDraft(
                "en",
                "Online Write for Rights session",
                "Join from anywhere: we write together for an hour.",
            ),
        ),
        time_zone="America/New_York",
        start=time(20, 0),
        hours=1,
        organiser_name="Amnesty International USA",
        case_slugs=("students-in-the-usa",),
        online_url="https://meet.example.org/w4r-online",
        day_offset=-1,
    ),
)
