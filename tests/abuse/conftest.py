"""A deployment with small public write allowances, and clients at chosen addresses.

The per-address budgets are shared by every test of the app, so each test writes from
addresses of its own (:func:`fresh_address`); per-section budgets are keyed by sections
that each test creates.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack

import httpx
import pytest
from starlette.applications import Starlette

from tests.conftest import GraphQLClient
from w4r.app import create_app
from w4r.platform.bootstrap import DatabaseTarget
from w4r.settings import Settings

ACTIONS_PER_ADDRESS = 3
REGISTRATIONS_PER_ADDRESS = 2
ALLOWLISTED_PER_ADDRESS = 6
SECTION_FLOOD = 10
WINDOW_SECONDS = 3600
"""Long enough that no budget refills while a test runs."""

ClientAt = Callable[[str], Awaitable[GraphQLClient]]


def fresh_address() -> str:
    """An IPv4 address no other test of the session writes from."""
    return f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}.{1 + secrets.randbelow(254)}"


@pytest.fixture(scope="module")
async def guarded_app(
    settings: Settings, database_target: DatabaseTarget
) -> AsyncIterator[Starlette]:
    """The app of a deployment whose public write allowances are small."""
    guarded = settings.model_copy(
        update={
            "public_write_window_seconds": WINDOW_SECONDS,
            "public_actions_per_ip": ACTIONS_PER_ADDRESS,
            "public_registrations_per_ip": REGISTRATIONS_PER_ADDRESS,
            "public_signatures_per_ip": ACTIONS_PER_ADDRESS,
            "public_actions_per_section": SECTION_FLOOD,
            "public_registrations_per_section": SECTION_FLOOD,
            "public_signatures_per_section": SECTION_FLOOD,
            "public_writes_per_allowlisted_ip": ALLOWLISTED_PER_ADDRESS,
        }
    )
    application = create_app(guarded, target=database_target)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client_at(
    guarded_app: Starlette, token_for: Callable[..., str]
) -> AsyncIterator[ClientAt]:
    """``await client_at("203.0.113.7")``: a GraphQL client of the guarded app whose
    requests come from that address (the ASGI scope's client)."""
    async with AsyncExitStack() as stack:

        async def make(address: str) -> GraphQLClient:
            transport = httpx.ASGITransport(app=guarded_app, client=(address, 123))
            http = await stack.enter_async_context(
                httpx.AsyncClient(transport=transport, base_url="http://testserver")
            )
            return GraphQLClient(http, token_for)

        yield make
