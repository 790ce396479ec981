"""The `graphql-ws` client (``interop/subscription.mjs``) against a real server.

Another implementation of graphql-transport-ws than ours: it subscribes to a case's
``totalsUpdated``, an anonymous supporter's letter is recorded over HTTP, and the update
must reach it. With credentials in ``connectionParams`` it works the same; with a bad or
expired token it must see the server's 4403 close.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from tests.servers import RunningServer, serving
from tests.tools import INTEROP, node
from tests.totals.test_live_totals import (
    World,
    create_world,
    graphql_client,
)
from w4r.platform.auth import Role
from w4r.platform.bootstrap import DatabaseTarget
from w4r.settings import Settings

UPDATE_INTERVAL_SECONDS = 0.5
CLIENT_TIMEOUT_SECONDS = 30.0
FORBIDDEN = {"outcome": "closed", "code": 4403, "reason": "Forbidden"}


@pytest.fixture(scope="module")
async def server(
    settings: Settings, database_target: DatabaseTarget
) -> AsyncIterator[RunningServer]:
    quick = settings.model_copy(update={"totals_update_interval_seconds": UPDATE_INTERVAL_SECONDS})
    async with serving(quick, database_target) as running:
        yield running


@pytest.fixture(scope="module")
async def world(server: RunningServer, token_for: Callable[..., str]) -> World:
    """A campaign open today with one published case, featured by one section."""
    async with graphql_client(server, token_for) as graphql:
        return await create_world(graphql, cases=1)


async def run_client(
    server: RunningServer, world: World, authorization: str | None = None
) -> dict[str, Any]:
    """What the graphql-ws client saw (see interop/subscription.mjs)."""
    (case_id,) = world.case_ids
    scenario = {
        "websocketUrl": f"ws://127.0.0.1:{server.port}/s/{world.section}/graphql",
        "httpUrl": f"{server.http_url}/s/{world.section}/graphql",
        "campaign": world.year,
        "caseId": case_id,
        "authorization": authorization,
        "timeoutMs": int(CLIENT_TIMEOUT_SECONDS * 1000),
    }
    process = await asyncio.create_subprocess_exec(
        node(),
        str(INTEROP / "subscription.mjs"),
        json.dumps(scenario),
        cwd=INTEROP,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(CLIENT_TIMEOUT_SECONDS + 10):
        stdout, stderr = await process.communicate()
    assert process.returncode == 0, stderr.decode()
    outcome: dict[str, Any] = json.loads(stdout)
    return outcome


def assert_counted_one_letter(outcome: dict[str, Any]) -> None:
    """The update counts exactly the one anonymous letter recorded after the first totals."""
    assert outcome["outcome"] == "updated", outcome
    initial = outcome["initial"]
    assert outcome["updated"] == {
        "quantity": initial["quantity"] + 1,
        "verified": initial["verified"] + 1,
        "selfReported": initial["selfReported"],
    }
    assert isinstance(outcome["action"], str)


async def test_an_anonymous_graphql_ws_client_receives_the_update(
    server: RunningServer, world: World
) -> None:
    # when the client subscribes without credentials and a letter is recorded over HTTP
    outcome = await run_client(server, world)

    # then it receives the totals that count it
    assert_counted_one_letter(outcome)


async def test_a_graphql_ws_client_with_a_token_receives_the_update(
    server: RunningServer, world: World, token_for: Callable[..., str]
) -> None:
    # given a section admin's token in connectionParams
    token = token_for(Role.SECTION_ADMIN, world.section)

    # when the client subscribes and a letter is recorded over HTTP
    outcome = await run_client(server, world, f"Bearer {token}")

    # then it is served like any subscriber
    assert_counted_one_letter(outcome)


async def test_a_graphql_ws_client_with_a_bad_token_sees_4403(
    server: RunningServer, world: World
) -> None:
    outcome = await run_client(server, world, "Bearer not.a.token")
    assert outcome == FORBIDDEN


async def test_a_graphql_ws_client_with_an_expired_token_sees_4403(
    server: RunningServer, world: World, token_for: Callable[..., str]
) -> None:
    # given a token that expired an hour ago
    an_hour_ago = int(time.time()) - 3600
    token = token_for(Role.SECTION_ADMIN, world.section, now=an_hour_ago - 60, ttl_seconds=60)

    # when the client connects with it, then the server closes the connection with 4403
    outcome = await run_client(server, world, f"Bearer {token}")
    assert outcome == FORBIDDEN


async def test_a_graphql_ws_client_with_a_token_of_another_section_sees_4403(
    server: RunningServer, world: World, token_for: Callable[..., str]
) -> None:
    token = token_for(Role.SECTION_ADMIN, "zz-elsewhere")
    outcome = await run_client(server, world, f"Bearer {token}")
    assert outcome == FORBIDDEN
