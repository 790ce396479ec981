"""Alembic, configured in code: upgrade, offline SQL, and the head check behind /readyz."""

from __future__ import annotations

import asyncio
import contextlib
import io
import secrets
from collections.abc import Iterator
from importlib import import_module
from pathlib import Path
from typing import TextIO

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from w4r.platform.database import APP_ROLE, asyncpg_url
from w4r.platform.models import Base

MODEL_MODULES = (
    "w4r.tenants.models",
    "w4r.campaigns.models",
    "w4r.cases.models",
    "w4r.translations.models",
    "w4r.actions.models",
    "w4r.totals.models",
    "w4r.events.models",
    "w4r.supporters.models",
    "w4r.mail.models",
    "w4r.abuse.models",
    "w4r.apikeys.models",
    "w4r.audit.models",
    "w4r.webhooks.models",
    "w4r.platform.reference",
)
"""Every module that declares tables; imported so the metadata is complete."""


def target_metadata() -> MetaData:
    for module in MODEL_MODULES:
        import_module(module)
    return Base.metadata


def script_location() -> Path:
    """The migrations folder: packaged in the wheel, or at the root of a source checkout."""
    package_root = Path(__file__).resolve().parent.parent
    packaged = package_root / "_migrations"
    if packaged.is_dir():
        return packaged
    return package_root.parent / "migrations"


def alembic_config(url: URL | None = None, *, output: TextIO | None = None) -> Config:
    config = Config(stdout=output) if output is not None else Config()
    config.set_main_option("script_location", str(script_location()))
    config.set_main_option(
        "file_template",
        "%%(year)d_%%(month).2d_%%(day).2d_%%(hour).2d%%(minute).2d-%%(rev)s_%%(slug)s",
    )
    if url is not None:
        config.attributes["url"] = asyncpg_url(url)
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError(f"No migrations found in {script_location()}")
    return head


def upgrade(url: URL, *, revision: str = "head") -> None:
    """Upgrade the database to ``revision``. Synchronous: call it outside an event loop."""
    command.upgrade(alembic_config(url), revision)


def upgrade_sql(revision: str = "head", *, url: URL | None = None) -> str:
    """The SQL that an upgrade from an empty database to ``revision`` would run."""
    buffer = io.StringIO()
    config = alembic_config(url or URL.create("postgresql+asyncpg"), output=buffer)
    config.output_buffer = buffer
    command.upgrade(config, revision, sql=True)
    return buffer.getvalue()


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as connection:
        return await connection.run_sync(
            lambda sync: MigrationContext.configure(sync).get_current_revision()
        )


async def set_app_role_password(url: URL, password: str) -> None:
    """Give the app role a password, so it can log in where the server asks for one."""
    engine = create_async_engine(asyncpg_url(url))
    try:
        async with engine.begin() as connection:
            quoted = await connection.execute(text("select quote_literal(:p)"), {"p": password})
            await connection.execute(
                text(f"ALTER ROLE {APP_ROLE} WITH LOGIN PASSWORD {quoted.scalar_one()}")
            )
    finally:
        await engine.dispose()


@contextlib.contextmanager
def scratch_database(server_url: str | URL, prefix: str) -> Iterator[URL]:
    """A new database named ``prefix`` and random hex on the server at ``server_url`` (an
    admin URL), migrated to head; yields its admin URL and drops it, forcibly, on leaving.
    For the test suite and the benchmarks."""
    server = asyncpg_url(server_url)
    name = f"{prefix}_{secrets.token_hex(4)}"
    asyncio.run(_on_server(server, f'CREATE DATABASE "{name}"'))
    try:
        admin_url = server.set(database=name)
        upgrade(admin_url)
        yield admin_url
    finally:
        asyncio.run(_on_server(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _on_server(server: URL, statement: str) -> None:
    """One statement outside a transaction (CREATE and DROP DATABASE need that)."""
    engine = create_async_engine(server, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()
