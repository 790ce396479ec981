"""GraphiQL from the app: no CDN, every file checked against strawberry's hashes, and who
gets the page and the schema under each ``W4R_GRAPHQL_IDE``."""

from __future__ import annotations

import base64
import hashlib
import re
import shutil
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from starlette.applications import Starlette
from strawberry.http.ides import get_graphql_ide_html

from tests.conftest import GraphQLClient
from w4r.app import create_app
from w4r.platform.auth import Role
from w4r.platform.bootstrap import DatabaseTarget
from w4r.settings import Settings
from w4r.web import STATIC_DIR
from w4r.web.graphiql import GraphiQLAssetsError, graphiql_page, rewrite

HTML = {"accept": "text/html"}
ADDRESS = re.compile(r'\b(?:src|href)="(?P<url>[^"]*)"')
CONTENT_TYPES = {".js": "text/javascript", ".css": "text/css"}
INTROSPECT = "{ __schema { queryType { name } } }"
MISSPELLED = "{ viewr { role } }"
REFUSED = [
    f"Introspection ({field!r}) is answered to section and IS staff only: send a staff token "
    "as `Authorization: Bearer <token>` (in GraphiQL, in the Headers pane)."
    for field in ("__schema", "queryType")
]


def referenced_assets(page: str) -> list[tuple[str, str]]:
    """(address, integrity) of every script and stylesheet, as the tag orders them."""
    normalised = re.sub(r"\s+", " ", page)
    return [
        (match["url"], match["integrity"])
        for match in re.finditer(
            r'<(?:script|link)\b[^>]*?(?:src|href)="(?P<url>[^"]+)"[^>]*?'
            r'integrity="(?P<integrity>[^"]+)"',
            normalised,
        )
    ]


# --- the page ------------------------------------------------------------------------------


async def test_the_page_loads_nothing_from_another_host(client: httpx.AsyncClient) -> None:
    # when
    response = await client.get("/graphql", headers=HTML)

    # then the page is strawberry's, every address is the app's own or inline data
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    page = response.text
    assert page == graphiql_page().html
    addresses = [match["url"] for match in ADDRESS.finditer(page)]
    assert len(addresses) == 8
    assert [url for url in addresses if not url.startswith(("/assets/graphiql/", "data:"))] == []
    # the favicon's data: URI names the SVG namespace, which is no request
    without_data = page.replace(addresses[0], "")
    assert addresses[0].startswith("data:image/svg+xml")
    assert "://" not in without_data


async def test_every_asset_is_served_with_the_hash_strawberry_published(
    client: httpx.AsyncClient,
) -> None:
    # given the page and strawberry's own template
    template_integrities = {
        integrity for _, integrity in referenced_assets(get_graphql_ide_html("graphiql"))
    }
    assets = referenced_assets(graphiql_page().html)
    assert len(assets) == 7
    assert {integrity for _, integrity in assets} == template_integrities

    for url, integrity in assets:
        # when
        response = await client.get(url)

        # then
        assert response.status_code == 200, url
        suffix = Path(url).suffix
        assert response.headers["content-type"].split(";")[0] == CONTENT_TYPES[suffix], url
        digest = base64.b64encode(hashlib.sha384(response.content).digest()).decode()
        assert f"sha384-{digest}" == integrity, url


async def test_a_sections_endpoint_serves_the_page_too(
    client: httpx.AsyncClient, new_section: Callable[..., Awaitable[dict[str, Any]]]
) -> None:
    # given
    section = await new_section()

    # when
    response = await client.get(f"/s/{section['code']}/graphql", headers=HTML)

    # then
    assert response.status_code == 200
    assert response.text == graphiql_page().html


async def test_the_page_runs_only_its_own_scripts(client: httpx.AsyncClient) -> None:
    # when
    response = await client.get("/graphql", headers={**HTML, "host": "api.example.org"})

    # then the policy allows the app's own files and the page's one inline script by its
    # hash (so an injected script cannot run), and nothing from another host
    policy = dict(
        directive.split(" ", 1)
        for directive in response.headers["content-security-policy"].split("; ")
    )
    inline = re.findall(r"<script>(.*?)</script>", response.text, re.DOTALL)
    assert len(inline) == 1
    digest = base64.b64encode(hashlib.sha256(inline[0].encode()).digest()).decode()
    assert policy["script-src"] == f"'self' 'sha256-{digest}'"
    assert policy["default-src"] == "'none'"
    assert policy["connect-src"] == "'self' ws://api.example.org wss://api.example.org"
    assert policy["img-src"] == policy["font-src"] == "'self' data:"
    assert policy["frame-ancestors"] == "'none'"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"


def test_a_file_the_app_lacks_is_named_with_the_fix(tmp_path: Path) -> None:
    # given the installed template, but none of the built files
    template = get_graphql_ide_html("graphiql")

    # when / then
    with pytest.raises(GraphiQLAssetsError) as raised:
        rewrite(template, tmp_path)
    message = str(raised.value)
    assert "graphiql@3.8.3/graphiql.min.js" in message
    assert "run scripts/build-web" in message


def test_an_address_that_is_not_a_package_file_is_refused(tmp_path: Path) -> None:
    # given a template that loads something the build cannot provide
    template = '<script src="https://example.org/analytics.js"></script>'

    # when / then
    with pytest.raises(GraphiQLAssetsError, match=r"https://example\.org/analytics\.js"):
        rewrite(template, tmp_path)


