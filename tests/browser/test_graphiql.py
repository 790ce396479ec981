"""GraphiQL in a real browser with no network: it loads, runs a query, shows the answer."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.browser.conftest import BrowserProblems, DemoServer
from tests.servers import serving
from w4r.platform.auth import Role

if TYPE_CHECKING:  # without playwright, the harness skips these tests
    from playwright.async_api import Page

QUERY = "{ historicTotals { year quantity } }"
INTROSPECT = "{ __schema { queryType { name } } }"
EDITOR = ".graphiql-query-editor .CodeMirror"
HEADERS = ".graphiql-editor-tool .CodeMirror:visible"
RESPONSE = ".graphiql-response .CodeMirror"
LOAD_TIMEOUT_MS = 30_000


async def published_totals(demo_server: DemoServer) -> list[dict[str, int]]:
    """What the API should answer, read from the database."""
    engine = create_async_engine(demo_server.target.admin_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                text("SELECT year, quantity FROM historic_totals ORDER BY year")
            )
            return [{"year": year, "quantity": quantity} for year, quantity in rows]
    finally:
        await engine.dispose()


async def open_graphiql(page: Page, url: str) -> None:
    from playwright.async_api import expect

    await page.goto(url)
    await expect(page.locator(EDITOR)).to_be_visible(timeout=LOAD_TIMEOUT_MS)


async def type_into(page: Page, selector: str, value: str) -> None:
    """Type ``value`` into a GraphiQL editor as a person would (CodeMirror closes brackets
    and quotes, then types over the closing ones)."""
    editor = page.locator(selector)
    await editor.click()
    await page.keyboard.press("Control+A")
    await page.keyboard.press("Delete")
    await page.keyboard.type(value)
    assert await editor.evaluate("(node) => node.CodeMirror.getValue()") == value


async def run_query(page: Page, url: str, query: str = QUERY) -> Any:
    """Type ``query`` into the editor of the GraphiQL open at ``url``, run it with
    Ctrl+Enter, and return the answer it shows."""
    from playwright.async_api import expect

    await type_into(page, EDITOR, query)
    async with page.expect_response(
        lambda response: (
            response.request.method == "POST" and query in (response.request.post_data or "")
        )
    ) as answered:
        await page.keyboard.press("Control+Enter")
    response = await answered.value
    assert response.url == url
    result = page.locator(RESPONSE)
    await expect(result).not_to_be_empty(timeout=LOAD_TIMEOUT_MS)
    shown = await result.evaluate("(node) => node.CodeMirror.getValue()")
    return json.loads(shown)


async def test_graphiql_runs_a_query_offline(
    page: Page, demo_server: DemoServer, screenshot: Callable[..., Awaitable[Path]]
) -> None:
    # given the published totals, as the database holds them
    expected = await published_totals(demo_server)
    assert len(expected) > 1

    # when GraphiQL runs the query, on a machine with no way out
    await open_graphiql(page, f"{demo_server.url}/graphql")
    answer = await run_query(page, f"{demo_server.url}/graphql")

    # then it shows the database's numbers
    assert answer["data"] == {"historicTotals": expected}
    path = await screenshot(page, "graphiql.png")
    assert path.stat().st_size > 10_000


async def test_graphiql_at_a_sections_endpoint_asks_that_endpoint(
    page: Page, demo_server: DemoServer
) -> None:
    # given a section of the demo data
    expected = await published_totals(demo_server)
    assert "gb" in demo_server.report.sections

    # when
    await open_graphiql(page, f"{demo_server.url}/s/gb/graphql")
    answer = await run_query(page, f"{demo_server.url}/s/gb/graphql")

    # then (run_query checked the POST went to the section's endpoint)
    assert answer["data"] == {"historicTotals": expected}


async def test_staff_only_graphiql_answers_the_schema_to_the_token_in_its_headers(
    page: Page, demo_server: DemoServer, browser_problems: BrowserProblems
) -> None:
    # given a deployment where GraphiQL is for staff, opened without a token: GraphiQL's own
    # schema fetch is refused (400), which it shows
    browser_problems.expect("HTTP 400")
    browser_problems.expect("status of 400")
    staff_settings = demo_server.settings.model_copy(update={"graphql_ide": "staff"})
    async with serving(staff_settings, demo_server.target) as running:
        url = f"{running.http_url}/graphql"
        await open_graphiql(page, url)
        refused = await run_query(page, url, INTROSPECT)
        token = demo_server.token_for(Role.IS_ANALYST)

        # when an IS analyst pastes their token into the headers pane and runs it again
        await page.get_by_text("Headers", exact=True).click()
        await type_into(page, HEADERS, json.dumps({"Authorization": f"Bearer {token}"}))
        answer = await run_query(page, url, INTROSPECT)

    # then
    assert [error["message"] for error in refused["errors"]] == [
        f"Introspection ({field!r}) is answered to section and IS staff only: send a staff "
        "token as `Authorization: Bearer <token>` (in GraphiQL, in the Headers pane)."
        for field in ("__schema", "queryType")
    ]
    assert answer["data"] == {"__schema": {"queryType": {"name": "Query"}}}
