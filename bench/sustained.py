"""Sustained load: public actions and partner case-list reads at fixed rates, open loop.

    python bench/sustained.py [--seconds 300] [--action-rate 100] [--read-rate 200]
        [--database-url postgresql://postgres@127.0.0.1:5432/postgres] [--output ...]

One w4r server (uvicorn, one worker, production mode) on a fresh database: an embedded
PostgreSQL, or a new database on the server of ``--database-url``. The world is
bench/compare.py's (one open campaign, published cases with translations, outcomes and
totals; section ``bnc`` features them all). Two load-generator processes, so that neither
starves the other nor shares this process's interpreter:

- **actions**: anonymous ``actionRecord`` calls at ``bnc``'s endpoint, ``--action-rate``
  a second, each with a fresh idempotency key, from 100 simulated browsers (``clientId``),
  retried with the same key as bench/chaos.py's clients do;
- **reads**: the partner case list (bench/compare.py's ``cases`` query) as an anonymous
  caller at ``/graphql``, ``--read-rate`` a second, turning through the world's languages.

Open loop: request *i* is due at ``start + i / rate`` whatever happened to the others, and
its latency runs from that due time to its final answer, so a server that stalls is charged
for every request it delayed (no coordinated omission). A request is an error when it
needed a retry or did not end with a correct answer. Then every action the load recorded
goes through bench/chaos.py's verification (nothing acknowledged missing, nothing
duplicated or unsent, rollups equal to the ledger).

Writes the figures as JSON (``--output``) and prints them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import chaos
import httpx
import ledger
import uvloop
from common import (
    HEADERS,
    RESULTS_DIR,
    Caller,
    bench_database,
    check_reconcile,
    local_issuer,
    serve_w4r,
)
from compare import PARTNER_CASE_LIST, PROFILES, World, cpu_seconds, libpq_url, set_up
from sqlalchemy.engine import URL

RESULTS = RESULTS_DIR / "sustained.json"
BROWSERS = 100
"""Simulated browsers (``clientId``s) the actions come from."""
REQUEST_TIMEOUT_SECONDS = 10.0
ACTION_DEADLINE_SECONDS = 10.0
"""How long an action is retried (same key) before its answer is unknown."""
START_DELAY_SECONDS = 0.5
MAX_CONNECTIONS = 256
IDLE_SECONDS = 2.0
"""An idle connection older than this is closed, not reused (the server's keep-alive
timeout is 5 seconds: reusing one it is closing would fail a request)."""
TARGET_P95_MS = 250.0
TARGET_ERROR_RATE = 0.001


@dataclass(frozen=True)
class Spec:
    """What one generator process sends."""

    base: str
    rate: float
    seconds: float
    year: int
    case_ids: tuple[str, ...]
    languages: tuple[str, ...]
    client_prefix: str


@dataclass
class Samples:
    """Per request: its latency from its due time, and whether it succeeded first time."""

    latencies: list[float] = field(default_factory=list)
    succeeded: list[bool] = field(default_factory=list)
    sent_span: float = 0.0
    """Seconds from the first request sent to the last."""
    max_send_lag: float = 0.0
    """The latest any request was sent after its due time (the generator keeping up)."""
    history: chaos.History | None = None


async def open_loop(rate: float, seconds: float, one: Callable[[int], Awaitable[bool]]) -> Samples:
    """``rate * seconds`` calls of ``one``, each started at its due time (never waiting for
    earlier ones), timed from that due time."""
    loop = asyncio.get_running_loop()
    count = round(rate * seconds)
    samples = Samples(latencies=[0.0] * count, succeeded=[False] * count)
    start = loop.time() + START_DELAY_SECONDS
    first_sent = last_sent = start
    tasks: set[asyncio.Task[None]] = set()

    async def fire(index: int, due: float) -> None:
        try:
            samples.succeeded[index] = await one(index)
        except (TimeoutError, OSError, EOFError, ValueError, KeyError, TypeError):
            samples.succeeded[index] = False
        samples.latencies[index] = loop.time() - due

    for index in range(count):
        due = start + index / rate
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        now = loop.time()
        samples.max_send_lag = max(samples.max_send_lag, now - due)
        if index == 0:
            first_sent = now
        last_sent = now
        task = asyncio.create_task(fire(index, due))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    await asyncio.gather(*tasks)
    samples.sent_span = last_sent - first_sent
    return samples


class Connections:
    """HTTP/1.1 keep-alive connections to one server, for a load generator: a request takes
    an idle connection (or opens one, up to ``limit``), the most recently used first.

    httpx's pool looks at every queued request for every connection change, so a few hundred
    requests in flight take the generator's whole CPU and the generator, not the server,
    sets the latency. This client does one thing (POST a JSON body, read a Content-Length
    answer) with a few system calls a request."""

    def __init__(self, base: str, limit: int = MAX_CONNECTIONS) -> None:
        parsed = httpx.URL(base)
        self.host, self.port = parsed.host, parsed.port or 80
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []
        self.slots = asyncio.Semaphore(limit)

    async def _connection(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        loop = asyncio.get_running_loop()
        while self.idle:
            reader, writer, used = self.idle.pop()
            if loop.time() - used < IDLE_SECONDS and not reader.at_eof():
                return reader, writer
            writer.close()
        return await asyncio.open_connection(self.host, self.port)

    async def post(self, _base: str, path: str, body: bytes) -> tuple[int, bytes]:
        """:data:`chaos.Post`: (status, content); TimeoutError, OSError or EOFError when no
        answer came."""
        head = (
            f"POST {path} HTTP/1.1\r\nhost: {self.host}:{self.port}\r\n"
            f"content-type: application/json\r\naccept: {HEADERS['accept']}\r\n"
            f"content-length: {len(body)}\r\n\r\n"
        ).encode()
        async with self.slots:
            reader, writer = await self._connection()
            try:
                async with asyncio.timeout(REQUEST_TIMEOUT_SECONDS):
                    writer.write(head + body)
                    answer = await reader.readuntil(b"\r\n\r\n")
                    lines = answer.decode("latin-1").split("\r\n")
                    status = int(lines[0].split(" ", 2)[1])
                    fields = dict(line.lower().split(": ", 1) for line in lines[1:] if ": " in line)
                    content = await reader.readexactly(int(fields["content-length"]))
            except BaseException:
                writer.close()
                raise
            if fields.get("connection") == "close":
                writer.close()
            else:
                self.idle.append((reader, writer, asyncio.get_running_loop().time()))
            return status, content

    def close(self) -> None:
        for _, writer, _ in self.idle:
            writer.close()
        self.idle.clear()


async def _actions(spec: Spec) -> Samples:
    history = chaos.History(client_prefix=spec.client_prefix)
    progress = chaos.Progress(total=round(spec.rate * spec.seconds))
    path = f"/s/{ledger.SECTION_CODE}/graphql"
    connections = Connections(spec.base)

    async def one(index: int) -> bool:
        client_id = f"{spec.client_prefix}{index % BROWSERS:03d}"
        key = f"{spec.client_prefix}{index:07d}"
        case_id = spec.case_ids[index % len(spec.case_ids)]
        action_type = chaos.ACTION_TYPES[index % len(chaos.ACTION_TYPES)]
        variables = chaos.action_input(spec.year, case_id, action_type, key, client_id)
        deadline = time.monotonic() + ACTION_DEADLINE_SECONDS
        answer = await chaos.send(
            connections.post, [spec.base], 0, path, variables, deadline, progress
        )
        history.sent.append(chaos.Sent(client_id, key, case_id, action_type, answer))
        return answer.status == "ok" and answer.attempts == 1

    try:
        samples = await open_loop(spec.rate, spec.seconds, one)
    finally:
        connections.close()
    samples.history = history
    return samples


async def _reads(spec: Spec) -> Samples:
    bodies = [
        json.dumps(
            {
                "query": PARTNER_CASE_LIST,
                "variables": {"year": spec.year, "language": language, "first": len(spec.case_ids)},
            }
        ).encode()
        for language in spec.languages
    ]
    connections = Connections(spec.base)

    async def one(index: int) -> bool:
        status, content = await connections.post(spec.base, "/graphql", bodies[index % len(bodies)])
        answer = json.loads(content)
        if status != 200 or answer.get("errors"):
            return False
        return len(answer["data"]["cases"]["edges"]) == len(spec.case_ids)

    try:
        return await open_loop(spec.rate, spec.seconds, one)
    finally:
        connections.close()


def generate_actions(spec: Spec) -> Samples:
    """The actions generator (in its own process)."""
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(_actions(spec))


def generate_reads(spec: Spec) -> Samples:
    """The reads generator (in its own process)."""
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(_reads(spec))


# --- the figures -------------------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def figures(samples: Samples, rate: float) -> dict[str, Any]:
    """Latency percentiles (ms, from due times), error rate and achieved rate of one kind."""
    count = len(samples.latencies)
    errors = samples.succeeded.count(False)
    latencies_ms = [1000 * value for value in samples.latencies]
    return {
        "target_rate": rate,
        "requests": count,
        "achieved_rate": round((count - 1) / samples.sent_span, 1) if samples.sent_span else None,
        "p50_ms": round(percentile(latencies_ms, 0.50), 1),
        "p95_ms": round(percentile(latencies_ms, 0.95), 1),
        "p99_ms": round(percentile(latencies_ms, 0.99), 1),
        "max_ms": round(max(latencies_ms), 1),
        "mean_ms": round(statistics.fmean(latencies_ms), 1),
        "errors": errors,
        "error_rate": round(errors / count, 5),
        "max_send_lag_ms": round(1000 * samples.max_send_lag, 1),
        "meets_targets": percentile(latencies_ms, 0.95) < TARGET_P95_MS
        and errors / count < TARGET_ERROR_RATE,
    }


def tree_cpu_seconds(pid: int) -> float:
    """CPU time of the server: its process and its workers (uvicorn's supervisor's
    children), each from /proc."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return cpu_seconds(pid) + sum(cpu_seconds(int(child)) for child in children)


