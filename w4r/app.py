"""The ASGI application: ``create_app(settings)``.

Run it with ``w4r serve`` or any ASGI server: ``uvicorn --factory w4r.app:create_app``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute

from w4r.platform import bootstrap
from w4r.platform.auth import (
    TokenVerifier,
    load_or_create_signing_key,
    parse_signing_key,
    public_key_set,
)
from w4r.platform.database import Database, TenantBinding, create_engine, ensure_unprivileged
from w4r.platform.health import readiness
from w4r.platform.migrations import head_revision
from w4r.schema.api import build_schema
from w4r.schema.context import GraphQLServices
from w4r.schema.events.feeds import event_calendar, section_calendar
from w4r.schema.http import build_view, make_endpoint, make_websocket_endpoint
from w4r.settings import Settings
from w4r.tenants.registry import SectionRegistry
from w4r.tenants.repository import RegistryRow, SectionRepository
from w4r.totals.live import TotalsHub

logger = logging.getLogger(__name__)


def signing_key(settings: Settings) -> Any:
    if settings.local_signing_key is not None:
        return parse_signing_key(settings.local_signing_key.get_secret_value())
    return load_or_create_signing_key(settings.signing_key_path)


def registry_loader(database: Database) -> Any:
    async def load() -> list[RegistryRow]:
        async with database.session(TenantBinding.global_scope()) as session:
            return await SectionRepository(session).registry()

    return load


def listener_dsn(url: URL) -> str:
    """The libpq-style DSN of the app URL, for the totals listener's own connection."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def open_engine(settings: Settings, target: bootstrap.DatabaseTarget) -> AsyncEngine:
    return create_engine(
        target.app_url,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
        pool_timeout=settings.database_pool_timeout_seconds,
        statement_cache_size=settings.database_statement_cache_size,
        statement_timeout_ms=settings.database_statement_timeout_ms,
    )


def create_app(
    settings: Settings | None = None, *, target: bootstrap.DatabaseTarget | None = None
) -> Starlette:
    """The application. ``target`` skips database preparation (tests, ``w4r serve``)."""
    settings = settings or Settings()
    schema = build_schema(settings)
    view = build_view(schema, graphql_ide=settings.graphql_ide_enabled)
    endpoint = make_endpoint(view)
    websocket_endpoint = make_websocket_endpoint(view)
    head = head_revision()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        database_target = target or await bootstrap.prepare(settings)
        engine = open_engine(settings, database_target)
        try:
            await ensure_unprivileged(engine)
            database = Database(engine)
            key = signing_key(settings)
            hub = TotalsHub(
                listener_dsn(database_target.app_url),
                interval_seconds=settings.totals_update_interval_seconds,
            )
            await hub.start()
            app.state.database = database
            app.state.graphql_services = GraphQLServices(
                database=database,
                registry=SectionRegistry(
                    registry_loader(database), ttl_seconds=settings.section_cache_seconds
                ),
                verifier=TokenVerifier(
                    public_key_set(key),
                    issuer=settings.token_issuer,
                    audience=settings.token_audience,
                    leeway_seconds=settings.token_leeway_seconds,
                ),
                hub=hub,
                settings=settings,
            )
            try:
                yield
            finally:
                await hub.stop()
        finally:
            await engine.dispose()

    async def healthz(_request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> JSONResponse:
        is_ready, report = await readiness(request.app.state.database.engine, head)
        return JSONResponse(report, status_code=200 if is_ready else 503)

    return Starlette(
        routes=[
            Route("/graphql", endpoint, methods=["GET", "POST"]),
            Route("/s/{code}/graphql", endpoint, methods=["GET", "POST"]),
            Route("/s/{code}/events.ics", section_calendar, methods=["GET"]),
            Route("/s/{code}/events/{event_id}.ics", event_calendar, methods=["GET"]),
            WebSocketRoute("/graphql", websocket_endpoint),
            WebSocketRoute("/s/{code}/graphql", websocket_endpoint),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
