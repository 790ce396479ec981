"""Recording actions against a real server: actionRecord from concurrent clients, and
actionsImport batches; then the totals are checked to be exact and the rollups reconciled.

    python bench/ledger.py [--clients 20] [--actions 2000] [--batch 10000] [--rounds 3]

Starts an embedded PostgreSQL in a temporary directory (deleted at the end), migrates it,
and serves the app with uvicorn in a subprocess on 127.0.0.1 (one worker, the default pool),
so the load generator in this process does not take the server's CPU. One campaign open
today, one published case, one section featuring it; every action goes to that case (the
hottest rollup row). Warm-up first, then ``--rounds`` rounds; medians are reported.

Writes bench/results/ledger.json and prints a table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from common import (
    CAMPAIGN_CREATE,
    CASE_CREATE,
    CASE_PUBLISH,
    HEADERS,
    SECTION_CAMPAIGN_UPDATE,
    SECTION_CREATE,
    Caller,
    embedded_database,
    local_issuer,
    median,
    serve,
)
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import create_async_engine

from w4r.platform.auth import Role, TokenIssuer
from w4r.platform.database import Database, app_role_url, create_engine
from w4r.settings import Settings
from w4r.totals.service import reconcile

RESULTS = Path(__file__).parent / "results" / "ledger.json"
SECTION_CODE = "bnc"
IMPORTER = "bench-importer"
"""The token subject of the import rounds (their keys' client is derived from it)."""

ACTION_RECORD = """
mutation ($input: ActionRecordInput!) {
  actionRecord(input: $input) { action { id } replayed errors { field code message } }
}
"""
ACTIONS_IMPORT = """
mutation ($input: ActionsImportInput!) {
  actionsImport(input: $input) { created replayed quantity errors { field code message } }
}
"""
CASE_TOTALS = """
query ($id: UUID!, $year: Int!) {
  case(id: $id) { totals(campaign: $year) { quantity verified selfReported } }
}
"""


# --- the world ---------------------------------------------------------------------------


@dataclass(frozen=True)
class World:
    year: int
    case_id: str


async def set_up(caller: Caller) -> World:
    """A campaign whose window contains today, a published case, a section featuring it."""
    admin = caller.token(Role.IS_ADMIN)
    today = datetime.now(UTC).date()
    year = today.year
    starts, ends = today - timedelta(days=10), today + timedelta(days=10)
    await caller.mutate(
        CAMPAIGN_CREATE,
        "campaignCreate",
        {
            "year": year,
            "name": f"Write for Rights {year} (benchmark)",
            "startsOn": starts.isoformat(),
            "endsOn": ends.isoformat(),
            "status": "OPEN",
        },
        admin,
    )
    case = await caller.mutate(
        CASE_CREATE,
        "caseCreate",
        {
            "slug": "bench-case",
            "subjectKind": "PERSON",
            "subjectName": "Benchmark Subject",
            "country": "GB",
            "themes": ["FREEDOM_OF_EXPRESSION"],
            "sourceLanguage": "en",
            "sourceText": {"title": "Benchmark case", "summary": "A case to count actions for."},
            "campaignYears": [year],
        },
        admin,
    )
    case_id: str = case["case"]["id"]
    await caller.mutate(CASE_PUBLISH, "casePublish", {"id": case_id}, admin)
    await caller.mutate(
        SECTION_CREATE,
        "sectionCreate",
        {
            "code": SECTION_CODE,
            "name": "Benchmark section",
            "country": "GB",
            "languages": ["en"],
            "timeZone": "Europe/London",
        },
        admin,
    )
    await caller.mutate(
        SECTION_CAMPAIGN_UPDATE,
        "sectionCampaignUpdate",
        {"year": year, "featuredCaseSlugs": ["bench-case"]},
        caller.token(Role.SECTION_ADMIN, SECTION_CODE),
        f"/s/{SECTION_CODE}/graphql",
    )
    return World(year=year, case_id=case_id)


# --- (a) actionRecord from concurrent clients ----------------------------------------------


@dataclass
class RecordRound:
    actions: int
    seconds: float
    latencies: list[float]

    @property
    def requests_per_second(self) -> float:
        return self.actions / self.seconds

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def record_round(caller: Caller, world: World, clients: int, actions: int) -> RecordRound:
    """``actions`` actionRecord calls from ``clients`` concurrent clients (each its own
    token subject, so its own idempotency keys), every one with a fresh key."""
    tokens = [
        caller.token(Role.SECTION_ADMIN, SECTION_CODE, subject=f"bench-client-{index}")
        for index in range(clients)
    ]
    remaining = iter(range(actions))
    latencies: list[float] = []
    path = f"/s/{SECTION_CODE}/graphql"

    async def client(token: str) -> None:
        headers = {**HEADERS, "authorization": f"Bearer {token}"}
        for _ in remaining:
            variables = {
                "input": {
                    "campaign": world.year,
                    "caseId": world.case_id,
                    "actionType": "LETTER",
                    "idempotencyKey": str(uuid.uuid4()),
                }
            }
            started = time.perf_counter()
            response = await caller.http.post(
                path, json={"query": ACTION_RECORD, "variables": variables}, headers=headers
            )
            latencies.append(time.perf_counter() - started)
            payload = response.json()["data"]["actionRecord"]
            if payload["errors"] or payload["replayed"]:
                raise SystemExit(f"actionRecord refused: {payload}")

    started = time.perf_counter()
    await asyncio.gather(*(client(token) for token in tokens))
    return RecordRound(actions, time.perf_counter() - started, latencies)


# --- (b) actionsImport batches -------------------------------------------------------------


@dataclass
class ImportRound:
    rows: int
    seconds: float
    body_bytes: int

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds


def import_rows(world: World, count: int) -> list[dict[str, Any]]:
    """``count`` rows with UUID keys; defaults (quantity 1, verified) left out and times
    to the second, so 10,000 rows stay under the default 2 MiB request limit."""
    occurred = (datetime.now(UTC) - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return [
        {
            "campaign": world.year,
            "caseId": world.case_id,
            "actionType": "LETTER",
            "idempotencyKey": str(uuid.uuid4()),
            "occurredAt": occurred,
        }
        for _ in range(count)
    ]


async def import_round(caller: Caller, world: World, rows: int) -> ImportRound:
    token = caller.token(Role.SECTION_ADMIN, SECTION_CODE, subject=IMPORTER)
    body = json.dumps(
        {"query": ACTIONS_IMPORT, "variables": {"input": {"actions": import_rows(world, rows)}}},
        separators=(",", ":"),
    ).encode()
    started = time.perf_counter()
    response = await caller.http.post(
        f"/s/{SECTION_CODE}/graphql",
        content=body,
        headers={**HEADERS, "authorization": f"Bearer {token}", "content-type": "application/json"},
    )
    seconds = time.perf_counter() - started
    answer = response.json()
    payload = (answer.get("data") or {}).get("actionsImport")
    if payload is None or payload["errors"] or payload["created"] != rows:
        raise SystemExit(f"actionsImport refused ({response.status_code}): {str(answer)[:500]}")
    return ImportRound(rows, seconds, len(body))


# --- (c) exactness -------------------------------------------------------------------------


async def check_exactness(
    caller: Caller, world: World, admin_url: URL, expected: int
) -> dict[str, Any]:
    """The case's public totals and its ledger rows against the accepted actions, and a
    reconciliation of every rollup against the ledger (as the app role)."""
    data = await caller.data(
        CASE_TOTALS, {"id": world.case_id, "year": world.year}, caller.token(Role.IS_ADMIN)
    )
    totals = data["case"]["totals"]
    owner = create_async_engine(admin_url)
    try:
        async with owner.connect() as connection:
            row = (
                await connection.execute(
                    text(
                        "SELECT count(*), coalesce(sum(quantity), 0) FROM actions "
                        "WHERE case_id = :id"
                    ),
                    {"id": world.case_id},
                )
            ).one()
    finally:
        await owner.dispose()
    database = Database(create_engine(app_role_url(admin_url, None), pool_size=1, max_overflow=0))
    try:
        report = await reconcile(database, repair=False)
    finally:
        await database.dispose()
    return {
        "accepted_actions": expected,
        "case_totals": totals,
        "ledger_rows": row[0],
        "ledger_quantity": row[1],
        "exact": totals["quantity"] == expected == row[1] and totals["verified"] == expected,
        "reconcile_sections": report.sections,
        "reconcile_cells": report.cells,
        "reconcile_drift": len(report.drift),
    }


# --- the run -------------------------------------------------------------------------------


async def measure(
    base: str, issuer: TokenIssuer, admin_url: URL, arguments: argparse.Namespace
) -> dict[str, Any]:
    limits = httpx.Limits(
        max_connections=arguments.clients, max_keepalive_connections=arguments.clients
    )
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=300.0) as http:
        caller = Caller(http, issuer)
        world = await set_up(caller)
        accepted = 0

        warm_up_actions = min(arguments.actions, 10 * arguments.clients)
        await record_round(caller, world, arguments.clients, warm_up_actions)
        accepted += warm_up_actions
        records: list[RecordRound] = []
        for _ in range(arguments.rounds):
            records.append(await record_round(caller, world, arguments.clients, arguments.actions))
            accepted += arguments.actions

        warm_up_rows = min(arguments.batch, 1000)
        await import_round(caller, world, warm_up_rows)
        accepted += warm_up_rows
        imports: list[ImportRound] = []
        for _ in range(arguments.rounds):
            imports.append(await import_round(caller, world, arguments.batch))
            accepted += arguments.batch

        exactness = await check_exactness(caller, world, admin_url, accepted)

    settings = Settings(_env_file=None)
    return {
        "benchmark": "ledger",
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "server": "uvicorn subprocess, 1 worker, 127.0.0.1; embedded PostgreSQL (Unix socket)",
        "database_pool": [settings.database_pool_size, settings.database_max_overflow],
        "clients": arguments.clients,
        "actions_per_round": arguments.actions,
        "batch_rows": arguments.batch,
        "rounds": arguments.rounds,
        "action_record": {
            "requests_per_second_median": median([r.requests_per_second for r in records]),
            "p50_ms_median": median([1000 * r.percentile(0.50) for r in records]),
            "p99_ms_median": median([1000 * r.percentile(0.99) for r in records]),
            "rounds": [
                {
                    "seconds": r.seconds,
                    "requests_per_second": r.requests_per_second,
                    "p50_ms": 1000 * r.percentile(0.50),
                    "p99_ms": 1000 * r.percentile(0.99),
                    "max_ms": 1000 * max(r.latencies),
                }
                for r in records
            ],
        },
        "actions_import": {
            "rows_per_second_median": median([r.rows_per_second for r in imports]),
            "seconds_per_call_median": median([r.seconds for r in imports]),
            "body_bytes": imports[0].body_bytes if imports else 0,
            "rounds": [
                {"seconds": r.seconds, "rows_per_second": r.rows_per_second} for r in imports
            ],
        },
        "exactness": exactness,
    }


def table(report: dict[str, Any]) -> str:
    record, batch, exact = report["action_record"], report["actions_import"], report["exactness"]
    rows = [
        ("measure", "median of rounds"),
        (
            f"actionRecord, {report['clients']} clients: requests/s",
            f"{record['requests_per_second_median']:,.0f}",
        ),
        ("actionRecord latency p50 (ms)", f"{record['p50_ms_median']:.1f}"),
        ("actionRecord latency p99 (ms)", f"{record['p99_ms_median']:.1f}"),
        (
            f"actionsImport, {report['batch_rows']:,} rows a call: rows/s",
            f"{batch['rows_per_second_median']:,.0f}",
        ),
        ("actionsImport seconds a call", f"{batch['seconds_per_call_median']:.2f}"),
        (
            "case totals = accepted actions",
            f"{exact['case_totals']['quantity']:,} = {exact['accepted_actions']:,}"
            f" ({'exact' if exact['exact'] else 'MISMATCH'})",
        ),
        (
            "reconcile: cells with drift",
            f"{exact['reconcile_drift']} of {exact['reconcile_cells']}",
        ),
    ]
    width = max(len(name) for name, _ in rows)
    lines = [f"| {name:{width}} | {value} |" for name, value in rows]
    lines.insert(1, f"|{'-' * (width + 2)}|---|")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--actions", type=int, default=2000, help="actionRecord calls a round")
    parser.add_argument("--batch", type=int, default=10_000, help="rows per actionsImport call")
    parser.add_argument("--rounds", type=int, default=3)
    arguments = parser.parse_args()

    started = time.monotonic()
    load_before = os.getloadavg()[0]  # other work on the machine skews the figures
    key_json, issuer = local_issuer()
    with embedded_database() as (workdir, admin_url), serve(admin_url, key_json, workdir) as base:
        print(
            f"server: uvicorn subprocess at {base} (client load runs in this process, "
            "so it does not take the server's CPU); embedded PostgreSQL in a "
            "temporary directory"
        )
        report = asyncio.run(measure(base, issuer, admin_url, arguments))
    report["wall_seconds"] = time.monotonic() - started
    report["load_average_1m"] = {"before": load_before, "after": os.getloadavg()[0]}
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(table(report))
    print(f"({report['wall_seconds']:.0f} s in all; raw: bench/results/{RESULTS.name})")
    if not report["exactness"]["exact"] or report["exactness"]["reconcile_drift"]:
        raise SystemExit("totals are not exact")


if __name__ == "__main__":
    main()
