"""Who subscribes: credentials over graphql-transport-ws.

A real server (uvicorn on 127.0.0.1, the test database) and real websockets: the caller
authenticates in the ``connection_init`` payload (``{"authorization": "Bearer …"}``) or
with the upgrade request's ``Authorization`` header, with the same verification as HTTP;
a refused credential or a section the caller may not use closes the socket with 4403.
The connection's context is also checked in process, where the caller and the section it
is bound to can be read.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable, MutableMapping
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.websockets import WebSocket
from strawberry.exceptions import ConnectionRejectionError
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from tests.apikeys.test_api_keys_api import admin_of, created
from tests.conftest import SECTION_CREATE, section_input, unique_code
from tests.servers import RunningServer, start_server, stop_server
from tests.totals.test_live_totals import (
    TOTALS_UPDATED,
    World,
    create_world,
    graphql_client,
)
from w4r.platform.auth import Role
from w4r.platform.bootstrap import DatabaseTarget
from w4r.platform.database import TenantBinding
from w4r.schema.api import build_schema
from w4r.schema.context import GraphQLServices
from w4r.schema.http import ConnectionContext, GraphQLView, build_view, connection_context
from w4r.settings import Settings

GRAPHQL_TRANSPORT_WS = Subprotocol("graphql-transport-ws")
MESSAGE_TIMEOUT_SECONDS = 15.0
FORBIDDEN = 4403
ADDRESS_BUDGET = 100_000_000
API_KEY_BUDGET = 77_000_000
"""Distinct from the address budget, so a subscription's reported cost limit shows whose
budget the connection spends: its API key's, or its address's."""

ACTION_RECORD = """
mutation ($input: ActionRecordInput!) {
  actionRecord(input: $input) { action { id } errors { field code } }
}
"""


# --- a server, a world -------------------------------------------------------------------


@pytest.fixture(scope="module")
async def server(
    settings: Settings, database_target: DatabaseTarget
) -> AsyncIterator[RunningServer]:
    budgets = {"ip_budget_points": ADDRESS_BUDGET, "api_key_budget_points": API_KEY_BUDGET}
    running = await start_server(settings.model_copy(update=budgets), database_target)
    try:
        yield running
    finally:
        await stop_server(running)


@pytest.fixture(scope="module")
async def world(server: RunningServer, token_for: Callable[..., str]) -> World:
    """A campaign open today with one published case, featured by one section."""
    async with graphql_client(server, token_for) as graphql:
        return await create_world(graphql, cases=1)


async def other_section(server: RunningServer, token_for: Callable[..., str]) -> str:
    code = unique_code()
    async with graphql_client(server, token_for) as graphql:
        data = await graphql.data(
            SECTION_CREATE, {"input": section_input(code)}, role=Role.IS_ADMIN
        )
    assert data["sectionCreate"]["errors"] == [], data
    return code


# --- graphql-transport-ws ----------------------------------------------------------------


def ws_url(server: RunningServer, section: str | None) -> str:
    path = "/graphql" if section is None else f"/s/{section}/graphql"
    return f"ws://127.0.0.1:{server.port}{path}"


async def receive(socket: ClientConnection) -> dict[str, Any]:
    async with asyncio.timeout(MESSAGE_TIMEOUT_SECONDS):
        frame = await socket.recv()
    # graphql-transport-ws messages are JSON text: the graphql-ws client refuses binary frames
    assert isinstance(frame, str), frame
    message: dict[str, Any] = json.loads(frame)
    return message


@contextlib.asynccontextmanager
async def opened(
    server: RunningServer, section: str | None, headers: dict[str, str] | None = None
) -> AsyncIterator[ClientConnection]:
    async with connect(
        ws_url(server, section), subprotocols=[GRAPHQL_TRANSPORT_WS], additional_headers=headers
    ) as socket:
        assert socket.subprotocol == GRAPHQL_TRANSPORT_WS
        yield socket


async def initialise(socket: ClientConnection, payload: dict[str, Any] | None) -> None:
    message: dict[str, Any] = {"type": "connection_init"}
    if payload is not None:
        message["payload"] = payload
    await socket.send(json.dumps(message))


async def closed_with(socket: ClientConnection) -> tuple[int, str]:
    """The close code and reason of a socket the server is closing."""
    with pytest.raises(ConnectionClosed) as closed:
        await receive(socket)
    assert closed.value.rcvd is not None, "the server closed without a close frame"
    return closed.value.rcvd.code, closed.value.rcvd.reason


async def first_totals(socket: ClientConnection, world: World) -> dict[str, Any]:
    """Subscribe to the world's case totals; the first ``next`` payload."""
    (case_id,) = world.case_ids
    variables = {"campaign": world.year, "case": case_id}
    await socket.send(
        json.dumps(
            {
                "id": "totals",
                "type": "subscribe",
                "payload": {"query": TOTALS_UPDATED, "variables": variables},
            }
        )
    )
    message = await receive(socket)
    assert message["type"] == "next", message
    assert message["id"] == "totals"
    payload: dict[str, Any] = message["payload"]
    assert payload["data"]["totalsUpdated"]["totals"] == {
        "quantity": 0,
        "verified": 0,
        "selfReported": 0,
    }
    return payload


