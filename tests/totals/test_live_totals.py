"""Live totals across replicas: two real app servers on one database, subscriptions over
graphql-transport-ws (real websockets) on one, actions recorded through the other.

Each app instance has its own TotalsHub and its own LISTEN connection, so an update seen on
server A for an action recorded on server B can only have travelled through PostgreSQL's
NOTIFY. Both servers run in this process as uvicorn tasks on 127.0.0.1 (an OS-chosen free
port each); the update interval is shortened to 0.5 s so the throttle shows in a short burst.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

from tests.campaigns.test_campaigns_api import (
    CASE_CREATE,
    CASE_PUBLISH,
    case_input,
    create_campaign,
    free_year,
    update_participation,
)
from tests.conftest import SECTION_CREATE, GraphQLClient, section_input, unique_code
from tests.servers import RunningServer, start_server, stop_server
from w4r.platform.auth import Role
from w4r.platform.bootstrap import DatabaseTarget
from w4r.settings import Settings

UPDATE_INTERVAL_SECONDS = 0.5
BURST_ACTIONS = 200
BURST_CONCURRENCY = 20
MESSAGE_TIMEOUT_SECONDS = 15.0
GRAPHQL_TRANSPORT_WS = Subprotocol("graphql-transport-ws")

TOTALS_UPDATED = """
subscription ($campaign: Int!, $case: UUID) {
  totalsUpdated(campaign: $campaign, case: $case) {
    campaignYear caseId totals { quantity verified selfReported }
  }
}
"""
ACTION_RECORD = """
mutation ($input: ActionRecordInput!) {
  actionRecord(input: $input) {
    action { id quantity verification }
    replayed
    errors { field code message }
  }
}
"""


# --- two real servers ----------------------------------------------------------------------


@pytest.fixture(scope="module")
async def servers(
    settings: Settings, database_target: DatabaseTarget
) -> AsyncIterator[tuple[RunningServer, RunningServer]]:
    """Servers A and B: two app instances (two pools, two totals hubs) on one database."""
    quick = settings.model_copy(update={"totals_update_interval_seconds": UPDATE_INTERVAL_SECONDS})
    first = await start_server(quick, database_target)
    try:
        second = await start_server(quick, database_target)
        try:
            yield first, second
        finally:
            await stop_server(second)
    finally:
        await stop_server(first)


@contextlib.asynccontextmanager
async def graphql_client(
    server: RunningServer, token_for: Callable[..., str]
) -> AsyncIterator[GraphQLClient]:
    limits = httpx.Limits(max_connections=BURST_CONCURRENCY)
    async with httpx.AsyncClient(base_url=server.http_url, limits=limits, timeout=30.0) as http:
        yield GraphQLClient(http, token_for)


# --- the world: a campaign open today, published cases, a section featuring them ------------


@dataclass(frozen=True)
class World:
    year: int
    section: str
    case_ids: tuple[str, ...]


async def create_published_case(graphql: GraphQLClient, year: int) -> tuple[str, str]:
    """A published case of the ``year`` campaign (as an IS admin): its id and slug."""
    slug = "case-" + unique_code()
    data = await graphql.data(CASE_CREATE, {"input": case_input(slug, [year])}, role=Role.IS_ADMIN)
    assert data["caseCreate"]["errors"] == [], data
    case_id: str = data["caseCreate"]["case"]["id"]
    published = await graphql.data(CASE_PUBLISH, {"input": {"id": case_id}}, role=Role.IS_ADMIN)
    assert published["casePublish"]["errors"] == [], published
    return case_id, slug


async def create_world(graphql: GraphQLClient, cases: int) -> World:
    today = datetime.now(UTC).date()  # ±10 days: today in any section's time zone
    starts, ends = today - timedelta(days=10), today + timedelta(days=10)
    campaign = await create_campaign(
        graphql,
        startsOn=starts.isoformat(),
        endsOn=ends.isoformat(),
        actionDaysStart=starts.isoformat(),
        actionDaysEnd=ends.isoformat(),
        reportingDeadline=(ends + timedelta(days=15)).isoformat(),
        status="OPEN",
    )
    year: int = campaign["year"]
    created_cases = [await create_published_case(graphql, year) for _ in range(cases)]
    code = unique_code()
    created = await graphql.data(SECTION_CREATE, {"input": section_input(code)}, role=Role.IS_ADMIN)
    assert created["sectionCreate"]["errors"] == [], created
    slugs = [slug for _, slug in created_cases]
    payload = await update_participation(graphql, code, {"year": year, "featuredCaseSlugs": slugs})
    assert payload["errors"] == [], payload
    return World(year=year, section=code, case_ids=tuple(case_id for case_id, _ in created_cases))


async def record_action(graphql: GraphQLClient, world: World, case_id: str) -> dict[str, Any]:
    """One actionRecord by the section's admin, with a fresh idempotency key."""
    values = {
        "campaign": world.year,
        "caseId": case_id,
        "actionType": "LETTER",
        "idempotencyKey": str(uuid.uuid4()),
    }
    data = await graphql.data(
        ACTION_RECORD,
        {"input": values},
        role=Role.SECTION_ADMIN,
        token_section=world.section,
        section=world.section,
    )
    payload: dict[str, Any] = data["actionRecord"]
    return payload


