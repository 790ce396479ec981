"""Language tags (BCP 47), countries (ISO 3166-1 alpha-2) and time zones, validated.

Babel's CLDR data decides which languages exist, pycountry's ISO 3166-1 list which countries
do (CLDR also has regions such as ``ZZ`` or ``EU`` that are no country), and the IANA list
shipped by the tzdata package which time zones do (the system's zone folder can hold links
such as ``localtime`` that follow the server's own setting).
"""

from __future__ import annotations

from functools import cache, lru_cache
from importlib import resources

import pycountry
from babel import Locale, UnknownLocaleError


@lru_cache(maxsize=4096)
def normalize_language_tag(tag: str) -> str:
    """The canonical form of a BCP 47 tag Babel knows (``fr_ca`` -> ``fr-CA``).

    Raises ValueError for a tag that is malformed or names no known language. Remembered
    (the 4,096 most recent tags): Babel looks for the locale's data file on every parse,
    and a case list asks once per case.
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
    return frozenset(country.alpha_2 for country in pycountry.countries)


def normalize_country_code(code: str) -> str:
    """The upper-case ISO 3166-1 alpha-2 code; ValueError if no such country is known."""
    cleaned = code.strip().upper()
    if cleaned not in _countries():
        raise ValueError(f"{code!r} is not an ISO 3166-1 alpha-2 country code.")
    return cleaned


@cache
def _time_zones() -> frozenset[str]:
    return frozenset(resources.files("tzdata").joinpath("zones").read_text("utf-8").split())


def validate_time_zone(name: str) -> str:
    """The IANA time zone name as given; ValueError if the zone does not exist."""
    cleaned = name.strip()
    if cleaned not in _time_zones():
        raise ValueError(f"{name!r} is not an IANA time zone (e.g. 'Europe/London').")
    return cleaned
