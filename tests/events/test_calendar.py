"""iCalendar output: rendered, then parsed back with the icalendar library."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pytest
from hypothesis import given
from hypothesis import strategies as st
from icalendar import Calendar, Event

from w4r.events.calendar import DEFAULT_PRODUCT_ID, CalendarEvent, render_calendar

LONDON = ZoneInfo("Europe/London")
SYDNEY = ZoneInfo("Australia/Sydney")

# British Summer Time ends at 02:00 BST on Sunday 26 October 2025 (clocks go back to 01:00
# GMT): 23:00 on the Saturday is BST (UTC+1), 03:00 on the Sunday is GMT (UTC+0).
EVENING = CalendarEvent(
    uid="0b7c6a52-3c8e-4a51-9f3e-2f0d6d1d9a10@w4r.example",
    title="Write for Rights: letters night",
    description="Bring pens, paper; we bring tea.\nAll welcome, no experience needed.",
    starts_at=datetime(2025, 10, 25, 23, 0, tzinfo=LONDON),
    ends_at=datetime(2025, 10, 26, 3, 0, tzinfo=LONDON),
    time_zone="Europe/London",
    location="Friends House, 173 Euston Road, London NW1 2BJ",
    url="https://w4r.example/events/letters-night",
    is_cancelled=False,
    updated_at=datetime(2025, 10, 1, 13, 30, tzinfo=LONDON),
    organizer_name="Amnesty UK, Camden group",
)
CANCELLED = CalendarEvent(
    uid="5f1e2a9b-0c3d-4e7f-8a6b-1c2d3e4f5a6b@w4r.example",
    title="Letter-writing picnic",
    description=None,
    starts_at=datetime(2025, 12, 6, 10, 0, tzinfo=SYDNEY),
    ends_at=datetime(2025, 12, 6, 13, 0, tzinfo=SYDNEY),
    time_zone="Australia/Sydney",
    location=None,
    url=None,
    is_cancelled=True,
    updated_at=datetime(2025, 11, 30, 8, 0, tzinfo=UTC),
    organizer_name=None,
)


def parse(data: bytes) -> Calendar:
    return Calendar.from_ical(data)


def events_by_uid(calendar: Calendar) -> dict[str, Event]:
    return {str(event["UID"]): event for event in calendar.events}


def with_description(description: str | None) -> CalendarEvent:
    return dataclasses.replace(EVENING, description=description)


# --- the calendar --------------------------------------------------------------------------


def test_the_calendar_has_its_properties_and_name() -> None:
    # given/when
    calendar = parse(render_calendar([EVENING, CANCELLED], name="Events near Camden"))

    # then
    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["PRODID"]) == DEFAULT_PRODUCT_ID
    assert str(calendar["CALSCALE"]) == "GREGORIAN"
    assert str(calendar["METHOD"]) == "PUBLISH"
    assert str(calendar["X-WR-CALNAME"]) == "Events near Camden"
    assert calendar.calendar_name == "Events near Camden"


def test_the_product_id_can_be_given() -> None:
    # given/when
    calendar = parse(render_calendar([EVENING], name="x", product_id="-//Example//Test//EN"))

    # then
    assert str(calendar["PRODID"]) == "-//Example//Test//EN"


def test_each_event_is_a_vevent_with_its_uid_summary_and_status() -> None:
    # given/when
    calendar = parse(render_calendar([EVENING, CANCELLED], name="Events"))

    # then
    events = events_by_uid(calendar)
    assert len(calendar.events) == 2
    assert set(events) == {EVENING.uid, CANCELLED.uid}
    evening, cancelled = events[EVENING.uid], events[CANCELLED.uid]
    assert str(evening["SUMMARY"]) == EVENING.title
    assert str(evening["STATUS"]) == "CONFIRMED"
    assert str(cancelled["SUMMARY"]) == CANCELLED.title
    assert str(cancelled["STATUS"]) == "CANCELLED"


def test_optional_texts_are_there_when_given_and_absent_otherwise() -> None:
    # given/when
    calendar = parse(render_calendar([EVENING, CANCELLED], name="Events"))

    # then
    events = events_by_uid(calendar)
    evening, cancelled = events[EVENING.uid], events[CANCELLED.uid]
    assert str(evening["DESCRIPTION"]) == EVENING.description
    assert str(evening["LOCATION"]) == EVENING.location
    assert str(evening["URL"]) == EVENING.url
    assert str(evening["CONTACT"]) == EVENING.organizer_name
    for name in ("DESCRIPTION", "LOCATION", "URL", "CONTACT", "ORGANIZER"):
        assert name not in cancelled


def test_dtstamp_is_the_last_update_in_utc() -> None:
    # given/when (EVENING was updated at 13:30 BST)
    data = render_calendar([EVENING], name="Events")

    # then
    assert b"DTSTAMP:20251001T123000Z\r\n" in data
    (event,) = parse(data).events
    assert event.decoded("DTSTAMP") == datetime(2025, 10, 1, 12, 30, tzinfo=UTC)


def test_an_empty_calendar_has_no_events_and_no_time_zones() -> None:
    # given/when
    calendar = parse(render_calendar([], name="Nothing yet"))

    # then
    assert calendar.events == []
    assert calendar.timezones == []
    assert str(calendar["X-WR-CALNAME"]) == "Nothing yet"


# --- times and time zones ------------------------------------------------------------------


def test_the_zoneinfo_arithmetic_behind_the_london_event() -> None:
    # given/when/then (what the next test relies on)
    assert EVENING.starts_at.astimezone(UTC) == datetime(2025, 10, 25, 22, 0, tzinfo=UTC)
    assert EVENING.ends_at.astimezone(UTC) == datetime(2025, 10, 26, 3, 0, tzinfo=UTC)
    # five hours elapse, though the wall clock moves four (and Python's subtraction of two
    # datetimes with the same tzinfo gives the wall-clock difference)
    assert EVENING.ends_at.astimezone(UTC) - EVENING.starts_at.astimezone(UTC) == timedelta(hours=5)
    assert EVENING.ends_at - EVENING.starts_at == timedelta(hours=4)


def test_start_and_end_are_local_times_with_a_tzid_across_the_clock_change() -> None:
    # given/when
    data = render_calendar([EVENING, CANCELLED], name="Events")

    # then written as the local times of the place
    assert b"DTSTART;TZID=Europe/London:20251025T230000\r\n" in data
    assert b"DTEND;TZID=Europe/London:20251026T030000\r\n" in data
    assert b"DTSTART;TZID=Australia/Sydney:20251206T100000\r\n" in data

    # and read back as the same instants: 22:00Z to 03:00Z, five hours for four on the clock
    events = events_by_uid(parse(data))
    evening = events[EVENING.uid]
    assert evening["DTSTART"].params["TZID"] == "Europe/London"
    assert evening["DTEND"].params["TZID"] == "Europe/London"
    assert evening.decoded("DTSTART").astimezone(UTC) == datetime(2025, 10, 25, 22, tzinfo=UTC)
    assert evening.decoded("DTEND").astimezone(UTC) == datetime(2025, 10, 26, 3, tzinfo=UTC)
    cancelled = events[CANCELLED.uid]
    assert cancelled["DTSTART"].params["TZID"] == "Australia/Sydney"
    assert cancelled.decoded("DTSTART") == CANCELLED.starts_at
    assert cancelled.decoded("DTEND") == CANCELLED.ends_at


def test_the_calendar_carries_a_vtimezone_for_each_zone_used() -> None:
    # given/when
    calendar = parse(render_calendar([EVENING, CANCELLED, EVENING], name="Events"))

    # then one each, before the events
    assert sorted(timezone.tz_name for timezone in calendar.timezones) == [
        "Australia/Sydney",
        "Europe/London",
    ]
    names = [component.name for component in calendar.subcomponents]
    assert names.index("VEVENT") > max(i for i, name in enumerate(names) if name == "VTIMEZONE")


def test_the_vtimezones_alone_give_the_right_instants() -> None:
    # given the calendar, read as a client without a time-zone database would: the local
    # times resolved with the VTIMEZONE definitions in the file, not with zoneinfo
    calendar = parse(render_calendar([EVENING, CANCELLED], name="Events"))
    zones = {timezone.tz_name: timezone.to_tz(lookup_tzid=False) for timezone in calendar.timezones}

    # when/then
    london = zones["Europe/London"]
    assert datetime(2025, 10, 25, 23, tzinfo=london).astimezone(UTC) == datetime(
        2025, 10, 25, 22, tzinfo=UTC
    )
    assert datetime(2025, 10, 26, 3, tzinfo=london).astimezone(UTC) == datetime(
        2025, 10, 26, 3, tzinfo=UTC
    )
    sydney = zones["Australia/Sydney"]  # daylight time (UTC+11) in December
    assert datetime(2025, 12, 6, 10, tzinfo=sydney).astimezone(UTC) == datetime(
        2025, 12, 5, 23, tzinfo=UTC
    )


def test_times_in_utc_are_written_in_utc() -> None:
    # given an event whose place is in UTC
    event = dataclasses.replace(
        CANCELLED, time_zone="UTC", starts_at=datetime(2025, 12, 6, 10, tzinfo=SYDNEY)
    )

    # when
    data = render_calendar([event], name="Events")

    # then 10:00 in Sydney (UTC+11) is 23:00Z, and no VTIMEZONE is needed
    assert b"DTSTART:20251205T230000Z\r\n" in data
    assert parse(data).timezones == []


def test_the_second_of_two_equal_local_times_is_written_in_utc() -> None:
    # given events starting at 01:30 on the night the clocks go back: the first at 01:30 BST
    # (00:30Z), the second an hour later at 01:30 GMT (01:30Z)
    first = dataclasses.replace(
        EVENING,
        uid="first",
        starts_at=datetime(2025, 10, 26, 0, 30, tzinfo=UTC),
        ends_at=datetime(2025, 10, 26, 4, tzinfo=UTC),
    )
    second = dataclasses.replace(
        first, uid="second", starts_at=datetime(2025, 10, 26, 1, 30, tzinfo=UTC)
    )

    # when
    data = render_calendar([first, second], name="Events")

    # then a TZID local time means the first occurrence, so the second is written in UTC
    assert b"DTSTART;TZID=Europe/London:20251026T013000\r\n" in data
    assert b"DTSTART:20251026T013000Z\r\n" in data
    # (compared in UTC: PEP 495 makes == between zones false for any ambiguous local time)
    events = events_by_uid(parse(data))
    assert events["first"].decoded("DTSTART").astimezone(UTC) == first.starts_at
    assert events["second"].decoded("DTSTART").astimezone(UTC) == second.starts_at


def test_an_unknown_time_zone_is_refused() -> None:
    # given/when/then
    with pytest.raises(ZoneInfoNotFoundError):
        render_calendar([dataclasses.replace(EVENING, time_zone="Europe/Atlantis")], name="x")


@pytest.mark.parametrize("field", ["starts_at", "ends_at", "updated_at"])
def test_naive_datetimes_are_refused(field: str) -> None:
    # given/when/then
    naive = getattr(EVENING, field).replace(tzinfo=None)
    with pytest.raises(ValueError, match=f"{field} must be an aware datetime"):
        dataclasses.replace(EVENING, **{field: naive})


def test_an_event_ending_before_it_starts_is_refused() -> None:
    # given/when/then
    with pytest.raises(ValueError, match="before it starts"):
        dataclasses.replace(EVENING, ends_at=EVENING.starts_at.replace(hour=22))


# --- texts: escaping and folding -----------------------------------------------------------


@pytest.mark.parametrize(
    "description",
    [
        "Letters, cards; and tea.",
        "Line one\nLine two\n\nLine four",
        "A backslash \\ and a \\n that is not a newline",
        "Quotes \"double\" and 'single', a colon: and a tab\there",
        ",;\\\n",
        "Zażółć gęślą jaźń — 書き損じ — ✍️",
    ],
)
def test_descriptions_round_trip_exactly(description: str) -> None:
    # given/when
    (event,) = parse(render_calendar([with_description(description)], name="x")).events

    # then
    assert str(event["DESCRIPTION"]) == description


@given(st.text(st.characters(blacklist_categories=("Cc", "Cs")) | st.sampled_from("\n\t")))
def test_any_text_without_control_characters_round_trips(description: str) -> None:
    # given/when
    (event,) = parse(render_calendar([with_description(description)], name="x")).events

    # then
    assert str(event["DESCRIPTION"]) == description


def test_carriage_returns_become_line_feeds_and_other_controls_are_dropped() -> None:
    # given/when
    description = "Windows\r\nold Mac\rbell\x07null\x00tab\tend"
    (event,) = parse(render_calendar([with_description(description)], name="x")).events

    # then
    assert str(event["DESCRIPTION"]) == "Windows\nold Mac\nbellnulltab\tend"


def test_titles_and_locations_are_escaped_too() -> None:
    # given/when
    event = dataclasses.replace(EVENING, title="Tea; letters, more", location="A;B,C\nD")
    (parsed,) = parse(render_calendar([event], name="x")).events

    # then
    assert str(parsed["SUMMARY"]) == "Tea; letters, more"
    assert str(parsed["LOCATION"]) == "A;B,C\nD"


def test_long_lines_are_folded_at_75_octets() -> None:
    # given a long description, with characters of two, three and four octets in UTF-8
    description = "Write a letter, change a life; " * 10 + "żółć 書 ✍️ " * 20
    data = render_calendar([with_description(description)], name="x")

    # then no line is longer than 75 octets, each still UTF-8, and it reads back whole
    lines = data.split(b"\r\n")
    assert all(len(line) <= 75 for line in lines)
    for line in lines:
        line.decode("utf-8")
    assert sum(line.startswith(b" ") for line in lines) >= 5
    (event,) = parse(data).events
    assert str(event["DESCRIPTION"]) == description


def test_lines_end_with_crlf() -> None:
    # given/when
    data = render_calendar([EVENING], name="x")

    # then
    assert data.startswith(b"BEGIN:VCALENDAR\r\n")
    assert data.endswith(b"END:VCALENDAR\r\n")
    assert b"\n" not in data.replace(b"\r\n", b"")
