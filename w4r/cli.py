"""The ``w4r`` command: serve, migrate, demo, token, sections.

Every command reads the same settings as the app (``W4R_*`` environment variables). With no
``W4R_DATABASE_URL`` the commands that need a database start the embedded PostgreSQL in the
data directory (``--data-dir`` or ``W4R_DATA_DIR``).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import re
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.applications import Starlette

from w4r.abuse.documents import DocumentDraft, TrustedDocumentService
from w4r.demo import DemoReport, load_demo
from w4r.mail.sender import DrainReport
from w4r.platform import bootstrap, migrations
from w4r.platform.auth import ISSUABLE_ROLES, Role, TokenError, TokenIssuer
from w4r.platform.database import Database, TenantBinding, create_engine, ensure_unprivileged
from w4r.platform.errors import InvalidInputError
from w4r.platform.logging import configure_logging
from w4r.settings import Settings
from w4r.supporters.service import ErasureReport, purge_inactive
from w4r.tenants.repository import SectionRepository
from w4r.tenants.service import SectionDraft, SectionService, normalize_section_code
from w4r.totals.service import ReconcileReport, reconcile
from w4r.webhooks.dispatcher import DispatchReport

T = TypeVar("T")

logger = logging.getLogger("w4r")


SERVE_OVERRIDES = ("workers", "proxy_headers", "forwarded_allow_ips", "log_format")
"""``w4r serve`` options that override the setting of the same name when given."""


def _settings(arguments: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {}
    if getattr(arguments, "data_dir", None) is not None:
        overrides["data_dir"] = arguments.data_dir
    if getattr(arguments, "host", None) is not None:
        overrides["host"] = arguments.host
    if getattr(arguments, "port", None) is not None:
        overrides["port"] = arguments.port
    for name in SERVE_OVERRIDES:
        if getattr(arguments, name, None) is not None:
            overrides[name] = getattr(arguments, name)
    if getattr(arguments, "no_migrate", False):
        overrides["migrate_on_start"] = False
    return Settings(**overrides)


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


async def _with_app_database(
    target: bootstrap.DatabaseTarget, work: Callable[[Database], Awaitable[T]]
) -> T:
    """Run ``work`` with the app role's database (never the admin's)."""
    engine = create_engine(target.app_url, pool_size=1, max_overflow=0)
    try:
        await ensure_unprivileged(engine)
        return await work(Database(engine))
    finally:
        await engine.dispose()


async def _with_app_session(
    target: bootstrap.DatabaseTarget, work: Callable[[AsyncSession], Awaitable[T]]
) -> T:
    """Run ``work`` in one committed transaction as the app role, in the global scope."""

    async def in_session(database: Database) -> T:
        async with database.session(TenantBinding.global_scope()) as session:
            result = await work(session)
            await session.commit()
            return result

    return await _with_app_database(target, in_session)


def _run_in_app_session(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Prepare the database (embedded server, migrations), then run ``work`` in one
    committed global-scope transaction as the app role. Input problems exit with status 1."""

    async def run() -> T:
        target = await bootstrap.prepare(settings)
        return await _with_app_session(target, work)

    try:
        return asyncio.run(run())
    except InvalidInputError as error:
        raise SystemExit(_problems(error)) from error


