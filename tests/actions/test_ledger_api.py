"""The action ledger through the GraphQL API (HTTP, real database): recording exactly once,
under concurrency, refusals that write nothing, who may record, imports, tallies, and the
totals views derived from the ledger.

Campaign years and cases are global and other tests share the database: every campaign
made here gets a random free test year (tests/campaigns), every test its own sections, and
each count is read where only that test can change it (its own sections, or cases that
only it records actions for).
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.campaigns.test_campaigns_api import (
    CASE_CREATE,
    CASE_PUBLISH,
    case_input,
    create_campaign,
    free_year,
    problems,
    top_level_codes,
    update_participation,
)
from tests.conftest import SECTION_CREATE, GraphQLClient, section_input, unique_code
from w4r.platform.auth import Role
from w4r.platform.database import Database
from w4r.settings import Settings
from w4r.totals.service import reconcile

NewSection = Callable[..., Awaitable[dict[str, Any]]]

LONDON = ZoneInfo("Europe/London")
WINDOW_DAYS_BEFORE = 10
WINDOW_DAYS_AFTER = 10

ACTION_RECORD = """
mutation ($input: ActionRecordInput!) {
  actionRecord(input: $input) {
    action { id caseId actionType channel quantity occurredAt verification }
    replayed
    errors { field code message }
  }
}
"""
ACTIONS_IMPORT = """
mutation ($input: ActionsImportInput!) {
  actionsImport(input: $input) {
    batchId created replayed quantity
    errors { field code message }
  }
}
"""
TALLY_FIELDS = """
  id state reporterKind createdAt reviewedAt
  lines { caseId actionType quantity }
"""
TALLY_REPORT = f"""
mutation ($input: TallyReportInput!) {{
  tallyReport(input: $input) {{
    tally {{ {TALLY_FIELDS} }}
    replayed
    errors {{ field code message }}
  }}
}}
"""
TALLY_REPORT_WITH_REPORTER = """
mutation ($input: TallyReportInput!) {
  tallyReport(input: $input) {
    tally { id reporterName }
    errors { field code message }
  }
}
"""
TALLY_APPROVE = f"""
mutation ($input: TallyDecisionInput!) {{
  tallyApprove(input: $input) {{
    tally {{ {TALLY_FIELDS} reviewNote }}
    errors {{ field code message }}
  }}
}}
"""
TALLY_REJECT = f"""
mutation ($input: TallyDecisionInput!) {{
  tallyReject(input: $input) {{
    tally {{ {TALLY_FIELDS} reviewNote }}
    errors {{ field code message }}
  }}
}}
"""
TALLIES = f"""
query ($state: TallyState) {{
  tallies(state: $state, first: 100) {{
    nodes {{ {TALLY_FIELDS} reporterName reporterEmail note }}
  }}
}}
"""
TOTALS = """
query ($campaign: Int!, $groupBy: [TotalsDimension!], $filter: TotalsFilter) {
  totals(campaign: $campaign, groupBy: $groupBy, filter: $filter) {
    quantity verified selfReported sectionsCount countriesCount minimumCellSize
    cells {
      caseId sectionCode actionType channel day country
      isSuppressed quantity verified selfReported
    }
  }
}
"""
CASE_TOTALS = """
query ($id: UUID!, $campaign: Int) {
  case(id: $id) { totals(campaign: $campaign) { quantity verified selfReported } }
}
"""

EMPTY_CELL: dict[str, Any] = {
    "caseId": None,
    "sectionCode": None,
    "actionType": None,
    "channel": None,
    "day": None,
    "country": None,
    "isSuppressed": False,
}


# --- the world: an open campaign, its cases, and sections that feature them ---------------


@dataclass(frozen=True)
class Case:
    id: str
    slug: str


@dataclass(frozen=True)
class World:
    """An open campaign whose window holds today, the published cases that every section
    of a test features (``featured``) and one published case of it that none features."""

    year: int
    starts_on: date
    ends_on: date
    featured: tuple[Case, ...]
    unfeatured: Case

    @property
    def first(self) -> Case:
        return self.featured[0]

    @property
    def second(self) -> Case:
        return self.featured[1]


def today() -> date:
    return datetime.now(UTC).date()


def staff(code: str, role: Role = Role.SECTION_ADMIN) -> dict[str, Any]:
    """``GraphQLClient`` options: ``role`` of section ``code`` at its endpoint."""
    return {"role": role, "token_section": code, "section": code}


def at(moment: datetime) -> str:
    """A ``DateTime`` input value (ISO 8601 with its offset)."""
    return moment.isoformat()


def moment_of(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def publish_case(graphql: GraphQLClient, years: list[int]) -> Case:
    """A case published by an IS admin in the campaigns of ``years``."""
    slug = "case-" + unique_code()
    data = await graphql.data(CASE_CREATE, {"input": case_input(slug, years)}, role=Role.IS_ADMIN)
    assert data["caseCreate"]["errors"] == [], data
    case_id: str = data["caseCreate"]["case"]["id"]
    published = await graphql.data(CASE_PUBLISH, {"input": {"id": case_id}}, role=Role.IS_ADMIN)
    assert published["casePublish"]["errors"] == [], published
    return Case(id=case_id, slug=slug)


async def open_campaign(graphql: GraphQLClient, featured: int = 2) -> World:
    """An OPEN campaign in a random free year, from 10 days ago to 10 days ahead."""
    starts_on = today() - timedelta(days=WINDOW_DAYS_BEFORE)
    ends_on = today() + timedelta(days=WINDOW_DAYS_AFTER)
    campaign = await create_campaign(
        graphql, startsOn=starts_on.isoformat(), endsOn=ends_on.isoformat(), status="OPEN"
    )
    year: int = campaign["year"]
    cases = [await publish_case(graphql, [year]) for _ in range(featured)]
    return World(
        year=year,
        starts_on=starts_on,
        ends_on=ends_on,
        featured=tuple(cases),
        unfeatured=await publish_case(graphql, [year]),
    )


async def join(
    graphql: GraphQLClient,
    code: str,
    world: World,
    *,
    starts_on: date | None = None,
    ends_on: date | None = None,
) -> None:
    """Section ``code`` takes part in the campaign and features every featured case."""
    values: dict[str, Any] = {
        "year": world.year,
        "featuredCaseSlugs": [case.slug for case in world.featured],
        "startsOn": None if starts_on is None else starts_on.isoformat(),
        "endsOn": None if ends_on is None else ends_on.isoformat(),
    }
    payload = await update_participation(graphql, code, values)
    assert payload["errors"] == [], payload


async def section_in(
    graphql: GraphQLClient, new_section: NewSection, world: World, **overrides: Any
) -> str:
    """A new section that takes part in the world's campaign; returns its code."""
    code: str = (await new_section(**overrides))["code"]
    await join(graphql, code, world)
    return code


@pytest.fixture(scope="module")
async def world(module_graphql: GraphQLClient) -> World:
    """Shared by this module's tests; each records through sections of its own."""
    return await open_campaign(module_graphql, featured=2)


@pytest.fixture(scope="module")
async def draft_year(module_graphql: GraphQLClient) -> int:
    campaign = await create_campaign(module_graphql, status="DRAFT")
    year: int = campaign["year"]
    return year


# --- recording and reading totals ------------------------------------------------------


def action_input(
    world: World,
    case: Case,
    *,
    key: str | None = None,
    client: str | None = "client-1",
    **overrides: Any,
) -> dict[str, Any]:
    """An ``ActionRecordInput`` (an anonymous supporter's letter, a fresh key)."""
    return {
        "campaign": world.year,
        "caseId": case.id,
        "actionType": "LETTER",
        "idempotencyKey": key or str(uuid.uuid4()),
        "clientId": client,
        **overrides,
    }


async def record(
    graphql: GraphQLClient, code: str | None, values: dict[str, Any], **options: Any
) -> dict[str, Any]:
    """The ``actionRecord`` payload at ``code``'s endpoint (anonymous unless ``options``)."""
    data = await graphql.data(ACTION_RECORD, {"input": values}, section=code, **options)
    payload: dict[str, Any] = data["actionRecord"]
    return payload


async def recorded(
    graphql: GraphQLClient, code: str, values: dict[str, Any], **options: Any
) -> dict[str, Any]:
    """The action of an ``actionRecord`` that must succeed for the first time."""
    payload = await record(graphql, code, values, **options)
    assert payload["errors"] == [], payload
    assert payload["replayed"] is False
    action: dict[str, Any] = payload["action"]
    return action


