"""The dashboard's page at the HTTP level: routes, the section check, the language and
direction chosen, the security headers and the built assets (their size budget)."""

from __future__ import annotations

import gzip
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Final

import httpx
import pytest

from w4r.tenants.registry import SectionRef
from w4r.web import STATIC_DIR
from w4r.web.dashboard import ASSETS, page_language, text_direction

GZIPPED_BUDGET_BYTES: Final = 60_000
"""All the dashboard's assets, gzipped: uPlot and the graphql-ws client are most of it."""

SECTION_ID: Final = uuid.UUID(int=1)
ASSET_URL = re.compile(r'(?:src|href)="(/assets/dashboard/[^"?]+)\?v=[0-9a-f]{12}"')


def html_attribute(page: str, name: str) -> str:
    found = re.search(rf'<html [^>]*{name}="([^"]*)"', page)
    assert found is not None, page
    return found.group(1)


async def test_the_global_dashboard_is_a_shell_for_the_whole_platform(
    client: httpx.AsyncClient,
) -> None:
    # when the IS dashboard is asked for, without credentials
    response = await client.get("/dashboard", headers={"accept-language": "en-GB"})

    # then it is the page's shell, in English, for the global endpoint
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    page = response.text
    assert html_attribute(page, "lang") == "en"
    assert html_attribute(page, "dir") == "ltr"
    assert html_attribute(page, "data-scope") == "global"
    assert html_attribute(page, "data-endpoint") == "/graphql"
    assert sorted(ASSET_URL.findall(page)) == [
        "/assets/dashboard/dashboard.css",
        "/assets/dashboard/dashboard.js",
        "/assets/dashboard/icon.svg",
    ]


async def test_the_page_allows_only_its_own_origin(client: httpx.AsyncClient) -> None:
    response = await client.get("/dashboard")

    assert response.headers["content-security-policy"] == (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self' ws://testserver wss://testserver; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    )
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-cache"


async def test_a_host_header_that_is_no_host_stays_out_of_the_policy(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/dashboard", headers={"host": "evil; script-src *"})

    assert response.status_code == 200
    assert "connect-src 'self'; " in response.headers["content-security-policy"]


async def test_a_section_dashboard_uses_the_section_endpoint_and_language(
    client: httpx.AsyncClient, new_section: Callable[..., Awaitable[dict[str, Any]]]
) -> None:
    # given a Polish-speaking section
    section = await new_section(languages=["pl"], country="PL", timeZone="Europe/Warsaw")
    code = section["code"]

    # when its dashboard is asked for by a browser that prefers English
    response = await client.get(f"/s/{code}/dashboard", headers={"accept-language": "en"})

    # then the page speaks the section's language and reads the section's endpoint
    assert response.status_code == 200
    page = response.text
    assert html_attribute(page, "lang") == "pl"
    assert html_attribute(page, "data-scope") == code
    assert html_attribute(page, "data-endpoint") == f"/s/{code}/graphql"
    assert "<title>Pulpit Maratonu Pisania Listów</title>" in page
    assert response.headers["content-language"] == "pl"


async def test_the_lang_parameter_wins_and_arabic_is_right_to_left(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/dashboard?lang=ar", headers={"accept-language": "fr"})

    assert html_attribute(response.text, "lang") == "ar"
    assert html_attribute(response.text, "dir") == "rtl"


async def test_an_unknown_section_has_no_dashboard(client: httpx.AsyncClient) -> None:
    response = await client.get("/s/no-such-section/dashboard")

    assert response.status_code == 404
    assert "No section has the code 'no-such-section'" in response.text


@pytest.mark.parametrize(
    ("requested", "accept_language", "languages", "expected"),
    [
        (None, None, None, "en"),
        (None, "fr-CA,fr;q=0.8", None, "fr"),
        (None, "de, pl;q=0.5", None, "pl"),
        ("pl", "fr", None, "pl"),
        ("xx-not-a-language", "fr", None, "fr"),
        ("de", None, None, "en"),
        # at a section: the browser's languages the section speaks, else its default
        (None, "pl, fr;q=0.9", ("fr", "en"), "fr"),
        (None, "de", ("fr-CA", "en"), "fr"),
        (None, "de", ("de",), "en"),
        (None, "de, en;q=0.5", ("de",), "en"),
    ],
)
def test_page_language(
    requested: str | None,
    accept_language: str | None,
    languages: tuple[str, ...] | None,
    expected: str,
) -> None:
    section = (
        None
        if languages is None
        else SectionRef(
            id=SECTION_ID, code="xx", languages=languages, default_language=languages[0]
        )
    )

    assert page_language(requested, accept_language, section) == expected


def test_text_direction() -> None:
    assert [text_direction(language) for language in ("en", "fr", "pl", "ar")] == [
        "ltr",
        "ltr",
        "ltr",
        "rtl",
    ]


async def test_the_built_assets_are_served_small(client: httpx.AsyncClient) -> None:
    # when each built asset is fetched as the page fetches it
    sizes = {}
    for name in ASSETS:
        response = await client.get(f"/assets/dashboard/{name}")
        assert response.status_code == 200, name
        assert response.content == (STATIC_DIR / "dashboard" / name).read_bytes()
        sizes[name] = len(gzip.compress(response.content, compresslevel=9))

    # then they are what the build wrote, and small once compressed
    assert response.headers["content-type"].startswith("image/svg+xml")
    assert sum(sizes.values()) < GZIPPED_BUDGET_BYTES, sizes
