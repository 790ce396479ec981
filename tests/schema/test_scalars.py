"""The DateTime scalar's faster parser gives what strawberry's parser (isoparse) gives."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest
from dateutil.parser import isoparse

from w4r.schema.scalars import parse_datetime, parse_instant

VALUES = [
    "2025-11-21T10:11:12Z",
    "2025-11-21T10:11:12+00:00",
    "2025-11-21T10:11:12-00:00",
    "2025-11-21T10:11:12.123+05:30",
    "2025-11-21T10:11:12.123456-08:00",
    "2025-11-21T10:11:12+23:59",
    "2025-11-21T10:11:12",
    "2025-11-21T24:00:00Z",
    "2025-11-21T10:11:12.1Z",
    "2025-11-21 10:11:12Z",
    "2025-11-21T10:11:12z",
    "20251121T101112Z",
    "2025-11-21",
]
REFUSED = [
    "2025-02-30T10:00:00Z",
    "2025-11-21T10:11:60Z",
    "2025-11-21T10:11:12+24:00",
    "2025-11-21T25:00:00Z",
    "yesterday",
    "\uff12\uff10\uff12\uff15-11-21T10:11:12Z",  # full-width digits
]


@pytest.mark.parametrize("value", VALUES)
def test_a_datetime_parses_as_isoparse_parses_it(value: str) -> None:
    # when a value is parsed by both
    parsed, expected = parse_datetime(value), isoparse(value)

    # then the results are the same, time zone objects included
    assert parsed == expected
    assert repr(parsed) == repr(expected)


def refusal(parse: Callable[[str], datetime], value: str) -> str:
    """The message of the ValueError ``parse`` raises for ``value``."""
    try:
        parse(value)
    except ValueError as error:
        return str(error)
    raise AssertionError(f"{value!r} was accepted")


@pytest.mark.parametrize("value", REFUSED)
def test_a_value_isoparse_refuses_is_refused_with_its_message(value: str) -> None:
    # when a value isoparse refuses is parsed by both
    message, expected = refusal(parse_datetime, value), refusal(isoparse, value)

    # then both refuse it, with the same message
    assert message == expected


@pytest.mark.parametrize(
    "value",
    ["9999-12-31T23:59:59-05:00", "9999-12-31T20:00:00Z", "0001-01-01T00:00:00+05:00"],
)
def test_an_instant_at_the_ends_of_the_calendar_is_refused(value: str) -> None:
    # when an instant that some time zone cannot show is parsed
    message = refusal(parse_instant, value)

    # then it is refused with the range
    assert message == "The instant must lie between 0001-01-02 and 9999-12-30 (UTC)."


@pytest.mark.parametrize("value", ["9999-12-30T23:59:59Z", "0001-01-02T05:00:00+05:00"])
def test_an_instant_inside_the_range_is_accepted(value: str) -> None:
    # when/then
    assert parse_instant(value) == isoparse(value)