def budget_limit(payload: dict[str, Any]) -> int:
    limit: int = payload["extensions"]["cost"]["limit"]
    return limit


# --- accepted ----------------------------------------------------------------------------


async def test_without_credentials_the_connection_is_anonymous(
    server: RunningServer, world: World
) -> None:
    # given a connection that sends no credentials, when it initialises and subscribes
    async with opened(server, world.section) as socket:
        await initialise(socket, None)
        assert await receive(socket) == {"type": "connection_ack"}
        payload = await first_totals(socket, world)

    # then it is served, and spends its address's budget
    assert budget_limit(payload) == ADDRESS_BUDGET


@pytest.mark.parametrize("key", ["authorization", "Authorization"])
async def test_a_token_in_connection_init_is_accepted(
    server: RunningServer, world: World, token_for: Callable[..., str], key: str
) -> None:
    # given a section admin's token in the connection_init payload, at the section's path
    token = token_for(Role.SECTION_ADMIN, world.section)
    async with opened(server, world.section) as socket:
        # when the connection initialises
        await initialise(socket, {key: f"Bearer {token}"})

        # then it is acknowledged and serves subscriptions
        assert await receive(socket) == {"type": "connection_ack"}
        await first_totals(socket, world)


async def test_a_token_in_the_upgrade_header_is_accepted(
    server: RunningServer, world: World, token_for: Callable[..., str]
) -> None:
    # given an IS analyst's token in the upgrade request's Authorization header
    header = {"Authorization": f"Bearer {token_for(Role.IS_ANALYST)}"}
    async with opened(server, None, header) as socket:
        # when the connection initialises without a payload
        await initialise(socket, None)

        # then it is acknowledged and serves subscriptions
        assert await receive(socket) == {"type": "connection_ack"}
        await first_totals(socket, world)


async def test_the_same_credential_in_header_and_payload_is_accepted(
    server: RunningServer, world: World, token_for: Callable[..., str]
) -> None:
    authorization = f"Bearer {token_for(Role.SECTION_EDITOR, world.section)}"
    async with opened(server, world.section, {"Authorization": authorization}) as socket:
        await initialise(socket, {"authorization": authorization})
        assert await receive(socket) == {"type": "connection_ack"}


async def test_an_api_key_is_accepted_and_the_connection_spends_its_budget(
    server: RunningServer, world: World, token_for: Callable[..., str]
) -> None:
    # given an API key of the world's section
    async with graphql_client(server, token_for) as graphql:
        key, _ = await created(graphql, admin_of(world.section))

    # when a connection presents it in connection_init and subscribes
    async with opened(server, world.section) as socket:
        await initialise(socket, {"authorization": f"Bearer {key}"})
        assert await receive(socket) == {"type": "connection_ack"}
        payload = await first_totals(socket, world)

    # then the subscription is paid from the key's budget, not from the address's
    assert budget_limit(payload) == API_KEY_BUDGET


# --- refused -----------------------------------------------------------------------------


def refused_payloads(token_for: Callable[..., str], section: str) -> dict[str, Any]:
    an_hour_ago = int(time.time()) - 3600
    expired = token_for(Role.SECTION_ADMIN, section, now=an_hour_ago, ttl_seconds=60)
    return {
        "a forged token": {"authorization": "Bearer not.a.token"},
        "an expired token": {"authorization": f"Bearer {expired}"},
        "an unknown API key": {"authorization": "Bearer w4r_thisisnotakeyatall"},
        "no bearer scheme": {"authorization": f"Basic {token_for(Role.IS_ADMIN)}"},
        "a value that is no string": {"authorization": ["Bearer", "x"]},
        "two spellings": {
            "authorization": f"Bearer {token_for(Role.IS_ADMIN)}",
            "Authorization": f"Bearer {token_for(Role.IS_ADMIN)}",
        },
    }


