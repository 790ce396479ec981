"""A real PgBouncer in transaction pooling mode in front of the test database, and the app
served through it: shared by the tests that check the tenant binding through a pool.

PgBouncer runs on a free loopback port with a pool of :data:`SERVER_POOL_SIZE` server
connections, so many client connections take turns on the same few PostgreSQL sessions.
The app behind it keeps the two settings that pooling needs: no asyncpg statement cache
(each statement is an unnamed one, parsed again on whatever server connection runs it) and
no ``statement_timeout`` startup parameter (PgBouncer refuses unknown startup parameters;
set the timeout on the role instead). Its live totals listener connects directly
(``W4R_LISTENER_DATABASE_URL``): a LISTEN through transaction pooling would lose every notice
that arrives while no client holds its server session.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import pytest
from pydantic import SecretStr
from sqlalchemy.engine import URL
from starlette.applications import Starlette

from tests.servers import free_port
from tests.tools import executable
from w4r.app import create_app
from w4r.platform.bootstrap import DatabaseTarget
from w4r.platform.database import APP_ROLE
from w4r.settings import Settings

SERVER_POOL_SIZE: Final = 2
"""PostgreSQL sessions PgBouncer keeps: far fewer than the clients, so they are shared."""
STARTUP_TIMEOUT_SECONDS: Final = 10.0
HOW_TO_INSTALL: Final = "install PgBouncer (apt-get install pgbouncer)"
POSTGRES_PORT: Final = 5432


@dataclass(frozen=True, slots=True)
class Upstream:
    """Where PgBouncer finds PostgreSQL: a host name or a Unix socket directory, a port."""

    host: str
    port: int
    database: str

    @classmethod
    def of(cls, url: URL) -> Upstream:
        """The server of a SQLAlchemy URL: ``host`` in the authority or in the query
        (the embedded server's socket directory, ``?host=/path``)."""
        query_host = url.query.get("host")
        host = url.host or (query_host if isinstance(query_host, str) else None)
        assert host, f"no host in the test database URL {url!r}"
        return cls(host=host, port=url.port or POSTGRES_PORT, database=url.database or "")

    @property
    def is_unix_socket(self) -> bool:
        return self.host.startswith("/")


def pgbouncer_ini(upstream: Upstream, port: int, auth_file: Path) -> str:
    """A transaction-pooling PgBouncer for the app role, trusting loopback clients (the
    test servers trust the app role's local connections too)."""
    return "\n".join(
        [
            "[databases]",
            f"w4r = host={upstream.host} port={upstream.port} dbname={upstream.database}",
            "",
            "[pgbouncer]",
            "listen_addr = 127.0.0.1",
            f"listen_port = {port}",
            "unix_socket_dir =",
            "auth_type = trust",
            f"auth_file = {auth_file}",
            "pool_mode = transaction",
            f"default_pool_size = {SERVER_POOL_SIZE}",
            "min_pool_size = 0",
            "reserve_pool_size = 0",
            f"max_db_connections = {SERVER_POOL_SIZE}",
            "max_client_conn = 100",
            "server_check_delay = 0",
            "",
        ]
    )


def run_as_user(upstream: Upstream) -> list[str]:
    """PgBouncer refuses to run as root: then it runs as the owner of the server's socket
    directory (who can reach the socket), or as ``nobody`` for a TCP server."""
    if os.geteuid() != 0:
        return []
    owner = os.stat(upstream.host).st_uid if upstream.is_unix_socket else None
    name = pwd.getpwuid(owner).pw_name if owner not in (None, 0) else "nobody"
    return ["-u", name]


def wait_until_listening(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"PgBouncer exited ({process.returncode}): {log.read_text()}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    pytest.fail(f"PgBouncer did not listen on 127.0.0.1:{port}: {log.read_text()}")


@contextlib.contextmanager
def running_pgbouncer(database_target: DatabaseTarget) -> Iterator[URL]:
    """The app role's URL through a PgBouncer (transaction pooling) running for the block;
    skips the test (fails it under ``W4R_REQUIRE_INTEROP=1``) when PgBouncer is missing."""
    program = executable("pgbouncer", HOW_TO_INSTALL)
    upstream = Upstream.of(database_target.app_url)
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="w4r-pgbouncer-") as directory:
        folder = Path(directory)
        folder.chmod(0o755)  # readable by the unprivileged user PgBouncer may switch to
        auth_file = folder / "userlist.txt"
        auth_file.write_text(f'"{APP_ROLE}" ""\n')
        config = folder / "pgbouncer.ini"
        config.write_text(pgbouncer_ini(upstream, port, auth_file))
        for path in (auth_file, config):
            path.chmod(0o644)
        log = folder / "pgbouncer.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                [program, *run_as_user(upstream), str(config)],
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        try:
            wait_until_listening(process, port, log)
            yield database_target.app_url.set(host="127.0.0.1", port=port, database="w4r", query={})
        finally:
            process.terminate()
            try:
                process.wait(timeout=STARTUP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def through_pgbouncer(
    settings: Settings, database_target: DatabaseTarget, bouncer_url: URL, *, pool_size: int
) -> tuple[Settings, DatabaseTarget]:
    """The settings and database target of an app whose request pool (``pool_size``, no
    overflow) goes through PgBouncer and whose totals listener connects directly."""
    direct = database_target.app_url.render_as_string(hide_password=False)
    pooled_settings = settings.model_copy(
        update={
            "database_statement_cache_size": 0,
            "database_statement_timeout_ms": 0,
            "database_pool_size": pool_size,
            "database_max_overflow": 0,
            "listener_database_url": SecretStr(direct),
        }
    )
    return pooled_settings, DatabaseTarget(admin_url=database_target.admin_url, app_url=bouncer_url)


@contextlib.asynccontextmanager
async def app_through_pgbouncer(
    settings: Settings, database_target: DatabaseTarget, bouncer_url: URL, *, pool_size: int
) -> AsyncIterator[Starlette]:
    """The real app of :func:`through_pgbouncer`, started and stopped with the block (served
    in process; ``tests.servers.serving(*through_pgbouncer(…))`` serves it on a socket)."""
    pooled_settings, target = through_pgbouncer(
        settings, database_target, bouncer_url, pool_size=pool_size
    )
    application = create_app(pooled_settings, target=target)
    async with application.router.lifespan_context(application):
        yield application
