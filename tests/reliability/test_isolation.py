"""Isolation under load: many concurrent requests for ten sections on a small connection pool,
some failing half way through their transaction and some cancelled by their client, directly
and through PgBouncer in transaction mode.

Every section holds a canary, a random string of its own, in every kind of tenant data the
API can read back: a member, a published event (its texts and organiser), its published
translation of a shared case, an API key's name, a webhook's URL and description, and a
supporter. Reads as the section's staff and public reads at its endpoint must show their own
canary and never another's anywhere in the body; writes carry the canary too. Afterwards:

- a request refused after its first writes (``WRITE_THEN_FAIL``) left nothing;
- a cancelled write is all or nothing: its member, event and key all exist or none does;
- each section's rows are exactly its seeds, the successful writes and the cancelled writes
  that committed, and no row carries another section's canary;
- the pool is healthy: every connection is back, none is left in a transaction, and a fresh
  transaction that binds nothing sees no binding and no tenant row.

The issue asks for 10,000 requests from 20 clients; that takes several minutes on a
two-core machine, so the suite runs :data:`CI_REQUESTS` (:data:`CI_REQUESTS_PGBOUNCER`
through PgBouncer) and ``W4R_RELIABILITY_FULL=1`` runs the full size (docs/reliability.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import os
import random
import re
import secrets
import statistics
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Final

import httpx
import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.pool import QueuePool
from starlette.applications import Starlette

from tests.actions.test_ledger_api import publish_case
from tests.apikeys.test_api_keys_api import API_KEY_CREATE
from tests.campaigns.test_campaigns_api import create_campaign
from tests.conftest import SECTION_CREATE, GraphQLClient, section_input, unique_code
from tests.events.test_events_api import event_input, published_event, soon, staff
from tests.pgbouncer import running_pgbouncer, through_pgbouncer
from tests.servers import serving
from tests.supporters.test_rights_api import CONSENT_GIVE, updates_consent
from tests.translations.test_translations_api import editor_of, write_and_publish
from tests.webhooks.conftest import WEBHOOK_CREATE
from w4r.platform.auth import Role
from w4r.platform.bootstrap import DatabaseTarget
from w4r.platform.database import APP_ROLE, Database, TenantBinding
from w4r.settings import Settings

logger = logging.getLogger(__name__)

FULL_VARIABLE: Final = "W4R_RELIABILITY_FULL"
FULL_REQUESTS: Final = 10_000
CI_REQUESTS: Final = 1_000
CI_REQUESTS_PGBOUNCER: Final = 500
SECTIONS: Final = 10
CLIENTS: Final = 20
APP_POOL_SIZE: Final = 4
"""The app's pool (no overflow): five clients for every connection."""

WRITING_SHARE: Final = 0.15
FAILING_SHARE: Final = 0.05
CANCELLED_SHARE: Final = 0.01
CANCEL_WITHIN_LATENCIES: Final = 1.5
"""A cancelled request's client gives up after a random delay of up to this many times the
median latency of the writes answered so far: cancellations land before, during and after
the request's transaction, some after its commit (those committed, all or nothing)."""
FIRST_WRITE_LATENCY_SECONDS: Final = 0.2
"""The median assumed until the first write is answered."""
PUBLIC_READ_EVERY: Final = 5
"""One read in five is anonymous at the section's endpoint; the others are its staff's."""
PLAN_SEED: Final = 20261121
PROBES_THROUGH_PGBOUNCER: Final = 20
TRANSLATION_LANGUAGE: Final = "fr"

CANARY: Final = re.compile(r"canary[0-9a-f]{16}")
NUMBER: Final = re.compile(r"\bn(\d+)\b")

