"""Database engine, roles and the per-request unit of work that binds a tenant.

Isolation between sections is enforced by PostgreSQL row-level security. The app connects as
:data:`APP_ROLE` (not a superuser, no BYPASSRLS, owns nothing) and every transaction it opens
first runs ``set_config('w4r.section_id', …, true)`` and ``set_config('w4r.scope', …, true)``:
transaction-local settings, so a pooled connection never carries one request's section into
the next. The binding is done in one place, :func:`_bind_tenant`, hooked to the session's
``after_begin`` event, so *every* transaction of a request's session is bound, including
ones that begin after a commit. The same statement reads the version of the reference data
(:func:`reference_version`, w4r.platform.reference).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, Final, Literal
from uuid import UUID

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import event, text
from sqlalchemy import exc as sqlalchemy_errors
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.pool import ConnectionPoolEntry

OWNER_ROLE = "w4r_owner"
"""Owns every table; migrations run as this role."""

APP_ROLE = "w4r_app"
"""Serves requests: owns nothing, no superuser, no BYPASSRLS, row-level security applies."""

SECTION_SETTING = "w4r.section_id"
SCOPE_SETTING = "w4r.scope"

logger = logging.getLogger(__name__)

UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,  # refused or reset connections, the server's socket gone
    sqlalchemy_errors.TimeoutError,  # no pooled connection came free in time
    asyncpg.PostgresConnectionError,  # class 08: the connection failed or does not exist
    asyncpg.CannotConnectNowError,  # 57P03: starting up or shutting down
    asyncpg.AdminShutdownError,  # 57P01: terminated by a shutdown
    asyncpg.CrashShutdownError,  # 57P02: terminated by another backend's crash
    asyncpg.TooManyConnectionsError,  # 53300
    asyncpg.InterfaceError,  # the driver's connection is closed or broken
)
"""What a database that is down, restarting or out of connections raises, as opposed to a
fault of the request (a statement timeout, a constraint, a bug)."""


def is_database_unavailable(error: BaseException) -> bool:
    """Whether ``error`` (or what it wraps) says the database could not be reached: the
    request did not run, and sending it again later is the cure."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, UNAVAILABLE_ERRORS):
            return True
        if isinstance(current, sqlalchemy_errors.DBAPIError):
            if current.connection_invalidated:
                return True
            if isinstance(current.orig, BaseException):
                current = current.orig  # the driver's error, as SQLAlchemy wrapped it
                continue
        current = current.__cause__ or current.__context__
    return False


ScopeKind = Literal["section", "global"]


@dataclasses.dataclass(frozen=True, slots=True)
class TenantBinding:
    """What a transaction is bound to: one section, or the global (IS) scope."""

    section_id: UUID | None

    @property
    def scope(self) -> ScopeKind:
        return "global" if self.section_id is None else "section"

    @classmethod
    def global_scope(cls) -> TenantBinding:
        return cls(section_id=None)

    @classmethod
    def for_section(cls, section_id: UUID) -> TenantBinding:
        return cls(section_id=section_id)


_BIND_SQL = text(
    "select set_config('w4r.section_id', :section_id, true), "
    "set_config('w4r.scope', :scope, true), (select version from reference_version)"
)
_REFERENCE_VERSION_SQL = text("select version from reference_version")
_REFERENCE_VERSION = "reference_version"
"""The ``session.info`` key of the reference version its current transaction read."""


def _bind_tenant(session: Session, transaction: SessionTransaction, connection: Connection) -> None:
    if transaction.nested:
        # A savepoint runs inside a transaction this hook has already bound, and the
        # settings stay as they are (rolling back to a savepoint restores them).
        return
    # The same round trip reads the version of the reference data (w4r.platform.reference).
    row = connection.execute(_BIND_SQL, _binding_parameters(session.info.get("tenant"))).one()
    session.info[_REFERENCE_VERSION] = row[2]


def _binding_parameters(binding: object) -> dict[str, str]:
    """The settings of :data:`_BIND_SQL` for ``binding``. Fail closed: an unbound session
    sees no tenant rows and cannot insert any."""
    if not isinstance(binding, TenantBinding):
        return {"section_id": "", "scope": ""}
    section = "" if binding.section_id is None else str(binding.section_id)
    return {"section_id": section, "scope": binding.scope}


async def reference_version(session: AsyncSession) -> UUID:
    """The version of the reference data (migration 0013) that the session's transaction
    read when it began (beginning it if need be)."""
    await session.connection()
    version: UUID = session.info[_REFERENCE_VERSION]
    return version


