"""SectionService rules and the language, country and time zone checks, below the API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import unique_code
from w4r.platform.database import TenantBinding
from w4r.platform.errors import InvalidInputError
from w4r.platform.languages import (
    normalize_country_code,
    normalize_language_tag,
    validate_time_zone,
)
from w4r.tenants.models import Section
from w4r.tenants.service import (
    MAX_LANGUAGES,
    MAX_NAME_LENGTH,
    SectionChanges,
    SectionDraft,
    SectionService,
    normalize_host,
    normalize_section_code,
)

SessionFactory = Callable[[TenantBinding], AsyncSession]


@pytest.fixture
def service(app_session_factory: SessionFactory) -> SectionService:
    """A SectionService in the global scope, on a connection rolled back after the test."""
    return SectionService(app_session_factory(TenantBinding.global_scope()))


def draft(**overrides: Any) -> SectionDraft:
    values: dict[str, Any] = {
        "code": unique_code(),
        "name": "Service test section",
        "country": "GB",
        "languages": ("en",),
        "time_zone": "Europe/London",
        **overrides,
    }
    return SectionDraft(**values)


def problems_of(error: pytest.ExceptionInfo[InvalidInputError]) -> list[tuple[str | None, str]]:
    return [(problem.field, problem.code.value) for problem in error.value.problems]


async def hosts_of(service: SectionService, section: Section) -> list[str]:
    return (await service.hosts_by_section_ids([section.id]))[section.id]


# --- create ------------------------------------------------------------------------------


async def test_create_collapses_whitespace_in_the_name(service: SectionService) -> None:
    # given a name with runs of spaces, tabs and newlines around and inside it
    name = "  Amnesty \t International\n\n  Cymru  "

    # when the section is created
    section = await service.create(draft(name=name))

    # then the name is stored with single spaces, trimmed
    assert section.name == "Amnesty International Cymru"


async def test_create_deduplicates_languages_after_normalizing(service: SectionService) -> None:
    # given languages repeated in different spellings
    languages = ("en", "EN", "en_gb", "en-GB", " cy ", "cy")

    # when the section is created
    section = await service.create(draft(languages=languages))

    # then each language appears once, canonical, in first-seen order
    assert section.languages == ["en", "en-GB", "cy"]
    assert section.default_language == "en"


async def test_create_matches_the_default_language_in_any_spelling(
    service: SectionService,
) -> None:
    # given a default language spelled differently from its entry in the languages
    section = await service.create(draft(languages=("en-CA", "fr-CA"), default_language="fr_ca"))

    # then the default is the canonical tag
    assert section.default_language == "fr-CA"


async def test_create_accepts_a_name_of_the_maximum_length(service: SectionService) -> None:
    # given a name exactly as long as allowed
    name = "n" * MAX_NAME_LENGTH

    # when the section is created, then the name is kept whole
    section = await service.create(draft(name=name))
    assert section.name == name


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        pytest.param({"name": "n" * (MAX_NAME_LENGTH + 1)}, [("name", "TOO_LONG")], id="long"),
        pytest.param({"name": "\n\t "}, [("name", "REQUIRED")], id="blank-name"),
        pytest.param({"languages": ()}, [("languages", "REQUIRED")], id="no-languages"),
        pytest.param(
            {"languages": ("en", "xx", "yy")},
            [("languages", "UNKNOWN_LANGUAGE"), ("languages", "UNKNOWN_LANGUAGE")],
            id="two-unknown-languages",
        ),
        pytest.param(
            {"languages": ("en",), "default_language": "xx"},
            [("defaultLanguage", "UNKNOWN_LANGUAGE")],
            id="unknown-default",
        ),
        pytest.param(
            {"languages": ("en",), "default_language": "cy"},
            [("defaultLanguage", "INVALID")],
            id="default-not-listed",
        ),
        pytest.param({"country": "GBR"}, [("country", "UNKNOWN_COUNTRY")], id="alpha-3"),
        pytest.param(
            {"time_zone": "europe/london"}, [("timeZone", "UNKNOWN_TIME_ZONE")], id="zone-case"
        ),
        pytest.param({"code": "g"}, [("code", "INVALID")], id="short-code"),
        pytest.param({"code": "gb-"}, [("code", "INVALID")], id="dangling-dash"),
        pytest.param({"code": "gb-abcdefghi"}, [("code", "INVALID")], id="long-suffix"),
    ],
)
async def test_create_refuses_invalid_drafts(
    service: SectionService,
    overrides: dict[str, Any],
    expected: list[tuple[str, str]],
) -> None:
    # given a draft with problems
    section_draft = draft(**overrides)

    # when it is created, then every problem is raised, and nothing is stored
    with pytest.raises(InvalidInputError) as error:
        await service.create(section_draft)
    assert problems_of(error) == expected
    assert await service.get_by_code(section_draft.code) is None


async def test_create_refuses_more_than_the_maximum_number_of_languages(
    service: SectionService,
) -> None:
    # given more distinct languages than allowed
    languages = "en fr de es it pt nl pl cs sk sl hu ro bg el fi sv da et lv lt".split()  # noqa: SIM905
    assert len(languages) == MAX_LANGUAGES + 1

    # when the section is created, then the languages are refused
    with pytest.raises(InvalidInputError) as error:
        await service.create(draft(languages=languages))
    assert problems_of(error) == [("languages", "INVALID")]


async def test_create_stores_idna_hosts_in_ascii(service: SectionService) -> None:
    # given a host name with a non-ASCII label
    code = unique_code()
    host = f"bücher.{code}.example"

    # when the section is created with it
    section = await service.create(draft(code=code, hosts=(host,)))

    # then the host is stored IDNA-encoded
    assert await hosts_of(service, section) == [f"xn--bcher-kva.{code}.example"]


def test_normalize_host_encodes_idna() -> None:
    # when the documented example is normalized, then its punycode form comes back
    assert normalize_host("bücher.example") == "xn--bcher-kva.example"
    assert normalize_host(" Bücher.Example. ") == "xn--bcher-kva.example"


async def test_create_stores_each_host_once(service: SectionService) -> None:
    # given the same host twice, differently spelled
    code = unique_code()
    host = f"w4r.{code}.example.org"

    # when the section is created
    section = await service.create(draft(code=code, hosts=(host, f" {host.upper()}. ")))

    # then it has that host once
    assert await hosts_of(service, section) == [host]


@pytest.mark.parametrize(
    "host",
    [
        "w4r.example.org:8080",
        "https://w4r.example.org",
        "http://w4r.example.org/",
        "w4r.example.org/write",
        "user@w4r.example.org",
        "w4r..example.org",
        "-w4r.example.org",
        "w4r-.example.org",
        "w4r_x.example.org",
        "a" * 64 + ".example.org",
        ".".join(["a" * 63] * 4) + ".org",
        "",
        "   ",
    ],
)
async def test_create_refuses_a_host_that_is_not_a_dns_name(
    service: SectionService, host: str
) -> None:
    # given a host with a port, a scheme, a path or a malformed label
    section_draft = draft(hosts=(host,))

    # when the section is created, then the host is refused and nothing is stored
    with pytest.raises(InvalidInputError) as error:
        await service.create(section_draft)
    assert problems_of(error) == [("hosts", "INVALID")]
    assert await service.get_by_code(section_draft.code) is None


async def test_create_refuses_a_name_with_a_nul_character(service: SectionService) -> None:
    # given a name PostgreSQL cannot store (text never holds NUL)
    section_draft = draft(name="Amnesty\x00International")

    # when the section is created, then the name is a user error, not a database failure
    with pytest.raises(InvalidInputError) as error:
        await service.create(section_draft)
    assert problems_of(error) == [("name", "INVALID")]


# --- update ------------------------------------------------------------------------------


async def test_update_collapses_whitespace_and_leaves_other_fields(
    service: SectionService,
) -> None:
    # given a section
    section = await service.create(draft(languages=("en", "cy"), default_language="cy"))

    # when only its name changes
    updated = await service.update(section, SectionChanges(name="  New \t  name "))

    # then the name is collapsed and the rest is as it was
    assert updated.name == "New name"
    assert updated.languages == ["en", "cy"]
    assert updated.default_language == "cy"
    assert updated.time_zone == "Europe/London"


async def test_update_keeps_a_default_that_is_still_offered(service: SectionService) -> None:
    # given a section whose default is Welsh
    section = await service.create(draft(languages=("en", "cy"), default_language="cy"))

    # when its languages change but still include Welsh (spelled differently)
    updated = await service.update(section, SectionChanges(languages=("fr", "CY", "fr")))

    # then the default stays Welsh and the languages are normalized and de-duplicated
    assert updated.languages == ["fr", "cy"]
    assert updated.default_language == "cy"


async def test_update_moves_a_dropped_default_to_the_first_language(
    service: SectionService,
) -> None:
    # given a section whose default is Welsh
    section = await service.create(draft(languages=("en", "cy"), default_language="cy"))

    # when Welsh is no longer offered
    updated = await service.update(section, SectionChanges(languages=("ga", "en")))

    # then the default is the first language
    assert updated.default_language == "ga"


async def test_update_of_the_default_alone_must_name_an_offered_language(
    service: SectionService,
) -> None:
    # given a section in English and Welsh
    section = await service.create(draft(languages=("en", "cy")))

    # when the default is set to a language it does not offer, then it is refused
    with pytest.raises(InvalidInputError) as error:
        await service.update(section, SectionChanges(default_language="fr"))
    assert problems_of(error) == [("defaultLanguage", "INVALID")]

    # and when set to one it offers, it changes
    updated = await service.update(section, SectionChanges(default_language="CY"))
    assert updated.default_language == "cy"


async def test_update_refuses_every_invalid_change_and_changes_nothing(
    service: SectionService,
) -> None:
    # given a section
    section = await service.create(draft(name="Before"))

    # when a valid change comes with invalid ones
    changes = SectionChanges(name="After", country="QQ", time_zone="Moon/Base", languages=())
    with pytest.raises(InvalidInputError) as error:
        await service.update(section, changes)

    # then every problem is raised and the stored section is unchanged
    assert problems_of(error) == [
        ("country", "UNKNOWN_COUNTRY"),
        ("timeZone", "UNKNOWN_TIME_ZONE"),
        ("languages", "REQUIRED"),
    ]
    stored = await service.get(section.id)
    assert stored is not None
    assert stored.name == "Before"
    assert stored.languages == ["en"]


async def test_update_without_changes_returns_the_section(service: SectionService) -> None:
    # given a section
    section = await service.create(draft(name="Same"))

    # when nothing is changed, then the section is as it was
    updated = await service.update(section, SectionChanges())
    assert updated is section
    assert updated.name == "Same"


# --- add_host ----------------------------------------------------------------------------


async def test_add_host_normalizes_and_is_idempotent(service: SectionService) -> None:
    # given a section
    code = unique_code()
    section = await service.create(draft(code=code))
    host = f"w4r.{code}.example.org"

    # when a host is added twice in different spellings
    first = await service.add_host(section, f" W4R.{code.upper()}.Example.ORG. ")
    second = await service.add_host(section, host)

    # then it is normalized and stored once
    assert first == host
    assert second == host
    assert await hosts_of(service, section) == [host]


async def test_add_host_refuses_a_host_of_another_section(service: SectionService) -> None:
    # given a host that identifies one section
    owner_code = unique_code()
    host = f"w4r.{owner_code}.example.org"
    owner = await service.create(draft(code=owner_code, hosts=(host,)))
    other = await service.create(draft())

    # when it is added to another section, then it already exists
    with pytest.raises(InvalidInputError) as error:
        await service.add_host(other, host)
    assert problems_of(error) == [("host", "ALREADY_EXISTS")]
    assert await hosts_of(service, owner) == [host]
    assert await hosts_of(service, other) == []


@pytest.mark.parametrize("host", ["w4r.example.org:443", "https://w4r.example.org", "*.example"])
async def test_add_host_refuses_a_host_with_port_or_scheme(
    service: SectionService, host: str
) -> None:
    # given a section
    section = await service.create(draft())

    # when a host with a port, a scheme or a wildcard is added, then it is refused
    with pytest.raises(InvalidInputError) as error:
        await service.add_host(section, host)
    assert problems_of(error) == [("host", "INVALID")]
    assert await hosts_of(service, section) == []


async def test_create_refuses_a_code_that_exists(service: SectionService) -> None:
    # given a section
    section = await service.create(draft())

    # when another is created with the same code in upper case, then it already exists
    with pytest.raises(InvalidInputError) as error:
        await service.create(draft(code=f" {section.code.upper()} "))
    assert problems_of(error) == [("code", "ALREADY_EXISTS")]


@pytest.mark.parametrize(
    ("raw", "expected"), [("GB", "gb"), (" fr-CA ", "fr-ca"), ("zz-0a1b2c3d", "zz-0a1b2c3d")]
)
def test_normalize_section_code(raw: str, expected: str) -> None:
    assert normalize_section_code(raw) == expected


# --- languages, countries, time zones ----------------------------------------------------


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("en", "en"),
        ("EN", "en"),
        ("fr_ca", "fr-CA"),
        ("fr-ca", "fr-CA"),
        (" en-GB ", "en-GB"),
        ("zh-hant-tw", "zh-Hant-TW"),
        ("sr_Latn", "sr-Latn"),
        ("es-419", "es-419"),
        ("cy", "cy"),
    ],
)
def test_normalize_language_tag(tag: str, expected: str) -> None:
    assert normalize_language_tag(tag) == expected


@pytest.mark.parametrize(
    "tag", ["", "   ", "xx", "en--GB", "english", "123", "e", "en-" + "a" * 33, "fr/CA"]
)
def test_normalize_language_tag_refuses(tag: str) -> None:
    with pytest.raises(ValueError, match="tag"):
        normalize_language_tag(tag)


TAG_LIKE = st.from_regex(r"[A-Za-z]{1,4}([-_][A-Za-z0-9]{1,8}){0,3}", fullmatch=True)


@settings(deadline=None)  # Babel loads locale data lazily: a first parse may be slow
@given(st.one_of(st.text(), TAG_LIKE))
def test_normalize_language_tag_is_idempotent(tag: str) -> None:
    # given any text, when it is normalized
    try:
        normalized = normalize_language_tag(tag)
    except ValueError:
        return
    # then the result is its own normal form
    assert normalize_language_tag(normalized) == normalized


@pytest.mark.parametrize(
    ("code", "expected"), [("GB", "GB"), ("gb", "GB"), (" pl ", "PL"), ("Ca", "CA"), ("AQ", "AQ")]
)
def test_normalize_country_code(code: str, expected: str) -> None:
    assert normalize_country_code(code) == expected


@pytest.mark.parametrize("code", ["", "G", "GBR", "XX", "QQ", "1A", "G B", "UK"])
def test_normalize_country_code_refuses(code: str) -> None:
    with pytest.raises(ValueError, match="ISO 3166-1"):
        normalize_country_code(code)


@pytest.mark.parametrize(
    "code",
    [
        pytest.param("ZZ", id="unknown-region"),
        pytest.param("UN", id="united-nations"),
        pytest.param("EZ", id="eurozone"),
        pytest.param("QO", id="outlying-oceania"),
        pytest.param("XA", id="pseudo-accents"),
    ],
)
def test_normalize_country_code_refuses_cldr_pseudo_territories(code: str) -> None:
    # given a CLDR territory code that is no ISO 3166-1 country
    # when it is normalized, then it is refused like any unknown code
    with pytest.raises(ValueError, match="ISO 3166-1"):
        normalize_country_code(code)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Europe/London", "Europe/London"),
        (" America/Toronto ", "America/Toronto"),
        ("UTC", "UTC"),
        ("Australia/Sydney", "Australia/Sydney"),
    ],
)
def test_validate_time_zone(name: str, expected: str) -> None:
    assert validate_time_zone(name) == expected


@pytest.mark.parametrize(
    "name",
    ["", "europe/london", "Mars/Olympus_Mons", "Europe/", "../etc/passwd", "GMT+25", "localtime"],
)
def test_validate_time_zone_refuses(name: str) -> None:
    with pytest.raises(ValueError, match="IANA"):
        validate_time_zone(name)