def import_row(
    world: World,
    case: Case,
    *,
    quantity: int = 1,
    key: str | None = None,
    occurred_at: datetime | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """An ``ActionImportRow``: a verified letter an hour ago, a fresh key."""
    moment = occurred_at or datetime.now(UTC) - timedelta(hours=1)
    return {
        "campaign": world.year,
        "caseId": case.id,
        "actionType": "LETTER",
        "idempotencyKey": key or str(uuid.uuid4()),
        "occurredAt": at(moment),
        "quantity": quantity,
        **overrides,
    }


async def import_actions(
    graphql: GraphQLClient, code: str, rows: list[dict[str, Any]], **options: Any
) -> dict[str, Any]:
    """The ``actionsImport`` payload, sent by the section's admin unless ``options``."""
    caller = options or staff(code)
    data = await graphql.data(ACTIONS_IMPORT, {"input": {"actions": rows}}, **caller)
    payload: dict[str, Any] = data["actionsImport"]
    return payload


async def report(
    graphql: GraphQLClient,
    year: int,
    *,
    group_by: list[str] | None = None,
    filter: dict[str, Any] | None = None,  # noqa: A002
    **options: Any,
) -> dict[str, Any]:
    """``totals`` as ``options``' caller sees them (an IS analyst by default)."""
    caller = options or {"role": Role.IS_ANALYST}
    variables = {"campaign": year, "groupBy": group_by, "filter": filter}
    data = await graphql.data(TOTALS, variables, **caller)
    totals: dict[str, Any] = data["totals"]
    return totals


def amounts(totals: dict[str, Any]) -> dict[str, int]:
    return {name: totals[name] for name in ("quantity", "verified", "selfReported")}


async def own_totals(graphql: GraphQLClient, code: str, year: int) -> dict[str, int]:
    """The section's own totals of the campaign, as its admin sees them."""
    return amounts(await report(graphql, year, **staff(code)))


async def case_totals(
    graphql: GraphQLClient, case: Case, year: int, section: str | None = None
) -> dict[str, int]:
    """``Case.totals(campaign:)`` as an anonymous reader at ``section``'s endpoint."""
    data = await graphql.data(CASE_TOTALS, {"id": case.id, "campaign": year}, section=section)
    totals: dict[str, int] = data["case"]["totals"]
    return totals


def counted(quantity: int, verified: int | None = None) -> dict[str, int]:
    """Amounts: ``quantity`` actions, all verified unless ``verified`` says how many."""
    verified = quantity if verified is None else verified
    return {"quantity": quantity, "verified": verified, "selfReported": quantity - verified}


NOTHING = counted(0)


@dataclass(frozen=True)
class Snapshot:
    section: dict[str, int]
    cases: tuple[dict[str, int], ...]


async def snapshot(graphql: GraphQLClient, world: World, code: str) -> Snapshot:
    """What a refused request must leave unchanged: the section's totals and the
    worldwide totals of every case of the world."""
    cases = (*world.featured, world.unfeatured)
    return Snapshot(
        section=await own_totals(graphql, code, world.year),
        cases=tuple([await case_totals(graphql, case, world.year) for case in cases]),
    )


async def no_drift(app_engine: AsyncEngine) -> None:
    """Every rollup of every section (and worldwide) matches the ledger."""
    result = await reconcile(Database(app_engine), repair=False)
    assert result.drift == []
    assert result.repaired is False


# --- idempotency -------------------------------------------------------------------------


async def test_a_replay_with_the_same_key_and_input_returns_the_first_action(
    graphql: GraphQLClient, new_section: NewSection, world: World
) -> None:
    # given a section and an anonymous supporter's letter
    code = await section_in(graphql, new_section, world)
    values = action_input(world, world.first)

    # when the supporter sends it twice with the same key
    sent_at = datetime.now(UTC)
    first = await record(graphql, code, values)
    answered_at = datetime.now(UTC)
    second = await record(graphql, code, values)

    # then the first records it (a verified online letter, now) and the second replays it
    assert first["errors"] == []
    assert first["replayed"] is False
    action = first["action"]
    assert action["caseId"] == world.first.id
    assert action["actionType"] == "LETTER"
    assert action["channel"] == "ONLINE"
    assert action["quantity"] == 1
    assert action["verification"] == "VERIFIED"
    assert sent_at <= moment_of(action["occurredAt"]) <= answered_at
    assert second == {"action": action, "replayed": True, "errors": []}
    # and it counts once
    assert await own_totals(graphql, code, world.year) == counted(1)


@pytest.mark.parametrize("change", ["actionType", "caseId", "occurredAt"])
async def test_the_same_key_with_another_input_is_refused_and_counts_nothing(
    graphql: GraphQLClient, new_section: NewSection, world: World, change: str
) -> None:
    # given a recorded action
    code = await section_in(graphql, new_section, world)
    values = action_input(world, world.first)
    action = await recorded(graphql, code, values)
    before = await snapshot(graphql, world, code)

    # when the same client sends the same key with one field changed
    changed = {
        "actionType": "EMAIL",
        "caseId": world.second.id,
        "occurredAt": at(datetime.now(UTC) - timedelta(hours=2)),
    }[change]
    payload = await record(graphql, code, {**values, change: changed})

    # then it is refused as a reused key and nothing more is counted
    assert payload["action"] is None
    assert payload["replayed"] is False
    assert problems(payload) == [("idempotencyKey", "IDEMPOTENCY_KEY_REUSED")]
    assert await snapshot(graphql, world, code) == before
    # and the first input still replays its action
    assert await record(graphql, code, values) == {
        "action": action,
        "replayed": True,
        "errors": [],
    }


async def test_the_same_key_from_another_client_is_another_action(
    graphql: GraphQLClient, new_section: NewSection, world: World
) -> None:
    # given a section
    code = await section_in(graphql, new_section, world)
    key = str(uuid.uuid4())

    # when two clients use the same key for the same input
    first = await recorded(graphql, code, action_input(world, world.first, key=key, client="a"))
    second = await recorded(graphql, code, action_input(world, world.first, key=key, client="b"))

    # then they are two actions, both counted
    assert first["id"] != second["id"]
    assert await own_totals(graphql, code, world.year) == counted(2)


async def test_the_same_key_in_another_section_is_independent(
    graphql: GraphQLClient, new_section: NewSection, world: World
) -> None:
    # given two sections of the campaign
    first_code = await section_in(graphql, new_section, world)
    second_code = await section_in(graphql, new_section, world)
    values = action_input(world, world.first)

    # when the same client sends the same key and input to both
    first = await recorded(graphql, first_code, values)
    second = await recorded(graphql, second_code, values)

    # then each section counts its own action
    assert first["id"] != second["id"]
    assert await own_totals(graphql, first_code, world.year) == counted(1)
    assert await own_totals(graphql, second_code, world.year) == counted(1)
    # and a replay in either section returns that section's action
    assert (await record(graphql, first_code, values))["action"] == first
    assert (await record(graphql, second_code, values))["action"] == second


# --- concurrency -------------------------------------------------------------------------

SAME_KEY_REQUESTS = 20
CONCURRENT_KEYS = 300
CONCURRENT_CLIENTS = 10
RESEND_EVERY = 10
CONCURRENCY = 30


def in_progress(payload: dict[str, Any]) -> bool:
    """A payload refused because another request held the same key at the same time."""
    return (
        payload["action"] is None
        and payload["replayed"] is False
        and problems(payload) == [("idempotencyKey", "IN_PROGRESS")]
    )


async def test_identical_concurrent_requests_count_once(
    graphql: GraphQLClient, new_section: NewSection, world: World
) -> None:
    # given a section and one action input
    code = await section_in(graphql, new_section, world)
    values = action_input(world, world.first)

    # when 20 identical requests arrive at once
    payloads = await asyncio.gather(
        *(record(graphql, code, values) for _ in range(SAME_KEY_REQUESTS))
    )

    # then exactly one recorded it; every other one replayed it or was told to retry
    created = [payload for payload in payloads if payload["action"] and not payload["replayed"]]
    assert len(created) == 1
    action = created[0]["action"]
    answered = [payload for payload in payloads if not in_progress(payload)]
    assert sorted(payload["replayed"] for payload in answered) == [False] + [True] * (
        len(answered) - 1
    )
    for payload in answered:
        assert payload["errors"] == [], payload
        assert payload["action"] == action
    # and it counts once
    assert await own_totals(graphql, code, world.year) == counted(1)
    # and a retry now replays it
    assert await record(graphql, code, values) == {
        "action": action,
        "replayed": True,
        "errors": [],
    }


async def test_concurrent_recording_counts_every_action_exactly_once(
    graphql: GraphQLClient, new_section: NewSection, app_engine: AsyncEngine
) -> None:
    # given a campaign with a case only this test records for, and a section featuring it
    world = await open_campaign(graphql, featured=1)
    code = await section_in(graphql, new_section, world)
    requests = [
        action_input(world, world.first, key=f"key-{index}", client=f"client-{index % 10}")
        for index in range(CONCURRENT_KEYS)
    ]
    resent = requests[::RESEND_EVERY]
    batch = requests + resent
    random.Random(20251121).shuffle(batch)
    gate = asyncio.Semaphore(CONCURRENCY)

    async def send(values: dict[str, Any]) -> tuple[tuple[str, str], dict[str, Any]]:
        async with gate:
            payload = await record(graphql, code, values)
        return (values["clientId"], values["idempotencyKey"]), payload

    # when 300 distinct actions from 10 clients and every 10th again are sent at once
    results = await asyncio.gather(*(send(values) for values in batch))

    # then every response is the action or "in progress" (a resend racing its original)
    created: dict[tuple[str, str], str] = {}
    for identity, payload in results:
        if in_progress(payload):
            continue
        assert payload["errors"] == [], payload
        if not payload["replayed"]:
            assert identity not in created, identity
            created[identity] = payload["action"]["id"]
    # and each distinct key created exactly one action, replays returning it
    assert len(created) == CONCURRENT_KEYS
    assert len(set(created.values())) == CONCURRENT_KEYS
    for identity, payload in results:
        if payload["action"] is not None:
            assert payload["action"]["id"] == created[identity]
    # and the case, the section and the rollups count exactly the accepted actions
    assert await case_totals(graphql, world.first, world.year) == counted(CONCURRENT_KEYS)
    assert await own_totals(graphql, code, world.year) == counted(CONCURRENT_KEYS)
    own = await report(graphql, world.year, group_by=["SECTION"], **staff(code))
    assert own["sectionsCount"] == 1
    assert [cell["quantity"] for cell in own["cells"]] == [CONCURRENT_KEYS]
    await no_drift(app_engine)


# --- refused input -----------------------------------------------------------------------

NOT_FEATURED = "not featured"
NO_CAMPAIGN_YEAR = 1990
"""Below the first campaign year that may exist (1991)."""


def window_start(world: World) -> datetime:
    return datetime.combine(world.starts_on, time.min, LONDON)


def window_end(world: World, grace_days: int) -> datetime:
    """The first instant (in the section's zone) that no longer counts."""
    return datetime.combine(world.ends_on + timedelta(days=1 + grace_days), time.min, LONDON)


Refusal = tuple[Callable[[World, int], dict[str, Any]], list[tuple[Any, str]]]
REFUSALS: dict[str, Refusal] = {
    "unknown campaign": (
        lambda world, grace: {"campaign": NO_CAMPAIGN_YEAR},
        [("campaign", "NOT_FOUND")],
    ),
    "case not featured": (
        lambda world, grace: {"caseId": world.unfeatured.id},
        [("caseId", "NOT_ALLOWED")],
    ),
    "case of no campaign": (
        lambda world, grace: {"caseId": str(uuid.uuid4())},
        [("caseId", "NOT_ALLOWED")],
    ),
    "before the window": (
        lambda world, grace: {"occurredAt": at(window_start(world) - timedelta(minutes=1))},
        [("occurredAt", "OUTSIDE_WINDOW")],
    ),
    "after the window and its grace": (
        lambda world, grace: {"occurredAt": at(window_end(world, grace))},
        [("occurredAt", "INVALID"), ("occurredAt", "OUTSIDE_WINDOW")],
    ),
    "in the future": (
        lambda world, grace: {"occurredAt": at(datetime.now(UTC) + timedelta(hours=1))},
        [("occurredAt", "INVALID")],
    ),
    "without an offset": (
        lambda world, grace: {
            "occurredAt": (datetime.now(UTC) - timedelta(hours=1)).replace(tzinfo=None).isoformat()
        },
        [("occurredAt", "INVALID")],
    ),
    "an empty key": (lambda world, grace: {"idempotencyKey": ""}, [("idempotencyKey", "INVALID")]),
    "a blank key": (
        lambda world, grace: {"idempotencyKey": "   "},
        [("idempotencyKey", "INVALID")],
    ),
    "a key of 201 characters": (
        lambda world, grace: {"idempotencyKey": "k" * 201},
        [("idempotencyKey", "INVALID")],
    ),
    "a key with a control character": (
        lambda world, grace: {"idempotencyKey": "key\nwith-a-newline"},
        [("idempotencyKey", "INVALID")],
    ),
    "anonymous without a client id": (
        lambda world, grace: {"clientId": None},
        [("clientId", "REQUIRED")],
    ),
    "anonymous with a blank client id": (
        lambda world, grace: {"clientId": "  "},
        [("clientId", "REQUIRED")],
    ),
}


@pytest.mark.parametrize("refusal", list(REFUSALS))
async def test_a_refused_action_writes_nothing(
    graphql: GraphQLClient,
    new_section: NewSection,
    world: World,
    settings: Settings,
    refusal: str,
) -> None:
    # given a section of the campaign and an anonymous action with one thing wrong
    code = await section_in(graphql, new_section, world)
    change, expected = REFUSALS[refusal]
    values = {**action_input(world, world.first), **change(world, settings.action_grace_days)}
    before = await snapshot(graphql, world, code)

    # when it is sent
    payload = await record(graphql, code, values)

    # then it is refused with the problem and nothing is counted
    assert payload["action"] is None
    assert payload["replayed"] is False
    assert problems(payload) == expected
    assert await snapshot(graphql, world, code) == before
    # and a refusal claims no key: the same key with a valid input records an action
    if not {"idempotencyKey", "clientId"} & set(change(world, settings.action_grace_days)):
        valid = action_input(world, world.first, key=values["idempotencyKey"])
        await recorded(graphql, code, valid)
        assert await own_totals(graphql, code, world.year) == counted(1)


async def test_an_action_for_a_draft_campaign_is_not_found(
    graphql: GraphQLClient, new_section: NewSection, world: World, draft_year: int
) -> None:
    # given a section and a draft campaign (that no section can take part in yet)
    code = await section_in(graphql, new_section, world)
    before = await snapshot(graphql, world, code)

    # when an action is sent for the draft campaign's year
    payload = await record(graphql, code, action_input(world, world.first, campaign=draft_year))

    # then there is no such campaign and nothing is counted
    assert payload["action"] is None
    assert problems(payload) == [("campaign", "NOT_FOUND")]
    assert await snapshot(graphql, world, code) == before


@pytest.mark.parametrize("role", [None, Role.IS_ADMIN])
async def test_an_action_at_the_global_endpoint_is_out_of_scope(
    graphql: GraphQLClient, new_section: NewSection, world: World, role: Role | None
) -> None:
    # given a section of the campaign (whose totals must not change)
    code = await section_in(graphql, new_section, world)
    before = await snapshot(graphql, world, code)

    # when an action is sent to /graphql, not to a section's endpoint
    payload = await record(graphql, None, action_input(world, world.first), role=role)

    # then it is out of scope and nothing is counted anywhere
    assert payload["action"] is None
    assert problems(payload) == [(None, "OUT_OF_SCOPE")]
    assert await snapshot(graphql, world, code) == before


async def test_the_sections_own_window_and_grace_bound_what_counts(
    graphql: GraphQLClient, new_section: NewSection, world: World, settings: Settings
) -> None:
    # given a section whose own window for the campaign ended 20 days ago
    code: str = (await new_section())["code"]
    starts_on = today() - timedelta(days=40)
    ends_on = today() - timedelta(days=20)
    await join(graphql, code, world, starts_on=starts_on, ends_on=ends_on)
    start = datetime.combine(starts_on, time.min, LONDON)
    end = datetime.combine(
        ends_on + timedelta(days=1 + settings.action_grace_days), time.min, LONDON
    )
    assert end < datetime.now(UTC)

    # when actions are sent at the first and last instants that count and just outside
    first = await record(graphql, code, action_input(world, world.first, occurredAt=at(start)))
    last = await record(
        graphql, code, action_input(world, world.first, occurredAt=at(end - timedelta(seconds=1)))
    )
    early = await record(
        graphql, code, action_input(world, world.first, occurredAt=at(start - timedelta(seconds=1)))
    )
    late = await record(graphql, code, action_input(world, world.first, occurredAt=at(end)))
    # and one now, inside the campaign's window but after the section's
    now = await record(graphql, code, action_input(world, world.first))

    # then the two inside count, the three outside are refused
    assert first["errors"] == []
    assert moment_of(first["action"]["occurredAt"]) == start
    assert last["errors"] == []
    assert moment_of(last["action"]["occurredAt"]) == end - timedelta(seconds=1)
    for refused in (early, late, now):
        assert refused["action"] is None
        assert problems(refused) == [("occurredAt", "OUTSIDE_WINDOW")]
    assert await own_totals(graphql, code, world.year) == counted(2)


async def test_a_client_id_of_any_length_is_accepted(
    graphql: GraphQLClient, new_section: NewSection, world: World
) -> None:
    # given a section and an anonymous client whose id is long (the API puts no limit on it)
    code = await section_in(graphql, new_section, world)
    values = action_input(world, world.first, client="c" * 200)

    # when it records an action, then resends it
    first = await record(graphql, code, values)
    second = await record(graphql, code, values)

    # then the action is recorded once and replayed
    assert first["errors"] == [], first
    assert first["replayed"] is False
    assert second == {"action": first["action"], "replayed": True, "errors": []}
    assert await own_totals(graphql, code, world.year) == counted(1)


# --- who may record, and through which channel --------------------------------------------


async def test_an_is_analyst_cannot_record(
    graphql: GraphQLClient, new_section: NewSection, world: World
) -> None:
    # given a section of the campaign
    code = await section_in(graphql, new_section, world)
    before = await snapshot(graphql, world, code)

    # when an IS analyst records an action at its endpoint
    response = await graphql.post(
        ACTION_RECORD,
        {"input": action_input(world, world.first)},
        role=Role.IS_ANALYST,
        section=code,
    )

    # then it is a top-level FORBIDDEN and nothing is counted
    assert response.status_code == 200
    assert top_level_codes(response) == ["FORBIDDEN"]
    assert response.json()["data"] is None
    assert await snapshot(graphql, world, code) == before


async def test_a_partner_app_records_through_its_own_channel(
    graphql: GraphQLClient, new_section: NewSection, world: World
) -> None:
    # given a section and a partner app's token bound to it
    code = await section_in(graphql, new_section, world)
    partner = {"role": Role.PARTNER_APP, "token_section": code}

    # when the app records an action (asking for the EVENT channel, which it may not choose)
    values = action_input(world, world.first, client=None, channel="EVENT", actionType="EMAIL")
    action = await recorded(graphql, code, values, **partner)

    # then it counts as a verified PARTNER_APP action
    assert action["channel"] == "PARTNER_APP"
    assert action["actionType"] == "EMAIL"
    assert action["verification"] == "VERIFIED"
    assert await own_totals(graphql, code, world.year) == counted(1)
    # and the token identifies the client: a resend is a replay
    assert (await record(graphql, code, values, **partner))["replayed"] is True


@pytest.mark.parametrize("role", [Role.SECTION_EDITOR, Role.SECTION_ADMIN])
async def test_section_staff_record_event_actions(
    graphql: GraphQLClient, new_section: NewSection, world: World, role: Role
) -> None:
    # given a section
    code = await section_in(graphql, new_section, world)

    # when its staff record an action at an event, and one with no channel
    event = await recorded(
        graphql,
        code,
        action_input(world, world.first, client=None, channel="EVENT"),
        role=role,
        token_section=code,
    )
    online = await recorded(
        graphql, code, action_input(world, world.first, client=None), role=role, token_section=code
    )

    # then the first is an EVENT action and the second ONLINE, both verified
    assert (event["channel"], event["verification"]) == ("EVENT", "VERIFIED")
    assert (online["channel"], online["verification"]) == ("ONLINE", "VERIFIED")
    cells = (await report(graphql, world.year, group_by=["CHANNEL"], **staff(code)))["cells"]
    assert sorted((found["channel"], found["quantity"]) for found in cells) == [
        ("EVENT", 1),
        ("ONLINE", 1),
    ]


@pytest.mark.parametrize("channel", ["IMPORT", "OFFLINE_REPORT", "PARTNER_APP"])
async def test_section_staff_cannot_record_other_channels(
    graphql: GraphQLClient, new_section: NewSection, world: World, channel: str
) -> None:
    # given a section
    code = await section_in(graphql, new_section, world)
    before = await snapshot(graphql, world, code)

    # when its admin records an action claiming a channel other than ONLINE or EVENT
    values = action_input(world, world.first, client=None, channel=channel)
    payload = await record(graphql, code, values, role=Role.SECTION_ADMIN, token_section=code)

    # then it is refused and nothing is counted
    assert payload["action"] is None
    assert problems(payload) == [("channel", "INVALID")]
    assert await snapshot(graphql, world, code) == before


# --- actionsImport -----------------------------------------------------------------------

IMPORT_ROWS = 1_000


async def test_actions_import_counts_each_row_once(
    graphql: GraphQLClient, new_section: NewSection, world: World
) -> None:
    # given a section and 1,000 rows over two cases with quantities from 1 to 13
    code = await section_in(graphql, new_section, world)
    rows = [
        import_row(world, world.featured[index % 2], quantity=index % 13 + 1)
        for index in range(IMPORT_ROWS)
    ]
    total = sum(row["quantity"] for row in rows)
    first_case = sum(row["quantity"] for row in rows if row["caseId"] == world.first.id)
    before = await snapshot(graphql, world, code)

    # when its admin imports them
    payload = await import_actions(graphql, code, rows)

    # then every row is created and the totals grow by their quantities
    assert payload["errors"] == []
    assert payload["batchId"] is not None
    assert (payload["created"], payload["replayed"], payload["quantity"]) == (
        IMPORT_ROWS,
        0,
        total,
    )
    assert await own_totals(graphql, code, world.year) == counted(total)
    after = await snapshot(graphql, world, code)
    assert after.cases[0]["quantity"] == before.cases[0]["quantity"] + first_case
    assert after.cases[1]["quantity"] == before.cases[1]["quantity"] + total - first_case
    cells = (await report(graphql, world.year, group_by=["CHANNEL"], **staff(code)))["cells"]
    assert [(found["channel"], found["quantity"]) for found in cells] == [("IMPORT", total)]

    # when the same batch is sent again
    again = await import_actions(graphql, code, rows)

    # then every row is a replay and nothing more counts
    assert again["errors"] == []
    assert (again["created"], again["replayed"], again["quantity"]) == (0, IMPORT_ROWS, 0)
    assert await snapshot(graphql, world, code) == after


CONCURRENT_IMPORTS = 5
CONCURRENT_IMPORT_ROWS = 200


async def test_identical_concurrent_imports_count_once(
    graphql: GraphQLClient, new_section: NewSection, world: World, app_engine: AsyncEngine
) -> None:
    # given a section and a batch of 200 rows of 2 actions each
    code = await section_in(graphql, new_section, world)
    rows = [import_row(world, world.first, quantity=2) for _ in range(CONCURRENT_IMPORT_ROWS)]
    total = 2 * CONCURRENT_IMPORT_ROWS

    # when the batch is sent 5 times at once
    payloads = await asyncio.gather(
        *(import_actions(graphql, code, rows) for _ in range(CONCURRENT_IMPORTS))
    )

    # then one import created every row; the others replayed them or were told to retry
    outcomes = sorted(
        (payload["created"], payload["replayed"], payload["quantity"], problems(payload))
        for payload in payloads
    )
    created = [outcome for outcome in outcomes if outcome[0] > 0]
    assert created == [(CONCURRENT_IMPORT_ROWS, 0, total, [])]
    for outcome in outcomes:
        assert outcome in (
            (CONCURRENT_IMPORT_ROWS, 0, total, []),
            (0, CONCURRENT_IMPORT_ROWS, 0, []),
            (0, 0, 0, [("actions", "IN_PROGRESS")]),
        ), outcome
    # and the rows count once
    assert await own_totals(graphql, code, world.year) == counted(total)
    await no_drift(app_engine)


async def test_a_batch_of_earlier_and_new_rows_counts_only_the_new_ones(
    graphql: GraphQLClient, new_section: NewSection, world: World, app_engine: AsyncEngine
) -> None:
    # given a section that imported 3 rows of 2 actions, times given in other offsets
    code = await section_in(graphql, new_section, world)
    hour_ago = datetime.now(UTC) - timedelta(hours=1)
    earlier = [
        import_row(world, world.first, quantity=2, occurred_at=hour_ago.astimezone(zone))
        for zone in (ZoneInfo("America/New_York"), ZoneInfo("Asia/Kolkata"), UTC)
    ]
    first = await import_actions(graphql, code, earlier)
    assert (first["errors"], first["created"]) == ([], 3)

    # when it imports those 3 rows again among 4 new ones of 5 actions
    rows = [import_row(world, world.featured[index % 2], quantity=5) for index in range(4)]
    rows[1:1] = earlier
    payload = await import_actions(graphql, code, rows)

    # then only the new rows are created and counted; the earlier ones are replays
    assert payload["errors"] == []
    assert (payload["created"], payload["replayed"], payload["quantity"]) == (4, 3, 20)
    assert await own_totals(graphql, code, world.year) == counted(6 + 20)
    await no_drift(app_engine)


TWO_IMPORTS = """
mutation ($first: ActionsImportInput!, $second: ActionsImportInput!) {
  first: actionsImport(input: $first) { created replayed quantity errors { field code } }
  second: actionsImport(input: $second) { created replayed quantity errors { field code } }
}
"""


async def test_two_imports_in_one_request_both_count(
    graphql: GraphQLClient, new_section: NewSection, world: World
) -> None:
    # given a section
    code = await section_in(graphql, new_section, world)

    # when one request imports a batch of 2 rows, then a batch of 3 (one of them bad)
    # and then the first batch again
    bad = [import_row(world, world.first), import_row(world, world.first, quantity=0)]
    good = [import_row(world, world.first, quantity=4) for _ in range(2)]
    data = await graphql.data(
        TWO_IMPORTS, {"first": {"actions": good}, "second": {"actions": bad}}, **staff(code)
    )
    again = await graphql.data(
        TWO_IMPORTS, {"first": {"actions": good}, "second": {"actions": good[:1]}}, **staff(code)
    )

    # then each import stands on its own: the bad one writes nothing, the replays count once
    assert data["first"] == {"created": 2, "replayed": 0, "quantity": 8, "errors": []}
    assert data["second"] == {
        "created": 0,
        "replayed": 0,
        "quantity": 0,
        "errors": [{"field": "actions.1.quantity", "code": "INVALID"}],
    }
    assert again["first"] == {"created": 0, "replayed": 2, "quantity": 0, "errors": []}
    assert again["second"] == {"created": 0, "replayed": 1, "quantity": 0, "errors": []}
    assert await own_totals(graphql, code, world.year) == counted(8)


BAD_ROWS: dict[str, tuple[dict[str, Any], list[tuple[Any, str]]]] = {
    "a case not featured": ({"caseId": NOT_FEATURED}, [("actions.3.caseId", "NOT_ALLOWED")]),
    "quantity 0": ({"quantity": 0}, [("actions.3.quantity", "INVALID")]),
    "quantity 100001": ({"quantity": 100_001}, [("actions.3.quantity", "INVALID")]),
    "a negative quantity": ({"quantity": -4}, [("actions.3.quantity", "INVALID")]),
    "a key of row 1": (
        {"idempotencyKey": "row-1"},
        [("actions.3.idempotencyKey", "ALREADY_EXISTS")],
    ),
    "a key used before for another row": (
        {"idempotencyKey": "used-before"},
        [("actions.3.idempotencyKey", "IDEMPOTENCY_KEY_REUSED")],
    ),
    "an empty key": ({"idempotencyKey": ""}, [("actions.3.idempotencyKey", "INVALID")]),
    "an unknown campaign": ({"campaign": NO_CAMPAIGN_YEAR}, [("actions.3.campaign", "NOT_FOUND")]),
    "a time before the window": (
        {"occurredAt": "1991-01-01T00:00:00+00:00"},
        [("actions.3.occurredAt", "OUTSIDE_WINDOW")],
    ),
}


@pytest.mark.parametrize("bad", list(BAD_ROWS))
async def test_actions_import_with_one_bad_row_writes_nothing(
    graphql: GraphQLClient, new_section: NewSection, world: World, bad: str
) -> None:
    # given a section that imported one row (key "used-before", quantity 3) earlier
    code = await section_in(graphql, new_section, world)
    earlier = await import_actions(
        graphql, code, [import_row(world, world.first, quantity=3, key="used-before")]
    )
    assert (earlier["errors"], earlier["created"]) == ([], 1)
    before = await snapshot(graphql, world, code)

    # when it imports five rows of which row 3 has one thing wrong
    rows = [
        import_row(world, world.featured[index % 2], quantity=5, key=f"row-{index}")
        for index in range(5)
    ]
    change, expected = BAD_ROWS[bad]
    if change.get("caseId") == NOT_FEATURED:
        change = {"caseId": world.unfeatured.id}
    rows[3] = {**rows[3], **change}
    payload = await import_actions(graphql, code, rows)

    # then the problem names the row and nothing is written
    assert (payload["batchId"], payload["created"], payload["quantity"]) == (None, 0, 0)
    assert problems(payload) == expected
    assert await snapshot(graphql, world, code) == before
    # and the good rows alone import afterwards (nothing of them was kept)
    good = await import_actions(graphql, code, rows[:3])
    assert (good["errors"], good["created"], good["replayed"]) == ([], 3, 0)


async def test_actions_import_names_every_bad_row(
    graphql: GraphQLClient, new_section: NewSection, world: World
) -> None:
    # given a section
    code = await section_in(graphql, new_section, world)
    before = await snapshot(graphql, world, code)

    # when it imports rows where rows 0 and 2 may not count, for different reasons
    rows = [
        import_row(world, world.unfeatured),
        import_row(world, world.first),
        import_row(world, world.first, occurred_at=window_start(world) - timedelta(days=1)),
    ]
    payload = await import_actions(graphql, code, rows)

    # then both rows are named and nothing is written
    assert problems(payload) == [
        ("actions.0.caseId", "NOT_ALLOWED"),
        ("actions.2.occurredAt", "OUTSIDE_WINDOW"),
    ]
    assert await snapshot(graphql, world, code) == before


@pytest.mark.parametrize(
    ("count", "expected"), [(0, [("actions", "REQUIRED")]), (10_001, [("actions", "TOO_LONG")])]
)
async def test_actions_import_refuses_no_rows_or_too_many(
    graphql: GraphQLClient,
    new_section: NewSection,
    world: World,
    count: int,
    expected: list[tuple[str, str]],
) -> None:
    # given a section
    code = await section_in(graphql, new_section, world)
    before = await snapshot(graphql, world, code)
    moment = at(datetime.now(UTC) - timedelta(hours=1))

    # when it imports no rows, or one more than 10,000
    rows = [
        {
            "campaign": world.year,
            "caseId": world.first.id,
            "actionType": "LETTER",
            "idempotencyKey": f"k{index}",
            "occurredAt": moment,
        }
        for index in range(count)
    ]
    payload = await import_actions(graphql, code, rows)

    # then it is refused and nothing is written
    assert (payload["batchId"], payload["created"]) == (None, 0)
    assert problems(payload) == expected
    assert await snapshot(graphql, world, code) == before


@pytest.mark.parametrize("role", [None, Role.IS_ANALYST])
async def test_actions_import_is_forbidden_to_anonymous_and_analysts(
    graphql: GraphQLClient, new_section: NewSection, world: World, role: Role | None
) -> None:
    # given a section
    code = await section_in(graphql, new_section, world)
    before = await snapshot(graphql, world, code)

    # when an anonymous caller or an IS analyst imports a row at its endpoint
    response = await graphql.post(
        ACTIONS_IMPORT,
        {"input": {"actions": [import_row(world, world.first, quantity=50)]}},
        role=role,
        section=code,
    )

    # then it is a top-level FORBIDDEN and nothing is written
    assert top_level_codes(response) == ["FORBIDDEN"]
    assert response.json()["data"] is None
    assert await snapshot(graphql, world, code) == before


# --- tallies -----------------------------------------------------------------------------


def tally_input(world: World, *, key: str | None = None, **overrides: Any) -> dict[str, Any]:
    """An anonymous supporter's ``TallyReportInput``: 12 letters and 3 solidarity cards."""
    return {
        "campaign": world.year,
        "lines": [
            {"caseId": world.first.id, "actionType": "LETTER", "quantity": 12},
            {"caseId": world.second.id, "actionType": "SOLIDARITY", "quantity": 3},
        ],
        "idempotencyKey": key or str(uuid.uuid4()),
        "clientId": "supporter-browser",
        "reporterName": "Ada Lovelace",
        "reporterEmail": "ada@example.org",
        "note": "Written at our school.",
        **overrides,
    }


async def report_tally(graphql: GraphQLClient, code: str, values: dict[str, Any]) -> Any:
    data = await graphql.data(TALLY_REPORT, {"input": values}, section=code)
    return data["tallyReport"]


async def decide(
    graphql: GraphQLClient, document: str, code: str, tally_id: str, **options: Any
) -> dict[str, Any]:
    caller = options or staff(code)
    data = await graphql.data(document, {"input": {"id": tally_id}}, **caller)
    payload: dict[str, Any] = next(iter(data.values()))
    return payload


async def tallies(graphql: GraphQLClient, code: str, state: str | None = None) -> list[Any]:
    data = await graphql.data(TALLIES, {"state": state}, **staff(code, Role.SECTION_EDITOR))
    nodes: list[Any] = data["tallies"]["nodes"]
    return nodes


async def test_a_tally_counts_once_approved(
    graphql: GraphQLClient, new_section: NewSection, world: World
) -> None:
    # given a section and a supporter's tally of 12 letters and 3 solidarity cards
    code = await section_in(graphql, new_section, world)
    before = await snapshot(graphql, world, code)
    values = tally_input(world)

    # when the supporter reports it
    payload = await report_tally(graphql, code, values)

    # then it is pending and counts nothing yet
    assert payload["errors"] == []
    assert payload["replayed"] is False
    tally = payload["tally"]
    assert tally["state"] == "PENDING"
    assert tally["reporterKind"] == "SUPPORTER"
    assert tally["reviewedAt"] is None
    assert tally["lines"] == [
        {"caseId": world.first.id, "actionType": "LETTER", "quantity": 12},
        {"caseId": world.second.id, "actionType": "SOLIDARITY", "quantity": 3},
    ]
    assert await snapshot(graphql, world, code) == before
    # and section staff see it with the reporter
    pending = {**tally, "reporterName": "Ada Lovelace", "reporterEmail": "ada@example.org"}
    pending["note"] = "Written at our school."
    assert await tallies(graphql, code, "PENDING") == [pending]
    assert await tallies(graphql, code, "APPROVED") == []

    # when it is sent again with the same key
    replay = await report_tally(graphql, code, values)

    # then the same tally comes back and no other is made
    assert replay == {"tally": tally, "replayed": True, "errors": []}
    assert await tallies(graphql, code) == [pending]

    # when section staff approve it
    approved = await decide(graphql, TALLY_APPROVE, code, tally["id"])

    # then it is approved and its lines count as self-reported actions
    assert approved["errors"] == []
    assert approved["tally"]["state"] == "APPROVED"
    assert approved["tally"]["reviewedAt"] is not None
    assert approved["tally"]["lines"] == tally["lines"]
    assert await own_totals(graphql, code, world.year) == counted(15, verified=0)
    after = await snapshot(graphql, world, code)
    first, second = before.cases[0], before.cases[1]
    assert after.cases[0] == {
        "quantity": first["quantity"] + 12,
        "verified": first["verified"],
        "selfReported": first["selfReported"] + 12,
    }
    assert after.cases[1] == {
        "quantity": second["quantity"] + 3,
        "verified": second["verified"],
        "selfReported": second["selfReported"] + 3,
    }
    cells = (await report(graphql, world.year, group_by=["CASE", "CHANNEL"], **staff(code)))[
        "cells"
    ]
    assert sorted((cell["caseId"], cell["channel"], cell["quantity"]) for cell in cells) == sorted(
        [(world.first.id, "OFFLINE_REPORT", 12), (world.second.id, "OFFLINE_REPORT", 3)]
    )
    assert [node["state"] for node in await tallies(graphql, code)] == ["APPROVED"]

    # when it is approved (or rejected) again
    twice = await decide(graphql, TALLY_APPROVE, code, tally["id"])
    rejected = await decide(graphql, TALLY_REJECT, code, tally["id"])

    # then both are refused and it counts once
    for refused in (twice, rejected):
        assert refused["tally"] is None
        assert problems(refused) == [("id", "NOT_ALLOWED")]
    assert await snapshot(graphql, world, code) == after


async def test_a_rejected_tally_never_counts(
    graphql: GraphQLClient, new_section: NewSection, world: World
) -> None:
    # given a section with a pending tally
    code = await section_in(graphql, new_section, world)
    before = await snapshot(graphql, world, code)
    tally = (await report_tally(graphql, code, tally_input(world)))["tally"]

    # when its admin rejects it
    rejected = await decide(graphql, TALLY_REJECT, code, tally["id"])

    # then it is rejected and counts nothing
    assert rejected["errors"] == []
    assert rejected["tally"]["state"] == "REJECTED"
    assert rejected["tally"]["reviewedAt"] is not None
    assert await snapshot(graphql, world, code) == before
    # and it cannot be approved afterwards
    approved = await decide(graphql, TALLY_APPROVE, code, tally["id"])
    assert problems(approved) == [("id", "NOT_ALLOWED")]
    assert await snapshot(graphql, world, code) == before
    assert [node["state"] for node in await tallies(graphql, code, "REJECTED")] == ["REJECTED"]
    assert await tallies(graphql, code, "PENDING") == []


async def test_concurrent_decisions_decide_a_tally_once(
    graphql: GraphQLClient, new_section: NewSection, world: World
) -> None:
    # given a section with a pending tally of 15 actions
    code = await section_in(graphql, new_section, world)
    tally = (await report_tally(graphql, code, tally_input(world)))["tally"]

    # when its staff approve it three times and reject it three times, all at once
    documents = [TALLY_APPROVE, TALLY_REJECT] * 3
    payloads = await asyncio.gather(
        *(decide(graphql, document, code, tally["id"]) for document in documents)
    )

    # then exactly one decision is taken; the others are refused
    decided = [payload["tally"]["state"] for payload in payloads if payload["tally"] is not None]
    assert len(decided) == 1
    for payload in payloads:
        assert payload["tally"] is not None or problems(payload) == [("id", "NOT_ALLOWED")]
    # and the tally counts once if approved, never if rejected
    state = decided[0]
    assert [node["state"] for node in await tallies(graphql, code)] == [state]
    expected = counted(15, verified=0) if state == "APPROVED" else NOTHING
    assert await own_totals(graphql, code, world.year) == expected


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ({"quantity": 0}, [("lines.1.quantity", "INVALID")]),
        ({"quantity": 100_001}, [("lines.1.quantity", "INVALID")]),
        ({"caseId": NOT_FEATURED}, [("lines.1.caseId", "NOT_ALLOWED")]),
    ],
)
async def test_a_tally_with_a_bad_line_is_refused(
    graphql: GraphQLClient,
    new_section: NewSection,
    world: World,
    line: dict[str, Any],
    expected: list[tuple[str, str]],
) -> None:
    # given a section
    code = await section_in(graphql, new_section, world)
    values = tally_input(world)
    if line.get("caseId") == NOT_FEATURED:
        line = {"caseId": world.unfeatured.id}
    values["lines"][1] = {**values["lines"][1], **line}

    # when a supporter reports a tally with one bad line
    payload = await report_tally(graphql, code, values)

    # then it is refused and no tally is kept
    assert payload["tally"] is None
    assert problems(payload) == expected
    assert await tallies(graphql, code) == []


