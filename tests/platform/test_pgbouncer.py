"""The tenant binding holds through PgBouncer in transaction pooling mode.

A real PgBouncer (tests/pgbouncer.py) runs on a free loopback port in front of the test
database, in transaction mode with a pool of two server connections, so many client
connections take turns on the same two PostgreSQL sessions. The binding is
``set_config(…, true)``, transaction-local, and runs as the first statement of every
transaction: whichever server connection a transaction lands on, it sees its own section's
rows only, and a transaction that binds nothing sees no tenant row at all, even on a server
connection a bound transaction used a moment before.

The engine behind PgBouncer is the app's own (``create_engine``) with the two settings the
pool needs: no asyncpg statement cache (each statement is an unnamed one, parsed again on
whatever server connection runs it) and no ``statement_timeout`` startup parameter
(PgBouncer refuses unknown startup parameters; set the timeout on the role instead).

Then the real app is served with its request pool through PgBouncer and its live totals
listener connected directly (``W4R_LISTENER_DATABASE_URL``): a LISTEN through transaction
pooling would lose every notice that arrives while no client holds its server session.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette

from tests.actions.test_ledger_api import (
    counted,
    import_actions,
    import_row,
    open_campaign,
    own_totals,
    section_in,
)
from tests.conftest import GraphQLClient
from tests.pgbouncer import SERVER_POOL_SIZE, app_through_pgbouncer, running_pgbouncer
from w4r.actions.repository import NOTIFY_CHANNEL
from w4r.platform.auth import Role
from w4r.platform.bootstrap import DatabaseTarget
from w4r.platform.database import Database, TenantBinding, create_engine
from w4r.settings import Settings
from w4r.tenants.models import MemberRole
from w4r.tenants.repository import MemberRepository
from w4r.tenants.service import SectionDraft, SectionService

CLIENT_CONNECTIONS = 12
SECTIONS = 4
TRANSACTIONS = 240
NOTICE_TIMEOUT_SECONDS = 10.0
APP_POOL_SIZE = 6


@pytest.fixture(scope="module")
def bouncer_url(database_target: DatabaseTarget) -> Iterator[URL]:
    """The app role's URL through a running PgBouncer (transaction pooling)."""
    with running_pgbouncer(database_target) as url:
        yield url


@pytest.fixture(scope="module")
async def pooled_engine(bouncer_url: URL) -> AsyncIterator[AsyncEngine]:
    """The app's engine as it is configured behind PgBouncer."""
    engine = create_engine(
        bouncer_url,
        pool_size=CLIENT_CONNECTIONS,
        max_overflow=0,
        # Every transaction of a test is started at once and queues for the pool: on a busy
        # machine (the suite runs in parallel) the last ones wait longer than the app's 10 s.
        pool_timeout=120.0,
        statement_cache_size=0,
        statement_timeout_ms=0,
    )
    yield engine
    await engine.dispose()


@pytest.fixture(scope="module")
async def direct_database(database_target: DatabaseTarget) -> AsyncIterator[Database]:
    """The app role straight to PostgreSQL: writes the canaries, counts what survived."""
    database = Database(create_engine(database_target.app_url, pool_size=2, max_overflow=0))
    yield database
    await database.dispose()


def canary(section_id: uuid.UUID) -> str:
    return f"canary-{section_id}@example.org"


def visitor(section_id: uuid.UUID, number: int) -> str:
    return f"visitor-{number}-{section_id}@example.org"


async def create_section_with_canary(database: Database) -> uuid.UUID:
    """A committed section (unique code) holding one canary member."""
    code = "zz-" + uuid.uuid4().hex[:6]
    async with database.session(TenantBinding.global_scope()) as session:
        section = await SectionService(session).create(
            SectionDraft(
                code=code, name=code, country="GB", languages=["en"], time_zone="Europe/London"
            )
        )
        await session.commit()
    async with database.session(TenantBinding.for_section(section.id)) as session:
        await MemberRepository(session).insert(
            email=canary(section.id), display_name="Canary", role=MemberRole.SECTION_EDITOR
        )
        await session.commit()
    return section.id


MEMBERS_AND_SESSION = text(
    "select coalesce(string_agg(email, ',' order by email), ''), pg_backend_pid(), "
    "current_setting('w4r.section_id', true) from section_members"
)


@dataclass
class Observations:
    leaks: list[str]
    backends_by_section: dict[uuid.UUID | None, set[int]]

    def saw(self, section_id: uuid.UUID | None, backend: int) -> None:
        self.backends_by_section.setdefault(section_id, set()).add(backend)