WRITES = """
  member: sectionMemberAdd(input: $member) { member { email } errors { code } }
  event: eventCreate(input: $event) { event { organiserName } errors { code } }
  key: apiKeyCreate(input: $key) { apiKey { name } errors { code } }
"""
WRITE = (
    "mutation ($member: SectionMemberAddInput!, $event: EventInput!, "
    "$key: ApiKeyCreateInput!) {" + WRITES + "}"
)
# The three writes run first; the fourth mutation is refused (a section admin may not create
# sections), so the whole request must roll back.
WRITE_THEN_FAIL = (
    "mutation ($member: SectionMemberAddInput!, $event: EventInput!, "
    "$key: ApiKeyCreateInput!, $section: SectionCreateInput!) {"
    + WRITES
    + "  refused: sectionCreate(input: $section) { section { code } errors { code } }\n}"
)
MEMBER_ADD = """
mutation ($input: SectionMemberAddInput!) {
  sectionMemberAdd(input: $input) { member { email } errors { code } }
}
"""
EVENTS_READ = "events(first: 20) { nodes { organiserName text { title description } } }"
STAFF_READS = (
    "{ section { code members(first: 20) { nodes { email displayName } } } }",
    "{ apiKeys(first: 20) { nodes { name } } webhooks(first: 20) { nodes { url description } } }",
    "{ " + EVENTS_READ + " }",
    "query ($email: String!) { supporterExport(email: $email) }",
)
PUBLIC_READ = (
    "query ($case: UUID!) { "
    + EVENTS_READ
    + f' case(id: $case) {{ text(language: "{TRANSLATION_LANGUAGE}") {{ title summary }} }} }}'
)

# What a fresh transaction that binds nothing must see: no binding, and no row of the tenant
# tables the canaries live in (row-level security with no section hides them all).
UNBOUND_PROBE = text(
    "select pg_backend_pid(), "
    "coalesce(current_setting('w4r.section_id', true), ''), "
    "coalesce(current_setting('w4r.scope', true), ''), "
    "(select count(*) from section_members) + (select count(*) from events) "
    "+ (select count(*) from event_texts) + (select count(*) from api_keys) "
    "+ (select count(*) from webhook_subscriptions) "
    "+ (select count(*) from section_case_translations) + (select count(*) from supporters)"
)
IN_TRANSACTION = text(
    "select pid, state from pg_stat_activity "
    "where datname = current_database() and usename = :role and state like 'idle in transaction%'"
)
# Every row of the sections under test that a write of the run can make, as the owner (a
# superuser on the test servers, so row-level security does not hide any of them).
WRITTEN_ROWS = {
    "member": "select s.code, m.email "
    "from section_members m join sections s on s.id = m.section_id",
    "event": "select s.code, e.organiser_name from events e join sections s on s.id = e.section_id",
    "key": "select s.code, k.name from api_keys k join sections s on s.id = k.section_id",
}
SEEDED_ROWS = {
    "event text": "select s.code, t.title || ' ' || coalesce(t.description, '') "
    "from event_texts t join sections s on s.id = t.section_id",
    "webhook": "select s.code, w.url || ' ' || coalesce(w.description, '') "
    "from webhook_subscriptions w join sections s on s.id = w.section_id",
    "translation": "select s.code, t.title "
    "from section_case_translations t join sections s on s.id = t.section_id",
    "supporter": "select s.code, p.email || ' ' || p.name "
    "from supporters p join sections s on s.id = p.section_id",
}


class Kind(enum.Enum):
    STAFF_READ = "staff read"
    PUBLIC_READ = "public read"
    WRITE = "write"
    WRITE_THEN_FAIL = "write then fail"
    CANCELLED_WRITE = "cancelled write"


@dataclass(frozen=True)
class Section:
    """A section under test and its canary (``canary`` + 16 hex digits: none is a
    substring of another)."""

    code: str
    canary: str

    @property
    def supporter(self) -> str:
        return f"{self.canary}.supporter@example.org"

    def member(self, tag: str) -> str:
        return f"{self.canary}.{tag}@example.org"


@dataclass(frozen=True)
class World:
    sections: tuple[Section, ...]
    campaign_year: int
    case_id: str