# --- graphql-transport-ws --------------------------------------------------------------------


async def receive(socket: ClientConnection) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await socket.recv())
    return message


@contextlib.asynccontextmanager
async def transport_ws(server: RunningServer) -> AsyncIterator[ClientConnection]:
    """An acknowledged graphql-transport-ws connection to ``server``'s /graphql."""
    async with connect(server.ws_url, subprotocols=[GRAPHQL_TRANSPORT_WS]) as socket:
        assert socket.subprotocol == GRAPHQL_TRANSPORT_WS
        await socket.send(json.dumps({"type": "connection_init"}))
        async with asyncio.timeout(MESSAGE_TIMEOUT_SECONDS):
            assert await receive(socket) == {"type": "connection_ack"}
        yield socket


async def subscribe_totals(
    socket: ClientConnection, operation_id: str, year: int, case_id: str | None
) -> None:
    message = {
        "id": operation_id,
        "type": "subscribe",
        "payload": {"query": TOTALS_UPDATED, "variables": {"campaign": year, "case": case_id}},
    }
    await socket.send(json.dumps(message))


def totals_of(message: dict[str, Any], operation_id: str) -> dict[str, Any]:
    """The ``totals`` of a ``next`` message for ``operation_id`` (without errors)."""
    assert message["type"] == "next", message
    assert message["id"] == operation_id, message
    assert "errors" not in message["payload"], message
    totals: dict[str, Any] = message["payload"]["data"]["totalsUpdated"]["totals"]
    return totals


# --- tests -----------------------------------------------------------------------------------


async def test_a_burst_on_one_replica_reaches_subscribers_of_another_throttled(
    servers: tuple[RunningServer, RunningServer], token_for: Callable[..., str]
) -> None:
    # given two app instances on one database, a campaign open today with a published case
    # featured by a section (set up through server A)
    server_a, server_b = servers
    async with graphql_client(server_a, token_for) as graphql_a:
        world = await create_world(graphql_a, cases=1)
    (case_id,) = world.case_ids

    # and a subscriber to the case's totals on server A, who first gets the totals now
    async with transport_ws(server_a) as socket:
        await subscribe_totals(socket, "1", world.year, case_id)
        async with asyncio.timeout(MESSAGE_TIMEOUT_SECONDS):
            initial = await receive(socket)
        assert initial["payload"]["data"]["totalsUpdated"] == {
            "campaignYear": world.year,
            "caseId": case_id,
            "totals": {"quantity": 0, "verified": 0, "selfReported": 0},
        }

        # when a burst of actions is recorded concurrently through server B
        gate = asyncio.Semaphore(BURST_CONCURRENCY)
        async with graphql_client(server_b, token_for) as graphql_b:

            async def one() -> dict[str, Any]:
                async with gate:
                    return await record_action(graphql_b, world, case_id)

            started = time.monotonic()
            payloads = await asyncio.gather(*(one() for _ in range(BURST_ACTIONS)))
            burst_seconds = time.monotonic() - started

        # then every action was accepted, once
        assert [payload["errors"] for payload in payloads] == [[]] * BURST_ACTIONS
        assert not any(payload["replayed"] for payload in payloads)
        assert len({payload["action"]["id"] for payload in payloads}) == BURST_ACTIONS

        # and the subscriber on server A sees the totals reach the burst's size
        updates: list[dict[str, Any]] = []
        async with asyncio.timeout(MESSAGE_TIMEOUT_SECONDS):
            while not updates or updates[-1]["quantity"] < BURST_ACTIONS:
                updates.append(totals_of(await receive(socket), "1"))

    assert updates[-1] == {"quantity": BURST_ACTIONS, "verified": BURST_ACTIONS, "selfReported": 0}
    quantities = [update["quantity"] for update in updates]
    assert quantities == sorted(quantities), quantities  # never backwards
    # and in few updates. The hub signals a topic at most once per interval: the first notice
    # after a quiet spell at once, the following ones no sooner than one interval after the
    # last signal, and a trailing one after the burst so the subscriber ends on the current
    # totals. The notices of the burst arrive within its duration, so signals fall at
    # t0, t0 + interval, t0 + 2 interval, … up to its end: at most duration / interval + 1,
    # plus the trailing one. (A subscriber still reading when signalled gets one signal for
    # all that arrived meanwhile, so it may receive fewer, never more.)
    bound = burst_seconds / UPDATE_INTERVAL_SECONDS + 2
    assert 1 <= len(updates) <= bound, (len(updates), burst_seconds, quantities)


