"""What the benchmarks in this folder share: a free port on 127.0.0.1, servers in
subprocesses (w4r under uvicorn, or any other command), an embedded PostgreSQL, locally
signed tokens, and a GraphQL caller.

The benchmarks are scripts (``python bench/<name>.py``), so this module is imported by its
plain name: the script's folder is first on ``sys.path``.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.engine import URL

from w4r.platform import migrations
from w4r.platform.auth import Role, TokenIssuer, generate_signing_key
from w4r.platform.database import Database, app_role_url, create_engine
from w4r.platform.embedded import EmbeddedPostgres, start_embedded
from w4r.settings import Settings
from w4r.totals.service import reconcile

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = Path(__file__).resolve().parent / "results"
STARTUP_TIMEOUT_SECONDS = 60.0
HEADERS = {"accept": "application/graphql-response+json"}

CAMPAIGN_CREATE = """
mutation ($input: CampaignCreateInput!) {
  campaignCreate(input: $input) { campaign { year } errors { field code message } }
}
"""
CASE_CREATE = """
mutation ($input: CaseCreateInput!) {
  caseCreate(input: $input) { case { id slug } errors { field code message } }
}
"""
CASE_PUBLISH = """
mutation ($input: CasePublishInput!) {
  casePublish(input: $input) { case { id } errors { field code message } }
}
"""
SECTION_CREATE = """
mutation ($input: SectionCreateInput!) {
  sectionCreate(input: $input) { section { code } errors { field code message } }
}
"""
SECTION_CAMPAIGN_UPDATE = """
mutation ($input: SectionCampaignUpdateInput!) {
  sectionCampaignUpdate(input: $input) { errors { field code message } }
}
"""


def median(values: list[float]) -> float:
    return statistics.median(values)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


# --- servers in subprocesses -------------------------------------------------------------


@dataclass(frozen=True)
class Server:
    """A server subprocess listening on 127.0.0.1."""

    name: str
    base: str
    process: subprocess.Popen[bytes]

    @property
    def pid(self) -> int:
        return self.process.pid


def wait_until_ready(
    name: str, process: subprocess.Popen[bytes], base: str, is_ready: Callable[[str], bool]
) -> None:
    """Poll ``is_ready(base)`` until it holds; exit if the process dies or takes too long."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while True:
        if process.poll() is not None:
            raise SystemExit(f"{name} exited during startup ({process.returncode})")
        with contextlib.suppress(httpx.TransportError):
            if is_ready(base):
                return
        if time.monotonic() > deadline:
            raise SystemExit(f"{name} did not become ready")
        time.sleep(0.1)


@contextlib.contextmanager
def running(
    name: str,
    command: list[str],
    environment: dict[str, str],
    cwd: Path,
    port: int,
    is_ready: Callable[[str], bool],
) -> Iterator[Server]:
    """Start ``command``, wait until ``is_ready(base URL)``; stop it on leaving."""
    process = subprocess.Popen(command, env=environment, cwd=cwd)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(name, process, base, is_ready)
        yield Server(name, base, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def python_path() -> str:
    return os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])


def uvicorn_command(target: str, port: int, *extra: str) -> list[str]:
    """One uvicorn worker on 127.0.0.1, warnings only, no access log."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        *extra,
        target,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
        # As `w4r serve` runs it (w4r.cli.uvicorn_options).
        "--loop",
        "uvloop",
        "--http",
        "httptools",
    ]


def readyz(base: str) -> bool:
    return httpx.get(base + "/readyz", timeout=2.0).status_code == 200


@contextlib.contextmanager
def serve_w4r(
    admin_url: URL,
    signing_key: str,
    workdir: Path,
    name: str = "w4r",
    settings: dict[str, str] | None = None,
    workers: int = 1,
) -> Iterator[Server]:
    """``python -m uvicorn --factory w4r.app:create_app`` on 127.0.0.1, production mode,
    with ``settings`` (``W4R_*`` variables) on top of the benchmark's; ``workers`` above 1
    makes the process uvicorn's supervisor of that many worker processes."""
    port = free_port()
    environment = w4r_environment(admin_url, signing_key, workdir, settings)
    extra = ("--workers", str(workers)) if workers > 1 else ()
    command = uvicorn_command("w4r.app:create_app", port, "--factory", *extra)
    # cwd: the temporary directory, so no .env of the checkout is read
    with running(name, command, environment, workdir, port, readyz) as server:
        yield server


def w4r_environment(
    admin_url: URL, signing_key: str, workdir: Path, settings: dict[str, str] | None = None
) -> dict[str, str]:
    """The environment of a benchmark's w4r server: production mode on ``admin_url``'s
    database (already migrated), budgets no benchmark reaches, ``settings`` on top."""
    return {
        **os.environ,
        "W4R_DATABASE_URL": admin_url.render_as_string(hide_password=False),
        "W4R_MIGRATE_ON_START": "false",
        "W4R_LOCAL_SIGNING_KEY": signing_key,
        "W4R_DATA_DIR": str(workdir / "data"),
        "W4R_ENVIRONMENT": "production",
        "W4R_LOG_LEVEL": "WARNING",
        # Every simulated client calls from 127.0.0.1, and the writers share one API key:
        # measure throughput, not the budgets.
        "W4R_IP_BUDGET_POINTS": "1000000000",
        "W4R_API_KEY_BUDGET_POINTS": "1000000000",
        "W4R_SUPPORTER_HASH_KEY": secrets.token_hex(32),
        "W4R_WEBHOOK_SECRET_KEY": secrets.token_hex(32),
        "PYTHONPATH": python_path(),
        **(settings or {}),
    }


