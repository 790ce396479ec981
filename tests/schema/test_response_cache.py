"""The response cache through the real app: what is served again, to whom, and until when.

The module runs its own app instances with the cache on (the shared test app has it off)
and controls the cache's clock, so the totals freshness bound is tested without sleeping.
A second instance on the same database checks the invalidation every replica hears.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Final

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette

from tests.campaigns.test_campaigns_api import CASE_CREATE, case_input
from tests.cases.test_case_list_queries import (
    CASE_OUTCOME_ADD,
    CASE_PUBLISH,
    TRANSLATION_PUBLISH,
    TRANSLATION_UPSERT,
    mutate,
)
from tests.conftest import SECTION_CREATE, GraphQLClient, section_input, unique_code
from tests.totals.test_live_totals import ACTION_RECORD, create_world
from w4r.abuse.documents import DocumentDraft, TrustedDocumentService
from w4r.app import create_app
from w4r.platform import listening
from w4r.platform.auth import Role
from w4r.platform.bootstrap import DatabaseTarget
from w4r.platform.database import TenantBinding
from w4r.platform.metrics import REGISTRY
from w4r.platform.ratelimit import Allowance
from w4r.platform.response_cache import ChangeListener, ResponseStore
from w4r.schema import response_cache
from w4r.schema.api import build_schema
from w4r.schema.cost import ADDRESS_BUCKET
from w4r.schema.response_cache import CacheListError, ResponseCache, check_names
from w4r.settings import Settings

TOTALS_SECONDS: Final = 5.0
NOTICE_TIMEOUT_SECONDS: Final = 10.0

CASE_LIST = """
query CaseList($year: Int!, $first: Int!) {
  cases(campaign: $year, first: $first) {
    edges {
      node {
        id slug subjectName
        text(language: "pl") { language title }
        appealTargets { name }
        outcomes { kind description }
      }
    }
  }
}
"""
CASE_TOTALS = """
query ($year: Int!, $first: Int!) {
  cases(campaign: $year, first: $first) {
    edges { node { id totals(campaign: $year) { quantity } } }
  }
}
"""
CASE_TEXT_IN_FRENCH = """
query ($slug: String!) { case(slug: $slug) { text(language: "fr") { language title } } }
"""
IS_TOTALS = """
query ($year: Int!) {
  totals(campaign: $year, groupBy: [CASE, SECTION, ACTION_TYPE, DAY]) {
    quantity
    cells { caseId sectionCode actionType day quantity isSuppressed }
  }
}
"""
VIEWER = "{ viewer { role } }"
INTERNAL_NOTES = "query ($slug: String!) { case(slug: $slug) { internalNotes } }"
MISSING_CAMPAIGN = "{ cases(campaign: 1901, first: 1) { edges { node { id } } } }"
CASE_UPDATE = """
mutation ($input: CaseUpdateInput!) {
  caseUpdate(input: $input) { case { id } errors { field code message } }
}
"""
API_KEY_CREATE = """
mutation ($input: ApiKeyCreateInput!) {
  apiKeyCreate(input: $input) { key errors { field code message } }
}
"""


# --- apps, clients and a world -------------------------------------------------------------


class Clock:
    """The cache's clock, moved by the test."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@contextlib.asynccontextmanager
async def running_app(settings: Settings, target: DatabaseTarget) -> AsyncIterator[Starlette]:
    """An app with the cache on, started, its change listener connected."""
    application = create_app(settings, target=target)
    async with application.router.lifespan_context(application):
        async with asyncio.timeout(NOTICE_TIMEOUT_SECONDS):
            await listener_of(application).wait_connected()
        yield application


def cache_of(app: Starlette) -> ResponseCache:
    cache: ResponseCache = app.state.response_cache
    return cache


def listener_of(app: Starlette) -> ChangeListener:
    listener: ChangeListener = app.state.response_cache_listener
    return listener


@pytest.fixture(scope="module")
def cache_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"response_cache_enabled": True, "response_cache_totals_seconds": TOTALS_SECONDS}
    )


@pytest.fixture(scope="module")
async def cached_app(
    cache_settings: Settings, database_target: DatabaseTarget
) -> AsyncIterator[Starlette]:
    async with running_app(cache_settings, database_target) as application:
        yield application


