"""Reconciling the rollups with the ledger: ``w4r.totals.service.reconcile`` and the
``w4r totals reconcile`` command, on the shared test database.

Reconciliation reads every section of the database, so these tests assert that there is no
drift anywhere before they make some on purpose (through the owner connection: the app role
cannot write a wrong rollup), and they repair it before they end.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.actions.test_ledger_api import (
    LONDON,
    NewSection,
    World,
    action_input,
    at,
    case_totals,
    counted,
    join,
    open_campaign,
    own_totals,
    recorded,
    today,
)
from tests.conftest import GraphQLClient
from w4r.cli import main
from w4r.platform.database import Database
from w4r.totals.service import Drift, ReconcileReport, reconcile

CORRUPTION = 7
KEY_COLUMNS = "campaign_id, case_id, action_type, channel, verification, day"

CORRUPT_CASE_ROLLUP = text(
    f"UPDATE case_rollups SET quantity = quantity + {CORRUPTION} WHERE ctid IN "
    "(SELECT ctid FROM case_rollups WHERE case_id = :id LIMIT 1) "
    f"RETURNING {KEY_COLUMNS}"
)
CORRUPT_SECTION_ROLLUP = text(
    f"UPDATE action_rollups SET quantity = quantity + {CORRUPTION} WHERE ctid IN "
    "(SELECT ctid FROM action_rollups WHERE section_id = :id LIMIT 1) "
    f"RETURNING {KEY_COLUMNS}"
)
CAMPAIGN_ID = text("SELECT id FROM campaigns WHERE year = :year")

Key = tuple[uuid.UUID, uuid.UUID, str, str, str, date]


@dataclass(frozen=True)
class Ledger:
    """A campaign with one case that only this test counts for: section A's 3 letters and
    section B's 2 emails, all online and verified, yesterday at noon UTC."""

    world: World
    first: dict[str, Any]
    second: dict[str, Any]
    letters: Key
    emails: Key

    @property
    def cells(self) -> dict[Key, tuple[int, int]]:
        """The ledger's (quantity, rows) by rollup key."""
        return {self.letters: (3, 3), self.emails: (2, 2)}


async def record_actions(
    graphql: GraphQLClient, new_section: NewSection, owner_engine: AsyncEngine
) -> Ledger:
    world = await open_campaign(graphql, featured=1)
    first = await new_section()
    second = await new_section()
    for section in (first, second):
        await join(graphql, section["code"], world)
    moment = datetime.combine(today() - timedelta(days=1), time(12), UTC)
    for section, kind, count in ((first, "LETTER", 3), (second, "EMAIL", 2)):
        for _ in range(count):
            values = action_input(world, world.first, actionType=kind, occurredAt=at(moment))
            await recorded(graphql, section["code"], values)
    async with owner_engine.connect() as connection:
        found = await connection.execute(CAMPAIGN_ID, {"year": world.year})
        campaign_id = uuid.UUID(str(found.scalar_one()))
    case_id = uuid.UUID(world.first.id)
    day = moment.astimezone(LONDON).date()
    return Ledger(
        world=world,
        first=first,
        second=second,
        letters=(campaign_id, case_id, "letter", "online", "verified", day),
        emails=(campaign_id, case_id, "email", "online", "verified", day),
    )


def key_of(row: Any) -> Key:
    """A rollup key as reconciliation names it (ids as UUIDs, enum values as text)."""
    campaign_id, case_id, kind, channel, verification, day = row
    return (
        uuid.UUID(str(campaign_id)),
        uuid.UUID(str(case_id)),
        str(kind),
        str(channel),
        str(verification),
        day,
    )


async def corrupt(owner_engine: AsyncEngine, ledger: Ledger) -> tuple[Key, Key]:
    """Add 7 to one rollup row of the case and one of section A; returns their keys."""
    async with owner_engine.begin() as connection:
        case_row = (
            await connection.execute(CORRUPT_CASE_ROLLUP, {"id": ledger.world.first.id})
        ).one()
        section_row = (
            await connection.execute(CORRUPT_SECTION_ROLLUP, {"id": ledger.first["id"]})
        ).one()
    return key_of(case_row), key_of(section_row)


async def reconciled(app_engine: AsyncEngine, *, repair: bool) -> ReconcileReport:
    return await reconcile(Database(app_engine), repair=repair)