@pytest.mark.parametrize(
    "case",
    [
        "a forged token",
        "an expired token",
        "an unknown API key",
        "no bearer scheme",
        "a value that is no string",
        "two spellings",
    ],
)
async def test_a_refused_credential_closes_the_connection_with_4403(
    server: RunningServer, world: World, token_for: Callable[..., str], case: str
) -> None:
    # given a connection_init payload with credentials the server refuses
    payload = refused_payloads(token_for, world.section)[case]
    async with opened(server, world.section) as socket:
        # when the connection initialises
        await initialise(socket, payload)

        # then the server closes it with 4403 Forbidden, unacknowledged
        assert await closed_with(socket) == (FORBIDDEN, "Forbidden")


async def test_a_bad_token_in_the_upgrade_header_closes_the_connection_with_4403(
    server: RunningServer, world: World
) -> None:
    async with opened(server, world.section, {"Authorization": "Bearer not.a.token"}) as socket:
        await initialise(socket, None)
        assert await closed_with(socket) == (FORBIDDEN, "Forbidden")


async def test_different_credentials_in_header_and_payload_are_refused(
    server: RunningServer, world: World, token_for: Callable[..., str]
) -> None:
    # given a valid token in the header and another valid one in the payload
    header = {"Authorization": f"Bearer {token_for(Role.IS_ANALYST)}"}
    async with opened(server, None, header) as socket:
        await initialise(socket, {"authorization": f"Bearer {token_for(Role.IS_ADMIN)}"})

        # then neither is chosen: the connection is refused
        assert await closed_with(socket) == (FORBIDDEN, "Forbidden")


async def test_a_token_of_another_section_is_refused(
    server: RunningServer, world: World, token_for: Callable[..., str]
) -> None:
    # given section B, and a token of the world's section A presented at B's endpoint
    section_b = await other_section(server, token_for)
    token = token_for(Role.SECTION_ADMIN, world.section)
    async with opened(server, section_b) as socket:
        # when the connection initialises
        await initialise(socket, {"authorization": f"Bearer {token}"})

        # then it is refused
        assert await closed_with(socket) == (FORBIDDEN, "Forbidden")


async def test_an_api_key_of_another_section_is_refused(
    server: RunningServer, world: World, token_for: Callable[..., str]
) -> None:
    section_b = await other_section(server, token_for)
    async with graphql_client(server, token_for) as graphql:
        key, _ = await created(graphql, admin_of(world.section))
    async with opened(server, section_b) as socket:
        await initialise(socket, {"authorization": f"Bearer {key}"})
        assert await closed_with(socket) == (FORBIDDEN, "Forbidden")


async def test_a_subscription_before_connection_init_is_refused(
    server: RunningServer, world: World
) -> None:
    # given a connection that skips connection_init, when it subscribes
    async with opened(server, world.section) as socket:
        (case_id,) = world.case_ids
        variables = {"campaign": world.year, "case": case_id}
        message = {"query": TOTALS_UPDATED, "variables": variables}
        await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": message}))

        # then the server closes it as unauthorised (graphql-transport-ws)
        assert await closed_with(socket) == (4401, "Unauthorized")


# --- subscriptions only ------------------------------------------------------------------


async def test_a_mutation_over_the_socket_is_refused_and_changes_nothing(
    server: RunningServer, world: World, token_for: Callable[..., str]
) -> None:
    # given an authenticated connection, subscribed to the case's totals (0 so far)
    (case_id,) = world.case_ids
    token = token_for(Role.SECTION_ADMIN, world.section)
    async with opened(server, world.section) as socket:
        await initialise(socket, {"authorization": f"Bearer {token}"})
        assert await receive(socket) == {"type": "connection_ack"}
        await first_totals(socket, world)

        # when it sends a mutation over the socket
        values = {
            "campaign": world.year,
            "caseId": case_id,
            "actionType": "LETTER",
            "idempotencyKey": str(uuid.uuid4()),
        }
        operation = {"query": ACTION_RECORD, "variables": {"input": values}}
        await socket.send(json.dumps({"id": "write", "type": "subscribe", "payload": operation}))

        # then it gets an error for that operation, and the connection stays open
        assert await receive(socket) == {
            "id": "write",
            "type": "error",
            "payload": [{"message": "mutations are not allowed"}],
        }
        await socket.send(json.dumps({"type": "ping"}))
        assert await receive(socket) == {"type": "pong"}

    # and nothing was recorded: a new subscriber still sees 0
    async with opened(server, world.section) as socket:
        await initialise(socket, None)
        assert await receive(socket) == {"type": "connection_ack"}
        await first_totals(socket, world)