MAX_TALLY_LINES = 50
TALLY_REFUSALS: dict[str, tuple[Callable[[World], dict[str, Any]], list[tuple[Any, str]]]] = {
    "no lines": (lambda world: {"lines": []}, [("lines", "REQUIRED")]),
    "51 lines": (
        lambda world: {
            "lines": [
                {"caseId": world.first.id, "actionType": "LETTER", "quantity": 1}
                for _ in range(MAX_TALLY_LINES + 1)
            ]
        },
        [("lines", "TOO_LONG")],
    ),
    "an unknown campaign": (
        lambda world: {"campaign": NO_CAMPAIGN_YEAR},
        [("campaign", "NOT_FOUND")],
    ),
    "an invalid email": (
        lambda world: {"reporterEmail": "not-an-email"},
        [("reporterEmail", "INVALID")],
    ),
    "a name of 201 characters": (
        lambda world: {"reporterName": "n" * 201},
        [("reporterName", "TOO_LONG")],
    ),
    "anonymous as section staff": (
        lambda world: {"reporterKind": "SECTION_STAFF"},
        [("reporterKind", "INVALID")],
    ),
    "anonymous without a client id": (lambda world: {"clientId": None}, [("clientId", "REQUIRED")]),
    "an empty key": (lambda world: {"idempotencyKey": ""}, [("idempotencyKey", "INVALID")]),
}