@pytest.fixture(scope="module")
async def other_app(
    cache_settings: Settings, database_target: DatabaseTarget
) -> AsyncIterator[Starlette]:
    """A second replica on the same database."""
    async with running_app(cache_settings, database_target) as application:
        yield application


@pytest.fixture(scope="module")
async def deaf_app(
    cache_settings: Settings, database_target: DatabaseTarget
) -> AsyncIterator[Starlette]:
    """A replica whose listener ignores every notification: what it sees of its own writes
    it owes to the invalidation before its mutation responses (read-your-writes)."""

    def ignore(*_: object) -> None:
        return None

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ChangeListener, "_on_notify", ignore)
        async with running_app(cache_settings, database_target) as application:
            patch.undo()
            yield application


@contextlib.asynccontextmanager
async def client_of(
    app: Starlette, token_for: Callable[..., str], address: str = "127.0.0.1"
) -> AsyncIterator[GraphQLClient]:
    transport = httpx.ASGITransport(app=app, client=(address, 50_000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield GraphQLClient(http, token_for)


@pytest.fixture
async def graphql(
    cached_app: Starlette, token_for: Callable[..., str]
) -> AsyncIterator[GraphQLClient]:
    async with client_of(cached_app, token_for) as client:
        yield client


@pytest.fixture
def clock(cached_app: Starlette, monkeypatch: pytest.MonkeyPatch) -> Clock:
    moved = Clock()
    monkeypatch.setattr(cache_of(cached_app).store, "clock", moved)
    return moved


@dataclass(frozen=True)
class World:
    """A campaign open today with one published case; a section that speaks Polish."""

    year: int
    section: str
    case_id: str
    slug: str
    featuring: str
    """A section that features the case (actions count there)."""


@pytest.fixture
async def world(cached_app: Starlette, token_for: Callable[..., str]) -> World:
    async with client_of(cached_app, token_for) as graphql:
        created = await create_world(graphql, cases=1)
        (case_id,) = created.case_ids
        data = await graphql.data(
            "query ($id: UUID!) { case(id: $id) { slug } }", {"id": case_id}, role=Role.IS_ADMIN
        )
        code = unique_code()
        values = section_input(code, languages=["pl"], country="PL", timeZone="Europe/Warsaw")
        await mutate(graphql, SECTION_CREATE, values, role=Role.IS_ADMIN)
        return World(created.year, code, case_id, data["case"]["slug"], created.section)


@dataclass(frozen=True)
class Answer:
    cache: str | None
    """The X-Cache header: HIT, MISS, or None when the cache was not consulted."""
    status: int
    body: dict[str, Any]
    headers: httpx.Headers

    @property
    def data(self) -> Any:
        assert "errors" not in self.body, self.body
        return self.body["data"]


async def ask(
    graphql: GraphQLClient, query: str, variables: dict[str, Any] | None = None, **options: Any
) -> Answer:
    response = await graphql.post(query, variables, **options)
    return Answer(
        response.headers.get("x-cache"), response.status_code, response.json(), response.headers
    )


def first_case(answer: Answer) -> dict[str, Any]:
    node: dict[str, Any] = answer.data["cases"]["edges"][0]["node"]
    return node


def metric(name: str) -> float:
    value = REGISTRY.get_sample_value(name)
    return 0.0 if value is None else value


async def until(condition: Callable[[], bool]) -> None:
    """Wait, within the notice timeout, until ``condition`` holds (a notification is
    asynchronous: there is nothing to await but its effect)."""
    async with asyncio.timeout(NOTICE_TIMEOUT_SECONDS):
        while not condition():  # noqa: ASYNC110 - the listener exposes no event per notice
            await asyncio.sleep(0.01)


# --- hits ----------------------------------------------------------------------------------


async def test_a_repeated_public_query_is_answered_from_the_cache(
    graphql: GraphQLClient, world: World
) -> None:
    # given an anonymous reader's first answer
    variables = {"year": world.year, "first": 10}
    hits = metric("w4r_response_cache_hits_total")
    first = await ask(graphql, CASE_LIST, variables)

    # when the same question is asked again
    second = await ask(graphql, CASE_LIST, variables)

    # then it is served from the cache: the same data, a fresh cost report
    assert (first.cache, second.cache) == ("MISS", "HIT")
    assert second.data == first.data
    assert first_case(second)["slug"] == world.slug
    assert (
        second.body["extensions"]["cost"]["requested"]
        == (first.body["extensions"]["cost"]["requested"])
    )
    assert (
        second.body["extensions"]["cost"]["remaining"]
        < (first.body["extensions"]["cost"]["remaining"])
    )
    assert metric("w4r_response_cache_hits_total") == hits + 1
    assert second.headers["cache-control"] == "no-store"  # a POST: not for shared caches


async def test_concurrent_misses_compute_the_answer_once(
    cached_app: Starlette, graphql: GraphQLClient, world: World
) -> None:
    # given an answer nobody has asked for yet
    variables = {"year": world.year, "first": 7}

    # when many readers ask for it at the same moment
    answers = await asyncio.gather(*(ask(graphql, CASE_LIST, variables) for _ in range(8)))

    # then one of them computes it and the others are served what it computed
    assert sorted(answer.cache or "" for answer in answers) == ["HIT"] * 7 + ["MISS"]
    assert all(answer.data == answers[0].data for answer in answers)
    assert first_case(answers[0])["slug"] == world.slug
    assert not cache_of(cached_app)._computing  # nothing is left waiting


async def test_readers_waiting_for_an_answer_that_is_not_kept_compute_their_own(
    cached_app: Starlette, graphql: GraphQLClient, world: World
) -> None:
    # when many readers ask at once for an answer that cannot be kept (it has an error)
    answers = await asyncio.gather(*(ask(graphql, MISSING_CAMPAIGN) for _ in range(4)))

    # then each is answered, none from the cache, and nothing is left waiting
    assert [answer.cache for answer in answers] == ["MISS"] * 4
    assert all(answer.body["errors"] for answer in answers)
    assert not cache_of(cached_app)._computing


# --- invalidation --------------------------------------------------------------------------


async def test_every_editorial_change_is_seen_at_once(
    deaf_app: Starlette, token_for: Callable[..., str], world: World
) -> None:
    async with client_of(deaf_app, token_for) as graphql:
        await editorial_changes_are_seen(graphql, world)


async def editorial_changes_are_seen(graphql: GraphQLClient, world: World) -> None:
    variables = {"year": world.year, "first": 10}
    at_section = {"section": world.section}
    admin = {"role": Role.IS_ADMIN}
    section_admin = {
        "role": Role.SECTION_ADMIN,
        "token_section": world.section,
        "section": world.section,
    }

    async def cached_list() -> Answer:
        await ask(graphql, CASE_LIST, variables, **at_section)
        answer = await ask(graphql, CASE_LIST, variables, **at_section)
        assert answer.cache == "HIT"
        return answer

    async def after_change() -> Answer:
        answer = await ask(graphql, CASE_LIST, variables, **at_section)
        assert answer.cache == "MISS"
        return answer

    # publish: a new case shows in the cached list
    await cached_list()
    slug = "case-" + unique_code()
    created = await mutate(graphql, CASE_CREATE, case_input(slug, [world.year]), **admin)
    await mutate(graphql, CASE_PUBLISH, {"id": created["case"]["id"]}, **admin)
    assert slug in {edge["node"]["slug"] for edge in (await after_change()).data["cases"]["edges"]}

    # edit
    await cached_list()
    await mutate(graphql, CASE_UPDATE, {"id": world.case_id, "subjectName": "Renamed"}, **admin)
    renamed = [
        edge["node"]["subjectName"]
        for edge in (await after_change()).data["cases"]["edges"]
        if edge["node"]["id"] == world.case_id
    ]
    assert renamed == ["Renamed"]

    # a section's translation
    await cached_list()
    polish = {"title": "Tytuł", "summary": "Streszczenie."}
    upsert = {"caseId": world.case_id, "language": "pl", "text": polish}
    await mutate(graphql, TRANSLATION_UPSERT, upsert, **section_admin)
    await mutate(
        graphql, TRANSLATION_PUBLISH, {"caseId": world.case_id, "language": "pl"}, **section_admin
    )
    texts = {
        edge["node"]["id"]: edge["node"]["text"]
        for edge in (await after_change()).data["cases"]["edges"]
    }
    assert texts[world.case_id] == {"language": "pl", "title": "Tytuł"}

    # an official (IS) translation
    french = {"slug": world.slug}
    assert (await ask(graphql, CASE_TEXT_IN_FRENCH, french)).cache == "MISS"
    assert (await ask(graphql, CASE_TEXT_IN_FRENCH, french)).cache == "HIT"
    upsert = {
        "caseId": world.case_id,
        "language": "fr",
        "text": {"title": "Titre", "summary": "R."},
    }
    await mutate(graphql, TRANSLATION_UPSERT, upsert, **admin)
    await mutate(graphql, TRANSLATION_PUBLISH, {"caseId": world.case_id, "language": "fr"}, **admin)
    served = await ask(graphql, CASE_TEXT_IN_FRENCH, french)
    assert served.cache == "MISS"
    assert served.data["case"]["text"] == {"language": "fr", "title": "Titre"}

    # an outcome
    await cached_list()
    outcome = {
        "caseId": world.case_id,
        "occurredOn": "2024-05-01",
        "datePrecision": "DAY",
        "kind": "RELEASED",
        "description": "Released.",
    }
    await mutate(graphql, CASE_OUTCOME_ADD, outcome, **admin)
    outcomes = {
        edge["node"]["id"]: edge["node"]["outcomes"]
        for edge in (await after_change()).data["cases"]["edges"]
    }
    assert outcomes[world.case_id] == [{"kind": "RELEASED", "description": "Released."}]

    # an appeal target
    await cached_list()
    targets = {"id": world.case_id, "appealTargets": [{"name": "The Minister"}]}
    await mutate(graphql, CASE_UPDATE, targets, **admin)
    names = {
        edge["node"]["id"]: edge["node"]["appealTargets"]
        for edge in (await after_change()).data["cases"]["edges"]
    }
    assert names[world.case_id] == [{"name": "The Minister"}]


async def test_totals_are_at_most_the_bound_old_and_actions_flush_nothing(
    graphql: GraphQLClient, world: World, clock: Clock
) -> None:
    # given cached totals (0 actions) and a cached answer without totals
    totals_variables = {"year": world.year, "first": 10}
    list_variables = {"year": world.year, "first": 10}
    assert first_case(await ask(graphql, CASE_TOTALS, totals_variables))["totals"] == {
        "quantity": 0
    }
    await ask(graphql, CASE_LIST, list_variables)

    # when an action is recorded
    values = {
        "campaign": world.year,
        "caseId": world.case_id,
        "actionType": "LETTER",
        "idempotencyKey": str(uuid.uuid4()),
        "clientId": str(uuid.uuid4()),
    }
    recorded = await graphql.data(ACTION_RECORD, {"input": values}, section=world.featuring)
    assert recorded["actionRecord"]["errors"] == []

    # then within the bound the cached totals may still be served, and nothing was flushed
    clock.now += TOTALS_SECONDS - 0.5
    stale = await ask(graphql, CASE_TOTALS, totals_variables)
    assert (stale.cache, first_case(stale)["totals"]) == ("HIT", {"quantity": 0})
    assert (await ask(graphql, CASE_LIST, list_variables)).cache == "HIT"

    # and past the bound they are fresh
    clock.now += 1.0
    fresh = await ask(graphql, CASE_TOTALS, totals_variables)
    assert (fresh.cache, first_case(fresh)["totals"]) == ("MISS", {"quantity": 1})
    assert (await ask(graphql, CASE_LIST, list_variables)).cache == "HIT"


async def test_another_replica_hears_of_a_change(
    graphql: GraphQLClient, other_app: Starlette, token_for: Callable[..., str], world: World
) -> None:
    variables = {"year": world.year, "first": 10}
    async with client_of(other_app, token_for) as other:
        # given an answer cached by the other replica
        await ask(other, CASE_LIST, variables)
        assert (await ask(other, CASE_LIST, variables)).cache == "HIT"
        generation = cache_of(other_app).store.generation

        # when this replica changes the case
        update = {"id": world.case_id, "subjectName": "Heard elsewhere"}
        await mutate(graphql, CASE_UPDATE, update, role=Role.IS_ADMIN)

        # then the other replica's notification makes its answer fresh
        await until(lambda: cache_of(other_app).store.generation != generation)
        answer = await ask(other, CASE_LIST, variables)
    assert answer.cache == "MISS"
    assert first_case(answer)["subjectName"] == "Heard elsewhere"


async def test_a_change_made_with_plain_sql_invalidates(
    cached_app: Starlette, graphql: GraphQLClient, owner_engine: AsyncEngine, world: World
) -> None:
    # given a cached answer
    variables = {"year": world.year, "first": 10}
    await ask(graphql, CASE_LIST, variables)
    store = cache_of(cached_app).store
    generation = store.generation

    # when the case is renamed in SQL, outside the API
    async with owner_engine.begin() as connection:
        await connection.execute(
            text("UPDATE cases SET subject_name = 'Renamed in SQL' WHERE id = :id"),
            {"id": world.case_id},
        )

    # then the trigger's notification invalidates the answer
    await until(lambda: store.generation != generation)
    answer = await ask(graphql, CASE_LIST, variables)
    assert (answer.cache, first_case(answer)["subjectName"]) == ("MISS", "Renamed in SQL")


async def test_without_its_listener_the_cache_serves_nothing(
    cached_app: Starlette,
    graphql: GraphQLClient,
    owner_engine: AsyncEngine,
    world: World,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given a cached answer, and a listener that cannot reconnect for now
    variables = {"year": world.year, "first": 10}
    await ask(graphql, CASE_LIST, variables)
    assert (await ask(graphql, CASE_LIST, variables)).cache == "HIT"
    listener = listener_of(cached_app)

    async def refused(*_: object, **__: object) -> None:
        raise OSError("the database is out of reach")

    monkeypatch.setattr(listening, "connect", refused)

    # when its connection is lost
    async with owner_engine.begin() as connection:
        await connection.execute(
            text("SELECT pg_terminate_backend(:pid)"), {"pid": listener.connection_pid}
        )
    await until(lambda: not cache_of(cached_app).store.is_available)

    # then nothing is served from the cache, nor kept
    for _ in range(2):
        answer = await ask(graphql, CASE_LIST, variables)
        assert (answer.status, answer.cache) == (200, None)
    assert len(cache_of(cached_app).store) == 0

    # and once the listener is back, caching starts over
    monkeypatch.undo()
    async with asyncio.timeout(NOTICE_TIMEOUT_SECONDS):
        await listener.wait_connected()
    assert (await ask(graphql, CASE_LIST, variables)).cache == "MISS"
    assert (await ask(graphql, CASE_LIST, variables)).cache == "HIT"


# --- who shares an entry -------------------------------------------------------------------


async def test_sections_never_share_an_answer(
    graphql: GraphQLClient, world: World, token_for: Callable[..., str]
) -> None:
    # given an answer cached at one section's endpoint
    variables = {"year": world.year, "first": 10}
    other = unique_code()
    await mutate(graphql, SECTION_CREATE, section_input(other), role=Role.IS_ADMIN)
    await ask(graphql, CASE_LIST, variables, section=world.section)
    assert (await ask(graphql, CASE_LIST, variables, section=world.section)).cache == "HIT"

    # then another section's endpoint, and the global one, compute their own
    assert (await ask(graphql, CASE_LIST, variables, section=other)).cache == "MISS"
    assert (await ask(graphql, CASE_LIST, variables)).cache == "MISS"
    # (the W4R-Section header names a section as the path does)
    headers = {"w4r-section": other}
    assert (await ask(graphql, CASE_LIST, variables, headers=headers)).cache == "HIT"


async def test_caller_scopes_and_languages_never_share_an_answer(
    graphql: GraphQLClient, world: World
) -> None:
    # given an anonymous reader's cached answer
    variables = {"year": world.year, "first": 10}
    await ask(graphql, CASE_LIST, variables)
    assert (await ask(graphql, CASE_LIST, variables)).cache == "HIT"
    created = await graphql.data(
        API_KEY_CREATE,
        {"input": {"name": "Cache test", "scopes": ["cases:read"]}},
        role=Role.IS_ADMIN,
    )
    key_headers = {"authorization": f"Bearer {created['apiKeyCreate']['key']}"}

    # then a partner app's token, a partner key and another language each get their own
    partner = await ask(graphql, CASE_LIST, variables, role=Role.PARTNER_APP)
    key = await ask(graphql, CASE_LIST, variables, headers=key_headers)
    polish = await ask(graphql, CASE_LIST, variables, headers={"accept-language": "pl"})
    assert (partner.cache, key.cache, polish.cache) == ("MISS", "MISS", "MISS")
    assert (await ask(graphql, CASE_LIST, variables, role=Role.PARTNER_APP)).cache == "HIT"
    assert (await ask(graphql, CASE_LIST, variables, headers=key_headers)).cache == "HIT"


async def test_staff_answers_are_never_cached(graphql: GraphQLClient, world: World) -> None:
    variables = {"year": world.year, "first": 10}
    for role in (Role.IS_ADMIN, Role.IS_ANALYST):
        for _ in range(2):
            answer = await ask(graphql, CASE_LIST, variables, role=role)
            assert (answer.status, answer.cache) == (200, None)
            assert answer.headers["cache-control"] == "no-store"
    # nor is a section's own totals report, nor the IS's at a section's endpoint
    for options in (
        {"role": Role.SECTION_ADMIN, "token_section": world.featuring, "section": world.featuring},
        {"role": Role.IS_ANALYST, "section": world.featuring},
    ):
        for _ in range(2):
            answer = await ask(graphql, IS_TOTALS, {"year": world.year}, **options)
            assert (answer.status, answer.cache) == (200, None)


async def test_the_is_totals_report_is_at_most_the_bound_old_and_per_role(
    graphql: GraphQLClient, world: World, clock: Clock
) -> None:
    # given the IS totals report as an analyst, asked twice (0 actions)
    variables = {"year": world.year}
    first = await ask(graphql, IS_TOTALS, variables, role=Role.IS_ANALYST)
    again = await ask(graphql, IS_TOTALS, variables, role=Role.IS_ANALYST)
    assert (first.cache, again.cache) == ("MISS", "HIT")
    assert again.data == first.data
    assert first.data["totals"]["quantity"] == 0
    # and an IS admin's own entry (roles never share one)
    assert (await ask(graphql, IS_TOTALS, variables, role=Role.IS_ADMIN)).cache == "MISS"

    # when an action is recorded
    values = {
        "campaign": world.year,
        "caseId": world.case_id,
        "actionType": "LETTER",
        "idempotencyKey": str(uuid.uuid4()),
        "clientId": str(uuid.uuid4()),
    }
    recorded = await graphql.data(ACTION_RECORD, {"input": values}, section=world.featuring)
    assert recorded["actionRecord"]["errors"] == []

    # then within the bound the report may be the cached one, and past it it counts it
    clock.now += TOTALS_SECONDS - 0.5
    stale = await ask(graphql, IS_TOTALS, variables, role=Role.IS_ANALYST)
    assert (stale.cache, stale.data["totals"]["quantity"]) == ("HIT", 0)
    clock.now += 1.0
    fresh = await ask(graphql, IS_TOTALS, variables, role=Role.IS_ANALYST)
    assert (fresh.cache, fresh.data["totals"]["quantity"]) == ("MISS", 1)
    assert fresh.headers["cache-control"] == "no-store"


async def test_answers_with_errors_or_outside_the_allowlist_are_never_cached(
    graphql: GraphQLClient, world: World
) -> None:
    for query, variables in (
        (MISSING_CAMPAIGN, None),  # NOT_FOUND
        (INTERNAL_NOTES, {"slug": world.slug}),  # FORBIDDEN for the public
    ):
        for _ in range(2):
            answer = await ask(graphql, query, variables)
            assert answer.body["errors"], answer.body
            assert answer.cache == "MISS"
    # a root field that is not listed (it names the caller) is never looked up
    first = await ask(graphql, VIEWER)
    second = await ask(graphql, VIEWER)
    assert (first.cache, second.cache) == (None, None)
    assert second.data == {"viewer": {"role": "ANONYMOUS"}}


# --- budgets -------------------------------------------------------------------------------


async def test_a_hit_spends_the_budget_and_is_refused_over_it(
    cached_app: Starlette, world: World, token_for: Callable[..., str]
) -> None:
    address = "203.0.113.77"
    variables = {"year": world.year, "first": 10}
    async with client_of(cached_app, token_for, address) as graphql:
        # given a cached answer
        first = await ask(graphql, CASE_LIST, variables)
        cost = first.body["extensions"]["cost"]

        # when the address's budget is spent down to less than the operation costs
        services = cached_app.state.graphql_services
        allowance = Allowance(
            services.settings.ip_budget_points, services.settings.ip_budget_seconds
        )
        spent = cost["remaining"] - cost["requested"] + 1
        assert (await services.budgets.spend(ADDRESS_BUCKET, address, spent, allowance)).allowed
        refused = await ask(graphql, CASE_LIST, variables)

    # then the hit is refused as a miss would be
    assert refused.status == 429
    assert refused.cache == "HIT"
    assert [error["extensions"]["code"] for error in refused.body["errors"]] == ["RATE_LIMITED"]
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.body["extensions"]["cost"]["requested"] == cost["requested"]


# --- GET for persisted queries -------------------------------------------------------------


async def test_a_persisted_get_carries_validators_for_a_cdn(
    cached_app: Starlette, graphql: GraphQLClient, world: World
) -> None:
    # given a trusted document
    document = CASE_LIST.replace("CaseList", "CaseListForCdn")
    async with cached_app.state.database.session(TenantBinding.global_scope()) as session:
        await TrustedDocumentService(session).add([DocumentDraft("cdn", document)])
        await session.commit()
    document_id = "sha256:" + hashlib.sha256(document.encode()).hexdigest()
    params = {"documentId": document_id, "variables": f'{{"year": {world.year}, "first": 10}}'}
    await until(lambda: cache_of(cached_app).store.is_available)

    accept = {"accept": "application/graphql-response+json"}

    # when it is fetched with GET, twice, then with the validator it got
    first = await graphql.http.get("/graphql", params=params, headers=accept)
    second = await graphql.http.get("/graphql", params=params, headers=accept)
    etag = second.headers["etag"]
    conditional = await graphql.http.get(
        "/graphql", params=params, headers={**accept, "if-none-match": etag}
    )
    token = graphql.token_for(Role.PARTNER_APP)
    partner = await graphql.http.get(
        "/graphql", params=params, headers={**accept, "authorization": f"Bearer {token}"}
    )
    plain = await graphql.http.get(
        "/graphql", params={"query": document, "variables": params["variables"]}, headers=accept
    )

    # then a public answer is cacheable by a CDN, with a validator that a 304 honours
    assert (first.headers["x-cache"], second.headers["x-cache"]) == ("MISS", "HIT")
    assert first.headers["etag"] == etag
    assert etag.startswith('W/"')
    assert second.headers["cache-control"] == "public, max-age=60"
    assert second.headers["vary"] == "Accept, Accept-Language, Authorization, W4R-Section"
    assert second.json()["data"] == first.json()["data"]
    assert conditional.status_code == 304
    assert conditional.content == b""
    assert conditional.headers["etag"] == etag
    # an authenticated caller's answer is for its own cache only
    assert partner.status_code == 200
    assert partner.headers["cache-control"] == "private, max-age=60"
    # a GET with the text of the query is not a persisted query: never stored by a CDN
    assert plain.status_code == 200
    assert plain.headers["cache-control"] == "no-store"
    assert "etag" not in plain.headers


# --- the store ------------------------------------------------------------------------------


async def test_the_store_bounds_its_memory(
    cache_settings: Settings, database_target: DatabaseTarget, token_for: Callable[..., str]
) -> None:
    # given an app whose cache holds about one answer
    small = cache_settings.model_copy(update={"response_cache_max_bytes": 1_500})
    evictions = metric("w4r_response_cache_evictions_total")
    async with (
        running_app(small, database_target) as application,
        client_of(application, token_for) as graphql,
    ):
        world = await create_world(graphql, cases=1)
        store: ResponseStore = cache_of(application).store
        variables = [{"year": world.year, "first": first} for first in (1, 2, 3)]

        # when three different answers are cached
        for values in variables:
            assert (await ask(graphql, CASE_LIST, values)).cache == "MISS"

        # then the least recently used were evicted to stay within the bound
        assert store.size_bytes <= small.response_cache_max_bytes
        assert len(store) < len(variables)
        assert metric("w4r_response_cache_evictions_total") > evictions
        assert (await ask(graphql, CASE_LIST, variables[-1])).cache == "HIT"
        assert (await ask(graphql, CASE_LIST, variables[0])).cache == "MISS"


def test_the_lists_name_only_what_the_schema_has(
    cache_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given the schema, and a totals type listed under a name it does not have (a rename)
    schema = build_schema(cache_settings)._schema
    check_names(schema)
    monkeypatch.setattr(
        response_cache, "TOTALS_TYPES", response_cache.TOTALS_TYPES | {"RenamedTotals"}
    )

    # then a cache is refused rather than built with a list that protects nothing
    with pytest.raises(CacheListError, match="RenamedTotals"):
        check_names(schema)