async def current_reference_version(session: AsyncSession) -> UUID:
    """The version as the session's transaction sees it now: a newer one than it began
    with when a change committed since, or when the transaction made one itself."""
    version: UUID = (await session.execute(_REFERENCE_VERSION_SQL)).scalar_one()
    return version


class TenantSession(Session):
    """The sync session class behind every app session; see :func:`_bind_tenant`."""


event.listen(TenantSession, "after_begin", _bind_tenant)


class SerialSession(AsyncSession):
    """An AsyncSession whose database calls take turns.

    GraphQL resolves sibling fields concurrently and DataLoaders dispatch their batches
    concurrently, but a session (and its one connection) can run one statement at a time:
    SQLAlchemy refuses concurrent use. Each call that talks to the database waits for its
    turn on a per-session lock; batching is untouched, since every batch is one statement.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._turn = asyncio.Lock()

    async def execute(self, *args: Any, **kwargs: Any) -> Any:
        async with self._turn:
            return await super().execute(*args, **kwargs)

    async def scalar(self, *args: Any, **kwargs: Any) -> Any:
        async with self._turn:
            return await super().scalar(*args, **kwargs)

    async def scalars(self, *args: Any, **kwargs: Any) -> Any:
        async with self._turn:
            return await super().scalars(*args, **kwargs)

    async def get(self, *args: Any, **kwargs: Any) -> Any:
        async with self._turn:
            return await super().get(*args, **kwargs)

    async def flush(self, *args: Any, **kwargs: Any) -> None:
        async with self._turn:
            await super().flush(*args, **kwargs)

    async def refresh(self, *args: Any, **kwargs: Any) -> None:
        async with self._turn:
            await super().refresh(*args, **kwargs)

    async def commit(self) -> None:
        async with self._turn:
            await super().commit()

    async def rollback(self) -> None:
        async with self._turn:
            await super().rollback()

    async def copy_records(
        self, table: str, columns: Sequence[str], records: Iterable[Sequence[Any]]
    ) -> None:
        """``COPY table (columns) FROM STDIN`` (binary) of ``records``, on the session's
        connection and in its transaction (bound to its tenant like any other statement)."""
        async with self._turn:
            connection = await super().connection()
            driver = (await connection.get_raw_connection()).driver_connection
            if driver is None:
                raise RuntimeError("The session's connection is closed.")
            await driver.copy_records_to_table(table, records=records, columns=list(columns))


def asyncpg_url(url: str | URL) -> URL:
    """The URL with the asyncpg driver, whatever driver name it was given with."""
    parsed = make_url(url) if isinstance(url, str) else url
    return parsed.set(drivername="postgresql+asyncpg")


def app_role_url(admin_url: str | URL, password: str | None) -> URL:
    """The admin URL with the user replaced by the app role (same host, port, database)."""
    return asyncpg_url(admin_url).set(username=APP_ROLE, password=password)


def create_engine(
    url: URL,
    *,
    pool_size: int = 10,
    max_overflow: int = 5,
    pool_timeout: float = 10.0,
    statement_cache_size: int = 100,
    statement_timeout_ms: int = 15_000,
    application_name: str = "w4r",
    idle_ping_seconds: float | None = None,
) -> AsyncEngine:
    """An asyncpg engine. Server settings are sent at connect time, never with ``SET``.
    ``idle_ping_seconds``: see :func:`_ping_when_idle` (default :data:`IDLE_PING_SECONDS`)."""
    server_settings = {"application_name": application_name}
    if statement_timeout_ms:
        server_settings["statement_timeout"] = str(statement_timeout_ms)
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=pool_timeout,
        # Statement parameters hold personal data (emails, names): never put them in
        # exception texts, which reach the logs.
        hide_parameters=True,
        connect_args={
            "statement_cache_size": statement_cache_size,
            "server_settings": server_settings,
        },
    )
    _ping_when_idle(engine, IDLE_PING_SECONDS if idle_ping_seconds is None else idle_ping_seconds)
    return engine


IDLE_PING_SECONDS: Final = 10.0
"""A pooled connection idle for longer than this is pinged before it is handed out."""
_IDLE_SINCE: Final = "w4r_idle_since"


def _ping_when_idle(engine: AsyncEngine, idle_seconds: float) -> None:
    """Ping a pooled connection before use only when it has been idle for ``idle_seconds``.

    SQLAlchemy's ``pool_pre_ping`` pings on every checkout, and on asyncpg a ping is three
    round trips (BEGIN, an empty statement, ROLLBACK): an eighth of a public action's CPU.
    A connection in steady use is known to work; one that has sat idle may have been closed
    by the server, a proxy or a firewall, and is replaced transparently when its ping
    fails. A connection that breaks while in use (the server restarted under load) fails
    its request with DATABASE_UNAVAILABLE, and SQLAlchemy then replaces every connection
    the pool opened before that failure, so an outage costs a process one failed request,
    not one per pooled connection."""
    dialect = engine.sync_engine.dialect

    def checked_in(_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    def checked_out(connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
        idle_since = record.info.get(_IDLE_SINCE)
        if idle_since is None or time.monotonic() - idle_since < idle_seconds:
            return
        try:
            dialect.do_ping(connection)
        except Exception as error:  # whatever went wrong, a new connection is the cure
            raise sqlalchemy_errors.DisconnectionError(
                "A pooled connection failed its ping."
            ) from error

    event.listen(engine.sync_engine.pool, "checkin", checked_in)
    event.listen(engine.sync_engine.pool, "checkout", checked_out)


class Database:
    """The app's engine and session factory; every session it makes is tenant-bound."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._sessions = async_sessionmaker(
            engine,
            class_=SerialSession,
            expire_on_commit=False,
            autoflush=True,
            sync_session_class=TenantSession,
        )

    def session(
        self, binding: TenantBinding, *, isolation_level: str | None = None
    ) -> AsyncSession:
        """A new session whose every transaction is bound to ``binding``."""
        if isolation_level is None:
            return self._sessions(info={"tenant": binding})
        bind = self.engine.execution_options(isolation_level=isolation_level)
        return self._sessions(info={"tenant": binding}, bind=bind)

    @staticmethod
    def bound_to_connection(connection: AsyncConnection, binding: TenantBinding) -> AsyncSession:
        """A bound session inside ``connection``'s open transaction; its commits are
        savepoints, so the owner of the connection decides what is kept (tests)."""
        return SerialSession(
            bind=connection,
            sync_session_class=TenantSession,
            join_transaction_mode="create_savepoint",
            expire_on_commit=False,
            info={"tenant": binding},
        )

    def unit_of_work(self, binding: TenantBinding) -> UnitOfWork:
        return UnitOfWork(self, binding)

    async def dispose(self) -> None:
        await self.engine.dispose()


