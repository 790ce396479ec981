"""The ``w4r`` command, run in-process (and once as the README's ``w4r serve --demo``)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx
import pytest
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import create_async_engine

from tests.conftest import unique_code
from tests.servers import free_port
from w4r.cli import main
from w4r.platform import migrations
from w4r.platform.auth import (
    Principal,
    Role,
    TokenVerifier,
    local_issuer,
    parse_signing_key,
    public_key_set,
)
from w4r.platform.bootstrap import DatabaseTarget, resolve_target
from w4r.settings import Settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEMO_CODES = ("gb", "us", "au", "pl", "fr", "ca")
STARTUP_SECONDS = 60.0
READY_SECONDS = 30.0
STOP_SECONDS = 30.0
SECTION_NAME = "{ section { code name } }"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """Run ``w4r argv`` in-process; it must succeed. Returns what it printed."""
    assert main(list(argv)) == 0
    captured = capsys.readouterr()
    return captured.out


def refused(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """Run ``w4r argv``; it must exit with a message (exit status 1). Returns the message."""
    with pytest.raises(SystemExit) as exit_info:
        main(list(argv))
    message = exit_info.value.code
    assert isinstance(message, str), f"exit code {message!r}, expected a message"
    assert capsys.readouterr().out == ""
    return message


def listed(capsys: pytest.CaptureFixture[str]) -> dict[str, list[str]]:
    """``w4r sections list`` as {code: the words of its line}."""
    out = run(capsys, "sections", "list")
    rows: dict[str, list[str]] = {}
    for line in out.splitlines():
        words = line.split()
        rows[words[0]] = words
    return rows


def description_of(help_text: str) -> str:
    """The description paragraph of an argparse help text ("" when there is none)."""
    paragraphs = help_text.split("\n\n")
    assert paragraphs[0].startswith("usage: w4r")
    if len(paragraphs) < 2 or paragraphs[1].startswith(
        ("positional arguments:", "options:", "optional arguments:")
    ):
        return ""
    return " ".join(paragraphs[1].split())


def verifier(settings: Settings, signing_key_json: str) -> TokenVerifier:
    keys = public_key_set(parse_signing_key(signing_key_json))
    return TokenVerifier(
        [local_issuer(keys, issuer=settings.token_issuer, audience=settings.token_audience)],
        leeway_seconds=settings.token_leeway_seconds,
    )


# --- help --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "fragment"),
    [
        pytest.param((), "the GraphQL platform for Write for Rights", id="w4r"),
        pytest.param(("serve",), "serve GraphQL", id="serve"),
        pytest.param(("migrate",), "Upgrade the database", id="migrate"),
        pytest.param(("demo",), "Load what is absent of the demo data", id="demo"),
        pytest.param(("token", "issue"), "Print a bearer token", id="token-issue"),
        pytest.param(("sections", "list"), "section", id="sections-list"),
        pytest.param(("sections", "create"), "Register a national section", id="sections-create"),
        pytest.param(("sections", "add-host"), "resolve to section CODE", id="sections-add-host"),
        pytest.param(("totals", "reconcile"), "Recompute every rollup", id="totals-reconcile"),
    ],
)
def test_help_describes_every_command(
    capsys: pytest.CaptureFixture[str], command: tuple[str, ...], fragment: str
) -> None:
    # when the help of a command is asked for
    with pytest.raises(SystemExit) as exit_info:
        main([*command, "--help"])

    # then it exits 0 and prints a usage line and a description
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(" ".join(("usage: w4r", *command)))
    description = description_of(out)
    assert description != "", out
    assert fragment in description


# --- token issue -------------------------------------------------------------------------


def test_token_issue_prints_a_token_the_app_accepts(
    capsys: pytest.CaptureFixture[str], cli_env: Path, settings: Settings, signing_key_json: str
) -> None:
    # when an IS admin token is issued
    out = run(capsys, "token", "issue", "--role", "is-admin")

    # then the one printed line is a token the app's verifier accepts, with that role
    token = out.strip()
    assert out == token + "\n"
    principal = asyncio.run(verifier(settings, signing_key_json).verify(token))
    assert principal == Principal(
        role=Role.IS_ADMIN, subject="local:is-admin", token_id=principal.token_id
    )
    assert principal.token_id


def test_token_issue_binds_a_section_role_to_the_normalized_code(
    capsys: pytest.CaptureFixture[str], cli_env: Path, settings: Settings, signing_key_json: str
) -> None:
    # given a section code in upper case
    code = unique_code()

    # when a section admin token is issued for it with a subject
    out = run(
        capsys,
        "token",
        "issue",
        "--role",
        "section-admin",
        "--section",
        code.upper(),
        "--subject",
        "alice@example.org",
    )

    # then the token names the section in lower case, and the subject
    principal = asyncio.run(verifier(settings, signing_key_json).verify(out.strip()))
    assert principal.role is Role.SECTION_ADMIN
    assert principal.section_code == code
    assert principal.subject == "alice@example.org"


def test_token_issue_refuses_a_section_role_without_a_section(
    capsys: pytest.CaptureFixture[str], cli_env: Path
) -> None:
    # when a section admin token is asked for without --section
    message = refused(capsys, "token", "issue", "--role", "section-admin")

    # then the command exits with why
    assert message == "A section-admin token must name its section."


def test_token_issue_refuses_a_section_for_an_is_role(
    capsys: pytest.CaptureFixture[str], cli_env: Path
) -> None:
    # when an IS admin token is asked for with a section
    message = refused(capsys, "token", "issue", "--role", "is-admin", "--section", "gb")

    # then the command exits with why
    assert message == "An is-admin token is global and must not name a section."


def test_token_issue_refuses_an_invalid_section_code(
    capsys: pytest.CaptureFixture[str], cli_env: Path
) -> None:
    # when the section is not a section code
    message = refused(capsys, "token", "issue", "--role", "section-admin", "--section", "G_B!")

    # then the command exits saying what a code looks like
    assert message.startswith("'G_B!' is not a section code")
    assert "(e.g. 'gb', 'fr-ca')" in message


def test_token_issue_refuses_an_unknown_role(capsys: pytest.CaptureFixture[str]) -> None:
    # when the role is not one that tokens are issued to
    with pytest.raises(SystemExit) as exit_info:
        main(["token", "issue", "--role", "anonymous"])

    # then argparse refuses it with a usage error
    assert exit_info.value.code == 2
    assert "invalid choice: 'anonymous'" in capsys.readouterr().err


def test_a_refusal_exits_with_status_1_and_the_message_on_stderr(
    tmp_path: Path, signing_key_json: str
) -> None:
    # given the command run as a process
    env = {key: value for key, value in os.environ.items() if not key.startswith("W4R_")}
    env["W4R_DATA_DIR"] = str(tmp_path)
    env["W4R_LOCAL_SIGNING_KEY"] = signing_key_json

    # when it is asked for a section token without a section
    completed = subprocess.run(
        [sys.executable, "-m", "w4r.cli", "token", "issue", "--role", "section-editor"],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=STARTUP_SECONDS,
        check=False,
    )

    # then it exits 1 with the message on stderr and nothing on stdout
    assert completed.returncode == 1
    assert completed.stdout == ""
    assert completed.stderr == "A section-editor token must name its section.\n"


# --- migrate -----------------------------------------------------------------------------


def test_migrate_sql_prints_the_roles_and_row_level_security(
    capsys: pytest.CaptureFixture[str], cli_env: Path
) -> None:
    # when the migration SQL is asked for
    out = run(capsys, "migrate", "--sql")

    # then it creates the app role and isolates sections with forced row-level security
    assert "CREATE ROLE w4r_app" in out
    assert "FORCE ROW LEVEL SECURITY" in out
    assert "CREATE POLICY section_isolation" in out


async def _current_revision(url: URL) -> str | None:
    engine = create_async_engine(url)
    try:
        return await migrations.current_revision(engine)
    finally:
        await engine.dispose()


def test_migrate_is_idempotent_and_prints_the_head(
    capsys: pytest.CaptureFixture[str], cli_env: Path, database_target: DatabaseTarget
) -> None:
    # given the test database, already at head
    head = migrations.head_revision()

    # when it is migrated again
    out = run(capsys, "migrate")

    # then it succeeds, says so, and the database is still at head
    assert out == f"Database migrated to head ({head} is head).\n"
    assert asyncio.run(_current_revision(database_target.admin_url)) == head


# --- sections ----------------------------------------------------------------------------


def test_sections_create_then_list_and_add_host(
    capsys: pytest.CaptureFixture[str], cli_env: Path
) -> None:
    # given a new code and host
    code = unique_code()
    host = f"w4r.{code}.example.org"

    # when a section is created with two languages and a host (loosely spelled)
    out = run(
        capsys,
        "sections",
        "create",
        "--code",
        code.upper(),
        "--name",
        "CLI  Test Section",
        "--country",
        "gb",
        "--language",
        "en",
        "--language",
        "cy_gb",
        "--time-zone",
        "Europe/London",
        "--host",
        host.upper(),
    )

    # then it says so and the list shows it, normalized, with its host
    assert out == f"Section {code!r} created.\n"
    row = listed(capsys)[code]
    assert row == [code, "GB", "en,cy-GB", "Europe/London", "CLI", "Test", "Section", host]

    # when another host is added
    second = f"cymru.{code}.example.org"
    out = run(capsys, "sections", "add-host", code, second.upper())

    # then it says so and the list shows both hosts, sorted
    assert out == f"Host {second!r} now identifies section {code!r}.\n"
    assert listed(capsys)[code][-2:] == [second, host]


def test_sections_create_lists_every_problem_and_creates_nothing(
    capsys: pytest.CaptureFixture[str], cli_env: Path
) -> None:
    # given a free code and otherwise invalid input
    code = unique_code()

    # when the section is created
    message = refused(
        capsys,
        "sections",
        "create",
        "--code",
        code,
        "--name",
        "   ",
        "--country",
        "XX",
        "--language",
        "xx-notreal",
        "--time-zone",
        "Mars/Olympus_Mons",
        "--host",
        "https://bad.example.org",
    )

    # then the command exits listing each problem with its field and code
    lines = message.splitlines()
    assert [(line.split(":", 1)[0], line.rsplit(" ", 1)[1]) for line in lines] == [
        ("name", "(REQUIRED)"),
        ("country", "(UNKNOWN_COUNTRY)"),
        ("languages", "(UNKNOWN_LANGUAGE)"),
        ("timeZone", "(UNKNOWN_TIME_ZONE)"),
        ("hosts", "(INVALID)"),
    ]
    # and nothing was created
    assert code not in listed(capsys)


def test_sections_create_refuses_a_bad_code(
    capsys: pytest.CaptureFixture[str], cli_env: Path
) -> None:
    # when the code is no section code
    message = refused(
        capsys,
        "sections",
        "create",
        "--code",
        "Not A Code",
        "--name",
        "Bad code",
        "--country",
        "GB",
        "--language",
        "en",
        "--time-zone",
        "Europe/London",
    )

    # then the command exits naming the code
    assert message.startswith("code: 'Not A Code' is not a section code")
    assert message.endswith("(INVALID)")


def test_sections_create_refuses_a_code_that_exists(
    capsys: pytest.CaptureFixture[str], cli_env: Path
) -> None:
    # given a section
    code = unique_code()
    arguments = ["--name", "Twice", "--country", "GB", "--language", "en"]
    arguments += ["--time-zone", "Europe/London"]
    run(capsys, "sections", "create", "--code", code, *arguments)

    # when it is created again
    message = refused(capsys, "sections", "create", "--code", code, *arguments)

    # then the command exits saying it exists
    assert message == f"code: A section with code {code!r} exists. (ALREADY_EXISTS)"


def test_sections_add_host_to_an_unknown_code_fails(
    capsys: pytest.CaptureFixture[str], cli_env: Path
) -> None:
    # given a code no section has
    code = unique_code()

    # when a host is added to it
    message = refused(capsys, "sections", "add-host", code, f"w4r.{code}.example.org")

    # then the command exits saying so
    assert message == f"No section has the code {code!r}."


def test_sections_add_host_refuses_a_bad_or_taken_host(
    capsys: pytest.CaptureFixture[str], cli_env: Path
) -> None:
    # given two sections, the first with a host
    first, second = unique_code(), unique_code()
    host = f"w4r.{first}.example.org"
    common = ["--name", "Hosts", "--country", "GB", "--language", "en"]
    common += ["--time-zone", "Europe/London"]
    run(capsys, "sections", "create", "--code", first, "--host", host, *common)
    run(capsys, "sections", "create", "--code", second, *common)

    # when a malformed host, then the first section's host, is added to the second
    malformed = refused(capsys, "sections", "add-host", second, "w4r.example.org:8443")
    taken = refused(capsys, "sections", "add-host", second, host)

    # then both are refused and the hosts are as they were
    assert malformed.startswith("host: 'w4r.example.org:8443' is not a host name")
    assert malformed.endswith("(INVALID)")
    assert taken.startswith(f"host: The host {host!r} already identifies another section")
    assert taken.endswith("(ALREADY_EXISTS)")
    rows = listed(capsys)
    assert rows[first][-1] == host
    assert rows[second][-1] == "Hosts"


# --- demo --------------------------------------------------------------------------------


DEMO_LOADED = (
    "Demo data loaded: sections gb, us, au, pl, fr, ca; campaigns 2025, 2024, 2023, 2022, "
    "2021, 2020, 2019, 2015, 2014; 21 cases; 10 translations; 13 historic totals; 5 events; "
    "2025 participation of au, ca, fr, gb, pl, us\n"
)


def test_demo_loads_six_sections_once(capsys: pytest.CaptureFixture[str], cli_env: Path) -> None:
    # when the demo data is loaded
    out = run(capsys, "demo")

    # then it is loaded (or was already there)
    assert out in {DEMO_LOADED, "Demo data already there.\n"}
    # and the six sections exist, Canada in English and French
    rows = listed(capsys)
    assert set(DEMO_CODES) <= set(rows)
    assert rows["ca"][1:4] == ["CA", "en-CA,fr-CA", "America/Toronto"]
    assert rows["ca"][-1] == "ca.localhost"
    assert rows["pl"][1:4] == ["PL", "pl", "Europe/Warsaw"]

    # when it is loaded again, then nothing is created
    assert run(capsys, "demo") == "Demo data already there.\n"


# --- the embedded server -----------------------------------------------------------------


def test_without_a_database_url_an_embedded_server_starts(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # given settings without any database URL
    for name in ("W4R_DATABASE_URL", "W4R_APP_DATABASE_URL", "W4R_DATABASE_APP_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(_env_file=None, data_dir=tmp_path, database_url=None)

    # when the target is resolved
    target = resolve_target(settings)
    try:
        # then an embedded server runs in the data directory, reached by a Unix socket there
        assert target.embedded is not None
        assert target.embedded.pgdata == settings.embedded_pgdata
        socket_directory = Path(str(target.admin_url.query["host"]))
        assert socket_directory.is_relative_to(tmp_path.resolve())
        assert (socket_directory / ".s.PGSQL.5432").is_socket()
        assert target.admin_url.database == "w4r"
        # and the app connects to the same database as the unprivileged app role
        assert target.app_url.username == "w4r_app"
        assert target.app_url.query == target.admin_url.query
        assert target.app_url.database == "w4r"
    finally:
        if target.embedded is not None:
            target.embedded.stop()


def _pump(stream: IO[str], lines: queue.Queue[str | None]) -> None:
    """Copy a process's stdout lines into ``lines`` (None at the end)."""
    for line in iter(stream.readline, ""):
        lines.put(line)
    lines.put(None)