async def test_reconcile_reports_exactly_the_drift_and_repairs_it(
    graphql: GraphQLClient,
    new_section: NewSection,
    app_engine: AsyncEngine,
    owner_engine: AsyncEngine,
) -> None:
    # given actions recorded through the API in two sections
    actions = await record_actions(graphql, new_section, owner_engine)
    ledger = actions.cells

    # when the rollups are reconciled with the ledger
    clean = await reconciled(app_engine, repair=False)

    # then there is no drift anywhere
    assert clean.drift == []
    assert clean.repaired is False
    assert clean.sections >= 2
    assert clean.cells >= 2 * len(ledger)

    # given one of the case's worldwide rollup rows and one of section A's, each 7 too high
    case_key, section_key = await corrupt(owner_engine, actions)
    assert case_key in ledger
    assert section_key == actions.letters
    case_year = actions.world.year
    assert await case_totals(graphql, actions.world.first, case_year) == counted(5 + CORRUPTION)
    assert await own_totals(graphql, actions.first["code"], case_year) == counted(3 + CORRUPTION)

    # when they are reconciled without repair
    found = await reconciled(app_engine, repair=False)

    # then exactly those two cells are reported, with the ledger's and the rollups' amounts
    quantity, rows = ledger[case_key]
    expected = [
        Drift("action_rollups", actions.first["code"], section_key, (3, 3), (3 + CORRUPTION, 3)),
        Drift("case_rollups", None, case_key, (quantity, rows), (quantity + CORRUPTION, rows)),
    ]
    assert found.drift == expected
    assert found.repaired is False
    # and nothing was changed
    assert (await reconciled(app_engine, repair=False)).drift == expected

    # when they are reconciled with repair
    repaired = await reconciled(app_engine, repair=True)

    # then the same drift is reported and repaired
    assert repaired.drift == expected
    assert repaired.repaired is True
    # and afterwards there is none, and the totals are the ledger's again
    after = await reconciled(app_engine, repair=False)
    assert after.drift == []
    assert after.repaired is False
    assert await case_totals(graphql, actions.world.first, case_year) == counted(5)
    assert await own_totals(graphql, actions.first["code"], case_year) == counted(3)
    assert await own_totals(graphql, actions.second["code"], case_year) == counted(2)


async def test_repairing_a_clean_database_changes_nothing(
    graphql: GraphQLClient,
    new_section: NewSection,
    app_engine: AsyncEngine,
    owner_engine: AsyncEngine,
) -> None:
    # given actions recorded through the API and no drift
    actions = await record_actions(graphql, new_section, owner_engine)
    assert (await reconciled(app_engine, repair=False)).drift == []

    # when the rollups are reconciled with repair
    report = await reconciled(app_engine, repair=True)

    # then there was nothing to repair and the totals are unchanged
    assert report.drift == []
    assert report.repaired is False
    year = actions.world.year
    assert await case_totals(graphql, actions.world.first, year) == counted(5)
    assert (await reconciled(app_engine, repair=False)).drift == []


# --- the command -----------------------------------------------------------------------------


async def command(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str]]:
    """Run ``w4r argv`` in-process (in a thread: it runs its own event loop); returns its
    exit status and the lines it printed."""
    status = await asyncio.to_thread(main, list(argv))
    return status, capsys.readouterr().out.splitlines()


@pytest.mark.usefixtures("cli_env")
async def test_the_command_exits_1_with_drift_and_0_when_clean(
    graphql: GraphQLClient,
    new_section: NewSection,
    app_engine: AsyncEngine,
    owner_engine: AsyncEngine,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # given actions recorded through the API and no drift anywhere
    actions = await record_actions(graphql, new_section, owner_engine)
    assert (await reconciled(app_engine, repair=False)).drift == []

    # when the command reconciles
    status, lines = await command(capsys, "totals", "reconcile")

    # then it exits 0 and reports no drift
    assert status == 0
    assert len(lines) == 1
    assert lines[0].startswith("Checked ")
    assert lines[0].endswith(" sections against the ledger: 0 with drift.")

    # given one of section A's rollup rows 7 too high (and one of the case's)
    case_key, section_key = await corrupt(owner_engine, actions)
    case_amounts = actions.cells[case_key]

    # when the command reconciles
    status, lines = await command(capsys, "totals", "reconcile")

    # then it exits 1 and lists both cells
    assert status == 1
    campaign, case, kind, channel, verification, day = section_key
    assert lines[1:] == [
        f"  action_rollups {actions.first['code']} campaign={campaign} case={case} "
        f"{kind}/{channel}/{verification} {day}: ledger 3 actions in 3 rows, "
        f"rollups {3 + CORRUPTION} in 3",
        f"  case_rollups worldwide campaign={case_key[0]} case={case_key[1]} "
        f"{case_key[2]}/{case_key[3]}/{case_key[4]} {case_key[5]}: ledger {case_amounts[0]} "
        f"actions in {case_amounts[1]} rows, rollups {case_amounts[0] + CORRUPTION} in "
        f"{case_amounts[1]}",
    ]
    assert lines[0].endswith(": 2 with drift.")

    # when it reconciles with --repair
    status, lines = await command(capsys, "totals", "reconcile", "--repair")

    # then it exits 0 after repairing
    assert status == 0
    assert lines[0].endswith(": 2 with drift.")
    assert lines[-1] == "Repaired: corrections added to the rollups."

    # and a following run finds no drift
    status, lines = await command(capsys, "totals", "reconcile")
    assert status == 0
    assert lines[0].endswith(": 0 with drift.")
    assert (await reconciled(app_engine, repair=False)).drift == []
    assert await own_totals(graphql, actions.first["code"], actions.world.year) == counted(3)
