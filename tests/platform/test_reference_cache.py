"""Reference data kept per process (w4r.platform.reference) is never served stale, and the
pool pings only connections that sat idle (w4r.platform.database).

The campaign rules and the allowlists are read by every public write and kept in memory
while the version of migration 0013 stands. Every way the data can change (the API, plain
SQL by the owner, a row that expires) must be seen by the next transaction.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.actions.test_ledger_api import (
    ACTION_RECORD,
    NewSection,
    World,
    action_input,
    join,
    open_campaign,
)
from tests.campaigns.test_campaigns_api import update_participation
from tests.conftest import GraphQLClient
from w4r.abuse.allowlist import ACTIVE_NETWORKS, AllowlistDraft, AllowlistService
from w4r.actions.service import PARTICIPATION, CampaignRules, SectionContext
from w4r.platform.bootstrap import DatabaseTarget
from w4r.platform.database import Database, TenantBinding, create_engine, reference_version
from w4r.platform.reference import ReferenceCache

REFERENCE_TABLES = {"campaigns", "section_campaigns", "section_featured_cases", "allowed_networks"}


@pytest.fixture(scope="module")
async def world(module_graphql: GraphQLClient) -> World:
    return await open_campaign(module_graphql, featured=2)


@pytest.fixture
async def database(database_target: DatabaseTarget) -> AsyncIterator[Database]:
    database = Database(create_engine(database_target.app_url, pool_size=2, max_overflow=0))
    yield database
    await database.dispose()


async def record(graphql: GraphQLClient, code: str, values: dict[str, Any]) -> dict[str, Any]:
    data = await graphql.data(ACTION_RECORD, {"input": values}, section=code)
    payload: dict[str, Any] = data["actionRecord"]
    return payload


def codes(payload: dict[str, Any]) -> list[tuple[str, str]]:
    return [(error["field"], error["code"]) for error in payload["errors"]]


async def section_id(owner_engine: AsyncEngine, code: str) -> UUID:
    async with owner_engine.connect() as connection:
        found: UUID = (
            await connection.execute(text("select id from sections where code = :c"), {"c": code})
        ).scalar_one()
    return found


# --- the version ------------------------------------------------------------------------


async def test_the_version_changes_when_a_change_commits_and_not_before(
    database: Database, owner_engine: AsyncEngine
) -> None:
    async def current() -> UUID:
        async with database.session(TenantBinding.global_scope()) as session:
            return await reference_version(session)

    before = await current()
    async with owner_engine.connect() as writer:
        transaction = await writer.begin()
        await writer.execute(text("update campaigns set name = name where false"))
        # an uncommitted change is not announced (readers would cache what they cannot see)
        assert await current() == before
        await transaction.commit()
    after = await current()
    assert after != before
    # and reading it again without a change gives the same version
    assert await current() == after


async def test_every_reference_table_and_only_those_replace_the_version(
    owner_engine: AsyncEngine,
) -> None:
    async with owner_engine.connect() as connection:
        rows = await connection.execute(
            text(
                "select c.relname from pg_trigger t join pg_class c on c.oid = t.tgrelid "
                "where t.tgname = 'reference_changed' and not t.tgisinternal"
            )
        )
        assert {row[0] for row in rows} == REFERENCE_TABLES


async def test_the_app_role_reads_the_version_but_cannot_set_it(
    database: Database,
) -> None:
    async with database.session(TenantBinding.global_scope()) as session:
        with pytest.raises(ProgrammingError, match="permission denied"):
            await session.execute(text("update reference_version set version = gen_random_uuid()"))


# --- the caches -------------------------------------------------------------------------


async def test_a_kept_value_is_served_only_at_the_version_it_was_read_at(
    database: Database, owner_engine: AsyncEngine
) -> None:
    cache: ReferenceCache[str, int] = ReferenceCache(max_entries=2)
    loads = 0

    async def load() -> int:
        nonlocal loads
        loads += 1
        return loads

    async def get(key: str) -> int:
        async with database.session(TenantBinding.global_scope()) as session:
            return await cache.get(session, key, load)

    assert await get("a") == 1
    assert await get("a") == 1  # kept
    async with owner_engine.begin() as writer:
        await writer.execute(text("update section_campaigns set starts_on = starts_on where false"))
    assert await get("a") == 2  # the version moved on: read again
    # beyond max_entries the least recently used goes
    await get("b")
    await get("c")
    assert len(cache) == 2
    assert await get("a") == 5


async def test_campaign_rules_follow_every_change_to_participation(
    graphql: GraphQLClient,
    new_section: NewSection,
    world: World,
    owner_engine: AsyncEngine,
) -> None:
    # given a section featuring both cases, whose rules have been read and kept
    code = (await new_section())["code"]
    await join(graphql, code, world)
    assert codes(await record(graphql, code, action_input(world, world.first))) == []
    loads = PARTICIPATION.loads
    assert codes(await record(graphql, code, action_input(world, world.first))) == []
    assert PARTICIPATION.loads == loads, "the second action read the rules again"

    # when its staff stop featuring the first case, the next action for it is refused
    await join_only(graphql, code, world, [world.second.slug])
    refused = await record(graphql, code, action_input(world, world.first))
    assert codes(refused) == [("caseId", "NOT_ALLOWED")]

    # when the owner closes the section's window with plain SQL, even the second is refused
    identifier = await section_id(owner_engine, code)
    async with owner_engine.begin() as writer:
        await writer.execute(
            text(
                "update section_campaigns set starts_on = :day, ends_on = :day "
                "where section_id = :section"
            ),
            {"day": world.starts_on - timedelta(days=30), "section": identifier},
        )
    refused = await record(graphql, code, action_input(world, world.second))
    assert codes(refused) == [("occurredAt", "OUTSIDE_WINDOW")]

    # and once the window and the cases are restored, both count again
    await join(graphql, code, world)
    for case in world.featured:
        assert codes(await record(graphql, code, action_input(world, case))) == []


async def join_only(graphql: GraphQLClient, code: str, world: World, slugs: list[str]) -> None:
    payload = await update_participation(
        graphql, code, {"year": world.year, "featuredCaseSlugs": slugs}
    )
    assert payload["errors"] == [], payload


async def test_an_allowlist_change_is_seen_by_the_next_transaction(
    database: Database, new_section: NewSection, owner_engine: AsyncEngine
) -> None:
    code = (await new_section())["code"]
    binding = TenantBinding.for_section(await section_id(owner_engine, code))
    address = "203.0.113.7"

    async def covered() -> bool:
        async with database.session(binding) as session:
            return await AllowlistService(session).covers(address)

    assert not await covered()
    hits = ACTIVE_NETWORKS.hits
    assert not await covered()  # kept: the same answer without a statement
    assert ACTIVE_NETWORKS.hits == hits + 1
    # an entry added through the service
    async with database.session(binding) as session:
        await AllowlistService(session).add(
            AllowlistDraft("203.0.113.0/24", "office", datetime.now(UTC) + timedelta(days=3)),
            created_by=None,
        )
        await session.commit()
    assert await covered()
    # an entry that expired (written by the owner: the service refuses past expiries)
    async with owner_engine.begin() as writer:
        await writer.execute(
            text(
                "update allowed_networks set expires_at = now() - interval '1 second' "
                "where section_id = :section"
            ),
            {"section": binding.section_id},
        )
    assert not await covered()
    # and one deleted by plain SQL
    async with owner_engine.begin() as writer:
        await writer.execute(
            text(
                "update allowed_networks set expires_at = now() + interval '1 day' "
                "where section_id = :section"
            ),
            {"section": binding.section_id},
        )
    assert await covered()
    async with owner_engine.begin() as writer:
        await writer.execute(
            text("delete from allowed_networks where section_id = :section"),
            {"section": binding.section_id},
        )
    assert not await covered()


async def test_what_a_transaction_read_of_its_own_changes_is_never_kept(
    database: Database, new_section: NewSection, owner_engine: AsyncEngine
) -> None:
    # given a section with no allowlist
    code = (await new_section())["code"]
    binding = TenantBinding.for_section(await section_id(owner_engine, code))
    # when one transaction adds an entry, asks, and then rolls back
    async with database.session(binding) as session:
        service = AllowlistService(session)
        await service.add(
            AllowlistDraft(
                "192.0.2.0/24", "never committed", datetime.now(UTC) + timedelta(days=1)
            ),
            created_by=None,
        )
        assert await service.covers("192.0.2.1")  # it sees its own change
        await session.rollback()
    # then no other transaction is told what never committed
    async with database.session(binding) as session:
        assert not await AllowlistService(session).covers("192.0.2.1")


async def test_an_allowlist_is_never_shared_between_sections(
    database: Database, new_section: NewSection, owner_engine: AsyncEngine
) -> None:
    first = TenantBinding.for_section(await section_id(owner_engine, (await new_section())["code"]))
    second = TenantBinding.for_section(
        await section_id(owner_engine, (await new_section())["code"])
    )
    async with database.session(first) as session:
        await AllowlistService(session).add(
            AllowlistDraft("198.51.100.0/24", "office", datetime.now(UTC) + timedelta(days=3)),
            created_by=None,
        )
        await session.commit()
    for binding, expected in ((first, True), (second, False), (first, True), (second, False)):
        async with database.session(binding) as session:
            assert await AllowlistService(session).covers("198.51.100.9") is expected


# --- pinging idle connections -----------------------------------------------------------


async def backend_pid(database: Database) -> int:
    async with database.session(TenantBinding.global_scope()) as session:
        pid: int = (await session.execute(text("select pg_backend_pid()"))).scalar_one()
    return pid


async def terminate(owner_engine: AsyncEngine, pid: int) -> None:
    async with owner_engine.begin() as connection:
        await connection.execute(text("select pg_terminate_backend(:pid)"), {"pid": pid})


async def test_an_idle_connection_that_died_is_replaced_before_use(
    database_target: DatabaseTarget, owner_engine: AsyncEngine
) -> None:
    # given a pool that pings every connection idle for any time at all
    database = Database(
        create_engine(database_target.app_url, pool_size=1, max_overflow=0, idle_ping_seconds=0)
    )
    try:
        pid = await backend_pid(database)
        # when the server closes it while it sits in the pool
        await terminate(owner_engine, pid)
        # then the next request runs, on a new connection
        assert await backend_pid(database) != pid
    finally:
        await database.dispose()


async def test_a_connection_in_steady_use_is_not_pinged_and_one_failure_renews_the_pool(
    database_target: DatabaseTarget, owner_engine: AsyncEngine
) -> None:
    database = Database(
        create_engine(database_target.app_url, pool_size=2, max_overflow=0, idle_ping_seconds=60)
    )
    try:
        # given two pooled connections, both recently used
        async with (
            database.session(TenantBinding.global_scope()) as one,
            database.session(TenantBinding.global_scope()) as two,
        ):
            pids = {
                (await one.execute(text("select pg_backend_pid()"))).scalar_one(),
                (await two.execute(text("select pg_backend_pid()"))).scalar_one(),
            }
        # when the server restarts (both connections die)
        for pid in pids:
            await terminate(owner_engine, pid)
        # then one request fails, saying the connection was lost
        with pytest.raises(DBAPIError) as failure:
            await backend_pid(database)
        assert failure.value.connection_invalidated
        # and the pool replaced every connection it had: the next requests all succeed
        for _ in range(4):
            assert await backend_pid(database) not in pids
    finally:
        await database.dispose()


async def test_a_kept_campaign_is_a_copy_outside_any_session(
    graphql: GraphQLClient,
    new_section: NewSection,
    world: World,
    database: Database,
    owner_engine: AsyncEngine,
) -> None:
    # given rules read in one request and kept
    code = (await new_section())["code"]
    await join(graphql, code, world)
    identifier = await section_id(owner_engine, code)
    binding = TenantBinding.for_section(identifier)
    context = SectionContext(section_id=identifier, time_zone="UTC", grace_days=0)
    async with database.session(binding) as session:
        first = await CampaignRules(session, context).load(world.year)
    # when another request reads them
    async with database.session(binding) as session:
        again = await CampaignRules(session, context).load(world.year)
        # then it gets the kept value, whose campaign belongs to no session (the
        # requests share it, and neither may change it or see the other's changes)
        assert again is first
        assert again is not None
        state = inspect(again[0])
        assert state.transient
        assert state.session is None
        assert again[0].year == world.year
        assert {case.id for case in world.featured} == {str(case) for case in again[2]}
