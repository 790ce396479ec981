"""The ASGI application: ``create_app(settings)``.

Run it with ``w4r serve`` or any ASGI server: ``uvicorn --factory w4r.app:create_app``.
"""

from __future__ import annotations

import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

from pydantic import SecretStr
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from w4r.apikeys.service import ApiKeyAuthenticator
from w4r.mail.sender import OutboxSender, RetryPolicy, SmtpConfig, SmtpTransport
from w4r.platform import bootstrap
from w4r.platform.auth import load_or_create_signing_key, parse_signing_key
from w4r.platform.database import (
    Database,
    TenantBinding,
    asyncpg_url,
    create_engine,
    ensure_unprivileged,
)
from w4r.platform.health import readiness
from w4r.platform.metrics import exposition, forget_process, is_authorized, observe_pool
from w4r.platform.migrations import head_revision
from w4r.platform.oidc import token_verifier
from w4r.platform.ratelimit import Budgets
from w4r.platform.response_cache import ChangeListener, ResponseStore
from w4r.schema.api import build_schema
from w4r.schema.context import GraphQLServices
from w4r.schema.events.feeds import event_calendar, section_calendar
from w4r.schema.http import build_view, make_endpoint, make_websocket_endpoint
from w4r.schema.response_cache import ResponseCache
from w4r.schema.supporters.feeds import petition_signatures
from w4r.settings import Settings
from w4r.supporters.emails import EmailHasher, load_or_create_hash_key, parse_hash_key
from w4r.supporters.service import SupporterPolicy
from w4r.tenants.registry import SectionRegistry
from w4r.tenants.repository import RegistryRow, SectionRepository
from w4r.totals.live import TotalsHub
from w4r.web import ASSETS_PATH, STATIC_DIR
from w4r.web.dashboard import dashboard_page
from w4r.web.graphiql import graphiql_page
from w4r.webhooks.dispatcher import DispatchPolicy, WebhookDispatcher
from w4r.webhooks.service import WebhookPolicy
from w4r.webhooks.signing import SecretBox, parse_secret_key

logger = logging.getLogger(__name__)


def signing_key(settings: Settings) -> Any:
    if settings.local_signing_key is not None:
        return parse_signing_key(settings.local_signing_key.get_secret_value())
    return load_or_create_signing_key(settings.signing_key_path)


def secret_value(secret: SecretStr | None) -> str | None:
    return None if secret is None else secret.get_secret_value()


class MissingSupporterHashKeyError(RuntimeError):
    """Production runs without W4R_SUPPORTER_HASH_KEY."""


def supporter_hash_key(settings: Settings) -> bytes:
    """The configured key; in development one created once in the data directory."""
    if settings.supporter_hash_key is not None:
        return parse_hash_key(settings.supporter_hash_key.get_secret_value())
    if not settings.is_development:
        raise MissingSupporterHashKeyError(
            "W4R_SUPPORTER_HASH_KEY is required in production (32 random bytes in hex: "
            "`openssl rand -hex 32`); keep it with the database backups and never change it."
        )
    return load_or_create_hash_key(settings.supporter_hash_key_path)


def supporter_policy(settings: Settings, sender: OutboxSender | None) -> SupporterPolicy:
    policy = SupporterPolicy(
        hasher=EmailHasher(supporter_hash_key(settings)),
        confirmation_ttl=timedelta(hours=settings.supporter_confirmation_hours),
        withdrawal_link_ttl=timedelta(days=settings.supporter_withdrawal_link_days),
        link_template=settings.supporter_link_template,
    )
    return policy if sender is None else replace(policy, wake_mail_sender=sender.wake)


def mail_sender(settings: Settings, database: Database) -> OutboxSender | None:
    """The outbox sender over SMTP; None when no SMTP server is configured."""
    if settings.smtp_host is None:
        return None
    transport = SmtpTransport(
        SmtpConfig(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.smtp_from,
            username=settings.smtp_username,
            password=secret_value(settings.smtp_password),
            starttls=settings.smtp_starttls,
            implicit_tls=settings.smtp_implicit_tls,
            timeout_seconds=settings.smtp_timeout_seconds,
        )
    )
    return OutboxSender(
        database,
        transport,
        sender=settings.smtp_from,
        retry=RetryPolicy(
            max_attempts=settings.mail_max_attempts,
            base_seconds=settings.mail_retry_base_seconds,
            max_seconds=settings.mail_retry_max_seconds,
        ),
        batch_size=settings.mail_batch_size,
    )


class MissingWebhookSecretKeyError(RuntimeError):
    """Production runs without W4R_WEBHOOK_SECRET_KEY."""


def webhook_secret_box(settings: Settings) -> SecretBox:
    """The box of webhook secrets: the configured key; in development one created once in
    the data directory."""
    if settings.webhook_secret_key is not None:
        return SecretBox(parse_secret_key(settings.webhook_secret_key.get_secret_value()))
    if not settings.is_development:
        raise MissingWebhookSecretKeyError(
            "W4R_WEBHOOK_SECRET_KEY is required in production (32 random bytes in hex: "
            "`openssl rand -hex 32`); keep it with the database backups."
        )
    return SecretBox(load_or_create_hash_key(settings.webhook_secret_key_path))


def webhook_dispatcher(settings: Settings, database: Database, box: SecretBox) -> WebhookDispatcher:
    """The dispatcher of webhook deliveries, configured from the settings."""
    return WebhookDispatcher(
        database,
        box,
        DispatchPolicy(
            retry=RetryPolicy(
                max_attempts=settings.webhook_max_attempts,
                base_seconds=settings.webhook_retry_base_seconds,
                max_seconds=settings.webhook_retry_max_seconds,
                jitter=0.2,
            ),
            timeout_seconds=settings.webhook_timeout_seconds,
            batch_size=settings.webhook_batch_size,
            milestones=tuple(settings.webhook_milestones),
            allow_loopback=settings.webhook_allow_loopback,
        ),
    )