@pytest.mark.parametrize("refusal", list(TALLY_REFUSALS))
async def test_a_refused_tally_keeps_nothing(
    graphql: GraphQLClient, new_section: NewSection, world: World, refusal: str
) -> None:
    # given a section
    code = await section_in(graphql, new_section, world)
    change, expected = TALLY_REFUSALS[refusal]
    before = await snapshot(graphql, world, code)

    # when an anonymous supporter reports a tally with one thing wrong
    payload = await report_tally(graphql, code, {**tally_input(world), **change(world)})

    # then it is refused with the problem, no tally is kept and nothing counts
    assert (payload["tally"], payload["replayed"]) == (None, False)
    assert problems(payload) == expected
    assert await tallies(graphql, code) == []
    assert await snapshot(graphql, world, code) == before


async def test_reporters_and_tallies_are_for_section_staff_only(
    graphql: GraphQLClient, new_section: NewSection, world: World
) -> None:
    # given a section with a pending tally
    code = await section_in(graphql, new_section, world)
    tally = (await report_tally(graphql, code, tally_input(world)))["tally"]

    # when an anonymous caller lists the tallies
    listing = await graphql.post(TALLIES, {"state": "PENDING"}, section=code)

    # then it is FORBIDDEN
    assert top_level_codes(listing) == ["FORBIDDEN"]
    assert listing.json()["data"] is None

    # when an anonymous supporter reports a tally and asks for the reporter's name back
    response = await graphql.post(
        TALLY_REPORT_WITH_REPORTER, {"input": tally_input(world)}, section=code
    )

    # then the name is FORBIDDEN and the whole request is undone
    assert top_level_codes(response) == ["FORBIDDEN"]
    assert [error["path"] for error in response.json()["errors"]] == [
        ["tallyReport", "tally", "reporterName"]
    ]
    assert [node["id"] for node in await tallies(graphql, code)] == [tally["id"]]