@contextlib.contextmanager
def serve(admin_url: URL, signing_key: str, workdir: Path) -> Iterator[str]:
    """:func:`serve_w4r`, yielding only its base URL."""
    with serve_w4r(admin_url, signing_key, workdir) as server:
        yield server.base


# --- the database and tokens ---------------------------------------------------------------


@contextlib.contextmanager
def embedded_database() -> Iterator[tuple[Path, URL]]:
    """A migrated embedded PostgreSQL in a temporary directory (deleted on leaving): yields
    that directory and the admin (superuser) URL."""
    with embedded_server() as (workdir, embedded):
        yield workdir, embedded.admin_url


@contextlib.contextmanager
def embedded_server() -> Iterator[tuple[Path, EmbeddedPostgres]]:
    """:func:`embedded_database`, yielding the server itself (to stop and start it)."""
    with tempfile.TemporaryDirectory(prefix="w4r-bench-") as directory:
        workdir = Path(directory)
        embedded = start_embedded(workdir / "pgdata", cleanup="delete")
        try:
            migrations.upgrade(embedded.admin_url)
            yield workdir, embedded
        finally:
            embedded.stop()


@contextlib.contextmanager
def server_database(server_url: str) -> Iterator[URL]:
    """A fresh, migrated database on a running server (dropped on leaving)."""
    with migrations.scratch_database(server_url, "w4r_bench") as admin_url:
        yield admin_url


@contextlib.contextmanager
def bench_database(server_url: str | None) -> Iterator[URL]:
    """The admin URL of a fresh, migrated database: on the server at ``server_url`` when
    given (a benchmark's ``--database-url``), else an embedded one (both removed after)."""
    if server_url:
        with server_database(server_url) as admin_url:
            yield admin_url
    else:
        with embedded_database() as (_, admin_url):
            yield admin_url


def local_issuer() -> tuple[str, TokenIssuer]:
    """A fresh signing key (as the server's ``W4R_LOCAL_SIGNING_KEY``) and its issuer."""
    signing_key = generate_signing_key()
    defaults = Settings(_env_file=None)
    issuer = TokenIssuer(
        signing_key, issuer=defaults.token_issuer, audience=defaults.token_audience
    )
    return json.dumps(signing_key.as_dict(private=True)), issuer


class Caller:
    """GraphQL posts with a bearer token of a chosen role."""

    def __init__(self, http: httpx.AsyncClient, issuer: TokenIssuer) -> None:
        self.http = http
        self.issuer = issuer

    def token(self, role: Role, section: str | None = None, subject: str | None = None) -> str:
        return self.issuer.issue(role, section_code=section, subject=subject, ttl_seconds=3600)

    async def data(
        self, query: str, variables: dict[str, Any], token: str, path: str = "/graphql"
    ) -> Any:
        response = await self.http.post(
            path,
            json={"query": query, "variables": variables},
            headers={**HEADERS, "authorization": f"Bearer {token}"},
        )
        body = response.json()
        if response.status_code != 200 or "errors" in body:
            raise SystemExit(f"{response.status_code}: {body}")
        return body["data"]

    async def mutate(
        self, query: str, name: str, values: dict[str, Any], token: str, path: str = "/graphql"
    ) -> Any:
        payload = (await self.data(query, {"input": values}, token, path))[name]
        if payload["errors"]:
            raise SystemExit(f"{name}: {payload['errors']}")
        return payload


async def check_reconcile(admin_url: URL) -> dict[str, float]:
    """Every rollup recomputed from the ledger, as the app role: there must be no drift."""
    engine = create_engine(
        app_role_url(admin_url, None), pool_size=1, max_overflow=0, statement_timeout_ms=0
    )
    database = Database(engine)
    started = time.perf_counter()
    try:
        report = await reconcile(database, repair=False)
    finally:
        await database.dispose()
    if report.drift:
        raise SystemExit(f"reconcile found drift: {report.drift[:5]}")
    return {
        "sections": report.sections,
        "cells": report.cells,
        "drift": len(report.drift),
        "seconds": round(time.perf_counter() - started, 2),
    }


# --- generated documentation --------------------------------------------------------------


def write_generated(document: Path, script: str, markdown: str, heading: str) -> None:
    """Replace what is between the markers of ``script`` in ``document`` (a heading and the
    markers are appended when absent): the figures a benchmark generates."""
    begin = f"<!-- {script}: begin (generated, do not edit) -->"
    end = f"<!-- {script}: end -->"
    text = document.read_text(encoding="utf-8")
    generated = f"{begin}\n{markdown}\n{end}"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        _, tail = rest.split(end, 1)
        text = head + generated + tail
    else:
        text = text.rstrip("\n") + f"\n\n## {heading}\n\n" + generated + "\n"
    document.write_text(text, encoding="utf-8")