def registry_loader(database: Database) -> Any:
    async def load() -> list[RegistryRow]:
        async with database.session(TenantBinding.global_scope()) as session:
            return await SectionRepository(session).registry()

    return load


def listener_dsn(settings: Settings, app_url: URL) -> str:
    """The libpq-style DSN of the totals listener's own connection: W4R_LISTENER_DATABASE_URL
    (a direct connection, when the app's URL is a transaction pool that cannot keep a
    LISTEN), else the app URL."""
    configured = secret_value(settings.listener_database_url)
    url = app_url if configured is None else asyncpg_url(configured)
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
    response_cache = (
        ResponseCache(settings, ResponseStore(settings.response_cache_max_bytes), schema._schema)
        if settings.response_cache_enabled
        else None
    )
    view = build_view(
        schema,
        graphql_ide_page=graphiql_page() if settings.graphql_ide_enabled else None,
        trusted_document_cache_size=settings.trusted_document_cache_size,
        response_cache=response_cache,
    )
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
            verifier = token_verifier(settings, key)
            hub = TotalsHub(
                listener_dsn(settings, database_target.app_url),
                interval_seconds=settings.totals_update_interval_seconds,
            )
            await hub.start()
            cache_listener = None
            if response_cache is not None:
                cache_listener = ChangeListener(
                    listener_dsn(settings, database_target.app_url), response_cache.store
                )
                await cache_listener.start()
            app.state.response_cache = response_cache
            app.state.response_cache_listener = cache_listener
            budgets = Budgets.from_url(
                secret_value(settings.redis_url), key_prefix=settings.redis_key_prefix
            )
            api_keys = ApiKeyAuthenticator(database, cache_seconds=settings.api_key_cache_seconds)
            sender = mail_sender(settings, database)
            if sender is None:
                logger.warning("W4R_SMTP_HOST is not set: supporters' mail stays in the outbox")
            else:
                sender.start(settings.mail_poll_seconds)
            app.state.mail_sender = sender
            webhook_box = webhook_secret_box(settings)
            dispatcher = webhook_dispatcher(settings, database, webhook_box)
            if settings.webhook_dispatcher:
                dispatcher.start(settings.webhook_poll_seconds)
            app.state.webhook_dispatcher = dispatcher
            app.state.database = database
            app.state.graphql_services = GraphQLServices(
                database=database,
                registry=SectionRegistry(
                    registry_loader(database), ttl_seconds=settings.section_cache_seconds
                ),
                verifier=verifier,
                hub=hub,
                settings=settings,
                api_keys=api_keys,
                budgets=budgets,
                supporters=supporter_policy(settings, sender),
                webhooks=WebhookPolicy(
                    box=webhook_box,
                    allow_loopback=settings.webhook_allow_loopback,
                    wake_dispatcher=dispatcher.wake if settings.webhook_dispatcher else None,
                ),
            )
            # Everything built so far (schema, mappers, caches) lives as long as the process:
            # moved out of the collector's reach, a full collection no longer walks it on
            # the request path (about a fifth of the case list's CPU before).
            if settings.gc_freeze:
                gc.collect()
                gc.freeze()
            try:
                yield
            finally:
                if sender is not None:
                    await sender.stop()
                await dispatcher.aclose()
                await api_keys.settle()
                await budgets.close()
                await hub.stop()
                if cache_listener is not None:
                    await cache_listener.stop()
                await verifier.aclose()
        finally:
            await engine.dispose()
            forget_process(settings.prometheus_multiproc_dir)

    async def healthz(_request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> JSONResponse:
        is_ready, report = await readiness(request.app.state.database.engine, head)
        return JSONResponse(report, status_code=200 if is_ready else 503)

    async def metrics(request: Request) -> Response:
        """Prometheus metrics; with ``W4R_METRICS_TOKEN`` only for its bearer."""
        token = secret_value(settings.metrics_token)
        if not is_authorized(request.headers.get("authorization"), token):
            return Response(
                "A bearer token is required (W4R_METRICS_TOKEN).\n",
                401,
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
                media_type="text/plain",
            )
        observe_pool(request.app.state.database.engine.pool)
        body, content_type = exposition(
            request.headers.get("accept"), settings.prometheus_multiproc_dir
        )
        return Response(body, headers={"Content-Type": content_type})

    return Starlette(
        routes=[
            Route("/graphql", endpoint, methods=["GET", "POST"]),
            Route("/s/{code}/graphql", endpoint, methods=["GET", "POST"]),
            Route("/s/{code}/events.ics", section_calendar, methods=["GET"]),
            Route("/s/{code}/events/{event_id}.ics", event_calendar, methods=["GET"]),
            Route(
                "/s/{code}/petitions/{case_id}/signatures.csv",
                petition_signatures,
                methods=["GET"],
            ),
            WebSocketRoute("/graphql", websocket_endpoint),
            WebSocketRoute("/s/{code}/graphql", websocket_endpoint),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
            Route("/dashboard", dashboard_page, methods=["GET"]),
            Route("/s/{code}/dashboard", dashboard_page, methods=["GET"]),
            Mount(ASSETS_PATH, app=StaticFiles(directory=STATIC_DIR, check_dir=False)),
        ],
        lifespan=lifespan,
    )
