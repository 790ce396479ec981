"""The harness itself: the page is really offline, and problems fail the test."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.browser.conftest import BrowserProblems, DemoServer

if TYPE_CHECKING:  # without playwright, the harness skips these tests
    from playwright.async_api import Page

EXTERNAL = "https://cdn.example.org/library.js"
EXTERNAL_SOCKET = "wss://live.example.org/socket"


async def test_external_requests_are_aborted_and_recorded(
    page: Page, demo_server: DemoServer, browser_problems: BrowserProblems
) -> None:
    # given a page of the app that asks for a script on another host
    browser_problems.expect(EXTERNAL)
    await page.goto(f"{demo_server.url}/healthz")

    # when it loads the script
    loaded = await page.evaluate(
        """(url) => new Promise((resolve) => {
            const script = document.createElement("script");
            script.src = url;
            script.onload = () => resolve(true);
            script.onerror = () => resolve(false);
            document.head.appendChild(script);
        })""",
        EXTERNAL,
    )

    # then the request never left the machine, and the harness saw it
    assert loaded is False
    assert browser_problems.found[0] == f"external request aborted (offline): {EXTERNAL}"


async def test_external_websockets_are_refused_and_recorded(
    page: Page, demo_server: DemoServer, browser_problems: BrowserProblems
) -> None:
    # given a page of the app that opens a websocket to another host
    browser_problems.expect(EXTERNAL_SOCKET)
    await page.goto(f"{demo_server.url}/healthz")

    # when
    opened = await page.evaluate(
        """(url) => new Promise((resolve) => {
            const socket = new WebSocket(url);
            socket.onopen = () => resolve(true);
            socket.onclose = () => resolve(false);
        })""",
        EXTERNAL_SOCKET,
    )

    # then
    assert opened is False
    assert browser_problems.found == [f"external websocket refused (offline): {EXTERNAL_SOCKET}"]


async def test_the_demo_server_serves_the_demo_data(page: Page, demo_server: DemoServer) -> None:
    response = await page.goto(f"{demo_server.url}/healthz")

    assert response is not None
    assert response.status == 200
    assert "gb" in demo_server.report.sections


def test_only_declared_problems_are_forgiven() -> None:
    # given a page's problems, one of them provoked on purpose
    problems = BrowserProblems()
    problems.expect("/missing.png")
    problems.record("HTTP 404: http://127.0.0.1:1/missing.png")
    problems.record("console error: boom (http://127.0.0.1:1/app.js)")

    # then the fixture would fail the test for the other one only
    assert problems.unexpected() == ["console error: boom (http://127.0.0.1:1/app.js)"]
