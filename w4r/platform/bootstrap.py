"""From settings to a database the app can serve from.

With ``W4R_DATABASE_URL`` set, that server is used; without it an embedded PostgreSQL is
started in ``data_dir``. Either way the admin URL migrates (when ``migrate_on_start``) and
the app connects as the app role, never as the admin.

A replica that only serves (in Kubernetes: the migrations run in a Job with the admin URL)
gets ``W4R_APP_DATABASE_URL`` alone and ``W4R_MIGRATE_ON_START=false``: it never holds the
admin credentials, and no embedded server is started for it.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from sqlalchemy.engine import URL, make_url

from w4r.platform import migrations
from w4r.platform.database import app_role_url, asyncpg_url
from w4r.platform.embedded import EmbeddedPostgres, start_embedded
from w4r.settings import Settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DatabaseTarget:
    admin_url: URL
    app_url: URL
    embedded: EmbeddedPostgres | None = None


class NoAdminUrlError(RuntimeError):
    """Migrations were asked for, but only the app role's URL is configured."""


def resolve_target(settings: Settings) -> DatabaseTarget:
    """The URLs to migrate with and to serve with, starting the embedded server if needed.

    With only the app URL there is no admin URL: the target's admin URL is the app URL,
    which :func:`prepare` never migrates with.
    """
    if settings.database_url is None and settings.app_database_url is not None:
        app_url = asyncpg_url(settings.app_database_url.get_secret_value())
        return DatabaseTarget(admin_url=app_url, app_url=app_url)
    embedded = None
    if settings.database_url is not None:
        admin_url = asyncpg_url(settings.database_url.get_secret_value())
    else:
        embedded = start_embedded(settings.embedded_pgdata)
        admin_url = embedded.admin_url
    if settings.app_database_url is not None:
        app_url = asyncpg_url(settings.app_database_url.get_secret_value())
    else:
        password = settings.database_app_password
        app_url = app_role_url(admin_url, None if password is None else password.get_secret_value())
    return DatabaseTarget(admin_url=admin_url, app_url=app_url, embedded=embedded)


async def migrate(target: DatabaseTarget, settings: Settings) -> None:
    """Upgrade to head (in a thread: Alembic runs its own event loop)."""
    await asyncio.to_thread(migrations.upgrade, target.admin_url)
    if settings.database_app_password is not None:
        await migrations.set_app_role_password(
            target.admin_url, settings.database_app_password.get_secret_value()
        )


async def prepare(settings: Settings) -> DatabaseTarget:
    if (
        settings.migrate_on_start
        and settings.database_url is None
        and settings.app_database_url is not None
    ):
        raise NoAdminUrlError(
            "W4R_APP_DATABASE_URL is set without W4R_DATABASE_URL, so there is no admin URL "
            "to migrate with: set W4R_MIGRATE_ON_START=false (or `w4r serve --no-migrate`) "
            "and run `w4r migrate` with the admin URL, or set W4R_DATABASE_URL."
        )
    target = await asyncio.to_thread(resolve_target, settings)
    if settings.migrate_on_start:
        await migrate(target, settings)
    return target


def redact(url: URL) -> str:
    return make_url(url).render_as_string(hide_password=True)