def command_serve(arguments: argparse.Namespace) -> int:
    import uvicorn

    from w4r.app import create_app

    try:
        settings = _settings(arguments)
    except ValidationError as error:
        raise SystemExit(_invalid_settings(error)) from error
    configure_logging(settings.log_format_in_use, settings.log_level)
    if settings.workers > 1 and settings.database_url is None and settings.app_database_url is None:
        raise SystemExit(
            "--workers above 1 needs an external PostgreSQL (W4R_DATABASE_URL or "
            "W4R_APP_DATABASE_URL): the embedded server is for one process."
        )

    async def prepare() -> bootstrap.DatabaseTarget:
        target = await bootstrap.prepare(settings)
        if arguments.demo:
            report = await _with_app_database(target, load_demo)
            _out(report.describe())
        return target

    target = asyncio.run(prepare())
    where = (
        "embedded PostgreSQL in " + str(settings.embedded_pgdata)
        if target.embedded
        else (bootstrap.redact(target.admin_url))
    )
    base = settings.public_url or f"http://{settings.host}:{settings.port}"
    _out(f"Database: {where}")
    _out(f"GraphQL endpoint: {base}/graphql  (a section's: {base}/s/<code>/graphql)")
    if settings.graphql_ide_enabled:
        access = (
            " (the schema for staff tokens only)" if settings.graphql_ide_access == "staff" else ""
        )
        _out(f"GraphiQL: {base}/graphql in a browser{access}")
    _out(f"Dashboard: {base}/dashboard  (a section's: {base}/s/<code>/dashboard)")
    _out(f"Health: {base}/healthz  Readiness: {base}/readyz")
    # uvicorn shuts down gracefully on SIGTERM and then re-raises the signal to the handler
    # it found; with the default handler the process would die before stopping the
    # embedded PostgreSQL. Exiting normally runs the cleanup below (and pgserver's own).
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        if settings.workers == 1:
            uvicorn.run(create_app(settings, target=target), **server_options(settings))
        else:
            # Each worker is a new interpreter that builds its own app from the environment
            # (uvicorn imports WORKER_APP there): hand it what this command line decided.
            os.environ.update(worker_environment(settings))
            if settings.prometheus_multiproc_dir is None:
                logger.warning(
                    "%d workers without PROMETHEUS_MULTIPROC_DIR: /metrics answers with the "
                    "figures of whichever worker takes the request",
                    settings.workers,
                )
            uvicorn.run(
                WORKER_APP, factory=True, workers=settings.workers, **server_options(settings)
            )
    finally:
        if target.embedded is not None:
            target.embedded.stop()
    return 0


WORKER_APP = "w4r.cli:worker_app"
"""The factory each of several uvicorn workers builds its app with."""


def server_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's options for ``w4r serve``, from the settings."""
    return {
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level.lower(),
        # Named, not "auto": a missing uvloop or httptools fails at start instead of
        # quietly serving with the slower pure-Python loop and parser.
        "loop": "uvloop",
        "http": "httptools",
        # configure_logging sends uvicorn's loggers, access log included, through the
        # redacting handler; uvicorn's own config would add handlers of its own.
        "log_config": None,
        # The peer's address is the client's unless the peer is a trusted proxy: the budgets
        # and the audit log must never take a client's word for its address.
        "proxy_headers": settings.proxy_headers,
        "forwarded_allow_ips": settings.forwarded_allow_ips,
    }


def worker_environment(settings: Settings) -> dict[str, str]:
    """What a worker process must see in its environment to build the app this command
    means: the command line's choices, and no migration (the parent ran it once)."""
    return {
        "W4R_DATA_DIR": str(settings.data_dir),
        "W4R_LOG_FORMAT": settings.log_format_in_use,
        "W4R_LOG_LEVEL": settings.log_level,
        "W4R_MIGRATE_ON_START": "false",
    }


def worker_app() -> Starlette:
    """The app of one of several workers (``WORKER_APP``): settings from the environment
    that ``w4r serve`` prepared, logs configured in this process too."""
    from w4r.app import create_app

    settings = Settings()
    configure_logging(settings.log_format_in_use, settings.log_level)
    return create_app(settings)


def _invalid_settings(error: ValidationError) -> str:
    return "\n".join(
        f"{'.'.join(str(part) for part in problem['loc'])}: {problem['msg']}"
        for problem in error.errors()
    )