@dataclass(frozen=True)
class Planned:
    number: int
    section: Section
    kind: Kind
    variant: int


@dataclass
class Run:
    """What the requests did, as their clients saw it."""

    faults: list[str] = field(default_factory=list)
    written: set[int] = field(default_factory=set)
    refused: set[int] = field(default_factory=set)
    cancelled_in_flight: set[int] = field(default_factory=set)
    finished_before_cancel: set[int] = field(default_factory=set)
    answered: Counter[Kind] = field(default_factory=Counter)
    write_latencies: list[float] = field(default_factory=list)
    elapsed_seconds: float = 0.0

    def cancel_delay(self, generator: random.Random) -> float:
        latencies = self.write_latencies or [FIRST_WRITE_LATENCY_SECONDS]
        return generator.uniform(0, CANCEL_WITHIN_LATENCIES * statistics.median(latencies))


def requests_to_run(ci_size: int) -> int:
    return FULL_REQUESTS if os.environ.get(FULL_VARIABLE) == "1" else ci_size


def plan(sections: tuple[Section, ...], requests: int) -> list[Planned]:
    """The requests in a fixed pseudo-random order: exact shares of each kind, the sections
    in turn."""
    writes = round(requests * WRITING_SHARE)
    failing = round(requests * FAILING_SHARE)
    cancelled = round(requests * CANCELLED_SHARE)
    public = (requests - writes - failing - cancelled) // PUBLIC_READ_EVERY
    staff_reads = requests - writes - failing - cancelled - public
    kinds = (
        [Kind.WRITE] * writes
        + [Kind.WRITE_THEN_FAIL] * failing
        + [Kind.CANCELLED_WRITE] * cancelled
        + [Kind.PUBLIC_READ] * public
        + [Kind.STAFF_READ] * staff_reads
    )
    generator = random.Random(PLAN_SEED)
    generator.shuffle(kinds)
    return [
        Planned(
            number=number,
            section=sections[number % len(sections)],
            kind=kind,
            variant=generator.randrange(len(STAFF_READS)),
        )
        for number, kind in enumerate(kinds)
    ]


# --- the world ---------------------------------------------------------------------------


async def seed_section(graphql: GraphQLClient, world_year: int, case_id: str) -> Section:
    """A section with its canary in every kind of data the run reads, written through the
    API by its own staff."""
    code = unique_code()
    data = await graphql.data(
        SECTION_CREATE,
        {"input": section_input(code, languages=["en", TRANSLATION_LANGUAGE])},
        role=Role.IS_ADMIN,
    )
    assert data["sectionCreate"]["errors"] == [], data
    section = Section(code=code, canary="canary" + secrets.token_hex(8))
    canary = section.canary

    member = {"email": section.member("seed"), "displayName": f"Member {canary}"}
    added = await graphql.data(
        MEMBER_ADD, {"input": {**member, "role": "SECTION_EDITOR"}}, **staff(code)
    )
    assert added["sectionMemberAdd"]["errors"] == [], added
    await published_event(
        graphql,
        code,
        event_input(
            world_year,
            texts=[{"language": "en", "title": f"Event {canary}", "description": f"By {canary}"}],
            organiserName=f"Group {canary}",
        ),
    )
    await write_and_publish(graphql, case_id, TRANSLATION_LANGUAGE, canary, **editor_of(code))
    key = await graphql.data(
        API_KEY_CREATE,
        {"input": {"name": f"Key {canary}", "scopes": ["cases:read"]}},
        **staff(code),
    )
    assert key["apiKeyCreate"]["errors"] == [], key
    hook = {
        "url": f"https://hooks.example.org/{canary}",
        "events": ["event.published"],
        "description": f"Hook {canary}",
    }
    created = await graphql.data(WEBHOOK_CREATE, {"input": hook}, **staff(code))
    assert created["webhookCreate"]["errors"] == [], created
    consent = updates_consent(section.supporter, name=f"Supporter {canary}", method="PAPER_FORM")
    given = await graphql.data(CONSENT_GIVE, {"input": consent}, **staff(code))
    assert given["consentGive"]["errors"] == [], given
    return section


