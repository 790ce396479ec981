"""Alembic environment: async (asyncpg), run as the owner role once it exists.

The URL comes from ``config.attributes["url"]`` (set by ``w4r migrate``) or, when Alembic is
called directly, from the ``W4R_DATABASE_URL`` setting.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import pool, text
from sqlalchemy.engine import URL, Connection
from sqlalchemy.ext.asyncio import create_async_engine

from w4r.platform.database import OWNER_ROLE, asyncpg_url
from w4r.platform.migrations import target_metadata
from w4r.settings import Settings

config = context.config


def _url() -> URL:
    url = config.attributes.get("url")
    if url is not None:
        return asyncpg_url(url)
    configured = Settings().database_url
    if configured is None:
        raise SystemExit("Set W4R_DATABASE_URL, or run `w4r migrate` (embedded server).")
    return asyncpg_url(configured.get_secret_value())


def run_migrations_offline() -> None:
    context.configure(
        url=_url(),
        target_metadata=target_metadata(),
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        if context.get_context().get_current_revision() is not None:
            context.execute(f"SET ROLE {OWNER_ROLE}")
        context.run_migrations()


def _run_sync(connection: Connection) -> None:
    # Once the first migration has created the owner role and granted it the schema, every
    # migration runs as the owner, so the owner owns every object. The connection is not
    # pooled (NullPool): the session-level SET ROLE dies with it.
    owner_is_ready = connection.execute(
        text(
            "select exists (select from pg_roles where rolname = :role) "
            "and has_schema_privilege(:role, 'public', 'CREATE')"
        ),
        {"role": OWNER_ROLE},
    ).scalar_one()
    if owner_is_ready:
        connection.execute(text(f"SET ROLE {OWNER_ROLE}"))
    context.configure(
        connection=connection,
        target_metadata=target_metadata(),
        compare_type=True,
        compare_server_default=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_migrations_online() -> None:
    engine = create_async_engine(_url(), poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run_sync)
            await connection.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    asyncio.run(run_migrations_online())