async def test_a_section_cannot_see_or_decide_another_sections_tally(
    graphql: GraphQLClient, new_section: NewSection, world: World
) -> None:
    # given sections A and B, and a pending tally in A
    first = await section_in(graphql, new_section, world)
    second = await section_in(graphql, new_section, world)
    tally = (await report_tally(graphql, first, tally_input(world)))["tally"]
    before = await snapshot(graphql, world, first)

    # when B's staff list their tallies and approve or reject A's at B's endpoint
    listed = await tallies(graphql, second)
    approved = await decide(graphql, TALLY_APPROVE, second, tally["id"])
    rejected = await decide(graphql, TALLY_REJECT, second, tally["id"])

    # then B sees none and A's tally is not found there
    assert listed == []
    for refused in (approved, rejected):
        assert refused["tally"] is None
        assert problems(refused) == [("id", "NOT_FOUND")]
    # and it is still pending in A, counting nothing anywhere
    assert [node["state"] for node in await tallies(graphql, first)] == ["PENDING"]
    assert await snapshot(graphql, world, first) == before
    assert await own_totals(graphql, second, world.year) == NOTHING


@pytest.mark.parametrize("role", [None, Role.PARTNER_APP, Role.IS_ANALYST])
async def test_only_staff_decide_a_tally(
    graphql: GraphQLClient, new_section: NewSection, world: World, role: Role | None
) -> None:
    # given a section with a pending tally
    code = await section_in(graphql, new_section, world)
    tally = (await report_tally(graphql, code, tally_input(world)))["tally"]
    before = await snapshot(graphql, world, code)

    # when another kind of caller approves it
    token_section = code if role is Role.PARTNER_APP else None
    response = await graphql.post(
        TALLY_APPROVE,
        {"input": {"id": tally["id"]}},
        role=role,
        token_section=token_section,
        section=code,
    )

    # then it is FORBIDDEN and the tally stays pending
    assert top_level_codes(response) == ["FORBIDDEN"]
    assert [node["state"] for node in await tallies(graphql, code)] == ["PENDING"]
    assert await snapshot(graphql, world, code) == before


