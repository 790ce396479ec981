"""The catalogue of hostile inputs (HTTP, real app and database): each named bad input gets
a clear error with a stable code, never a 500 or a stack trace, and writes nothing.

docs/reliability.md lists each input with the answer it gets.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import text as sql
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.actions.test_ledger_api import (
    ACTIONS_IMPORT,
    World,
    import_row,
    open_campaign,
    section_in,
    staff,
)
from tests.conftest import GraphQLClient
from tests.events.test_events_api import EVENT_CREATE, EVENTS, event_input
from tests.schema.test_guards import (
    ALIAS_BOMB_MUTATION,
    TOKENS_OVER_LIMIT_MUTATION,
    TOO_DEEP_FOR_DEFAULT,
)
from tests.translations.test_translations_api import (
    CASE_TEXT,
    TRANSLATION_PUBLISH,
    TRANSLATION_UPSERT,
    create_case,
    editor_of,
)
from w4r.actions.service import MAX_IMPORT_ROWS
from w4r.platform.auth import Role
from w4r.settings import Settings

NewSection = Callable[..., Awaitable[dict[str, Any]]]
GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
ACCEPT = {"accept": GRAPHQL_RESPONSE_JSON}

WRITTEN_TABLES = (
    "sections",
    "campaigns",
    "cases",
    "case_texts",
    "section_case_translations",
    "actions",
    "idempotency_keys",
    "action_import_batches",
    "events",
    "event_texts",
)
"""Where the inputs below would write; each must hold as many rows after as before."""

SECTION_CREATE_BARE = """
mutation ($input: SectionCreateInput!) {
  sectionCreate(input: $input) { section { code } errors { field code message } }
}
"""
CIRCULAR_FRAGMENTS = """
mutation { ...A }
fragment A on Mutation { ...B }
fragment B on Mutation { ...A }
"""
SQL_LOOKING = "en'; DROP TABLE actions; --"


@dataclass(frozen=True)
class Place:
    """What every hostile input is aimed at: a section taking part in an open campaign,
    whose admin may import actions and create events, and a published case."""

    world: World
    section: str
    case_id: str


@dataclass(frozen=True)
class Refusal:
    """The answer a hostile input gets: the status, and the error codes, top-level
    (``extensions.code``) or, for a mutation payload, ``errors[].code``."""

    status: int
    top_level: tuple[str, ...] = ()
    payload: tuple[str, ...] = ()


Send = Callable[[httpx.AsyncClient, GraphQLClient, Place], Awaitable[httpx.Response]]


def raw(body: bytes, content_type: str | None = "application/json") -> Send:
    """POST ``body`` as it is to /graphql."""

    async def send(http: httpx.AsyncClient, graphql: GraphQLClient, place: Place) -> httpx.Response:
        headers = ACCEPT if content_type is None else {**ACCEPT, "content-type": content_type}
        return await http.post("/graphql", content=body, headers=headers)

    return send


def as_admin(document: str, variables: Callable[[Place], dict[str, Any]] | None = None) -> Send:
    """``document`` sent by the section's admin at its endpoint."""

    async def send(http: httpx.AsyncClient, graphql: GraphQLClient, place: Place) -> httpx.Response:
        values = None if variables is None else variables(place)
        return await graphql.post(document, values, **staff(place.section))

    return send


def as_is_admin(document: str, variables: dict[str, Any] | None = None) -> Send:
    async def send(http: httpx.AsyncClient, graphql: GraphQLClient, place: Place) -> httpx.Response:
        return await graphql.post(document, variables, role=Role.IS_ADMIN)

    return send


def imported(**row: Any) -> Callable[[Place], dict[str, Any]]:
    """``actionsImport`` variables: one row of the first case, with ``row`` changed."""
    return lambda place: {"input": {"actions": [import_row(place.world, place.world.first, **row)]}}


def many_rows(place: Place) -> dict[str, Any]:
    rows = [import_row(place.world, place.world.first) for _ in range(MAX_IMPORT_ROWS + 1)]
    return {"input": {"actions": rows}}


def event(**values: Any) -> Callable[[Place], dict[str, Any]]:
    return lambda place: {"input": event_input(place.world.year, **values)}


def translation(language: str) -> Send:
    """A case translation written by the section's editor."""

    async def send(http: httpx.AsyncClient, graphql: GraphQLClient, place: Place) -> httpx.Response:
        variables = {
            "input": {
                "caseId": place.case_id,
                "language": language,
                "text": {"title": "T", "summary": "S"},
            }
        }
        return await graphql.post(TRANSLATION_UPSERT, variables, **editor_of(place.section))

    return send