def _wait_for_line(
    lines: queue.Queue[str | None], wanted: str, seen: list[str], log_path: Path
) -> None:
    """Read lines until one contains ``wanted`` (bounded wait), keeping them in ``seen``."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            log = log_path.read_text(encoding="utf-8")
            pytest.fail(f"no {wanted!r} within {STARTUP_SECONDS} s; stdout: {seen}; {log}")
        try:
            line = lines.get(timeout=remaining)
        except queue.Empty:
            continue
        if line is None:
            log = log_path.read_text(encoding="utf-8")
            pytest.fail(f"the server exited before printing {wanted!r}; stdout: {seen}; {log}")
        seen.append(line.rstrip("\n"))
        if wanted in line:
            return


def _wait_until_ready(base: str) -> None:
    deadline = time.monotonic() + READY_SECONDS
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            response = httpx.get(f"{base}/readyz", timeout=5)
        except httpx.TransportError as error:
            last = repr(error)
        else:
            if response.status_code == 200:
                return
            last = f"{response.status_code} {response.text}"
        time.sleep(0.2)
    pytest.fail(f"/readyz not 200 within {READY_SECONDS} s: {last}")


def _terminate(process: subprocess.Popen[str]) -> None:
    """SIGTERM, as a process manager would; SIGKILL if it does not stop in time."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _stop_leftover_postgres(pgdata: Path) -> int | None:
    """Stop the embedded server the test's ``w4r serve`` left running; its pid, if any."""
    pid_file = pgdata / "postmaster.pid"
    if not pid_file.exists():
        return None
    pid = int(pid_file.read_text(encoding="utf-8").splitlines()[0])
    try:
        os.kill(pid, signal.SIGINT)  # PostgreSQL's "fast" shutdown
    except ProcessLookupError:
        return None
    deadline = time.monotonic() + STOP_SECONDS
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    return pid