# --- totals views --------------------------------------------------------------------------


@dataclass(frozen=True)
class Views:
    """A campaign of its own with cases X and Y. Section A (GB): X 10 letters imported,
    2 emails recorded online, Y 6 self-reported letters imported. Section B (FR): X 10
    letters imported. Every import an hour ago, so the day is yesterday or today."""

    world: World
    first: str
    second: str


async def create_section(graphql: GraphQLClient, **overrides: Any) -> str:
    code = unique_code()
    values = section_input(code, **overrides)
    data = await graphql.data(SECTION_CREATE, {"input": values}, role=Role.IS_ADMIN)
    assert data["sectionCreate"]["errors"] == [], data
    return code


@pytest.fixture(scope="module")
async def views(module_graphql: GraphQLClient) -> Views:
    graphql = module_graphql
    world = await open_campaign(graphql, featured=2)
    x, y = world.featured
    first = await create_section(graphql)
    second = await create_section(graphql, country="FR", languages=["fr"], timeZone="Europe/Paris")
    for code in (first, second):
        await join(graphql, code, world)
    moment = datetime.now(UTC) - timedelta(hours=1)
    imported = await import_actions(
        graphql,
        first,
        [
            import_row(world, x, quantity=10, occurred_at=moment),
            import_row(world, y, quantity=6, occurred_at=moment, isVerified=False),
        ],
    )
    assert imported["errors"] == [], imported
    for _ in range(2):
        await recorded(graphql, first, action_input(world, x, actionType="EMAIL"))
    imported = await import_actions(
        graphql, second, [import_row(world, x, quantity=10, occurred_at=moment)]
    )
    assert imported["errors"] == [], imported
    return Views(world=world, first=first, second=second)