async def bound_transaction(
    database: Database, section_id: uuid.UUID, number: int, seen: Observations
) -> None:
    """Read the members (every other time after writing one) in a section's transaction:
    every row it sees must carry its section's id in the address."""
    async with database.session(TenantBinding.for_section(section_id)) as session:
        expected = {canary(section_id)}
        if number % 2 == 0:
            expected.add(visitor(section_id, number))
            await MemberRepository(session).insert(
                email=visitor(section_id, number),
                display_name="Visitor",
                role=MemberRole.SECTION_EDITOR,
            )
        await asyncio.sleep(0)  # let other transactions queue for the two server sessions
        emails, backend, setting = (await session.execute(MEMBERS_AND_SESSION)).one()
        seen.saw(section_id, backend)
        rows = set(emails.split(","))
        foreign = [email for email in rows if str(section_id) not in email]
        if setting != str(section_id) or foreign or not rows >= expected:
            seen.leaks.append(f"{section_id} (bound to {setting}) saw {sorted(rows)}")
        await session.commit()


async def unbound_transaction(engine: AsyncEngine, seen: Observations) -> None:
    """A transaction that binds nothing: tenant tables must read empty."""
    async with engine.connect() as connection:
        emails, backend, setting = (await connection.execute(MEMBERS_AND_SESSION)).one()
        seen.saw(None, backend)
        if emails or setting not in (None, ""):
            seen.leaks.append(f"an unbound transaction saw {emails!r} (setting {setting!r})")
        await connection.rollback()


async def test_each_pooled_transaction_sees_only_its_own_sections_rows(
    pooled_engine: AsyncEngine, direct_database: Database
) -> None:
    # Given four sections, each with one canary member
    sections = [await create_section_with_canary(direct_database) for _ in range(SECTIONS)]
    pooled = Database(pooled_engine)

    # When many transactions run at once through PgBouncer (12 client connections sharing
    # two server sessions), cycling through the sections, every other one writing a member,
    # and every fifth binding nothing at all
    seen = Observations(leaks=[], backends_by_section={})
    work: list[Awaitable[None]] = []
    for number, section_id in zip(range(TRANSACTIONS), itertools.cycle(sections), strict=False):
        if number % 5 == 4:
            work.append(unbound_transaction(pooled_engine, seen))
        else:
            work.append(bound_transaction(pooled, section_id, number, seen))
    await asyncio.gather(*work)

    # Then no transaction saw another section's rows, and unbound ones saw none
    assert seen.leaks == []
    # And the sections really shared PgBouncer's two server sessions
    backends = set().union(*seen.backends_by_section.values())
    assert len(backends) <= SERVER_POOL_SIZE
    shared = [
        backend
        for backend in backends
        if sum(backend in used for used in seen.backends_by_section.values()) > 1
    ]
    assert shared, seen.backends_by_section

    # And every write landed in the section whose transaction made it, and nowhere else
    for index, section_id in enumerate(sections):
        async with direct_database.session(TenantBinding.for_section(section_id)) as session:
            stored = set(
                (await session.execute(text("select email from section_members"))).scalars()
            )
        written = {
            visitor(section_id, number)
            for number in range(TRANSACTIONS)
            if number % SECTIONS == index and number % 5 != 4 and number % 2 == 0
        }
        assert stored == {canary(section_id)} | written


async def test_a_failed_transaction_leaves_no_binding_on_the_shared_server_session(
    pooled_engine: AsyncEngine, direct_database: Database
) -> None:
    # Given a section, and a transaction bound to it that fails after binding
    section_id = await create_section_with_canary(direct_database)
    pooled = Database(pooled_engine)
    with pytest.raises(Exception, match="division by zero"):
        async with pooled.session(TenantBinding.for_section(section_id)) as session:
            await session.execute(text("select 1 / 0 from section_members"))

    # When unbound transactions then run on every server session PgBouncer has
    seen = Observations(leaks=[], backends_by_section={})
    await asyncio.gather(*(unbound_transaction(pooled_engine, seen) for _ in range(20)))

    # Then none of them sees the section's rows
    assert seen.leaks == []


MEMBER_ADD = """
mutation ($input: SectionMemberAddInput!) {
  sectionMemberAdd(input: $input) { member { email } errors { code } }
}
"""
MEMBERS = "{ section { code members(first: 100) { nodes { email } } } }"
GRAPHQL_REQUESTS = 120
GRAPHQL_CONCURRENCY = 16


@pytest.fixture
async def pooled_app(
    settings: Settings, database_target: DatabaseTarget, bouncer_url: URL
) -> AsyncIterator[Starlette]:
    """The real app, its request pool through PgBouncer, its totals listener direct."""
    async with app_through_pgbouncer(
        settings, database_target, bouncer_url, pool_size=APP_POOL_SIZE
    ) as application:
        yield application