async def sql_looking_path(
    http: httpx.AsyncClient, graphql: GraphQLClient, place: Place
) -> httpx.Response:
    return await http.post(
        "/s/x'%20OR%201=1--/graphql", json={"query": "{ viewer { role } }"}, headers=ACCEPT
    )


async def near_the_impossible(
    http: httpx.AsyncClient, graphql: GraphQLClient, place: Place
) -> httpx.Response:
    near = {"latitude": 200.0, "longitude": 0.0, "radiusKm": 10.0}
    return await graphql.post(
        EVENTS, {"first": 10, "filter": {"near": near}}, section=place.section
    )


def oversize(settings: Settings) -> Send:
    return raw(b" " * (settings.max_request_bytes + 1))


def _nested_list(depth: int) -> bytes:
    return (
        b'{"query": "{ viewer { role } }", "variables": {"a": '
        + b"[" * depth
        + b"]" * depth
        + b"}}"
    )


VIEWER = orjson.dumps({"query": "{ viewer { role } }"})
BAD_REQUEST = Refusal(400, top_level=("BAD_REQUEST",))
VALIDATION_FAILED = Refusal(400, top_level=("GRAPHQL_VALIDATION_FAILED",))
BAD_USER_INPUT = Refusal(400, top_level=("BAD_USER_INPUT",))

CATALOGUE: list[tuple[str, Send | Callable[[Settings], Send], Refusal]] = [
    ("oversize body", oversize, Refusal(413, top_level=("PAYLOAD_TOO_LARGE",))),
    (
        "deep query",
        as_is_admin(TOO_DEEP_FOR_DEFAULT),
        Refusal(400, top_level=("GRAPHQL_VALIDATION_FAILED", "GRAPHQL_VALIDATION_FAILED")),
    ),
    (
        "alias bomb",
        as_is_admin(ALIAS_BOMB_MUTATION, {f"c{i}": f"zz-bomb{i:02d}" for i in range(31)}),
        VALIDATION_FAILED,
    ),
    ("circular fragments", as_is_admin(CIRCULAR_FRAGMENTS), VALIDATION_FAILED),
    (
        "token limit",
        as_is_admin(
            TOKENS_OVER_LIMIT_MUTATION,
            {
                "input": {
                    "code": "zz-tokens",
                    "name": "Tokens",
                    "country": "GB",
                    "languages": ["en"],
                    "timeZone": "Europe/London",
                }
            },
        ),
        Refusal(400, top_level=("GRAPHQL_PARSE_FAILED",)),
    ),
    ("huge variables", as_admin(ACTIONS_IMPORT, many_rows), Refusal(200, payload=("TOO_LONG",))),
    ("deeply nested variables", raw(_nested_list(5_000)), BAD_REQUEST),
    ("invalid UTF-8", raw(VIEWER[:-1] + b'\xff\xfe"}'), BAD_REQUEST),
    (
        "invalid UTF-8 in a variable",
        raw(b'{"query": "{ viewer { role } }", "variables": {"x": "\xc3\x28"}}'),
        BAD_REQUEST,
    ),
    ("content type text/plain", raw(VIEWER, "text/plain"), BAD_REQUEST),
    ("content type XML", raw(b"<query/>", "application/xml"), BAD_REQUEST),
    (
        "content type form",
        raw(b"query=%7Bviewer%7D", "application/x-www-form-urlencoded"),
        BAD_REQUEST,
    ),
    ("no content type", raw(VIEWER, None), BAD_REQUEST),
    ("a batch (JSON list)", raw(b"[" + VIEWER + b"]"), BAD_REQUEST),
    ("bad language tag", translation("klingon"), Refusal(200, payload=("UNKNOWN_LANGUAGE",))),
    (
        "SQL-looking language tag",
        translation(SQL_LOOKING),
        Refusal(200, payload=("UNKNOWN_LANGUAGE",)),
    ),
    ("SQL-looking section code", sql_looking_path, Refusal(404, top_level=("SECTION_NOT_FOUND",))),
    (
        "negative quantity",
        as_admin(ACTIONS_IMPORT, imported(quantity=-4)),
        Refusal(200, payload=("INVALID",)),
    ),
    (
        "enormous quantity (32-bit)",
        as_admin(ACTIONS_IMPORT, imported(quantity=2**31 - 1)),
        Refusal(200, payload=("INVALID",)),
    ),
    (
        "enormous quantity (over 32 bits)",
        as_admin(ACTIONS_IMPORT, imported(quantity=10**12)),
        BAD_USER_INPUT,
    ),
    (
        "date after year 9999",
        as_admin(ACTIONS_IMPORT, imported(occurredAt="10000-01-01T00:00:00Z")),
        BAD_USER_INPUT,
    ),
    (
        "date at the end of the calendar",
        as_admin(ACTIONS_IMPORT, imported(occurredAt="9999-12-31T23:59:59-05:00")),
        BAD_USER_INPUT,
    ),
    (
        "date at the start of the calendar",
        as_admin(ACTIONS_IMPORT, imported(occurredAt="0001-01-01T00:00:00+05:00")),
        BAD_USER_INPUT,
    ),
    (
        "event at the end of the calendar",
        as_admin(
            EVENT_CREATE,
            event(startsAt="9999-12-31T20:00:00+00:00", endsAt="9999-12-31T23:00:00+00:00"),
        ),
        Refusal(400, top_level=("BAD_USER_INPUT", "BAD_USER_INPUT")),
    ),
    (
        "latitude out of range",
        as_admin(EVENT_CREATE, event(latitude=95.0)),
        Refusal(200, payload=("INVALID",)),
    ),
    (
        "longitude out of range",
        as_admin(EVENT_CREATE, event(longitude=1e308)),
        Refusal(200, payload=("INVALID",)),
    ),
    ("search point out of range", near_the_impossible, Refusal(200, top_level=("BAD_USER_INPUT",))),
]


