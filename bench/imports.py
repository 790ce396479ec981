"""actionsImport in one process: 10,000-row calls through the real HTTP and GraphQL stack,
timed per call (wall and CPU), with the time of each SQL statement; then exactness.

The world is bench/ledger.py's (one campaign open today, one published case, one section
featuring it, made through the API), served by the production application in this process
through httpx's ASGI transport: no network, no load tool, and the process's CPU time is the
server's plus the little the caller does once the body is built (sending it, reading the
answer). A 1,000-row warm-up call first, then ``--rounds`` calls, each with a fresh batch.

    python bench/imports.py [--database-url postgresql://postgres@127.0.0.1:5432/postgres]
        [--batch 10000] [--rounds 5]

Without ``--database-url`` it starts an embedded PostgreSQL; with it, a fresh database is
created on that server and dropped at the end. After the rounds, the case's imported ledger
rows, their quantity and their claimed keys must each equal the rows accepted. Writes
bench/results/imports.json (or ``--output``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import ledger
from big_answers import application
from common import HEADERS, RESULTS_DIR, Caller, bench_database, local_issuer, median
from compare import imported_on_case, libpq_url
from sqlalchemy import event
from sqlalchemy.engine import URL

from w4r.platform.auth import Role, TokenIssuer

RESULTS = RESULTS_DIR / "imports.json"


class StatementClock:
    """Wall time of every SQL statement the app's engine runs (COPY is not one of them)."""

    def __init__(self, engine: Any) -> None:
        self.statements: list[tuple[float, str]] = []
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, connection: Any, *_: Any) -> None:
        connection.info["statement_started"] = time.perf_counter()

    def _after(self, connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
        took = time.perf_counter() - connection.info.pop("statement_started")
        self.statements.append((took, " ".join(statement.split())[:70]))

    def take(self) -> list[tuple[float, str]]:
        taken, self.statements = self.statements, []
        return taken


async def import_call(
    http: httpx.AsyncClient, world: ledger.World, token: str, rows: int
) -> tuple[float, float]:
    """One actionsImport of ``rows`` fresh rows: (wall seconds, CPU seconds of this
    process), from sending the built body to reading the answer."""
    body = json.dumps(
        {
            "query": ledger.ACTIONS_IMPORT,
            "variables": {"input": {"actions": ledger.import_rows(world, rows)}},
        },
        separators=(",", ":"),
    ).encode()
    headers = {**HEADERS, "authorization": f"Bearer {token}", "content-type": "application/json"}
    started, cpu = time.perf_counter(), time.process_time()
    response = await http.post(f"/s/{ledger.SECTION_CODE}/graphql", content=body, headers=headers)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
    payload = (response.json().get("data") or {}).get("actionsImport")
    if payload is None or payload["errors"] or payload["created"] != rows:
        raise SystemExit(f"actionsImport refused ({response.status_code}): {response.text[:500]}")
    return seconds, cpu_seconds


async def measure(
    admin_url: URL, signing_key: str, issuer: TokenIssuer, arguments: argparse.Namespace
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="w4r-bench-") as data_dir:
        async with application(admin_url, signing_key, Path(data_dir)) as (app, _):
            clock = StatementClock(app.state.graphql_services.database.engine.sync_engine)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://127.0.0.1", timeout=300.0
            ) as http:
                caller = Caller(http, issuer)
                world = await ledger.set_up(caller)
                token = caller.token(Role.SECTION_ADMIN, ledger.SECTION_CODE, ledger.IMPORTER)
                before = await imported_on_case(libpq_url(admin_url), world.case_id)
                warm_up = min(arguments.batch, 1000)
                await import_call(http, world, token, warm_up)
                rounds: list[dict[str, Any]] = []
                for _ in range(arguments.rounds):
                    clock.take()
                    seconds, cpu = await import_call(http, world, token, arguments.batch)
                    statements = clock.take()
                    rounds.append(
                        {
                            "seconds": seconds,
                            "rows_per_second": arguments.batch / seconds,
                            "cpu_seconds": cpu,
                            "sql_seconds": sum(took for took, _ in statements),
                            "statements": [
                                {"ms": round(1000 * took, 1), "sql": sql}
                                for took, sql in statements
                            ],
                        }
                    )
                after = await imported_on_case(libpq_url(admin_url), world.case_id)
    accepted = warm_up + arguments.batch * arguments.rounds
    grown = [now - earlier for now, earlier in zip(after, before, strict=True)]
    return {
        "rounds": rounds,
        "accepted_rows": accepted,
        "ledger_rows_quantity_keys": grown,
        "exact": grown == [accepted] * 3,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--database-url", help="admin URL of a PostgreSQL server to use")
    parser.add_argument("--batch", type=int, default=10_000, help="rows per call")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--output", type=Path, default=RESULTS, help="the JSON results")
    arguments = parser.parse_args()
    signing_key, issuer = local_issuer()
    with bench_database(arguments.database_url) as admin_url:
        measured = asyncio.run(measure(admin_url, signing_key, issuer, arguments))
    rounds = measured["rounds"]
    report = {
        "benchmark": "imports",
        "python": platform.python_version(),
        "batch_rows": arguments.batch,
        "seconds_median": median([r["seconds"] for r in rounds]),
        "rows_per_second_median": median([r["rows_per_second"] for r in rounds]),
        "cpu_seconds_median": median([r["cpu_seconds"] for r in rounds]),
        "sql_seconds_median": median([r["sql_seconds"] for r in rounds]),
        **measured,
    }
    arguments.output.parent.mkdir(exist_ok=True)
    arguments.output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    for number, figures in enumerate(rounds, 1):
        print(
            f"round {number}: {figures['seconds']:.2f} s a call, "
            f"{figures['rows_per_second']:,.0f} rows/s, CPU {figures['cpu_seconds']:.2f} s, "
            f"SQL {figures['sql_seconds']:.2f} s"
        )
    print(
        f"median: {report['seconds_median']:.2f} s a call, "
        f"{report['rows_per_second_median']:,.0f} rows/s, CPU {report['cpu_seconds_median']:.2f} s,"
        f" SQL {report['sql_seconds_median']:.2f} s; exact: {measured['exact']} "
        f"(raw: {arguments.output})"
    )
    if not measured["exact"]:
        raise SystemExit(f"not exact: {measured['ledger_rows_quantity_keys']}")


if __name__ == "__main__":
    main()