@dataclass
class Served:
    """What a ``w4r serve --demo`` run showed, once it is stopped."""

    base: str
    stdout: list[str] = field(default_factory=list)
    returncode: int | None = None
    log: str = ""
    leftover_postgres: int | None = None


@contextlib.contextmanager
def serve_demo(tmp_path: Path) -> Iterator[Served]:
    """Run the README's ``w4r serve --demo`` without a database URL until it is ready.

    On exit the server gets SIGTERM, and any embedded PostgreSQL it left running is stopped
    (and recorded in ``leftover_postgres``).
    """
    env = {key: value for key, value in os.environ.items() if not key.startswith("W4R_")}
    data_dir = tmp_path / "data"
    env["W4R_DATA_DIR"] = str(data_dir)
    env["PYTHONUNBUFFERED"] = "1"
    port = free_port()
    served = Served(base=f"http://127.0.0.1:{port}")
    log_path = tmp_path / "serve.log"
    with (
        log_path.open("w", encoding="utf-8") as log,
        subprocess.Popen(
            [sys.executable, "-m", "w4r.cli", "serve", "--demo", "--port", str(port)],
            env=env,
            cwd=PROJECT_ROOT,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        ) as process,
    ):
        assert process.stdout is not None
        lines: queue.Queue[str | None] = queue.Queue()
        pump = threading.Thread(target=_pump, args=(process.stdout, lines), daemon=True)
        pump.start()
        try:
            _wait_for_line(
                lines, f"GraphQL endpoint: {served.base}/graphql", served.stdout, log_path
            )
            _wait_until_ready(served.base)
            yield served
        finally:
            _terminate(process)
            pump.join(timeout=STOP_SECONDS)
            served.returncode = process.returncode
            served.leftover_postgres = _stop_leftover_postgres(data_dir / "pgdata")
    served.log = log_path.read_text(encoding="utf-8")