async def seed_world(graphql: GraphQLClient) -> World:
    campaign = await create_campaign(graphql)
    year: int = campaign["year"]
    case = await publish_case(graphql, [year])
    sections = [await seed_section(graphql, year, case.id) for _ in range(SECTIONS)]
    return World(sections=tuple(sections), campaign_year=year, case_id=case.id)


# --- the requests ------------------------------------------------------------------------


def write_variables(world: World, planned: Planned) -> dict[str, Any]:
    """The three canary-carrying writes of request ``n<number>``; its events start later
    than the seeded one, so the seeded event stays first in every list."""
    canary, tag = planned.section.canary, f"n{planned.number}"
    starts = soon(days=60)
    variables: dict[str, Any] = {
        "member": {
            "email": planned.section.member(tag),
            "displayName": f"Writer {tag}",
            "role": "SECTION_EDITOR",
        },
        "event": event_input(
            world.campaign_year,
            texts=[{"language": "en", "title": f"Event {tag}", "description": canary}],
            organiserName=f"{canary} {tag}",
            startsAt=starts.isoformat(),
            endsAt=(starts + timedelta(hours=2)).isoformat(),
        ),
        "key": {"name": f"{canary} {tag}", "scopes": ["cases:read"]},
    }
    if planned.kind is Kind.WRITE_THEN_FAIL:
        variables["section"] = section_input(unique_code())
    return variables


def request_for(world: World, planned: Planned) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """The document, variables and caller (``GraphQLClient.post`` options) of a request."""
    code = planned.section.code
    if planned.kind is Kind.PUBLIC_READ:
        return PUBLIC_READ, {"case": world.case_id}, {"section": code}
    if planned.kind is Kind.STAFF_READ:
        document = STAFF_READS[planned.variant]
        variables = {"email": planned.section.supporter} if "$email" in document else {}
        return document, variables, staff(code)
    document = WRITE_THEN_FAIL if planned.kind is Kind.WRITE_THEN_FAIL else WRITE
    return document, write_variables(world, planned), staff(code)


def foreign_canaries(planned: Planned, body: str) -> set[str]:
    return set(CANARY.findall(body)) - {planned.section.canary}


def judge(planned: Planned, response: httpx.Response, run: Run) -> None:
    """Record a fault for anything but the expected answer; a leak is any other section's
    canary anywhere in the body."""
    body = response.text
    where = f"request n{planned.number} ({planned.kind.value}, {planned.section.code})"
    leaked = foreign_canaries(planned, body)
    if leaked:
        run.faults.append(f"{where} saw other sections' canaries {sorted(leaked)}: {body[:500]}")
    try:
        payload = response.json()
    except ValueError:
        run.faults.append(f"{where} answered no JSON: {response.status_code} {body[:500]}")
        return
    if planned.kind is Kind.WRITE_THEN_FAIL:
        refusals = [(e.get("path"), e["extensions"]["code"]) for e in payload.get("errors", [])]
        if payload.get("data") is not None or refusals != [(["refused"], "FORBIDDEN")]:
            run.faults.append(f"{where} was not refused as expected: {body[:500]}")
        run.refused.add(planned.number)
        return
    if response.status_code != 200 or "errors" in payload:
        run.faults.append(f"{where} failed: {response.status_code} {body[:500]}")
        return
    if planned.kind in (Kind.WRITE, Kind.CANCELLED_WRITE):
        data = payload["data"]
        if any(data[name]["errors"] for name in ("member", "event", "key")):
            run.faults.append(f"{where} was refused: {body[:500]}")
            return
        run.written.add(planned.number)
    elif planned.section.canary not in body:
        run.faults.append(f"{where} did not see its own canary: {body[:500]}")