def test_no_asset_is_ignored_by_git() -> None:
    """The assets are committed and packaged (hatchling skips what git ignores): a broad
    ignore rule (``dist/``) once hid two of them."""
    root = STATIC_DIR.parent.parent.parent
    git = shutil.which("git")
    if git is None or not (root / ".git").exists():
        pytest.skip("not a git checkout")
    files = [str(path.relative_to(root)) for path in STATIC_DIR.rglob("*") if path.is_file()]
    assert files

    ignored = subprocess.run(
        [git, "check-ignore", "--no-index", "--stdin"],
        input="\n".join(files),
        capture_output=True,
        text=True,
        cwd=root,
        check=False,
    )

    assert ignored.stdout.split() == []


# --- settings ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("environment", "values", "ide", "introspection"),
    [
        ("development", {}, "on", "on"),
        ("production", {}, "off", "off"),
        ("production", {"graphql_ide": "staff"}, "staff", "staff"),
        ("production", {"graphql_ide": "true"}, "on", "on"),
        ("development", {"graphql_ide": "false"}, "off", "off"),
        ("production", {"graphql_ide": "staff", "introspection": "on"}, "staff", "on"),
        ("development", {"introspection": "False"}, "on", "off"),
    ],
)
def test_graphiql_and_introspection_settings(
    environment: str, values: dict[str, str], ide: str, introspection: str
) -> None:
    # when
    settings = Settings(_env_file=None, environment=environment, **values)  # type: ignore[arg-type]

    # then
    assert (settings.graphql_ide_access, settings.introspection_access) == (ide, introspection)


def test_an_unknown_graphiql_setting_is_refused() -> None:
    with pytest.raises(ValidationError, match="'on', 'staff' or 'off'"):
        Settings(_env_file=None, graphql_ide="admins")


# --- off and staff -------------------------------------------------------------------------


async def app_with(
    settings: Settings, target: DatabaseTarget, **values: Any
) -> AsyncIterator[Starlette]:
    application = create_app(settings.model_copy(update=values), target=target)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(scope="module")
async def staff_only(
    settings: Settings, database_target: DatabaseTarget, token_for: Callable[..., str]
) -> AsyncIterator[GraphQLClient]:
    """A deployment with ``W4R_GRAPHQL_IDE=staff`` (and introspection unset, so alike)."""
    async for application in app_with(settings, database_target, graphql_ide="staff"):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield GraphQLClient(http, token_for)


async def test_off_serves_no_page(settings: Settings, database_target: DatabaseTarget) -> None:
    async for application in app_with(settings, database_target, graphql_ide="off"):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            # when
            response = await http.get("/graphql", headers=HTML)

    # then
    assert response.status_code == 406
    assert "GraphiQL" not in response.text


async def test_staff_serves_the_page_to_everyone(staff_only: GraphQLClient) -> None:
    # when (a browser cannot send a bearer token with the page's GET)
    response = await staff_only.http.get("/graphql", headers=HTML)

    # then
    assert response.status_code == 200
    assert response.text == graphiql_page().html


@pytest.mark.parametrize("role", [None, Role.PARTNER_APP, Role.EVENT_HOST])
async def test_staff_refuses_the_schema_to_other_callers(
    staff_only: GraphQLClient,
    new_section: Callable[..., Awaitable[dict[str, Any]]],
    role: Role | None,
) -> None:
    # given a section's endpoint (event hosts belong to one)
    code = (await new_section())["code"]

    # when
    response = await staff_only.post(INTROSPECT, role=role, token_section=code, section=code)

    # then
    assert response.status_code == 400
    assert [error["message"] for error in response.json()["errors"]] == REFUSED


async def test_staff_refuses_the_schema_to_an_api_key(
    staff_only: GraphQLClient, graphql: GraphQLClient
) -> None:
    # given a partner's API key
    data = await graphql.data(
        API_KEY_CREATE,
        {"input": {"name": "Petition site", "scopes": ["cases:read"]}},
        role=Role.IS_ADMIN,
    )
    key = data["apiKeyCreate"]["key"]

    # when
    response = await staff_only.post(INTROSPECT, headers={"authorization": f"Bearer {key}"})

    # then
    assert response.status_code == 400
    assert [error["message"] for error in response.json()["errors"]] == REFUSED


@pytest.mark.parametrize("role", [Role.IS_ADMIN, Role.IS_ANALYST])
async def test_staff_answers_the_schema_to_is_staff(staff_only: GraphQLClient, role: Role) -> None:
    # when
    data = await staff_only.data(INTROSPECT, role=role)

    # then
    assert data == {"__schema": {"queryType": {"name": "Query"}}}


@pytest.mark.parametrize("role", [Role.SECTION_ADMIN, Role.SECTION_EDITOR])
async def test_staff_answers_the_schema_to_section_staff(
    staff_only: GraphQLClient,
    new_section: Callable[..., Awaitable[dict[str, Any]]],
    role: Role,
) -> None:
    # given
    code = (await new_section())["code"]

    # when
    data = await staff_only.data(INTROSPECT, role=role, token_section=code, section=code)

    # then
    assert data == {"__schema": {"queryType": {"name": "Query"}}}


async def test_staff_suggests_field_names_to_staff_only(staff_only: GraphQLClient) -> None:
    # when
    anonymous = await staff_only.post(MISSPELLED)
    staff = await staff_only.post(MISSPELLED, role=Role.IS_ANALYST)

    # then
    assert [error["message"] for error in anonymous.json()["errors"]] == [
        "Cannot query field 'viewr' on type 'Query'."
    ]
    assert [error["message"] for error in staff.json()["errors"]] == [
        "Cannot query field 'viewr' on type 'Query'. Did you mean 'viewer'?"
    ]


API_KEY_CREATE = """
mutation ($input: ApiKeyCreateInput!) {
  apiKeyCreate(input: $input) { key errors { field code message } }
}
"""
