"""Big answers in one process: the IS totals (4,320 cells) and the partner case list, with
w4r's executor and with graphql-core's own, interleaved.

The world is the one bench/compare.py builds (its cases, sections and ledger, through the
API), served by the real application in this process through httpx's ASGI transport, so the
figures are the server's own time per request (HTTP handling, SQL, execution, JSON) with no
network and no load tool. Each round runs ``--requests`` requests one after another with one
executor, then the same with the other; the figures are the medians of the rounds. First,
without HTTP or SQL, the GraphQL completion of 4,320 totals cells alone, the same way.

    python bench/big_answers.py [--database-url postgresql://postgres@127.0.0.1:5432/postgres]
        [--actions 100000] [--rounds 5] [--requests 20] [--profile]

Without ``--database-url`` it starts an embedded PostgreSQL; with it, a fresh database is
created on that server and dropped at the end. ``--profile`` prints a cProfile of the IS
totals with w4r's executor. Writes bench/results/big_answers.json (another ``--actions``:
big_answers-<actions>.json).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import json
import platform
import pstats
import secrets
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import strawberry
from common import HEADERS, RESULTS_DIR, Caller, bench_database, local_issuer
from compare import IS_TOTALS, PARTNER_CASE_LIST, PROFILES, World, libpq_url, load_ledger, set_up
from sqlalchemy.engine import URL
from starlette.applications import Starlette
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

import w4r.app
from w4r.platform.auth import Role, TokenIssuer
from w4r.platform.bootstrap import DatabaseTarget
from w4r.platform.database import app_role_url
from w4r.schema.api import build_schema
from w4r.schema.execution import LeafListExecutionContext
from w4r.schema.totals.types import TotalsCell
from w4r.settings import Settings

DEFAULT_ACTIONS = 100_000
EXECUTORS = {
    "w4r": LeafListExecutionContext,
    "graphql-core": StrawberryGraphQLCoreExecutionContext,
}


@contextlib.asynccontextmanager
async def application(
    admin_url: URL, signing_key: str, data_dir: Path
) -> AsyncIterator[tuple[Starlette, Any]]:
    """The production app in this process, and the schema it serves."""
    settings = Settings(
        _env_file=None,
        environment="production",
        database_url=admin_url.render_as_string(hide_password=False),
        data_dir=data_dir,
        migrate_on_start=False,
        local_signing_key=signing_key,
        log_level="WARNING",
        ip_budget_points=1_000_000_000,
        supporter_hash_key=secrets.token_hex(32),
        webhook_secret_key=secrets.token_hex(32),
    )
    built: list[Any] = []

    def keep(settings: Settings) -> Any:
        schema = build_schema(settings)
        built.append(schema)
        return schema

    # create_app builds its schema itself: keep a handle on it to switch executors.
    vars(w4r.app)["build_schema"] = keep
    try:
        app = w4r.app.create_app(
            settings, target=DatabaseTarget(admin_url, app_role_url(admin_url, None))
        )
    finally:
        vars(w4r.app)["build_schema"] = build_schema
    async with app.router.lifespan_context(app):
        yield app, built[0]


async def timed_requests(
    http: httpx.AsyncClient, path: str, body: bytes, headers: dict[str, str], count: int
) -> float:
    """Milliseconds per request over ``count`` requests in a row."""
    started = time.perf_counter()
    for _ in range(count):
        response = await http.post(path, content=body, headers=headers)
        if response.status_code != 200:
            raise SystemExit(f"{path}: {response.status_code} {response.text[:300]}")
    return (time.perf_counter() - started) * 1000 / count


async def measure(
    admin_url: URL, signing_key: str, issuer: TokenIssuer, arguments: argparse.Namespace
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="w4r-bench-data-") as directory:
        async with application(admin_url, signing_key, Path(directory)) as (app, schema):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
                caller = Caller(http, issuer)
                world: World = await set_up(caller, PROFILES["full"], libpq_url(admin_url))
                present = 10 * sum(range(1, len(world.case_ids) + 1))
                await load_ledger(libpq_url(admin_url), world, present, arguments.actions)
                loads = {
                    "is_totals": (
                        "/graphql",
                        {"query": IS_TOTALS, "variables": {"year": world.year}},
                        caller.token(Role.IS_ANALYST),
                    ),
                    "partner_case_list": (
                        "/graphql",
                        {
                            "query": PARTNER_CASE_LIST,
                            "variables": {
                                "year": world.year,
                                "language": world.languages[0],
                                "first": len(world.case_ids),
                            },
                        },
                        issuer.issue(Role.PARTNER_APP, subject="bench-partner", ttl_seconds=3600),
                    ),
                }
                return await rounds(http, schema, loads, arguments)


async def rounds(
    http: httpx.AsyncClient,
    schema: Any,
    loads: dict[str, tuple[str, dict[str, Any], str]],
    arguments: argparse.Namespace,
) -> dict[str, Any]:
    report: dict[str, Any] = {}
    for name, (path, payload, token) in loads.items():
        body = json.dumps(payload).encode()
        headers = {
            **HEADERS,
            "content-type": "application/json",
            "authorization": f"Bearer {token}",
        }
        # Compared: the data (the extensions carry the request's cost and budget, which move).
        answers = {}
        for executor, executor_class in EXECUTORS.items():
            schema.execution_context_class = executor_class
            response = await http.post(path, content=body, headers=headers)
            answer = response.json()
            if response.status_code != 200 or answer.get("errors"):
                raise SystemExit(f"{name}: {response.status_code} {str(answer)[:500]}")
            answers[executor] = (answer, len(response.content))
        if answers["w4r"][0]["data"] != answers["graphql-core"][0]["data"]:
            raise SystemExit(f"{name}: the executors' answers differ")
        samples: dict[str, list[float]] = {executor: [] for executor in EXECUTORS}
        for _ in range(arguments.rounds):  # interleaved, so drift affects both alike
            for executor, executor_class in EXECUTORS.items():
                schema.execution_context_class = executor_class
                samples[executor].append(
                    await timed_requests(http, path, body, headers, arguments.requests)
                )
        medians = {executor: statistics.median(values) for executor, values in samples.items()}
        report[name] = {
            "response_bytes": answers["w4r"][1],
            "ms_per_request_median": medians,
            "requests_per_second": {executor: 1000 / ms for executor, ms in medians.items()},
            "samples_ms": samples,
            "speedup": medians["graphql-core"] / medians["w4r"],
        }
        if name == "is_totals":
            report[name]["cells"] = len(answers["w4r"][0]["data"]["totals"]["cells"])
        if arguments.profile and name == "is_totals":
            schema.execution_context_class = EXECUTORS["w4r"]
            profiler = cProfile.Profile()
            profiler.enable()
            await timed_requests(http, path, body, headers, arguments.requests)
            profiler.disable()
            pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    schema.execution_context_class = EXECUTORS["w4r"]
    return report


@strawberry.type
class CellsQuery:
    cells: list[TotalsCell]


CELLS_QUERY = """
{ cells { caseId sectionCode actionType day quantity verified selfReported isSuppressed } }
"""


def completion(arguments: argparse.Namespace) -> dict[str, Any]:
    """GraphQL completion alone (no HTTP, no SQL): the benchmark's 4,320 cells, as the
    totals resolver hands them over, executed by each executor."""
    last_day = date(2025, 12, 10)
    cells = [
        TotalsCell(
            case_id=uuid.UUID(int=case),
            section_code=section,
            action_type=kind,
            channel=None,
            day=last_day - timedelta(days=day),
            country=None,
            is_suppressed=False,
            quantity=23,
            verified=13,
            self_reported=10,
        )
        for case in range(12)
        for section in ("bnc", "bnd", "bne", "bnf")
        for kind in ("email", "letter", "petition-signature")
        for day in range(30)
    ]
    root = CellsQuery(cells=cells)
    schemas = {
        name: strawberry.federation.Schema(query=CellsQuery, execution_context_class=executor)
        for name, executor in EXECUTORS.items()
    }
    answers = {
        name: schema.execute_sync(CELLS_QUERY, root_value=root) for name, schema in schemas.items()
    }
    if answers["w4r"].data != answers["graphql-core"].data or answers["w4r"].errors:
        raise SystemExit("completion: the executors' answers differ")
    samples: dict[str, list[float]] = {name: [] for name in schemas}
    for _ in range(arguments.rounds):
        for name, schema in schemas.items():
            started = time.perf_counter()
            for _ in range(arguments.requests):
                schema.execute_sync(CELLS_QUERY, root_value=root)
            samples[name].append((time.perf_counter() - started) * 1000 / arguments.requests)
    medians = {name: statistics.median(values) for name, values in samples.items()}
    return {
        "cells": len(cells),
        "ms_per_request_median": medians,
        "samples_ms": samples,
        "speedup": medians["graphql-core"] / medians["w4r"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="admin URL of a PostgreSQL server to use")
    parser.add_argument("--actions", type=int, default=DEFAULT_ACTIONS)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--profile", action="store_true")
    arguments = parser.parse_args()
    signing_key, issuer = local_issuer()
    completed = completion(arguments)
    with bench_database(arguments.database_url) as admin_url:
        measured = asyncio.run(measure(admin_url, signing_key, issuer, arguments))
    report = {
        "benchmark": "big_answers",
        "python": platform.python_version(),
        "actions": arguments.actions,
        "rounds": arguments.rounds,
        "requests_per_round": arguments.requests,
        "completion_of_cells": completed,
        **measured,
    }
    suffix = "" if arguments.actions == DEFAULT_ACTIONS else f"-{arguments.actions}"
    output = RESULTS_DIR / f"big_answers{suffix}.json"
    output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    for name in ("completion_of_cells", "is_totals", "partner_case_list"):
        figures = report[name]
        for executor, ms in figures["ms_per_request_median"].items():
            print(f"{name:18} {executor:13} {ms:8.1f} ms/request  {1000 / ms:7.1f} requests/s")
        print(f"{name:18} {'speedup':13} {figures['speedup']:8.2f}x")
    print(f"(raw: bench/results/{output.name})")


if __name__ == "__main__":
    main()