async def cancel_midway(
    graphql: GraphQLClient, request: tuple[str, dict[str, Any], dict[str, Any]], delay: float
) -> httpx.Response | None:
    """Send the request and cancel its client after ``delay`` seconds: None when it was
    still running (the app's coroutine, which runs in the client's task, is cancelled
    wherever it was), else its response."""
    document, variables, caller = request
    task = asyncio.create_task(graphql.post(document, variables, **caller))
    done, _ = await asyncio.wait({task}, timeout=delay)
    if done:
        return task.result()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return None


async def drive(graphql: GraphQLClient, world: World, requests: int) -> Run:
    """Run the plan from :data:`CLIENTS` concurrent clients, each taking the next request."""
    work = iter(plan(world.sections, requests))
    run = Run()
    delays = random.Random(PLAN_SEED + 1)

    async def client() -> None:
        for planned in work:
            request = request_for(world, planned)
            if planned.kind is Kind.CANCELLED_WRITE:
                response = await cancel_midway(graphql, request, run.cancel_delay(delays))
                if response is None:
                    run.cancelled_in_flight.add(planned.number)
                    continue
                run.finished_before_cancel.add(planned.number)
            else:
                document, variables, caller = request
                sent = time.perf_counter()
                response = await graphql.post(document, variables, **caller)
                if planned.kind is Kind.WRITE:
                    run.write_latencies.append(time.perf_counter() - sent)
            run.answered[planned.kind] += 1
            judge(planned, response, run)

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(CLIENTS)))
    run.elapsed_seconds = time.perf_counter() - started
    return run


# --- what survived -----------------------------------------------------------------------


async def rows_by_section(
    owner_engine: AsyncEngine, world: World, queries: dict[str, str]
) -> dict[str, list[tuple[str, str]]]:
    """Each query's (section code, text) rows for the sections under test."""
    codes = [section.code for section in world.sections]
    rows: dict[str, list[tuple[str, str]]] = {}
    async with owner_engine.connect() as connection:
        for name, query in queries.items():
            result = await connection.execute(
                text(f"{query} where s.code = any(:codes)"), {"codes": codes}
            )
            rows[name] = [(code, value) for code, value in result.all()]
    return rows


@dataclass
class Survivors:
    """The numbers of the run's writes found in each written table, and the faults seen."""

    numbers: dict[str, set[int]]
    faults: list[str]


async def survivors(owner_engine: AsyncEngine, world: World) -> Survivors:
    """Every row of the sections under test must carry its own section's canary; the seeded
    kinds must hold exactly their one seed each."""
    by_code = {section.code: section for section in world.sections}
    faults: list[str] = []
    numbers: dict[str, set[int]] = {name: set() for name in WRITTEN_ROWS}
    written = await rows_by_section(owner_engine, world, WRITTEN_ROWS)
    seeded = await rows_by_section(owner_engine, world, SEEDED_ROWS)
    for name, rows in {**written, **seeded}.items():
        for code, value in rows:
            if set(CANARY.findall(value)) != {by_code[code].canary}:
                faults.append(f"{name} row {value!r} is in section {code}")
            number = NUMBER.search(value)
            if name in numbers and number is not None:
                numbers[name].add(int(number.group(1)))
    for name, rows in {**written, **seeded}.items():
        seeds = Counter(code for code, value in rows if NUMBER.search(value) is None)
        if seeds != Counter(dict.fromkeys(by_code, 1)):
            faults.append(f"{name}: seeded rows per section {dict(seeds)}, expected one each")
    return Survivors(numbers=numbers, faults=faults)


# --- the pool ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Probe:
    backend: int
    section_setting: str
    scope_setting: str
    tenant_rows: int

    @property
    def is_clean(self) -> bool:
        return (self.section_setting, self.scope_setting, self.tenant_rows) == ("", "", 0)


