"""Budgets: refilling over time, one per API key or per address, 429 over HTTP, Redis shared.

The HTTP tests use a deployment with small budgets and reset them before each test, so no
other test's spending shows. Redis tests use ``W4R_TEST_REDIS_URL`` (default: database 13
of a local server) and a key prefix unique to the run; they are skipped when no Redis
answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
import redis.asyncio
from pydantic import SecretStr
from starlette.applications import Starlette

from tests.conftest import GraphQLClient, section_input, unique_code
from tests.servers import start_server, stop_server
from tests.tools import missing
from tests.totals.test_live_totals import (
    MESSAGE_TIMEOUT_SECONDS,
    receive,
    subscribe_totals,
    transport_ws,
)
from w4r.app import create_app
from w4r.platform.auth import Role
from w4r.platform.bootstrap import DatabaseTarget
from w4r.platform.ratelimit import Allowance, Budgets, SlidingWindow, Verdict
from w4r.settings import Settings

REDIS_URL_VARIABLE = "W4R_TEST_REDIS_URL"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/13"

ADDRESS_POINTS = 40
KEY_POINTS = 200
WINDOW_SECONDS = 60

VIEWER = "{ viewer { role } }"
SECTIONS = "{ sections(first: 10) { edges { node { code } } pageInfo { hasNextPage } } }"
"""Costs 31."""
CASES = "{ cases(first: 1) { edges { node { id } } } }"
"""Costs 3."""
SECTION_CREATE = """
mutation ($input: SectionCreateInput!) {
  sectionCreate(input: $input) { section { code } errors { code } }
}
"""
"""Costs 12."""
API_KEY_CREATE = """
mutation ($input: ApiKeyCreateInput!) {
  apiKeyCreate(input: $input) { key errors { field code message } }
}
"""


def cost(requested: int, remaining: int, limit: int = ADDRESS_POINTS) -> dict[str, Any]:
    """The ``extensions`` of a response that spent ``requested``."""
    return {
        "cost": {
            "requested": requested,
            "limit": limit,
            "remaining": remaining,
            "windowSeconds": WINDOW_SECONDS,
        }
    }


# --- the budget store ------------------------------------------------------------------------


async def test_a_budget_refills_within_the_retry_after_it_gives() -> None:
    # given a budget of 10 a second, spent in full
    budgets = Budgets.in_memory()
    allowance = Allowance(10, 1)
    assert await budgets.spend("test", "caller", 10, allowance) == Verdict(True, 10, 0, 0)

    # when 4 more are asked for at once
    refused = await budgets.spend("test", "caller", 4, allowance)

    # then they are refused, nothing is taken, and a retry time is given
    assert (refused.allowed, refused.remaining) == (False, 0)
    assert 1 <= refused.retry_after_seconds <= 2
    assert await budgets.peek("test", "caller", allowance) == 0

    # and once that time has passed the budget holds them again
    await asyncio.sleep(refused.retry_after_seconds)
    assert (await budgets.spend("test", "caller", 4, allowance)).allowed


@pytest.mark.parametrize(
    ("window", "cost", "seconds"),
    [
        # 10 of 10 spent in this window, which ends in 0.5 s: 4 fit again once 4 of the 10
        # have slid out, 40% into the next window
        (SlidingWindow(0, 0.0, 10, 0.5, 1), 4, 0.5 + 0.4),
        # 10 spent in the previous window, 20% of which still overlaps: 2 count; 8 fit now
        (SlidingWindow(10, 0.2, 0, 0.2, 1), 8, 0.0),
        # the same with 9 asked for: one more unit must slide out, 0.1 s from now
        (SlidingWindow(10, 0.2, 0, 0.2, 1), 9, 0.1),
        # 60-second windows: 30 spent before (half overlapping: 15) and 20 now, of 40; 10 fit
        # once the previous window's share is down to 10, a third of it: 10 s from now
        (SlidingWindow(30, 30.0, 20, 30.0, 60), 10, 10.0),
    ],
)
def test_the_wait_is_until_the_window_has_slid_far_enough(
    window: SlidingWindow, cost: int, seconds: float
) -> None:
    amount = 10 if window.seconds == 1 else 40
    assert window.seconds_until_room_for(cost, amount) == pytest.approx(seconds)
    assert window.weighted_count(seconds) <= amount - cost + 1e-9


async def test_budgets_are_kept_apart_by_bucket_and_identity() -> None:
    # given one identity's budget spent in full
    budgets = Budgets.in_memory()
    allowance = Allowance(5, 60)
    assert (await budgets.spend("cost:key", "a", 5, allowance)).allowed
    assert not (await budgets.spend("cost:key", "a", 1, allowance)).allowed

    # then another identity, or the same identity in another bucket, still has all of its own
    assert await budgets.spend("cost:key", "b", 5, allowance) == Verdict(True, 5, 0, 0)
    assert await budgets.spend("cost:ip", "a", 2, allowance) == Verdict(True, 5, 3, 0)


async def test_a_cost_over_the_whole_allowance_is_refused_without_spending() -> None:
    budgets = Budgets.in_memory()
    allowance = Allowance(5, 60)

    assert await budgets.spend("test", "caller", 6, allowance) == Verdict(False, 5, 0, 60)
    assert await budgets.peek("test", "caller", allowance) == 5


# --- Redis: one budget for every replica -----------------------------------------------------


@pytest.fixture(scope="module")
async def redis_url() -> str:
    url = os.environ.get(REDIS_URL_VARIABLE, DEFAULT_REDIS_URL)
    client = redis.asyncio.Redis.from_url(url)
    try:
        await client.ping()
    except (redis.exceptions.ConnectionError, OSError) as error:
        missing(
            f"Redis at {url} ({type(error).__name__})",
            f"start redis-server, or set {REDIS_URL_VARIABLE} to one",
        )
    finally:
        await client.aclose()
    return url


@pytest.fixture
async def key_prefix(redis_url: str) -> AsyncIterator[str]:
    """A prefix no other test run uses; its keys are deleted afterwards."""
    prefix = f"w4r-test-{secrets.token_hex(4)}"
    yield prefix
    cleaner = Budgets.from_url(redis_url, key_prefix=prefix)
    try:
        await cleaner.reset()
    finally:
        await cleaner.close()


async def test_two_budget_stores_on_one_redis_spend_one_budget(
    redis_url: str, key_prefix: str
) -> None:
    # given two stores (two replicas) on the same Redis
    first = Budgets.from_url(redis_url, key_prefix=key_prefix)
    second = Budgets.from_url(redis_url, key_prefix=key_prefix)
    allowance = Allowance(10, 60)
    try:
        assert first.shared
        assert await first.check()

        # when one spends 7
        assert await first.spend("test", "caller", 7, allowance) == Verdict(True, 10, 3, 0)

        # then the other has only 3 left
        refused = await second.spend("test", "caller", 4, allowance)
        assert (refused.allowed, refused.remaining) == (False, 3)
        assert 1 <= refused.retry_after_seconds <= 2 * allowance.seconds
        assert await second.spend("test", "caller", 3, allowance) == Verdict(True, 10, 0, 0)
        assert await first.peek("test", "caller", allowance) == 0
    finally:
        await first.close()
        await second.close()


async def test_two_apps_on_one_redis_share_an_address_budget(
    settings: Settings, database_target: DatabaseTarget, redis_url: str, key_prefix: str
) -> None:
    # given two app instances whose budgets live in one Redis, 5 points per address
    shared = settings.model_copy(
        update={
            "redis_url": SecretStr(redis_url),
            "redis_key_prefix": key_prefix,
            "ip_budget_points": 5,
        }
    )
    first, second = (
        create_app(shared, target=database_target),
        create_app(shared, target=database_target),
    )
    async with contextlib.AsyncExitStack() as stack:
        clients = []
        for app in (first, second):
            await stack.enter_async_context(app.router.lifespan_context(app))
            transport = httpx.ASGITransport(app=app)
            clients.append(
                await stack.enter_async_context(
                    httpx.AsyncClient(transport=transport, base_url="http://testserver")
                )
            )

        # when the first spends the address's 5 points
        for remaining in range(4, -1, -1):
            response = await clients[0].post("/graphql", json={"query": VIEWER})
            assert response.json()["extensions"]["cost"]["remaining"] == remaining

        # then the second refuses the same address
        refused = await clients[1].post("/graphql", json={"query": VIEWER})
        assert refused.status_code == 429
        assert [error["extensions"]["code"] for error in refused.json()["errors"]] == [
            "RATE_LIMITED"
        ]


# --- over HTTP -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def budget_app(
    settings: Settings, database_target: DatabaseTarget
) -> AsyncIterator[Starlette]:
    """A deployment with 40 points a minute per address and 200 per API key."""
    small = settings.model_copy(
        update={
            "ip_budget_points": ADDRESS_POINTS,
            "ip_budget_seconds": WINDOW_SECONDS,
            "api_key_budget_points": KEY_POINTS,
            "api_key_budget_seconds": WINDOW_SECONDS,
        }
    )
    application = create_app(small, target=database_target)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def budget_graphql(
    budget_app: Starlette, token_for: Callable[..., str]
) -> AsyncIterator[GraphQLClient]:
    """A client of ``budget_app`` whose budgets are all full."""
    await budget_app.state.graphql_services.budgets.reset()
    transport = httpx.ASGITransport(app=budget_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield GraphQLClient(http, token_for)


async def test_every_response_reports_its_cost_and_what_is_left(
    budget_graphql: GraphQLClient,
) -> None:
    # when an anonymous caller and then an IS admin (by token: also the address's budget) ask
    viewer = await budget_graphql.post(VIEWER)
    sections = await budget_graphql.post(SECTIONS, role=Role.IS_ADMIN)

    # then each response says what it cost and what is left of the address's budget
    assert viewer.json() == {"data": {"viewer": {"role": "ANONYMOUS"}}, "extensions": cost(1, 39)}
    assert sections.status_code == 200
    assert sections.json()["extensions"] == cost(31, 8)


@pytest.mark.parametrize("accept", ["application/graphql-response+json", "application/json"])
async def test_over_budget_is_429_with_retry_after_and_writes_nothing(
    budget_graphql: GraphQLClient, graphql: GraphQLClient, accept: str
) -> None:
    # given an address that has spent 31 of its 40 points
    await budget_graphql.data(SECTIONS, role=Role.IS_ADMIN)
    code = unique_code()

    # when it sends a section creation that costs 12
    response = await budget_graphql.post(
        SECTION_CREATE,
        {"input": section_input(code)},
        role=Role.IS_ADMIN,
        headers={"accept": accept},
    )

    # then it is refused unexecuted, whatever the media type, with when to retry
    assert response.status_code == 429
    assert response.headers["content-type"] == accept
    retry_after = int(response.headers["retry-after"])
    assert 1 <= retry_after <= 2 * WINDOW_SECONDS
    assert response.json() == {
        "errors": [
            {
                "message": f"The budget of 40 per window has 9 left and this operation costs "
                f"12; retry in {retry_after} s.",
                "extensions": {"code": "RATE_LIMITED", "retryAfter": retry_after},
            }
        ],
        "extensions": cost(12, 9),
    }
    # and no section was created
    assert code not in await graphql.section_codes()


async def test_a_refused_operation_spends_nothing(budget_graphql: GraphQLClient) -> None:
    # given 31 points spent, a refused 12-point mutation
    await budget_graphql.data(SECTIONS, role=Role.IS_ADMIN)
    refused = await budget_graphql.post(
        SECTION_CREATE, {"input": section_input(unique_code())}, role=Role.IS_ADMIN
    )
    assert refused.status_code == 429

    # when a cheap query follows
    response = await budget_graphql.post(VIEWER)

    # then the 9 points left are still there for it
    assert response.json()["extensions"] == cost(1, 8)


async def test_an_api_key_spends_its_own_budget_not_its_addresss(
    budget_graphql: GraphQLClient, graphql: GraphQLClient
) -> None:
    # given an API key (created elsewhere), and an address that has spent most of its budget
    created = await graphql.data(
        API_KEY_CREATE,
        {"input": {"name": "Budget test", "scopes": ["cases:read"]}},
        role=Role.IS_ADMIN,
    )
    key = created["apiKeyCreate"]["key"]
    await budget_graphql.data(SECTIONS, role=Role.IS_ADMIN)
    refused = await budget_graphql.post(
        SECTION_CREATE, {"input": section_input(unique_code())}, role=Role.IS_ADMIN
    )
    assert refused.status_code == 429

    # when the key is used from that same address, twice
    headers = {"authorization": f"Bearer {key}"}
    first = await budget_graphql.post(CASES, headers=headers)
    second = await budget_graphql.post(CASES, headers=headers)

    # then it is served from the key's own budget
    assert first.status_code == second.status_code == 200
    assert first.json()["extensions"] == cost(3, KEY_POINTS - 3, limit=KEY_POINTS)
    assert second.json()["extensions"] == cost(3, KEY_POINTS - 6, limit=KEY_POINTS)
    # and the address's budget is as it was
    assert (await budget_graphql.post(VIEWER)).json()["extensions"] == cost(1, 8)


async def test_a_cost_over_the_whole_budget_is_refused_as_too_costly(
    budget_graphql: GraphQLClient,
) -> None:
    # when an anonymous caller asks for an operation that costs more than its whole budget
    response = await budget_graphql.post(SECTIONS.replace("first: 10", "first: 20"))

    # then waiting would never help: it is too costly, not rate limited
    assert response.status_code == 400
    assert "retry-after" not in response.headers
    assert [error["extensions"]["code"] for error in response.json()["errors"]] == [
        "QUERY_TOO_COSTLY"
    ]
    assert response.json()["errors"][0]["message"].startswith(
        "The operation costs 61 and at most 40 is allowed"
    )


async def test_a_budget_store_outage_serves_unmetered_and_is_logged(
    budget_graphql: GraphQLClient,
    budget_app: Starlette,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # given a budget store that does not answer
    async def unreachable(*_: Any) -> Verdict:
        raise ConnectionError("Redis is down")

    monkeypatch.setattr(budget_app.state.graphql_services.budgets, "spend", unreachable)

    # when a query is sent
    response = await budget_graphql.post(VIEWER)

    # then it is served, with its cost but no budget figures, and the failure is logged
    assert response.json() == {
        "data": {"viewer": {"role": "ANONYMOUS"}},
        "extensions": {"cost": {"requested": 1}},
    }
    assert "serving the operation unmetered" in caplog.text


# --- subscriptions ---------------------------------------------------------------------------


async def test_a_subscription_spends_from_its_addresss_budget(
    settings: Settings, database_target: DatabaseTarget
) -> None:
    # given a server whose addresses have 3 points a minute; a totals subscription costs 2
    tiny = settings.model_copy(update={"ip_budget_points": 3})
    server = await start_server(tiny, database_target)
    try:
        async with transport_ws(server) as socket:
            # when a first subscription starts (for a year without a campaign: its resolver
            # runs and answers NOT_FOUND), and then a second
            await subscribe_totals(socket, "1", 1900, None)
            async with asyncio.timeout(MESSAGE_TIMEOUT_SECONDS):
                started = await receive(socket)
            await subscribe_totals(socket, "2", 1900, None)
            async with asyncio.timeout(MESSAGE_TIMEOUT_SECONDS):
                refused = await receive(socket)
                completed = await receive(socket)

            # then the first ran and the second was refused before its resolver ran
            assert (started["type"], started["id"]) == ("error", "1")
            assert [error["extensions"]["code"] for error in started["payload"]] == ["NOT_FOUND"]
            assert (refused["type"], refused["id"]) == ("next", "2")
            errors = refused["payload"]["errors"]
            assert [error["extensions"]["code"] for error in errors] == ["RATE_LIMITED"]
            assert errors[0]["extensions"]["retryAfter"] >= 1
            assert refused["payload"]["extensions"] == {
                "cost": {"requested": 2, "limit": 3, "remaining": 1, "windowSeconds": 60}
            }
            assert completed == {"id": "2", "type": "complete"}

            # and the connection still serves: a ping is answered
            await socket.send(json.dumps({"type": "ping"}))
            async with asyncio.timeout(MESSAGE_TIMEOUT_SECONDS):
                assert await receive(socket) == {"type": "pong"}
    finally:
        await stop_server(server)