async def other_actions(admin_url: URL) -> int:
    """The ledger rows the world's set-up wrote (its imports), before the load."""
    connection = await asyncpg.connect(libpq_url(admin_url))
    try:
        return int(await connection.fetchval("SELECT count(*) FROM actions"))
    finally:
        await connection.close()


@dataclass(frozen=True)
class LoadPlan:
    seconds: float = 300.0
    action_rate: float = 100.0
    read_rate: float = 200.0
    world: str = "full"
    """bench/compare.py's profile whose world is built (cases, languages)."""
    workers: int = 2
    """uvicorn worker processes of the one server (see docs/reliability.md for why 2)."""


def sustained(plan: LoadPlan, database_url: str | None = None) -> dict[str, Any]:
    """One run (see the module's docstring): the figures, the verification's anomalies."""
    signing_key, issuer = local_issuer()
    with (
        bench_database(database_url) as admin_url,
        tempfile.TemporaryDirectory(prefix="w4r-load-") as directory,
        serve_w4r(
            admin_url,
            signing_key,
            Path(directory),
            settings=chaos.PUBLIC_ALLOWANCES,
            workers=plan.workers,
        ) as server,
    ):

        async def build() -> tuple[World, int]:
            async with httpx.AsyncClient(base_url=server.base, timeout=60.0) as http:
                caller = Caller(http, issuer)
                world = await set_up(caller, PROFILES[plan.world], libpq_url(admin_url))
            return world, await other_actions(admin_url)

        world, before = asyncio.run(build())
        prefix = f"load-{uuid.uuid4().hex[:8]}-"
        spec = Spec(
            server.base,
            plan.action_rate,
            plan.seconds,
            world.year,
            world.case_ids,
            world.languages,
            prefix,
        )
        read_spec = replace(spec, rate=plan.read_rate)
        load_before = os.getloadavg()[0]
        cpu_before = tree_cpu_seconds(server.pid)
        began = time.monotonic()
        with ProcessPoolExecutor(2, mp_context=get_context("spawn")) as pool:
            actions_future = pool.submit(generate_actions, spec)
            reads_future = pool.submit(generate_reads, read_spec)
            actions, reads = actions_future.result(), reads_future.result()
        wall = time.monotonic() - began
        server_cpu = tree_cpu_seconds(server.pid) - cpu_before
        load_after = os.getloadavg()[0]

        async def check() -> tuple[chaos.Verdict, dict[str, float]]:
            assert actions.history is not None
            stored = await chaos.read_stored(admin_url, prefix)
            verdict = chaos.verify(actions.history, stored, other_actions_expected=before)
            try:
                reconciled = await check_reconcile(admin_url)
            except SystemExit as drift:
                verdict.anomalies.append(str(drift))
                reconciled = {}
            return verdict, reconciled

        verdict, reconciled = asyncio.run(check())
    return {
        "plan": asdict(plan),
        "server": f"uvicorn, {plan.workers} worker(s), W4R_ENVIRONMENT=production",
        "database": "a fresh database on --database-url's server"
        if database_url
        else "embedded PostgreSQL (Unix socket)",
        "world": {"cases": len(world.case_ids), "languages": len(world.languages)},
        "actions": figures(actions, plan.action_rate),
        "reads": figures(reads, plan.read_rate),
        "verification": verdict.figures,
        "reconcile": reconciled,
        "anomalies": verdict.anomalies,
        "server_cpu_seconds": round(server_cpu, 1),
        "server_cpu_ms_per_request": round(
            1000 * server_cpu / (len(actions.latencies) + len(reads.latencies)), 2
        ),
        "server_cpu_share": round(server_cpu / wall, 2),
        "load_average_1m": {"before": load_before, "after": load_after},
        "cpus": os.cpu_count(),
        "wall_seconds": round(wall, 1),
        "date": datetime.now(UTC).date().isoformat(),
    }


def summary(result: dict[str, Any]) -> str:
    lines = []
    for kind in ("actions", "reads"):
        item = result[kind]
        lines.append(
            f"{kind}: {item['achieved_rate']}/s of {item['target_rate']}/s, p50 "
            f"{item['p50_ms']} ms, p95 {item['p95_ms']} ms, p99 {item['p99_ms']} ms, "
            f"errors {item['errors']}/{item['requests']}"
        )
    lines.append(f"{len(result['anomalies'])} anomalies; verification {result['verification']}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=300.0)
    parser.add_argument("--action-rate", type=float, default=100.0)
    parser.add_argument("--read-rate", type=float, default=200.0)
    parser.add_argument("--world", choices=sorted(PROFILES), default="full")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--database-url", help="a server's admin URL (default: embedded)")
    parser.add_argument("--output", type=Path, default=RESULTS)
    arguments = parser.parse_args()
    plan = LoadPlan(
        arguments.seconds,
        arguments.action_rate,
        arguments.read_rate,
        arguments.world,
        arguments.workers,
    )
    result = sustained(plan, arguments.database_url)
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    arguments.output.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(summary(result))
    for anomaly in result["anomalies"]:
        print(f"ANOMALY: {anomaly}")
    if result["anomalies"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
