"""The authenticator on its own, with clocks the tests move: what a replica remembers of a
key, when it stops trusting that memory, expiry, and the bookkeeping of use.

Each test builds its own authenticator (a replica of its own) over the app role's engine;
keys are created through the API, so they are committed like real ones.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.apikeys.test_api_keys_api import admin_of, created, is_admin, revoke
from tests.conftest import GraphQLClient
from w4r.apikeys import keys
from w4r.apikeys.repository import ApiKeyRepository
from w4r.apikeys.service import ApiKeyAuthenticator
from w4r.platform.auth import ApiScope, Principal, Role, TokenError
from w4r.platform.database import Database

NewSection = Callable[..., Awaitable[dict[str, Any]]]

START = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


class Clocks:
    """A wall clock and a monotonic clock that move only when told."""

    def __init__(self) -> None:
        self.now = START
        self.seconds = 1_000.0

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
        self.seconds += seconds

    def wall(self) -> datetime:
        return self.now

    def monotonic(self) -> float:
        return self.seconds


@pytest.fixture
def clocks() -> Clocks:
    return Clocks()


@pytest.fixture
def replica(app_engine: AsyncEngine, clocks: Clocks) -> ApiKeyAuthenticator:
    """Another replica's authenticator, trusting what it verified for 5 seconds."""
    return ApiKeyAuthenticator(
        Database(app_engine), cache_seconds=5, clock=clocks.wall, monotonic=clocks.monotonic
    )


async def last_used(owner_engine: AsyncEngine, key_id: str) -> datetime | None:
    async with owner_engine.connect() as connection:
        value: datetime | None = await connection.scalar(
            text("select last_used_at from api_keys where id = :id"), {"id": key_id}
        )
    return value


async def test_a_key_stands_for_its_sections_partner_app(
    graphql: GraphQLClient, new_section: NewSection, replica: ApiKeyAuthenticator
) -> None:
    # given a section's key
    code = (await new_section())["code"]
    key, node = await created(graphql, admin_of(code), scopes=["actions:record", "cases:read"])

    # when it is authenticated
    principal = await replica.authenticate(key)

    # then the caller is the section's partner app, limited to the key's scopes
    assert principal == Principal(
        role=Role.PARTNER_APP,
        subject=f"api-key:{node['id']}",
        section_code=code,
        scopes=frozenset({ApiScope.RECORD_ACTIONS, ApiScope.READ_PUBLIC}),
        api_key_id=UUID(node["id"]),
    )
    assert not principal.has_scope(ApiScope.IMPORT_ACTIONS)


async def test_a_key_of_the_is_belongs_to_no_section(
    graphql: GraphQLClient, replica: ApiKeyAuthenticator
) -> None:
    key, _ = await created(graphql, is_admin())
    principal = await replica.authenticate(key)
    assert (principal.section_code, principal.scopes) == (None, frozenset({ApiScope.READ_PUBLIC}))


async def test_a_key_is_refused_from_the_moment_it_expires(
    graphql: GraphQLClient,
    new_section: NewSection,
    replica: ApiKeyAuthenticator,
    clocks: Clocks,
) -> None:
    # given a key that expires in ten minutes, as this replica's clock goes
    clocks.now = datetime.now(UTC)
    code = (await new_section())["code"]
    expires_at = clocks.now + timedelta(minutes=10)
    key, _ = await created(graphql, admin_of(code), expiresAt=expires_at.isoformat())

    # then it works a second before (and the replica now remembers it)
    clocks.advance(599)
    assert (await replica.authenticate(key)).section_code == code

    # and is refused at the expiry, even from the replica's memory
    clocks.advance(1)
    with pytest.raises(TokenError, match="expired"):
        await replica.authenticate(key)


async def test_another_replica_trusts_a_revoked_key_for_at_most_the_cache_period(
    graphql: GraphQLClient,
    new_section: NewSection,
    replica: ApiKeyAuthenticator,
    clocks: Clocks,
) -> None:
    # given a key this replica has verified
    code = (await new_section())["code"]
    key, node = await created(graphql, admin_of(code))
    await replica.authenticate(key)

    # when it is revoked through another replica (the app)
    assert (await revoke(graphql, admin_of(code), node["id"]))["errors"] == []

    # then this replica accepts it until its memory is 5 seconds old, and never after
    clocks.advance(4.9)
    assert (await replica.authenticate(key)).section_code == code
    clocks.advance(0.1)
    with pytest.raises(TokenError, match="revoked"):
        await replica.authenticate(key)


