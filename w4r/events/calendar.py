"""Events as an iCalendar (RFC 5545) feed or download, for calendar apps to subscribe to.

One VCALENDAR (``METHOD:PUBLISH``) with one VEVENT per event. Start and end are written as
local times of the event's place with a ``TZID`` (what the organiser announced: "19:00 in
London"), and the VTIMEZONE of every zone used is included, as RFC 5545 requires. Escaping
(commas, semicolons, backslashes, newlines) and line folding (75 octets, never inside a UTF-8
character) are the ``icalendar`` library's.

Limits:

- VTIMEZONE components cover the calendar years of the events (from 1 January of the
  earliest to 1 January after the latest), not all of history: enough for the events here.
- A local time that occurs twice (the repeated hour when clocks go back) cannot be told
  apart with a ``TZID``: RFC 5545 reads it as the first occurrence. An instant in the second
  occurrence is written in UTC instead, which is exact.
- ``organizer_name`` goes to ``CONTACT``: ``ORGANIZER`` needs an address (a ``mailto:`` URI)
  that a public feed should not give out.
- Texts (title, description, location, organiser) are TEXT values: ``\\r\\n`` and a lone
  ``\\r`` are written as line feeds (and read back as ``\\n``); the other control characters,
  which RFC 5545 does not allow in TEXT, are dropped (tab is kept).
- No ``SEQUENCE``: subscribers re-read the whole feed; ``DTSTAMP`` is the last update.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event
from icalendar.enums import STATUS

DEFAULT_PRODUCT_ID = "-//Amnesty International//w4r//EN"

_LINE_BREAK = re.compile(r"\r\n?")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class CalendarEvent:
    """What a calendar shows of one event. Datetimes are aware; ``time_zone`` is the IANA
    zone of the event's place (e.g. ``Europe/London``)."""

    uid: str
    title: str
    description: str | None
    starts_at: datetime
    ends_at: datetime
    time_zone: str
    location: str | None
    url: str | None
    is_cancelled: bool
    updated_at: datetime
    organizer_name: str | None

    def __post_init__(self) -> None:
        for field, value in (
            ("starts_at", self.starts_at),
            ("ends_at", self.ends_at),
            ("updated_at", self.updated_at),
        ):
            if value.utcoffset() is None:
                raise ValueError(f"{field} must be an aware datetime, not {value!r}.")
        if self.ends_at < self.starts_at:
            raise ValueError(f"An event cannot end ({self.ends_at}) before it starts.")


def render_calendar(
    events: Sequence[CalendarEvent], *, name: str, product_id: str = DEFAULT_PRODUCT_ID
) -> bytes:
    """The events as one iCalendar file (UTF-8, CRLF line ends).

    Raises ``zoneinfo.ZoneInfoNotFoundError`` (a ``KeyError``) for an unknown time zone."""
    calendar = Calendar()
    calendar.add("version", "2.0")
    calendar.add("prodid", product_id)
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    # Both NAME (RFC 7986) and X-WR-CALNAME (what most clients read).
    calendar.calendar_name = name

    first_year: int | None = None
    last_year: int | None = None
    for item in events:
        zone = ZoneInfo(item.time_zone)
        starts = _local(item.starts_at, zone)
        ends = _local(item.ends_at, zone)
        calendar.add_component(
            Event.new(
                uid=item.uid,
                stamp=item.updated_at.astimezone(UTC),
                start=starts,
                end=ends,
                summary=_text(item.title),
                description=_optional_text(item.description),
                location=_optional_text(item.location),
                url=item.url,
                status=STATUS.CANCELLED if item.is_cancelled else STATUS.CONFIRMED,
                contacts=_optional_text(item.organizer_name),
            )
        )
        years = (starts.year, ends.year)
        first_year = min(years) if first_year is None else min(first_year, *years)
        last_year = max(years) if last_year is None else max(last_year, *years)

    if first_year is not None and last_year is not None:
        calendar.add_missing_timezones(
            first_date=date(first_year, 1, 1), last_date=date(last_year + 1, 1, 1)
        )
    ical: bytes = calendar.to_ical()  # unannotated in icalendar 7: typed Any
    return ical


def _local(instant: datetime, zone: ZoneInfo) -> datetime:
    """The instant as a local time of the zone, or in UTC when that local time is the second
    of two (a ``TZID`` time is read as the first)."""
    local = instant.astimezone(zone)
    if local.fold and local.replace(fold=0).utcoffset() != local.utcoffset():
        return instant.astimezone(UTC)
    return local


def _text(value: str) -> str:
    """A TEXT value: line breaks as ``\\n``, no control characters but tab and line feed."""
    return _CONTROL.sub("", _LINE_BREAK.sub("\n", value))


def _optional_text(value: str | None) -> str | None:
    return None if value is None else _text(value)