async def probe(connection: AsyncConnection) -> Probe:
    backend, section_setting, scope_setting, rows = (await connection.execute(UNBOUND_PROBE)).one()
    await connection.rollback()
    return Probe(backend, section_setting, scope_setting, rows)


async def bound_probe(database: Database, owner_engine: AsyncEngine, section: Section) -> Probe:
    """The probe in a transaction bound to a section, as a request's would be: it sees the
    section's rows, so an unbound probe's zero means no binding, not a blind probe."""
    async with owner_engine.connect() as connection:
        section_id = (
            await connection.execute(
                text("select id from sections where code = :code"), {"code": section.code}
            )
        ).scalar_one()
    async with database.session(TenantBinding.for_section(section_id)) as session:
        backend, section_setting, scope_setting, rows = (await session.execute(UNBOUND_PROBE)).one()
        assert section_setting == str(section_id)
    return Probe(backend, section_setting, scope_setting, rows)


async def stuck_in_transaction(owner_engine: AsyncEngine) -> list[tuple[int, str]]:
    """The app role's sessions on the test database left inside a transaction."""
    async with owner_engine.connect() as connection:
        result = await connection.execute(IN_TRANSACTION, {"role": APP_ROLE})
        return [(pid, state) for pid, state in result.all()]


@contextlib.contextmanager
def counting_invalidations(engine: AsyncEngine) -> Iterator[list[int]]:
    """Count the pool's invalidated connections during the block (a one-item list).
    SQLAlchemy discards a connection whose database call a cancellation interrupted (a
    statement of the request's transaction, its commit or its rollback): the count tells
    how many cancellations landed on the database, not merely before or after it."""
    count = [0]

    def invalidated(*_: object) -> None:
        count[0] += 1

    event.listen(engine.sync_engine, "invalidate", invalidated)
    try:
        yield count
    finally:
        event.remove(engine.sync_engine, "invalidate", invalidated)


def queue_pool(engine: AsyncEngine) -> QueuePool:
    pool = engine.pool
    assert isinstance(pool, QueuePool), pool
    return pool


async def probe_every_pooled_connection(engine: AsyncEngine) -> list[Probe]:
    """Check out the pool's every connection at once (so each must have come back) and
    probe each in a fresh transaction that binds nothing."""
    async with contextlib.AsyncExitStack() as stack:
        connections = [
            await stack.enter_async_context(engine.connect())
            for _ in range(queue_pool(engine).size())
        ]
        return [await probe(connection) for connection in connections]


async def probe_through_pgbouncer(engine: AsyncEngine) -> list[Probe]:
    """Fresh unbound transactions at once through the app's pool and PgBouncer, landing on
    whatever server sessions PgBouncer hands out (holding all at once would wait forever
    for PgBouncer's two)."""

    async def one() -> Probe:
        async with engine.connect() as connection:
            return await probe(connection)

    return list(await asyncio.gather(*(one() for _ in range(PROBES_THROUGH_PGBOUNCER))))


# --- the check ---------------------------------------------------------------------------


async def nothing_to_settle() -> None:
    """In process, a cancelled request's coroutine ends with its client's task."""


@dataclass(frozen=True)
class Served:
    """The app under test, a client of it, how to probe its pool, and how to wait until
    it has finished the requests whose clients went away (``settle``)."""

    app: Starlette
    graphql: GraphQLClient
    probe_pool: Callable[[AsyncEngine], Awaitable[list[Probe]]]
    settle: Callable[[], Awaitable[None]] = nothing_to_settle