def test_serve_demo_runs_on_the_embedded_postgresql(tmp_path: Path) -> None:
    # given no database URL, when the README's command runs until it is ready
    with serve_demo(tmp_path) as served:
        # then the demo sections were loaded into an embedded server
        assert DEMO_LOADED.rstrip("\n") in served.stdout
        assert any(line.startswith("Database: embedded PostgreSQL in ") for line in served.stdout)

        # and a section's endpoint answers with its section
        response = httpx.post(
            f"{served.base}/s/pl/graphql",
            json={"query": SECTION_NAME},
            headers={"accept": "application/graphql-response+json"},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        assert response.json()["data"] == {
            "section": {"code": "pl", "name": "Amnesty International Polska"}
        }
        assert "errors" not in response.json()

        # and a demo host picks its section
        by_host = httpx.post(
            f"{served.base}/graphql",
            json={"query": SECTION_NAME},
            headers={"host": "fr.localhost", "accept": "application/graphql-response+json"},
            timeout=10,
        )
        assert by_host.json()["data"]["section"]["code"] == "fr"

    # and SIGTERM shuts it down gracefully
    assert served.returncode == 0, served.log
    assert "Application shutdown complete." in served.log


def test_stopping_serve_stops_its_embedded_postgresql(tmp_path: Path) -> None:
    # given `w4r serve` running on the embedded PostgreSQL it started
    with serve_demo(tmp_path) as served:
        pass

    # when it was stopped with SIGTERM, then it stopped that PostgreSQL too
    assert served.returncode == 0, served.log
    assert served.leftover_postgres is None, (
        f"w4r serve exited ({served.returncode}) but left its embedded PostgreSQL "
        f"(pid {served.leftover_postgres}) running"
    )