AfterCommit = Callable[[], Awaitable[None] | None]


class UnitOfWork:
    """One request's database work: opened on first use, committed once at the boundary.

    Services flush and never commit; the request boundary calls :meth:`commit` when the
    operation succeeded and :meth:`close` always (which rolls back anything uncommitted).
    """

    def __init__(self, database: Database, binding: TenantBinding) -> None:
        self.binding = binding
        self._database = database
        self._session: AsyncSession | None = None
        self._after_commit: list[AfterCommit] = []

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            self._session = self._database.session(self.binding)
        return self._session

    def after_commit(self, callback: AfterCommit) -> None:
        """Run ``callback`` once the request's writes are committed (never on rollback)."""
        self._after_commit.append(callback)

    async def commit(self) -> None:
        if self._session is not None:
            await self._session.commit()
        callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            outcome = callback()
            if outcome is not None:
                await outcome

    async def rollback(self) -> None:
        self._after_commit.clear()
        if self._session is not None:
            await self._session.rollback()

    async def close(self) -> None:
        self._after_commit.clear()
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()


async def describe_role(engine: AsyncEngine) -> dict[str, Any]:
    """The connected role's attributes, used to refuse serving as a privileged role."""
    async with engine.connect() as connection:
        row = (
            await connection.execute(
                text(
                    "select current_user as name, rolsuper as is_superuser, "
                    "rolbypassrls as bypasses_rls from pg_roles where rolname = current_user"
                )
            )
        ).one()
    return dict(row._mapping)


async def rebind(session: AsyncSession, binding: TenantBinding) -> None:
    """Bind the session's current transaction (and its next ones) to another scope.

    For maintenance work that must visit every section inside one snapshot (reconciling
    totals); request code never calls it."""
    session.info["tenant"] = binding
    result = await session.execute(_BIND_SQL, _binding_parameters(binding))
    session.info[_REFERENCE_VERSION] = result.one()[2]


class PrivilegedRoleError(RuntimeError):
    """The app was about to serve requests as a role that row-level security does not bind."""


async def ensure_unprivileged(engine: AsyncEngine) -> None:
    """Refuse to serve as a superuser or a BYPASSRLS role: RLS would not apply to it."""
    role = await describe_role(engine)
    if role["is_superuser"] or role["bypasses_rls"]:
        raise PrivilegedRoleError(
            f"The app connects as role {role['name']!r}, which bypasses row-level security. "
            f"Connect as {APP_ROLE!r} (W4R_APP_DATABASE_URL), created by `w4r migrate`."
        )