def _exit_on_sigterm(_signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(0)


def command_migrate(arguments: argparse.Namespace) -> int:
    settings = _settings(arguments)
    if arguments.sql:
        _out(migrations.upgrade_sql(arguments.revision))
        return 0
    if settings.database_url is None and settings.app_database_url is not None:
        raise SystemExit(
            "W4R_DATABASE_URL is not set: migrations run with the admin URL (a role that may "
            "create roles), never with W4R_APP_DATABASE_URL."
        )
    target = bootstrap.resolve_target(settings)
    migrations.upgrade(target.admin_url, revision=arguments.revision)
    if settings.database_app_password is not None:
        asyncio.run(
            migrations.set_app_role_password(
                target.admin_url, settings.database_app_password.get_secret_value()
            )
        )
    _out(f"Database migrated to {arguments.revision} ({migrations.head_revision()} is head).")
    return 0


def command_demo(arguments: argparse.Namespace) -> int:
    settings = _settings(arguments)

    async def run() -> DemoReport:
        return await _with_app_database(await bootstrap.prepare(settings), load_demo)

    _out(asyncio.run(run()).describe())
    return 0


def command_token_issue(arguments: argparse.Namespace) -> int:
    from w4r.app import signing_key

    settings = _settings(arguments)
    section = None
    if arguments.section is not None:
        try:
            section = normalize_section_code(arguments.section)
        except InvalidInputError as error:
            raise SystemExit(str(error)) from error
    issuer = TokenIssuer(
        signing_key(settings), issuer=settings.token_issuer, audience=settings.token_audience
    )
    try:
        token = issuer.issue(
            Role(arguments.role),
            section_code=section,
            subject=arguments.subject,
            ttl_seconds=arguments.ttl,
        )
    except TokenError as error:
        raise SystemExit(str(error)) from error
    _out(token)
    return 0


def command_sections_list(arguments: argparse.Namespace) -> int:

    async def read(session: AsyncSession) -> list[tuple[str, str, str, str, str, list[str]]]:
        service = SectionService(session)
        sections = await service.page(after_code=None, limit=10_000)
        hosts = await service.hosts_by_section_ids([section.id for section in sections])
        return [
            (s.code, s.name, s.country, ",".join(s.languages), s.time_zone, hosts[s.id])
            for s in sections
        ]

    rows = _run_in_app_session(_settings(arguments), read)
    if not rows:
        _out("No sections yet: `w4r demo` loads six, `w4r sections create` adds one.")
    for code, name, country, languages, time_zone, hosts in rows:
        _out(f"{code:8} {country}  {languages:14} {time_zone:20} {name}  {' '.join(hosts)}")
    return 0


def command_sections_create(arguments: argparse.Namespace) -> int:
    draft = SectionDraft(
        code=arguments.code,
        name=arguments.name,
        country=arguments.country,
        languages=arguments.language,
        time_zone=arguments.time_zone,
        default_language=arguments.default_language,
        hosts=arguments.host_name or (),
    )

    async def create(session: AsyncSession) -> str:
        return (await SectionService(session).create(draft)).code

    code = _run_in_app_session(_settings(arguments), create)
    _out(f"Section {code!r} created.")
    return 0


def command_sections_add_host(arguments: argparse.Namespace) -> int:
    async def add(session: AsyncSession) -> str:
        service = SectionService(session)
        section = await service.get_by_code(arguments.code)
        if section is None:
            raise SystemExit(f"No section has the code {arguments.code!r}.")
        return await service.add_host(section, arguments.host_name)

    host = _run_in_app_session(_settings(arguments), add)
    _out(f"Host {host!r} now identifies section {arguments.code!r}.")
    return 0


def command_totals_reconcile(arguments: argparse.Namespace) -> int:
    settings = _settings(arguments)

    async def run() -> ReconcileReport:
        target = await bootstrap.prepare(settings)
        return await _with_app_database(
            target, lambda database: reconcile(database, repair=arguments.repair)
        )

    report = asyncio.run(run())
    _out(
        f"Checked {report.cells} rollup cells of {report.sections} sections against the ledger: "
        f"{len(report.drift)} with drift."
    )
    for drift in report.drift[:50]:
        campaign, case, kind, channel, verification, day = drift.key
        _out(
            f"  {drift.table} {drift.section or 'worldwide'} campaign={campaign} case={case} "
            f"{kind}/{channel}/{verification} {day}: ledger {drift.ledger[0]} actions in "
            f"{drift.ledger[1]} rows, rollups {drift.rollup[0]} in {drift.rollup[1]}"
        )
    if len(report.drift) > 50:
        _out(f"  ... and {len(report.drift) - 50} more")
    if report.repaired:
        _out("Repaired: corrections added to the rollups.")
        return 0
    return 1 if report.drift else 0


def command_documents_add(arguments: argparse.Namespace) -> int:
    drafts = []
    for path in arguments.files:
        try:
            drafts.append(DocumentDraft(name=path.name, document=path.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError) as error:
            raise SystemExit(f"{path}: {error}") from error

    async def add(session: AsyncSession) -> list[tuple[str, str, bool]]:
        return await TrustedDocumentService(session).add(drafts)

    for document_id, name, is_new in _run_in_app_session(_settings(arguments), add):
        _out(f"sha256:{document_id}  {name}{'' if is_new else '  (already trusted)'}")
    return 0


def command_documents_list(arguments: argparse.Namespace) -> int:
    async def read(session: AsyncSession) -> list[tuple[str, str, str]]:
        documents = await TrustedDocumentService(session).listing()
        return [(d.id, d.created_at.isoformat(timespec="seconds"), d.name) for d in documents]

    rows = _run_in_app_session(_settings(arguments), read)
    if not rows:
        _out("No trusted documents yet: `w4r documents add <file.graphql>...` stores some.")
    for document_id, created_at, name in rows:
        _out(f"sha256:{document_id}  {created_at}  {name}")
    return 0


def command_permissions(_arguments: argparse.Namespace) -> int:
    """Print docs/permissions.md: the permission matrix, generated from the code."""
    from w4r.schema.permissions import permissions_markdown

    sys.stdout.write(permissions_markdown())
    sys.stdout.flush()
    return 0


def command_schema_export(arguments: argparse.Namespace) -> int:
    """Write the subgraph SDL (what `_service { sdl }` answers) for a gateway to compose."""
    from w4r.schema.api import build_schema
    from w4r.schema.federation import subgraph_sdl

    sdl = subgraph_sdl(build_schema(_settings(arguments))) + "\n"
    if arguments.output is None:
        sys.stdout.write(sdl)
        sys.stdout.flush()
    else:
        arguments.output.write_text(sdl, encoding="utf-8")
    return 0


def command_mail_send_pending(arguments: argparse.Namespace) -> int:
    from w4r.app import mail_sender

    settings = _settings(arguments)
    if settings.smtp_host is None:
        raise SystemExit("Set W4R_SMTP_HOST (and W4R_SMTP_FROM) to send mail.")

    async def run(database: Database) -> DrainReport:
        sender = mail_sender(settings, database)
        assert sender is not None
        return await sender.drain()

    report = asyncio.run(_prepared_app_database(settings, run))
    _out(
        f"Mail outbox of {report.sections} sections: {report.sent} sent, {report.retried} to "
        f"retry later, {report.failed} failed."
    )
    return 1 if report.failed else 0


def command_webhooks_send_pending(arguments: argparse.Namespace) -> int:
    from w4r.app import webhook_dispatcher, webhook_secret_box

    settings = _settings(arguments)

    async def run(database: Database) -> DispatchReport:
        dispatcher = webhook_dispatcher(settings, database, webhook_secret_box(settings))
        try:
            return await dispatcher.drain()
        finally:
            await dispatcher.aclose()

    report = asyncio.run(_prepared_app_database(settings, run))
    _out(
        f"Webhooks of {report.sections} sections: {report.milestones} milestones reached, "
        f"{report.delivered} delivered, {report.retried} to retry later, {report.failed} failed."
    )
    return 1 if report.failed else 0


DURATION_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
DURATION_UNITS["y"] = timedelta(days=365)


def duration(text: str) -> timedelta:
    """``36h``, ``90d``, ``26w`` or ``2y`` (a year is 365 days)."""
    match = re.fullmatch(r"\s*(\d{1,6})\s*([hdwy])\s*", text.lower())
    if match is None or int(match[1]) == 0:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a duration: give a number and a unit h, d, w or y (e.g. 2y)."
        )
    return int(match[1]) * DURATION_UNITS[match[2]]


def command_supporters_purge(arguments: argparse.Namespace) -> int:
    settings = _settings(arguments)
    before = datetime.now(UTC) - arguments.older_than

    async def run(database: Database) -> list[tuple[str, ErasureReport]]:
        async with database.session(TenantBinding.global_scope()) as session:
            sections = await SectionRepository(session).registry()
        reports = []
        for section in sorted(sections, key=lambda row: row.code):
            async with database.session(TenantBinding.for_section(section.id)) as session:
                report = await purge_inactive(session, before)
                await session.commit()
            reports.append((section.code, report))
        return reports

    reports = asyncio.run(_prepared_app_database(settings, run))
    _out(f"Erasing supporters with no activity since {before.isoformat(timespec='seconds')}:")
    for code, report in reports:
        _out(
            f"  {code:8} {report.supporters} supporters erased ({report.consents} consents, "
            f"{report.signatures} signatures unlinked, {report.mails} mails deleted); "
            f"{report.registrations} registrations of past events and {report.tallies} "
            "decided tallies anonymised"
        )
    _out(f"{sum(report.supporters for _, report in reports)} supporters erased in total.")
    return 0


async def _prepared_app_database(settings: Settings, work: Callable[[Database], Awaitable[T]]) -> T:
    return await _with_app_database(await bootstrap.prepare(settings), work)


def _problems(error: InvalidInputError) -> str:
    return "\n".join(
        f"{problem.field or 'input'}: {problem.message} ({problem.code})"
        for problem in error.problems
    )


def _positive_count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 64:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of workers from 1 to 64.")
    return value


def _data_dir_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        type=Path,
        help="where the embedded PostgreSQL and the local signing key live (W4R_DATA_DIR)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="w4r",
        description="w4r: the GraphQL platform for Write for Rights.",
        epilog="Settings come from W4R_* environment variables; see the README.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser(
        "serve",
        help="run the GraphQL server",
        description="Migrate the database to head and serve GraphQL. Without "
        "W4R_DATABASE_URL an embedded PostgreSQL is started in the data directory.",
    )
    serve.add_argument("--demo", action="store_true", help="load the demo data if absent")
    serve.add_argument("--host", help="interface to bind (W4R_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to bind (W4R_PORT, default 8000)")
    serve.add_argument(
        "--workers",
        type=_positive_count,
        help="server processes (W4R_WORKERS, default 1; above 1 needs an external PostgreSQL)",
    )
    serve.add_argument(
        "--proxy-headers",
        action=argparse.BooleanOptionalAction,
        help="trust X-Forwarded-For/-Proto from --forwarded-allow-ips (W4R_PROXY_HEADERS, "
        "default off)",
    )
    serve.add_argument(
        "--forwarded-allow-ips",
        metavar="ADDRESSES",
        help="comma-separated proxy addresses or networks, or * (W4R_FORWARDED_ALLOW_IPS, "
        "default 127.0.0.1)",
    )
    serve.add_argument(
        "--log-format",
        choices=["json", "text"],
        help="W4R_LOG_FORMAT (default: text in development, json in production)",
    )
    serve.add_argument(
        "--no-migrate",
        action="store_true",
        help="do not migrate before serving (W4R_MIGRATE_ON_START=false)",
    )
    _data_dir_option(serve)
    serve.set_defaults(handler=command_serve)

    migrate = commands.add_parser(
        "migrate",
        help="upgrade the database schema",
        description="Upgrade the database to a revision (head by default) as the admin URL, "
        "creating the owner and app roles on first run.",
    )
    migrate.add_argument("--sql", action="store_true", help="print the SQL instead of running it")
    migrate.add_argument("--revision", default="head", help="target revision (default: head)")
    _data_dir_option(migrate)
    migrate.set_defaults(handler=command_migrate)

    demo = commands.add_parser(
        "demo",
        help="load the demo data",
        description="Load what is absent of the demo data: the sections gb, us, au, pl, fr "
        "and ca, the campaigns and cases of past and present Write for Rights with their "
        "outcomes, and official and section translations.",
    )
    _data_dir_option(demo)
    demo.set_defaults(handler=command_demo)

    token = commands.add_parser("token", help="bearer tokens signed with the local key")
    token_commands = token.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    issue = token_commands.add_parser(
        "issue",
        help="print a token",
        description="Print a bearer token signed with the deployment's local key. Section "
        "roles need --section; IS roles must not have one.",
    )
    issue.add_argument("--role", required=True, choices=[role.value for role in ISSUABLE_ROLES])
    issue.add_argument("--section", help="section code, e.g. gb (section roles, partner apps)")
    issue.add_argument("--subject", help="the 'sub' claim (default: local:<role>)")
    issue.add_argument("--ttl", type=int, default=3600, help="lifetime in seconds (default 3600)")
    _data_dir_option(issue)
    issue.set_defaults(handler=command_token_issue)

    totals = commands.add_parser("totals", help="the totals derived from the action ledger")
    totals_commands = totals.add_subparsers(dest="totals_command", required=True, metavar="ACTION")
    reconcile_parser = totals_commands.add_parser(
        "reconcile",
        help="recompute the rollups from the ledger and report drift",
        description="Recompute every rollup (per section and worldwide) from the action "
        "ledger in one consistent snapshot and list each cell that differs. Exit status 1 "
        "when there is drift; with --repair, add the corrections and exit 0.",
    )
    reconcile_parser.add_argument(
        "--repair", action="store_true", help="correct the rollups to match the ledger"
    )
    _data_dir_option(reconcile_parser)
    reconcile_parser.set_defaults(handler=command_totals_reconcile)

    permissions = commands.add_parser(
        "permissions",
        help="print the permission matrix as Markdown",
        description="Print who may call each operation (docs/permissions.md), generated "
        "from the matrix in the code: w4r permissions > docs/permissions.md",
    )
    permissions.set_defaults(handler=command_permissions)

    schema = commands.add_parser("schema", help="the GraphQL schema as a federation subgraph")
    schema_commands = schema.add_subparsers(dest="schema_command", required=True, metavar="ACTION")
    export = schema_commands.add_parser(
        "export",
        help="write the subgraph SDL",
        description="Write the Apollo Federation subgraph SDL (the `_service { sdl }` form, "
        "with @link and @key) that a gateway or router composes; see docs/federation.md.",
    )
    export.add_argument(
        "--output", type=Path, metavar="FILE", help="write to FILE instead of standard output"
    )
    export.set_defaults(handler=command_schema_export)

    sections = commands.add_parser("sections", help="list and register sections")
    section_commands = sections.add_subparsers(
        dest="sections_command", required=True, metavar="ACTION"
    )
    listing = section_commands.add_parser(
        "list",
        help="list every section with its hosts",
        description="List every section with its country, languages, time zone, name and hosts.",
    )
    _data_dir_option(listing)
    listing.set_defaults(handler=command_sections_list)

    create = section_commands.add_parser(
        "create",
        help="register a section",
        description="Register a national section. Example: w4r sections create --code ie "
        "--name 'Amnesty International Ireland' --country IE --language en --language ga "
        "--time-zone Europe/Dublin",
    )
    create.add_argument("--code", required=True, help="short code, e.g. ie or fr-ca")
    create.add_argument("--name", required=True)
    create.add_argument("--country", required=True, help="ISO 3166-1 alpha-2, e.g. IE")
    create.add_argument(
        "--language", action="append", required=True, help="BCP 47 tag; repeat for each"
    )
    create.add_argument("--default-language", help="one of the languages (default: the first)")
    create.add_argument("--time-zone", required=True, help="IANA zone, e.g. Europe/Dublin")
    create.add_argument(
        "--host", dest="host_name", action="append", help="host name; repeat for each"
    )
    _data_dir_option(create)
    create.set_defaults(handler=command_sections_create)

    add_host = section_commands.add_parser(
        "add-host",
        help="add a host name to a section",
        description="Make requests for HOST resolve to section CODE.",
    )
    add_host.add_argument("code", help="section code, e.g. gb")
    add_host.add_argument("host_name", metavar="host", help="DNS name, e.g. w4r.amnesty.org.uk")
    _data_dir_option(add_host)
    add_host.set_defaults(handler=command_sections_add_host)

    documents = commands.add_parser(
        "documents", help="trusted documents (GraphQL operations sent by their SHA-256)"
    )
    document_commands = documents.add_subparsers(
        dest="documents_command", required=True, metavar="ACTION"
    )
    add_documents = document_commands.add_parser(
        "add",
        help="trust GraphQL documents",
        description="Store each file's text as a trusted document; clients send "
        '{"documentId": "sha256:<hash of the exact text>"}. Documents are immutable: a '
        "changed operation is a new document.",
    )
    add_documents.add_argument("files", nargs="+", type=Path, metavar="file.graphql")
    _data_dir_option(add_documents)
    add_documents.set_defaults(handler=command_documents_add)
    list_documents = document_commands.add_parser(
        "list", help="list the trusted documents", description="Id, date added and name."
    )
    _data_dir_option(list_documents)
    list_documents.set_defaults(handler=command_documents_list)

    mail = commands.add_parser("mail", help="the outbox of supporters' mail")
    mail_commands = mail.add_subparsers(dest="mail_command", required=True, metavar="ACTION")
    send_pending = mail_commands.add_parser(
        "send-pending",
        help="send the mail that is due, once",
        description="Send every mail of the outbox that is due now, in every section, "
        "through W4R_SMTP_HOST; failures wait for their retry. The server's replicas do "
        "this in the background; this drains the outbox once (e.g. from cron).",
    )
    _data_dir_option(send_pending)
    send_pending.set_defaults(handler=command_mail_send_pending)

    webhooks = commands.add_parser("webhooks", help="the outbox of webhook deliveries")
    webhook_commands = webhooks.add_subparsers(
        dest="webhooks_command", required=True, metavar="ACTION"
    )
    send_webhooks = webhook_commands.add_parser(
        "send-pending",
        help="check milestones and send the webhook deliveries that are due, once",
        description="In every section, record the totals milestones reached since the last "
        "check and send every webhook delivery that is due now; failures wait for their "
        "retry. The server's replicas do this in the background (unless "
        "W4R_WEBHOOK_DISPATCHER=false); this drains the outbox once (e.g. from cron).",
    )
    _data_dir_option(send_webhooks)
    send_webhooks.set_defaults(handler=command_webhooks_send_pending)

    supporters = commands.add_parser("supporters", help="supporters' personal data")
    supporter_commands = supporters.add_subparsers(
        dest="supporters_command", required=True, metavar="ACTION"
    )
    purge = supporter_commands.add_parser(
        "purge",
        help="erase supporters inactive for a time, and past events' attendees (retention)",
        description="In every section, erase each supporter with no activity (signing, "
        "confirming, giving or withdrawing consent) since the time given: their record, "
        "consents, tokens and mail, and the link of their signatures; anonymise the "
        "registrations of events that ended before then and the reporters of tallies decided "
        "before then. Every count stays.",
    )
    purge.add_argument(
        "--older-than",
        required=True,
        type=duration,
        metavar="DURATION",
        help="e.g. 2y, 26w, 90d or 36h",
    )
    _data_dir_option(purge)
    purge.set_defaults(handler=command_supporters_purge)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    handler: Callable[[argparse.Namespace], int] = arguments.handler
    return handler(arguments)


if __name__ == "__main__":
    raise SystemExit(main())
