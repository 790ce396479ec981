"""The browser tests: the pages the app serves, in a real Chromium, with no network.

Playwright (the Python package, async API) drives the system's Chromium (``/usr/bin/chromium``,
or the path in ``W4R_CHROMIUM``): headless, without the sandbox (the tests run as any user,
root in CI's containers) and with Chromium's own background traffic (component updates,
sync, field trials) off. The suite never downloads a browser; without Chromium or the
``playwright`` package these tests are skipped, or fail under ``W4R_REQUIRE_INTEROP=1``
(``tests/tools.py``).

Fixtures:

- ``browser``: one Chromium per test process.
- ``demo_server``: the app on a real socket (uvicorn on 127.0.0.1), over a scratch database
  of its own, migrated and loaded with the demo data as ``w4r serve --demo`` does, so that
  seeding it cannot disturb the other modules that share the worker's database. It carries
  the base URL, the settings, the database target and ``token_for`` (same signing key as the
  rest of the suite). One per test process: tests read the numbers they check from the
  database or the API rather than assuming no other test wrote.
- ``page``: a fresh context and page, "offline": every request and websocket to a host
  other than 127.0.0.1/localhost is refused, service workers are blocked. Console errors,
  uncaught page errors, failed requests and responses with status 400 or above are
  recorded; after the test the fixture fails it, listing them. A test that provokes one on
  purpose declares it first with ``browser_problems.expect("substring")``.
- ``screenshot``: ``await screenshot(page, "name.png")`` saves into ``W4R_SCREENSHOT_DIR``
  when set (``W4R_SCREENSHOT_DIR=docs/screenshots pytest tests/browser -n 0`` refreshes the
  committed copies), else into a temporary folder; returns the path.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

import pytest

from tests.servers import RunningServer, serving
from tests.tools import missing
from w4r.demo import DemoReport, load_demo
from w4r.platform import migrations
from w4r.platform.bootstrap import DatabaseTarget
from w4r.platform.database import Database, app_role_url, create_engine
from w4r.settings import Settings

if TYPE_CHECKING:
    from playwright.async_api import (
        Browser,
        ConsoleMessage,
        Page,
        Request,
        Response,
        Route,
        ViewportSize,
        WebSocketRoute,
    )

CHROMIUM_VARIABLE: Final = "W4R_CHROMIUM"
SCREENSHOT_DIR_VARIABLE: Final = "W4R_SCREENSHOT_DIR"
DEFAULT_CHROMIUM: Final = "/usr/bin/chromium"
CHROMIUM_ARGS: Final = (
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-default-apps",
    "--disable-sync",
)
LOOPBACK_HOSTS: Final = frozenset({"127.0.0.1", "localhost", "[::1]", "::1"})
DESKTOP: Final[ViewportSize] = {"width": 1280, "height": 800}
"""The viewport of a fresh page (and of the desktop screenshots)."""


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = os.environ.get(CHROMIUM_VARIABLE) or DEFAULT_CHROMIUM
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        missing(f"Chromium ({path})", "install the Debian `chromium` package or set W4R_CHROMIUM")
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        missing("the playwright package", "install the `test` extra: pip install -e '.[test]'")
    return path


@pytest.fixture(scope="session")
async def browser(chromium_path: str) -> AsyncIterator[Browser]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=chromium_path,
            headless=True,
            chromium_sandbox=False,
            args=list(CHROMIUM_ARGS),
        )
        try:
            yield chromium
        finally:
            await chromium.close()


@dataclass
class DemoServer:
    """The app with the demo data, listening on 127.0.0.1."""

    running: RunningServer
    settings: Settings
    target: DatabaseTarget
    report: DemoReport
    token_for: Callable[..., str]

    @property
    def url(self) -> str:
        """The base URL, without a trailing slash: ``f"{demo_server.url}/dashboard"``."""
        return self.running.http_url


@pytest.fixture(scope="session")
async def demo_target(database_target: DatabaseTarget) -> AsyncIterator[DatabaseTarget]:
    """A scratch database on the suite's server, migrated and loaded with the demo data."""
    scratch = migrations.scratch_database(database_target.admin_url, "w4r_browser")
    # scratch_database runs its own event loops (asyncio.run, Alembic): not in this one.
    admin_url = await asyncio.to_thread(scratch.__enter__)
    try:
        yield DatabaseTarget(admin_url=admin_url, app_url=app_role_url(admin_url, None))
    finally:
        await asyncio.to_thread(scratch.__exit__, None, None, None)