async def test_graphql_requests_through_pgbouncer_see_only_their_sections_members(
    pooled_app: Starlette,
    graphql: GraphQLClient,
    new_section: Callable[..., Awaitable[dict[str, Any]]],
) -> None:
    # Given sections created through the usual app
    codes = [(await new_section())["code"] for _ in range(SECTIONS)]
    transport = httpx.ASGITransport(app=pooled_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        pooled = GraphQLClient(http, graphql.token_for)

        # When each section's admin adds a canary through the app served through PgBouncer
        for code in codes:
            data = await pooled.data(
                MEMBER_ADD,
                {
                    "input": {
                        "email": f"canary-{code}@example.org",
                        "displayName": "Canary",
                        "role": "SECTION_EDITOR",
                    }
                },
                role=Role.SECTION_ADMIN,
                token_section=code,
                section=code,
            )
            assert data["sectionMemberAdd"]["errors"] == []

        # And many requests read the members at once, cycling through the sections
        semaphore = asyncio.Semaphore(GRAPHQL_CONCURRENCY)
        answers: list[tuple[str, str, list[str]]] = []

        async def read(code: str) -> None:
            async with semaphore:
                data = await pooled.data(
                    MEMBERS, role=Role.SECTION_ADMIN, token_section=code, section=code
                )
            section = data["section"]
            answers.append(
                (code, section["code"], [node["email"] for node in section["members"]["nodes"]])
            )

        await asyncio.gather(
            *(
                read(code)
                for _, code in zip(range(GRAPHQL_REQUESTS), itertools.cycle(codes), strict=False)
            )
        )

    # Then every answer holds exactly its own section's canary
    assert len(answers) == GRAPHQL_REQUESTS
    assert [
        answer
        for answer in answers
        if answer[1:] != (answer[0], [f"canary-{answer[0]}@example.org"])
    ] == []


async def test_the_totals_listener_keeps_its_direct_connection_behind_pgbouncer(
    pooled_app: Starlette, bouncer_url: URL
) -> None:
    # Given the app served through PgBouncer, its listener connected and one subscriber
    hub = pooled_app.state.graphql_services.hub
    async with asyncio.timeout(NOTICE_TIMEOUT_SECONDS):
        await hub.wait_connected()
    campaign_id, case_id = uuid.uuid4(), uuid.uuid4()
    async with hub.subscribe(campaign_id, case_id) as signals:
        # When a transaction through PgBouncer notifies a change of that case's totals
        pooled = await asyncpg.connect(
            bouncer_url.set(drivername="postgresql").render_as_string(hide_password=False),
            statement_cache_size=0,
        )
        try:
            payload = json.dumps({"campaign": str(campaign_id), "case": str(case_id)})
            await pooled.execute("select pg_notify($1, $2)", NOTIFY_CHANNEL, payload)
        finally:
            await pooled.close()

        # Then the subscriber is signalled (a LISTEN through the pool would never hear it)
        async with asyncio.timeout(NOTICE_TIMEOUT_SECONDS):
            await signals.get()


IMPORT_ROWS = 300


async def test_imports_through_pgbouncer_count_every_row_once(
    pooled_app: Starlette,
    graphql: GraphQLClient,
    new_section: Callable[..., Awaitable[dict[str, Any]]],
) -> None:
    # Given sections taking part in an open campaign
    world = await open_campaign(graphql)
    codes = [await section_in(graphql, new_section, world) for _ in range(SECTIONS)]
    transport = httpx.ASGITransport(app=pooled_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        pooled = GraphQLClient(http, graphql.token_for)

        # When each imports a batch at once, through PgBouncer (its staging table, its COPY
        # and the statements after it in one pooled transaction), then sends it again
        batches = {
            code: [import_row(world, world.first, quantity=2) for _ in range(IMPORT_ROWS)]
            for code in codes
        }
        first = await asyncio.gather(
            *(import_actions(pooled, code, rows) for code, rows in batches.items())
        )
        again = await asyncio.gather(
            *(import_actions(pooled, code, rows) for code, rows in batches.items())
        )

    # Then every row counted once, in its own section only
    assert [(p["errors"], p["created"], p["quantity"]) for p in first] == [
        ([], IMPORT_ROWS, 2 * IMPORT_ROWS)
    ] * SECTIONS
    assert [(p["errors"], p["created"], p["replayed"]) for p in again] == [
        ([], 0, IMPORT_ROWS)
    ] * SECTIONS
    for code in codes:
        assert await own_totals(graphql, code, world.year) == counted(2 * IMPORT_ROWS)
