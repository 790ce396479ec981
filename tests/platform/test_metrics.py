"""``/metrics``: GraphQL requests by operation and errors by code, the database pool, actions
counted only once committed, open subscriptions, the bearer token, and several workers.

Metrics are cumulative for the whole test process, so every test reads a counter before and
after what it does and asserts the difference.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from sqlalchemy import text
from starlette.applications import Starlette
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from tests.actions.test_ledger_api import (
    ACTION_RECORD,
    NewSection,
    World,
    action_input,
    open_campaign,
    section_in,
)
from tests.conftest import GraphQLClient
from tests.servers import start_server, stop_server
from w4r.actions.models import ActionType, Channel
from w4r.app import create_app
from w4r.platform.auth import Role
from w4r.platform.bootstrap import DatabaseTarget
from w4r.platform.database import TenantBinding
from w4r.platform.metrics import REGISTRY, count_actions_on_commit
from w4r.settings import Settings

METRICS_TOKEN = "scrape-" + uuid.uuid4().hex
Sample = tuple[str, tuple[tuple[str, str], ...]]

NAMED_QUERY = "query MetricsProbe { __typename }"
ANONYMOUS_QUERY = "{ __typename }"
INVALID_QUERY = "query MetricsInvalidName { noSuchField }"
ONLINE_LETTER = (ActionType.LETTER.value, Channel.ONLINE.value)
FLAG_ALLOWANCE = 1
"""Anonymous actions per address in the guarded app: the second one is flagged."""

ACTION_AND_FORBIDDEN = """
mutation ($input: ActionRecordInput!) {
  actionRecord(input: $input) { action { id } errors { field code message } }
  sectionCreate(input: {code: "zz-never", name: "No", country: "GB", languages: ["en"],
                        timeZone: "Europe/London"}) { section { id } }
}
"""
GRAPHQL_TRANSPORT_WS = Subprotocol("graphql-transport-ws")
SETTLE_ATTEMPTS = 200


async def scrape(http: httpx.AsyncClient, **headers: str) -> dict[Sample, float]:
    """Every sample of ``/metrics``, keyed by name and sorted labels."""
    response = await http.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    samples: dict[Sample, float] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict[Sample, float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def requests_of(samples: dict[Sample, float], operation_type: str, name: str) -> float:
    return value(
        samples, "w4r_graphql_requests_total", operation_type=operation_type, operation_name=name
    )


def errors_of(samples: dict[Sample, float], code: str) -> float:
    return value(samples, "w4r_graphql_errors_total", code=code)


def actions_of(samples: dict[Sample, float], action_type: str, channel: str) -> float:
    return value(samples, "w4r_actions_recorded_total", action_type=action_type, channel=channel)


def recorded(action_type: str, channel: str) -> float:
    """The actions counter of this process, read directly (no app involved)."""
    labels = {"action_type": action_type, "channel": channel}
    return REGISTRY.get_sample_value("w4r_actions_recorded_total", labels) or 0.0


# --- GraphQL requests and errors -------------------------------------------------------------


async def test_requests_are_counted_by_operation_and_errors_by_code(
    graphql: GraphQLClient, client: httpx.AsyncClient
) -> None:
    # given the metrics now
    before = await scrape(client)

    # when a named query runs twice, an anonymous one once, an invalid document is sent,
    # a bad token is refused and an unknown section is asked for
    await graphql.data(NAMED_QUERY)
    await graphql.data(NAMED_QUERY)
    await graphql.data(ANONYMOUS_QUERY)
    invalid = await graphql.post(INVALID_QUERY)
    unauthenticated = await graphql.post(NAMED_QUERY, headers={"authorization": "Bearer x.y.z"})
    unknown_section = await graphql.post(NAMED_QUERY, section="zz-" + uuid.uuid4().hex[:6])
    after = await scrape(client)

    # then each request is counted under its validated operation, refusals as unknown
    assert (invalid.status_code, unauthenticated.status_code) == (400, 401)
    assert unknown_section.status_code == 404
    assert (
        requests_of(after, "query", "MetricsProbe") - requests_of(before, "query", "MetricsProbe")
        == 2
    )
    assert requests_of(after, "query", "anonymous") - requests_of(before, "query", "anonymous") == 1
    assert requests_of(after, "unknown", "unknown") - requests_of(before, "unknown", "unknown") == 3
    # and the name of a document that never validated is no label
    assert not any("MetricsInvalidName" in str(labels) for _, labels in after)
    # and the errors are counted by their extensions.code
    assert (
        errors_of(after, "GRAPHQL_VALIDATION_FAILED")
        - errors_of(before, "GRAPHQL_VALIDATION_FAILED")
        == 1
    )
    assert errors_of(after, "UNAUTHENTICATED") - errors_of(before, "UNAUTHENTICATED") == 1
    assert errors_of(after, "SECTION_NOT_FOUND") - errors_of(before, "SECTION_NOT_FOUND") == 1
    # and the latency histogram saw both named queries
    latency = "w4r_graphql_request_duration_seconds_count"
    labels = {"operation_type": "query", "operation_name": "MetricsProbe"}
    assert value(after, latency, **labels) - value(before, latency, **labels) == 2


async def test_a_mutation_over_get_is_counted_as_a_refusal(
    client: httpx.AsyncClient,
) -> None:
    # given the metrics now
    before = await scrape(client)

    # when a mutation is sent over GET
    response = await client.get(
        "/graphql",
        params={"query": "mutation { __typename }"},
        headers={"accept": "application/graphql-response+json"},
    )

    # then it is refused with 405 and counted under METHOD_NOT_ALLOWED
    after = await scrape(client)
    assert response.status_code == 405
    assert errors_of(after, "METHOD_NOT_ALLOWED") - errors_of(before, "METHOD_NOT_ALLOWED") == 1


async def test_the_request_id_of_a_refusal_is_answered_too(graphql: GraphQLClient) -> None:
    # when a refused request names its id
    response = await graphql.post(
        NAMED_QUERY, headers={"authorization": "Bearer x.y.z", "x-request-id": "req-refused-1"}
    )

    # then the answer carries it
    assert response.status_code == 401
    assert response.headers["x-request-id"] == "req-refused-1"


# --- the database pool -----------------------------------------------------------------------


async def test_the_database_pool_is_read_at_scrape_time(
    graphql: GraphQLClient, client: httpx.AsyncClient, settings: Settings
) -> None:
    # given a request that used the pool
    await graphql.data(NAMED_QUERY, role=Role.IS_ADMIN)

    # when the metrics are scraped with no request running
    samples = await scrape(client)

    # then the pool's configured size shows, nothing is checked out and nothing overflows
    name = "w4r_db_pool_connections"
    assert value(samples, name, state="size") == settings.database_pool_size
    assert value(samples, name, state="checked_out") == 0
    assert value(samples, name, state="overflow") == 0
    assert 1 <= value(samples, name, state="idle") <= settings.database_pool_size


# --- actions ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def world(module_graphql: GraphQLClient) -> World:
    return await open_campaign(module_graphql, featured=1)


async def test_a_recorded_action_is_counted_by_type_and_channel(
    graphql: GraphQLClient, client: httpx.AsyncClient, new_section: NewSection, world: World
) -> None:
    # given a section in an open campaign, and the metrics now
    code = await section_in(graphql, new_section, world)
    before = await scrape(client)

    # when an anonymous supporter records a letter
    values = action_input(world, world.first)
    data = await graphql.data(ACTION_RECORD, {"input": values}, section=code)
    action = data["actionRecord"]["action"]

    # then one online letter is counted, under the stored type and channel
    after = await scrape(client)
    assert (action["actionType"], action["channel"]) == ("LETTER", "ONLINE")
    assert actions_of(after, *ONLINE_LETTER) - actions_of(before, *ONLINE_LETTER) == 1

    # and a replay of the same request counts nothing more
    await graphql.data(ACTION_RECORD, {"input": values}, section=code)
    assert actions_of(await scrape(client), *ONLINE_LETTER) == actions_of(after, *ONLINE_LETTER)


async def test_an_action_of_a_rolled_back_request_is_not_counted(
    graphql: GraphQLClient, client: httpx.AsyncClient, new_section: NewSection, world: World
) -> None:
    # given a section in an open campaign, and the metrics now
    code = await section_in(graphql, new_section, world)
    before = await scrape(client)

    # when an action is recorded in an operation whose other field is refused (top level)
    response = await graphql.post(
        ACTION_AND_FORBIDDEN, {"input": action_input(world, world.first)}, section=code
    )

    # then the request rolled back and the metric did not move
    payload = response.json()
    assert [error["extensions"]["code"] for error in payload["errors"]] == ["FORBIDDEN"]
    after = await scrape(client)
    assert actions_of(after, *ONLINE_LETTER) == actions_of(before, *ONLINE_LETTER)
    assert errors_of(after, "FORBIDDEN") - errors_of(before, "FORBIDDEN") == 1


@pytest.fixture(scope="module")
async def guarded_app(
    settings: Settings, database_target: DatabaseTarget
) -> AsyncIterator[Starlette]:
    """A deployment with a metrics token and one anonymous action per address."""
    guarded = settings.model_copy(
        update={
            "metrics_token": SecretStr(METRICS_TOKEN),
            "public_write_window_seconds": 3600,
            "public_actions_per_ip": FLAG_ALLOWANCE,
        }
    )
    application = create_app(guarded, target=database_target)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def guarded(guarded_app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    address = f"10.{uuid.uuid4().int % 256}.{uuid.uuid4().int % 256}.7"
    transport = httpx.ASGITransport(app=guarded_app, client=(address, 123))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def test_a_flagged_action_is_not_counted(
    graphql: GraphQLClient,
    guarded: httpx.AsyncClient,
    token_for: Callable[..., str],
    new_section: NewSection,
    world: World,
) -> None:
    # given a section, a browser at one address of a deployment that allows it one action
    code = await section_in(graphql, new_section, world)
    browser = GraphQLClient(guarded, token_for)
    authorization = {"authorization": f"Bearer {METRICS_TOKEN}"}
    await browser.data(ACTION_RECORD, {"input": action_input(world, world.first)}, section=code)
    before = await scrape(guarded, **authorization)

    # when it records one more (stored with a flag, answered as if counted)
    data = await browser.data(
        ACTION_RECORD, {"input": action_input(world, world.first)}, section=code
    )

    # then the metric did not move
    assert data["actionRecord"]["errors"] == []
    after = await scrape(guarded, **authorization)
    assert actions_of(after, *ONLINE_LETTER) == actions_of(before, *ONLINE_LETTER)


async def test_actions_of_a_rolled_back_savepoint_are_never_counted(
    app_session_factory: Callable[[TenantBinding], Any],
) -> None:
    # given a session in a transaction, and labels no other test uses
    kept, undone = ("metrics-test-kept", "unit"), ("metrics-test-undone", "unit")
    session = app_session_factory(TenantBinding.global_scope())
    await session.execute(text("select 1"))

    # when one savepoint that wrote actions rolls back, another is released, then a third
    # writes after the outermost transaction committed and is rolled back
    async with session.begin_nested() as savepoint:
        count_actions_on_commit(session, {undone: 4})
        await savepoint.rollback()
    async with session.begin_nested():
        count_actions_on_commit(session, {kept: 2})
    count_actions_on_commit(session, {kept: 1})
    assert recorded(*kept) == 0
    await session.commit()
    count_actions_on_commit(session, {kept: 10})
    await session.rollback()
    await session.close()

    # then only the released savepoint and the outer write count, once committed
    assert recorded(*kept) == 3
    assert recorded(*undone) == 0


# --- subscriptions ---------------------------------------------------------------------------


async def test_the_subscription_gauge_follows_open_websockets(
    settings: Settings, database_target: DatabaseTarget
) -> None:
    # given a served app
    running = await start_server(settings, database_target)
    try:
        async with httpx.AsyncClient(base_url=running.http_url) as http:
            gauge = "w4r_subscription_clients"
            before = value(await scrape(http), gauge)

            # when a client opens a graphql-transport-ws connection
            async with connect(running.ws_url, subprotocols=[GRAPHQL_TRANSPORT_WS]) as socket:
                await socket.send(json.dumps({"type": "connection_init", "payload": {}}))
                ack = json.loads(await asyncio.wait_for(socket.recv(), 10))

                # then the gauge counts it while it is open
                assert ack["type"] == "connection_ack"
                assert value(await scrape(http), gauge) == before + 1

            # and no more once it closed (the server notices a moment later)
            for _ in range(SETTLE_ATTEMPTS):
                if value(await scrape(http), gauge) == before:
                    break
                await asyncio.sleep(0.05)
            assert value(await scrape(http), gauge) == before
    finally:
        await stop_server(running)


# --- the bearer token ------------------------------------------------------------------------


async def test_a_metrics_token_is_required_when_configured(guarded: httpx.AsyncClient) -> None:
    # when the metrics are asked for without the token, with another one, then with it
    missing = await guarded.get("/metrics")
    wrong = await guarded.get("/metrics", headers={"authorization": "Bearer not-the-token"})
    basic = await guarded.get("/metrics", headers={"authorization": f"Basic {METRICS_TOKEN}"})
    right = await guarded.get("/metrics", headers={"authorization": f"Bearer {METRICS_TOKEN}"})

    # then only the bearer of the configured token reads them
    for refused in (missing, wrong, basic):
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"] == 'Bearer realm="metrics"'
        assert "w4r_" not in refused.text
    assert right.status_code == 200
    assert right.headers["content-type"].startswith("text/plain; version=")
    assert "# TYPE w4r_graphql_requests_total counter" in right.text


async def test_metrics_are_open_without_a_token_and_speak_openmetrics(
    client: httpx.AsyncClient,
) -> None:
    # when an OpenMetrics scraper asks the app that has no token
    response = await client.get(
        "/metrics", headers={"accept": "application/openmetrics-text; version=1.0.0"}
    )

    # then it gets OpenMetrics
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    assert response.text.endswith("# EOF\n")


# --- several worker processes ----------------------------------------------------------------

WORKER = """
import sys
from pathlib import Path
from w4r.platform.metrics import GRAPHQL_ERRORS, SUBSCRIPTION_CLIENTS, exposition
GRAPHQL_ERRORS.labels("FORBIDDEN").inc(int(sys.argv[2]))
SUBSCRIPTION_CLIENTS.inc()
if sys.argv[1] == "scrape":
    body, _ = exposition(None, Path(sys.argv[3]))
    sys.stdout.write(body.decode())
"""


def run_worker(directory: Path, mode: str, errors: int) -> str:
    environment = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    completed = subprocess.run(
        [sys.executable, "-c", WORKER, mode, str(errors), str(directory)],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return completed.stdout


def test_multiprocess_mode_adds_up_every_worker(tmp_path: Path) -> None:
    # given two worker processes that counted errors in one multiprocess directory
    run_worker(tmp_path, "count", 2)
    run_worker(tmp_path, "count", 3)

    # when a third one serves the metrics
    body = run_worker(tmp_path, "scrape", 1)

    # then the counters are the sum of all workers
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
    }
    assert value(samples, "w4r_graphql_errors_total", code="FORBIDDEN") == 6
    # and the gauge of open subscriptions counts every process still in the directory
    assert value(samples, "w4r_subscription_clients") == 3