async def test_a_subscription_to_a_campaign_that_does_not_exist_gets_an_error(
    servers: tuple[RunningServer, RunningServer], token_for: Callable[..., str]
) -> None:
    # given a year in the test range that has no campaign
    server_a, _ = servers
    async with graphql_client(server_a, token_for) as graphql_a:
        year = await free_year(graphql_a)
    async with transport_ws(server_a) as socket:
        # when a client subscribes to its totals
        await subscribe_totals(socket, "1", year, None)

        # then it gets an `error` message for the operation
        async with asyncio.timeout(MESSAGE_TIMEOUT_SECONDS):
            message = await receive(socket)
        assert message["type"] == "error", message
        assert message["id"] == "1"
        assert [error["message"] for error in message["payload"]] == [
            f"There is no {year} campaign."
        ]
        assert [error["extensions"]["code"] for error in message["payload"]] == ["NOT_FOUND"]

        # and nothing else: a ping sent now is answered before any other message
        await socket.send(json.dumps({"type": "ping"}))
        async with asyncio.timeout(MESSAGE_TIMEOUT_SECONDS):
            assert await receive(socket) == {"type": "pong"}


async def test_a_case_subscription_ignores_other_cases_of_the_campaign(
    servers: tuple[RunningServer, RunningServer], token_for: Callable[..., str]
) -> None:
    # given a campaign with two featured cases, and on server A one connection subscribed
    # to the first case ("case") and to the whole campaign ("campaign")
    server_a, server_b = servers
    async with graphql_client(server_a, token_for) as graphql_a:
        world = await create_world(graphql_a, cases=2)
    watched, other = world.case_ids
    async with (
        transport_ws(server_a) as socket,
        graphql_client(server_b, token_for) as graphql_b,
    ):
        await subscribe_totals(socket, "case", world.year, watched)
        await subscribe_totals(socket, "campaign", world.year, None)
        received: dict[str, list[int]] = {"case": [], "campaign": []}

        async def until(operation_id: str, quantity: int) -> None:
            async with asyncio.timeout(MESSAGE_TIMEOUT_SECONDS):
                while quantity not in received[operation_id]:
                    message = await receive(socket)
                    totals = totals_of(message, message["id"])
                    received[message["id"]].append(totals["quantity"])

        await until("case", 0)
        await until("campaign", 0)

        # when an action is recorded for the other case (through server B), and once the
        # campaign's subscriber has seen it, one for the watched case
        assert (await record_action(graphql_b, world, other))["errors"] == []
        await until("campaign", 1)
        assert (await record_action(graphql_b, world, watched))["errors"] == []
        await until("campaign", 2)
        await until("case", 1)

    # then the watched case's subscriber got no update for the other case's action: its
    # first update after the initial one already shows the watched case's action (an update
    # for the other case's would have been read, and sent, before that action was recorded)
    assert received["case"][:2] == [0, 1], received
    assert received["campaign"][:3] == [0, 1, 2], received