def cell(**values: Any) -> dict[str, Any]:
    """A totals cell: ``values`` over the empty one; amounts from ``quantity``/``verified``."""
    quantity = values.pop("quantity", None)
    verified = values.pop("verified", quantity)
    amounts: dict[str, Any] = {"quantity": None, "verified": None, "selfReported": None}
    if quantity is not None:
        amounts = {"quantity": quantity, "verified": verified, "selfReported": quantity - verified}
    return {**EMPTY_CELL, **amounts, **values}


def by_dimensions(cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(cells, key=lambda found: [str(found[name]) for name in EMPTY_CELL])


@pytest.mark.parametrize("role", [Role.IS_ANALYST, Role.IS_ADMIN])
async def test_the_is_view_shows_every_section(
    graphql: GraphQLClient, views: Views, role: Role
) -> None:
    # given actions of sections A and B on the views campaign
    # when IS staff read the totals by section in the global scope
    totals = await report(graphql, views.world.year, group_by=["SECTION"], role=role)

    # then both sections' cells are there and the report sums them exactly
    assert amounts(totals) == counted(28, verified=22)
    assert (totals["sectionsCount"], totals["countriesCount"]) == (2, 2)
    assert totals["minimumCellSize"] == 5
    assert by_dimensions(totals["cells"]) == by_dimensions(
        [
            cell(sectionCode=views.first, quantity=18, verified=12),
            cell(sectionCode=views.second, quantity=10),
        ]
    )
    # and by country and by case
    by_country = await report(graphql, views.world.year, group_by=["COUNTRY"], role=role)
    assert by_dimensions(by_country["cells"]) == by_dimensions(
        [cell(country="GB", quantity=18, verified=12), cell(country="FR", quantity=10)]
    )
    x, y = views.world.featured
    by_case = await report(graphql, views.world.year, group_by=["CASE"], role=role)
    assert by_dimensions(by_case["cells"]) == by_dimensions(
        [cell(caseId=x.id, quantity=22), cell(caseId=y.id, quantity=6, verified=0)]
    )


async def test_the_is_view_withholds_small_cells_but_not_the_sum(
    graphql: GraphQLClient, views: Views
) -> None:
    # given A's 2 emails (fewer than the minimum cell size of 5)
    # when an IS analyst reads the totals by section and action type
    totals = await report(graphql, views.world.year, group_by=["SECTION", "ACTION_TYPE"])

    # then A's email cell is withheld while the report's amounts stay exact
    assert amounts(totals) == counted(28, verified=22)
    assert by_dimensions(totals["cells"]) == by_dimensions(
        [
            cell(sectionCode=views.first, actionType="EMAIL", isSuppressed=True),
            cell(sectionCode=views.first, actionType="LETTER", quantity=16, verified=10),
            cell(sectionCode=views.second, actionType="LETTER", quantity=10),
        ]
    )


@pytest.mark.parametrize("role", [Role.SECTION_ADMIN, Role.SECTION_EDITOR])
async def test_a_sections_view_is_its_own_and_whole(
    graphql: GraphQLClient, views: Views, role: Role
) -> None:
    # given actions of sections A and B
    # when A's staff read the totals at A's endpoint by section, then by action type
    by_section = await report(
        graphql, views.world.year, group_by=["SECTION"], **staff(views.first, role)
    )
    by_type = await report(
        graphql, views.world.year, group_by=["ACTION_TYPE"], **staff(views.first, role)
    )

    # then they see A only, small cells included
    assert amounts(by_section) == counted(18, verified=12)
    assert (by_section["sectionsCount"], by_section["countriesCount"]) == (1, 1)
    assert by_section["minimumCellSize"] == 0
    assert by_section["cells"] == [cell(sectionCode=views.first, quantity=18, verified=12)]
    assert by_dimensions(by_type["cells"]) == by_dimensions(
        [cell(actionType="EMAIL", quantity=2), cell(actionType="LETTER", quantity=16, verified=10)]
    )
    # and asking for B's cells at A's endpoint shows nothing of B
    only_b = await report(
        graphql,
        views.world.year,
        group_by=["SECTION"],
        filter={"sections": [views.second]},
        **staff(views.first, role),
    )
    assert amounts(only_b) == NOTHING
    assert only_b["cells"] == []
    assert only_b["sectionsCount"] == 0


async def test_case_totals_are_public_and_worldwide(graphql: GraphQLClient, views: Views) -> None:
    # given actions of A and B on case X, and of A only on case Y
    x, y = views.world.featured
    year = views.world.year

    # when anyone reads the cases' totals at any endpoint
    for section in (None, views.first, views.second):
        # then X counts A's and B's actions, Y A's self-reported ones
        assert await case_totals(graphql, x, year, section) == counted(22)
        assert await case_totals(graphql, y, year, section) == counted(6, verified=0)


@pytest.mark.parametrize(
    ("filter", "expected", "sections"),
    [
        ({"cases": ["Y"]}, counted(6, verified=0), 1),
        ({"sections": ["B"]}, counted(10), 1),
        ({"sections": ["A", "B"]}, counted(28, verified=22), 2),
        ({"actionTypes": ["EMAIL"]}, counted(2), 1),
        ({"actionTypes": ["EMAIL", "LETTER"]}, counted(28, verified=22), 2),
        ({"channels": ["ONLINE"]}, counted(2), 1),
        ({"channels": ["IMPORT"]}, counted(26, verified=20), 2),
        ({"verification": "SELF_REPORTED"}, counted(6, verified=0), 1),
        ({"verification": "VERIFIED"}, counted(22), 2),
        ({"cases": ["X"], "sections": ["A"], "actionTypes": ["LETTER"]}, counted(10), 1),
        ({"actionTypes": ["FAX"]}, NOTHING, 0),
    ],
)
async def test_the_totals_filters(
    graphql: GraphQLClient,
    views: Views,
    filter: dict[str, Any],  # noqa: A002
    expected: dict[str, int],
    sections: int,
) -> None:
    # given actions of A and B (X, Y and A, B name the views' cases and sections)
    names = {
        "X": views.world.first.id,
        "Y": views.world.second.id,
        "A": views.first,
        "B": views.second,
    }
    resolved = {
        name: [names.get(value, value) for value in values] if isinstance(values, list) else values
        for name, values in filter.items()
    }

    # when an IS analyst reads the totals with a filter
    totals = await report(graphql, views.world.year, group_by=["SECTION"], filter=resolved)

    # then only the matching actions count
    assert amounts(totals) == expected
    assert totals["sectionsCount"] == sections
    assert len(totals["cells"]) == sections


@pytest.mark.parametrize(
    ("role", "section"),
    [
        (None, None),
        (None, "A"),
        (Role.PARTNER_APP, "A"),
        (Role.PARTNER_APP, None),
    ],
)
async def test_totals_are_forbidden_to_others(
    graphql: GraphQLClient, views: Views, role: Role | None, section: str | None
) -> None:
    # given the views campaign
    code = None if section is None else views.first
    token_section = views.first if role is Role.PARTNER_APP else None

    # when an anonymous caller or a partner app asks, at A's endpoint or at /graphql
    response = await graphql.post(
        TOTALS,
        {"campaign": views.world.year},
        role=role,
        token_section=token_section,
        section=code,
    )

    # then it is FORBIDDEN
    assert top_level_codes(response) == ["FORBIDDEN"]
    assert response.json()["data"] is None


async def test_a_section_token_at_the_global_endpoint_reads_its_own_section(
    graphql: GraphQLClient, views: Views
) -> None:
    # given actions of sections A and B
    # when A's admin asks for the totals at /graphql (the token names the section)
    totals = await report(
        graphql,
        views.world.year,
        group_by=["SECTION"],
        role=Role.SECTION_ADMIN,
        token_section=views.first,
    )

    # then it is A's own view, whole
    assert amounts(totals) == counted(18, verified=12)
    assert totals["minimumCellSize"] == 0
    assert totals["cells"] == [cell(sectionCode=views.first, quantity=18, verified=12)]


async def test_totals_of_an_unknown_campaign_are_not_found(graphql: GraphQLClient) -> None:
    # given a year without a campaign
    year = await free_year(graphql)

    # when an IS analyst asks for its totals
    response = await graphql.post(TOTALS, {"campaign": year}, role=Role.IS_ANALYST)

    # then it is NOT_FOUND
    assert top_level_codes(response) == ["NOT_FOUND"]


async def test_the_day_is_the_sections_day(
    graphql: GraphQLClient, new_section: NewSection, world: World
) -> None:
    # given a section in Sydney
    code = await section_in(graphql, new_section, world, country="AU", timeZone="Australia/Sydney")
    day = today() - timedelta(days=2)

    # when actions happen at 23:30 and at 09:00 UTC two days ago
    late = datetime.combine(day, time(23, 30), UTC)
    early = datetime.combine(day, time(9, 0), UTC)
    for moment in (late, early, early):
        await recorded(graphql, code, action_input(world, world.first, occurredAt=at(moment)))

    # then the late one counts for the next day in Sydney, the early ones for that day
    totals = await report(graphql, world.year, group_by=["DAY"], **staff(code))
    assert totals["cells"] == [
        cell(day=day.isoformat(), quantity=2),
        cell(day=(day + timedelta(days=1)).isoformat(), quantity=1),
    ]
    # and the IS view and the day filters agree
    is_view = await report(
        graphql, world.year, group_by=["SECTION", "DAY"], filter={"sections": [code]}
    )
    assert [(found["day"], found["isSuppressed"]) for found in is_view["cells"]] == [
        (day.isoformat(), True),
        ((day + timedelta(days=1)).isoformat(), True),
    ]
    assert amounts(is_view) == counted(3)
    next_day = (day + timedelta(days=1)).isoformat()
    only_next = await report(
        graphql, world.year, filter={"fromDay": next_day, "toDay": next_day}, **staff(code)
    )
    assert amounts(only_next) == counted(1)