@pytest.fixture(scope="module")
async def world(module_graphql: GraphQLClient) -> World:
    return await open_campaign(module_graphql, featured=1)


@pytest.fixture
async def place(graphql: GraphQLClient, new_section: NewSection, world: World) -> Place:
    section = await section_in(graphql, new_section, world, languages=["en", "fr"])
    return Place(world=world, section=section, case_id=await create_case(graphql))


async def row_counts(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as connection:
        return {
            table: (await connection.execute(sql(f"SELECT count(*) FROM {table}"))).scalar_one()
            for table in WRITTEN_TABLES
        }


def codes(body: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(top-level codes, codes in the one mutation payload, if any)."""
    top = [error["extensions"]["code"] for error in body.get("errors", [])]
    data = body.get("data") or {}
    payloads = [value for value in data.values() if isinstance(value, dict) and "errors" in value]
    return top, [error["code"] for payload in payloads for error in payload["errors"]]


@pytest.mark.parametrize(
    ("send", "expected"),
    [pytest.param(send, expected, id=name) for name, send, expected in CATALOGUE],
)
async def test_a_hostile_input_gets_a_clear_error_and_changes_nothing(
    client: httpx.AsyncClient,
    graphql: GraphQLClient,
    place: Place,
    owner_engine: AsyncEngine,
    settings: Settings,
    send: Any,
    expected: Refusal,
) -> None:
    # given the rows written so far
    sender: Send = send(settings) if send is oversize else send
    before = await row_counts(owner_engine)

    # when the input is sent
    response = await sender(client, graphql, place)

    # then it gets the expected status and codes, a JSON body with no trace of the server
    body = response.json()
    assert response.status_code == expected.status, body
    assert response.headers["content-type"] == GRAPHQL_RESPONSE_JSON
    assert codes(body) == (list(expected.top_level), list(expected.payload)), body
    assert "INTERNAL_SERVER_ERROR" not in response.text
    assert "Traceback" not in response.text
    assert all(error["message"] for error in body.get("errors", []))
    # and nothing was written
    assert await row_counts(owner_engine) == before


MARKUP = '<script>alert("x")</script><img src=x onerror="alert(1)"> & </title>'
SQL_TEXT = "Robert'); DROP TABLE case_texts; -- \\ end"


@pytest.mark.parametrize("title", [MARKUP, SQL_TEXT], ids=["HTML and JS", "SQL-looking"])
async def test_hostile_text_in_a_translation_is_stored_and_returned_as_given(
    graphql: GraphQLClient, place: Place, title: str
) -> None:
    # when a section editor writes a translation whose texts hold markup or SQL
    variables = {
        "input": {
            "caseId": place.case_id,
            "language": "fr",
            "text": {"title": title, "summary": title},
        }
    }
    data = await graphql.data(TRANSLATION_UPSERT, variables, **editor_of(place.section))

    # then it is stored as given
    payload = data["caseTranslationUpsert"]
    assert payload["errors"] == []
    assert payload["translation"]["title"] == title
    published = await graphql.data(
        TRANSLATION_PUBLISH,
        {"input": {"caseId": place.case_id, "language": "fr"}},
        **editor_of(place.section),
    )
    assert published["caseTranslationPublish"]["errors"] == []
    # and served as given: a JSON string, never markup
    response = await graphql.post(
        CASE_TEXT, {"id": place.case_id, "language": "fr"}, **editor_of(place.section)
    )
    assert response.headers["content-type"] == GRAPHQL_RESPONSE_JSON
    assert orjson.dumps(title) in response.content