async def test_a_query_over_the_socket_is_refused(server: RunningServer, world: World) -> None:
    async with opened(server, world.section) as socket:
        await initialise(socket, None)
        assert await receive(socket) == {"type": "connection_ack"}
        query = {"id": "read", "type": "subscribe", "payload": {"query": "{ __typename }"}}
        await socket.send(json.dumps(query))
        assert await receive(socket) == {
            "id": "read",
            "type": "error",
            "payload": [{"message": "queries are not allowed"}],
        }


# --- the connection's context, in process ------------------------------------------------


@pytest.fixture(scope="module")
def view(settings: Settings) -> GraphQLView:
    return build_view(build_schema(settings), graphql_ide_page=None)


def upgrade_request(app: Starlette, path: str) -> WebSocket:
    """A websocket upgrade as the route sees it (never accepted: no socket behind it)."""
    scope = {
        "type": "websocket",
        "path": path,
        "headers": [],
        "path_params": {"code": path.split("/")[2]} if path.startswith("/s/") else {},
        "client": ("127.0.0.1", 50000),
        "app": app,
    }

    async def receive() -> MutableMapping[str, Any]:
        raise AssertionError("the test socket was read")

    async def send(_message: MutableMapping[str, Any]) -> None:
        raise AssertionError("the test socket was written")

    return WebSocket(scope, receive=receive, send=send)


async def initialised(
    app: Starlette, view: GraphQLView, path: str, params: dict[str, object]
) -> ConnectionContext:
    services: GraphQLServices = app.state.graphql_services
    context = await connection_context(upgrade_request(app, path), services)
    context.connection_params = params
    await view.on_ws_connect(context)
    return context


async def test_a_section_token_at_the_global_path_binds_the_connection_to_its_section(
    app: Starlette, view: GraphQLView, world: World, token_for: Callable[..., str]
) -> None:
    # given a connection to /graphql, anonymous and in the global scope until initialised
    services: GraphQLServices = app.state.graphql_services
    context = await connection_context(upgrade_request(app, "/graphql"), services)
    assert context.principal.is_anonymous
    assert context.section is None

    # when it initialises with a section admin's token
    context.connection_params = {
        "authorization": f"Bearer {token_for(Role.SECTION_ADMIN, world.section)}"
    }
    await view.on_ws_connect(context)

    # then the whole connection runs as that caller, bound to the token's section
    assert context.principal.role is Role.SECTION_ADMIN
    assert context.principal.section_code == world.section
    assert context.section is not None
    assert context.section.code == world.section
    assert context.binding == TenantBinding.for_section(context.section.id)
    assert context.audit.principal == context.principal


async def test_an_api_key_becomes_the_connection_s_partner_app(
    app: Starlette,
    view: GraphQLView,
    server: RunningServer,
    world: World,
    token_for: Callable[..., str],
) -> None:
    async with graphql_client(server, token_for) as graphql:
        key, node = await created(graphql, admin_of(world.section))
    context = await initialised(
        app, view, f"/s/{world.section}/graphql", {"authorization": f"Bearer {key}"}
    )
    assert context.principal.role is Role.PARTNER_APP
    assert str(context.principal.api_key_id) == node["id"]
    assert context.principal.section_code == world.section


async def test_a_refused_connection_keeps_the_anonymous_caller(
    app: Starlette, view: GraphQLView
) -> None:
    services: GraphQLServices = app.state.graphql_services
    context = await connection_context(upgrade_request(app, "/graphql"), services)
    context.connection_params = {"authorization": "Bearer not.a.token"}
    with pytest.raises(ConnectionRejectionError):
        await view.on_ws_connect(context)
    assert context.principal.is_anonymous
    assert context.section is None
