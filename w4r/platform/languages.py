"""Language tags (BCP 47), countries (ISO 3166-1 alpha-2) and time zones, validated.

Babel's CLDR data decides which languages and countries exist; the standard library's
zoneinfo (with the tzdata package where the system has no database) decides time zones.
"""

from __future__ import annotations

import zoneinfo
from functools import cache

from babel import Locale, UnknownLocaleError


def normalize_language_tag(tag: str) -> str:
    """The canonical form of a BCP 47 tag Babel knows (``fr_ca`` -> ``fr-CA``).

    Raises ValueError for a tag that is malformed or names no known language.
    """
    cleaned = tag.strip().replace("_", "-")
    if not cleaned or len(cleaned) > 35:
        raise ValueError(f"{tag!r} is not a BCP 47 language tag.")
    try:
        locale = Locale.parse(cleaned, sep="-")
    except (UnknownLocaleError, ValueError) as error:
        raise ValueError(f"{tag!r} is not a language tag that w4r knows (BCP 47).") from error
    parts = [locale.language, locale.script, locale.territory, locale.variant]
    return "-".join(part for part in parts if part)


@cache
def _countries() -> frozenset[str]:
    territories = Locale("en").territories
    return frozenset(
        code for code in territories if isinstance(code, str) and len(code) == 2 and code.isalpha()
    )


def normalize_country_code(code: str) -> str:
    """The upper-case ISO 3166-1 alpha-2 code; ValueError if no such country is known."""
    cleaned = code.strip().upper()
    if cleaned not in _countries():
        raise ValueError(f"{code!r} is not an ISO 3166-1 alpha-2 country code.")
    return cleaned


@cache
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def validate_time_zone(name: str) -> str:
    """The IANA time zone name as given; ValueError if the zone does not exist."""
    cleaned = name.strip()
    if cleaned not in _time_zones():
        raise ValueError(f"{name!r} is not an IANA time zone (e.g. 'Europe/London').")
    return cleaned