@pytest.fixture(scope="session")
async def demo_server(
    demo_target: DatabaseTarget, settings: Settings, token_for: Callable[..., str]
) -> AsyncIterator[DemoServer]:
    engine = create_engine(demo_target.app_url, pool_size=1, max_overflow=0)
    try:
        report = await load_demo(Database(engine))
    finally:
        await engine.dispose()
    demo_settings = settings.model_copy(
        update={"database_url": demo_target.admin_url.render_as_string(hide_password=False)}
    )
    async with serving(demo_settings, demo_target) as running:
        yield DemoServer(running, demo_settings, demo_target, report, token_for)


@dataclass
class BrowserProblems:
    """What went wrong in a page: console errors, page errors, failed and refused requests."""

    found: list[str] = field(default_factory=list)
    expected: list[str] = field(default_factory=list)

    def expect(self, fragment: str) -> None:
        """Allow the problems whose description contains ``fragment`` (a test provoking one)."""
        self.expected.append(fragment)

    def record(self, problem: str) -> None:
        self.found.append(problem)

    def unexpected(self) -> list[str]:
        return [
            problem
            for problem in self.found
            if not any(fragment in problem for fragment in self.expected)
        ]


@pytest.fixture
def browser_problems() -> BrowserProblems:
    return BrowserProblems()


def is_loopback(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in {"data", "blob", "about"}:
        return True
    return (parts.hostname or "") in LOOPBACK_HOSTS


@pytest.fixture
async def page(browser: Browser, browser_problems: BrowserProblems) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport=DESKTOP, service_workers="block")

    async def offline(route: Route) -> None:
        url = route.request.url
        if is_loopback(url):
            await route.continue_()
        else:
            browser_problems.record(f"external request aborted (offline): {url}")
            await route.abort("internetdisconnected")

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            location = message.location.get("url", "")
            browser_problems.record(f"console error: {message.text} ({location})")

    def on_page_error(error: Any) -> None:
        browser_problems.record(f"page error: {error}")

    def on_request_failed(request: Request) -> None:
        if is_loopback(request.url):  # external ones are recorded as aborted already
            browser_problems.record(f"request failed: {request.url} ({request.failure})")

    def on_response(response: Response) -> None:
        if response.status >= 400:
            browser_problems.record(f"HTTP {response.status}: {response.url}")

    async def offline_socket(socket: WebSocketRoute) -> None:
        browser_problems.record(f"external websocket refused (offline): {socket.url}")
        await socket.close(code=1011, reason="offline")

    await context.route("**/*", offline)
    # Loopback websockets are left alone (not proxied through Playwright).
    await context.route_web_socket(lambda url: not is_loopback(url), offline_socket)
    opened = await context.new_page()
    opened.on("console", on_console)
    opened.on("pageerror", on_page_error)
    opened.on("requestfailed", on_request_failed)
    opened.on("response", on_response)
    try:
        yield opened
    finally:
        await context.close()
    unexpected = browser_problems.unexpected()
    if unexpected:
        pytest.fail("the page had problems:\n" + "\n".join(unexpected), pytrace=False)


@pytest.fixture(scope="session")
def screenshot_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    chosen = os.environ.get(SCREENSHOT_DIR_VARIABLE)
    if chosen:
        directory = Path(chosen)
        directory.mkdir(parents=True, exist_ok=True)
        yield directory
    else:
        yield tmp_path_factory.mktemp("screenshots")


@pytest.fixture
def screenshot(screenshot_dir: Path) -> Callable[..., Awaitable[Path]]:
    """``await screenshot(page, "dashboard.png", full_page=True)`` -> the saved file."""

    async def take(page: Page, name: str, **options: Any) -> Path:
        path = screenshot_dir / name
        await page.screenshot(path=str(path), animations="disabled", **options)
        return path

    return take