async def check_isolation_under_load(
    served: Served, owner_engine: AsyncEngine, requests: int
) -> Run:
    """Seed ten sections, run ``requests`` from :data:`CLIENTS` clients and check answers,
    surviving rows and the pool (the module docstring lists what each check means)."""
    world = await seed_world(served.graphql)
    engine: AsyncEngine = served.app.state.database.engine
    with counting_invalidations(engine) as invalidated:
        run = await drive(served.graphql, world, requests)
        await served.settle()

    # No answer showed another section's canary, and every answer was the expected one
    assert run.faults == []

    # A refused request left nothing; a cancelled one all or nothing; every written one
    # everything, in its own section
    found = await survivors(owner_engine, world)
    assert found.faults == []
    assert all(numbers.isdisjoint(run.refused) for numbers in found.numbers.values())
    cancelled = run.cancelled_in_flight
    committed = {number for number in cancelled if number in found.numbers["member"]}
    for name, numbers in found.numbers.items():
        assert numbers & cancelled == committed, f"a cancelled write is partly in {name}"
        assert numbers == run.written | committed, f"{name}: rows differ from the writes"

    # And the pool is healthy: every connection back, none left in a transaction, and a
    # fresh transaction that binds nothing sees no binding and no tenant row
    assert queue_pool(engine).checkedout() == 0
    assert await stuck_in_transaction(owner_engine) == []
    probes = await served.probe_pool(engine)
    assert [item for item in probes if not item.is_clean] == []
    control = await bound_probe(served.app.state.database, owner_engine, world.sections[0])
    assert control.tenant_rows > 0

    answered = ", ".join(f"{count} {kind.value}" for kind, count in run.answered.items())
    logger.info(
        f"{requests} requests from {CLIENTS} clients over {SECTIONS} sections in "
        f"{run.elapsed_seconds:.1f} s: answered {answered}; refused after writing "
        f"{len(run.refused)}; cancelled in flight {len(cancelled)} ({len(committed)} "
        f"committed), finished before the cancel {len(run.finished_before_cancel)}; "
        f"pooled connections dropped by a cancellation {invalidated[0]}; "
        f"server sessions probed {len({item.backend for item in probes})}; leaks 0"
    )
    return run


async def test_no_request_sees_another_sections_data_on_a_small_shared_pool(
    app: Starlette, graphql: GraphQLClient, owner_engine: AsyncEngine
) -> None:
    # The suite's app (tests/conftest.py), served in process: a cancelled client cancels
    # the app's coroutine wherever it is, inside its transaction or not
    assert queue_pool(app.state.database.engine).size() == APP_POOL_SIZE
    served = Served(app=app, graphql=graphql, probe_pool=probe_every_pooled_connection)
    await check_isolation_under_load(served, owner_engine, requests_to_run(CI_REQUESTS))


REQUEST_TIMEOUT_SECONDS = 120.0


@pytest.fixture(scope="module")
def bouncer_url(database_target: DatabaseTarget) -> Iterator[URL]:
    with running_pgbouncer(database_target) as url:
        yield url


async def test_no_request_sees_another_sections_data_through_pgbouncer(
    settings: Settings,
    database_target: DatabaseTarget,
    bouncer_url: URL,
    token_for: Callable[..., str],
    owner_engine: AsyncEngine,
) -> None:
    # The app on a real socket (uvicorn), its pool through PgBouncer in transaction mode: a
    # cancelled client disconnects, and the server finishes the request without it
    pooled = through_pgbouncer(settings, database_target, bouncer_url, pool_size=APP_POOL_SIZE)
    # (a request may queue for the small pool well beyond httpx's 5 s on a busy machine)
    async with (
        serving(*pooled) as server,
        httpx.AsyncClient(base_url=server.http_url, timeout=REQUEST_TIMEOUT_SECONDS) as http,
    ):

        async def settle() -> None:
            """Wait for the requests the server still runs for clients that went away."""
            running = set(server.server.server_state.tasks)
            if running:
                await asyncio.wait(running)

        served = Served(
            app=server.app,
            graphql=GraphQLClient(http, token_for),
            probe_pool=probe_through_pgbouncer,
            settle=settle,
        )
        await check_isolation_under_load(
            served, owner_engine, requests_to_run(CI_REQUESTS_PGBOUNCER)
        )