async def test_forgetting_a_key_drops_it_from_memory_at_once(
    graphql: GraphQLClient, new_section: NewSection, replica: ApiKeyAuthenticator
) -> None:
    # given a key this replica remembers, then revoked in the database
    code = (await new_section())["code"]
    key, node = await created(graphql, admin_of(code))
    await replica.authenticate(key)
    assert (await revoke(graphql, admin_of(code), node["id"]))["errors"] == []

    # when the replica is told of the revocation
    replica.forget(UUID(node["id"]))

    # then the key is refused at once
    with pytest.raises(TokenError, match="revoked"):
        await replica.authenticate(key)


async def test_an_unknown_key_is_refused(replica: ApiKeyAuthenticator) -> None:
    with pytest.raises(TokenError, match="not known"):
        await replica.authenticate(keys.generate())


async def test_use_is_recorded_at_most_once_a_minute(
    graphql: GraphQLClient,
    new_section: NewSection,
    replica: ApiKeyAuthenticator,
    clocks: Clocks,
    owner_engine: AsyncEngine,
) -> None:
    # given a key never used
    code = (await new_section())["code"]
    key, node = await created(graphql, admin_of(code))

    # when it is used, the time of use is recorded
    await replica.authenticate(key)
    await replica.settle()
    assert await last_used(owner_engine, node["id"]) == START

    # and uses within the next minute write nothing
    for _ in range(3):
        clocks.advance(19)
        await replica.authenticate(key)
    await replica.settle()
    assert await last_used(owner_engine, node["id"]) == START

    # and the first use a minute later is recorded
    clocks.advance(3)
    await replica.authenticate(key)
    await replica.settle()
    assert await last_used(owner_engine, node["id"]) == START + timedelta(seconds=60)


async def test_a_fresh_replica_does_not_rewrite_a_recent_use(
    graphql: GraphQLClient,
    new_section: NewSection,
    app_engine: AsyncEngine,
    owner_engine: AsyncEngine,
    clocks: Clocks,
) -> None:
    # given a key whose use one replica recorded
    code = (await new_section())["code"]
    key, node = await created(graphql, admin_of(code))
    first = ApiKeyAuthenticator(
        Database(app_engine), cache_seconds=0, clock=clocks.wall, monotonic=clocks.monotonic
    )
    await first.authenticate(key)
    await first.settle()

    # when another replica sees it 30 seconds later
    clocks.advance(30)
    second = ApiKeyAuthenticator(
        Database(app_engine), cache_seconds=0, clock=clocks.wall, monotonic=clocks.monotonic
    )
    await second.authenticate(key)
    await second.settle()

    # then the recorded time stays (the row said it was used within the minute)
    assert await last_used(owner_engine, node["id"]) == START


async def test_a_failed_usage_write_never_fails_the_request(
    graphql: GraphQLClient,
    new_section: NewSection,
    replica: ApiKeyAuthenticator,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    owner_engine: AsyncEngine,
) -> None:
    # given a key, and a database that refuses to record its use
    code = (await new_section())["code"]
    key, node = await created(graphql, admin_of(code))

    async def refuse(*_args: Any, **_kwargs: Any) -> None:
        raise ConnectionError("the database is away")

    monkeypatch.setattr(ApiKeyRepository, "record_use", refuse)

    # when the key is used
    with caplog.at_level(logging.WARNING, logger="w4r.apikeys.service"):
        principal = await replica.authenticate(key)
        await replica.settle()

    # then the caller is authenticated, the failure is logged (without the key), nothing written
    assert principal.section_code == code
    assert [record.getMessage() for record in caplog.records] == [
        f"Could not record the use of API key {node['id']}."
    ]
    assert key not in caplog.text
    assert await last_used(owner_engine, node["id"]) is None
