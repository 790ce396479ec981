"""The dashboard in Chromium: real numbers from a seeded database, live updates without a
reload, a section's page with that section's numbers only, its labels in French and Polish,
the keyboard path through it, and the screenshots the documentation shows.

The module seeds the demo database once, through the API as the sections' staff would:
a goal for the 2025 campaign, a window for 2024 so that last year can be compared, and
actions every day of both campaigns in two sections (Poland and Great Britain, with
different quantities) plus a handful in France, too few to be shown in the worldwide view.
Every number the tests expect is read back from the ``totals`` query, never hard-coded.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import httpx
import pytest

from tests.browser.conftest import BrowserProblems, DemoServer
from w4r.platform.auth import Role

if TYPE_CHECKING:
    from playwright.async_api import Page, ViewportSize

YEAR: Final = 2025
LAST_YEAR: Final = 2024
GOAL: Final = 6000
HUMAN_RIGHTS_DAY: Final = date(YEAR, 12, 10)
PHONE: Final[ViewportSize] = {"width": 390, "height": 844}
DESKTOP: Final[ViewportSize] = {"width": 1280, "height": 900}
WAIT_MS: Final = 15_000

CAMPAIGN_UPDATE = """
mutation ($input: CampaignUpdateInput!) {
  campaignUpdate(input: $input) { campaign { year } errors { field code message } }
}
"""
SECTION_CAMPAIGN_UPDATE = """
mutation ($input: SectionCampaignUpdateInput!) {
  sectionCampaignUpdate(input: $input) { participation { startsOn } errors { field code message } }
}
"""
CASE_SLUGS = """
query ($year: Int!) { cases(campaign: $year, first: 50) { nodes { id slug } } }
"""
ACTIONS_IMPORT = """
mutation ($input: ActionsImportInput!) {
  actionsImport(input: $input) { created errors { field code message } }
}
"""
ACTION_RECORD = """
mutation ($input: ActionRecordInput!) {
  actionRecord(input: $input) { action { id } errors { field code message } }
}
"""
TOTALS = """
query ($year: Int!) {
  summary: totals(campaign: $year) { quantity verified selfReported }
  byCase: totals(campaign: $year, groupBy: [CASE]) { cells { caseId isSuppressed quantity } }
  bySection: totals(campaign: $year, groupBy: [SECTION]) {
    cells { sectionCode isSuppressed quantity }
  }
}
"""
ACTION_TYPES: Final = ("LETTER", "EMAIL", "PETITION_SIGNATURE", "SOLIDARITY", "SMS")


@dataclass(frozen=True)
class Seeded:
    case_ids: tuple[str, ...]


class Api:
    """GraphQL over HTTP to the demo server as a chosen caller."""

    def __init__(self, http: httpx.AsyncClient, token_for: Callable[..., str]) -> None:
        self.http = http
        self.token_for = token_for

    async def data(
        self,
        query: str,
        variables: dict[str, Any],
        *,
        role: Role | None = None,
        section: str | None = None,
    ) -> Any:
        headers = {"accept": "application/graphql-response+json"}
        if role is not None:
            # IS staff tokens are bound to no section; section staff tokens to theirs
            token = self.token_for(role, None if role.name.startswith("IS_") else section)
            headers["authorization"] = f"Bearer {token}"
        path = "/graphql" if section is None else f"/s/{section}/graphql"
        response = await self.http.post(
            path, json={"query": query, "variables": variables}, headers=headers
        )
        payload = response.json()
        assert response.status_code == 200, payload
        assert "errors" not in payload, payload
        return payload["data"]

    async def mutate(self, query: str, field: str, values: dict[str, Any], **caller: Any) -> Any:
        payload = (await self.data(query, {"input": values}, **caller))[field]
        assert payload["errors"] == [], payload
        return payload


@pytest.fixture(scope="module")
async def api(demo_server: DemoServer) -> AsyncIterator[Api]:
    async with httpx.AsyncClient(base_url=demo_server.url, timeout=30.0) as http:
        yield Api(http, demo_server.token_for)


def daily_quantity(day: date, scale: int, offset: int) -> int:
    """A campaign-shaped curve: busiest around Human Rights Day."""
    peak = date(day.year, 12, 10)
    distance = (day - peak).days
    return offset + round(scale * math.exp(-((distance / 7) ** 2))) + (day.toordinal() % 5)


def import_rows(
    year: int, case_ids: list[str], scale: int, offset: int, days: int = 61
) -> list[dict[str, Any]]:
    rows = []
    first = date(year, 11, 1)
    for number in range(days):
        day = first + timedelta(days=number)
        rows.append(
            {
                "campaign": year,
                "caseId": case_ids[number % len(case_ids)],
                "actionType": ACTION_TYPES[number // 2 % len(ACTION_TYPES)],
                "idempotencyKey": str(uuid.uuid4()),
                "occurredAt": f"{day.isoformat()}T12:00:00+00:00",
                "quantity": daily_quantity(day, scale, offset),
                "isVerified": number % 3 != 0,
            }
        )
    return rows


@pytest.fixture(scope="module")
async def seeded(api: Api) -> Seeded:
    is_admin = {"role": Role.IS_ADMIN}
    await api.mutate(
        CAMPAIGN_UPDATE, "campaignUpdate", {"year": YEAR, "goalActions": GOAL}, **is_admin
    )
    await api.mutate(
        CAMPAIGN_UPDATE,
        "campaignUpdate",
        {"year": LAST_YEAR, "startsOn": f"{LAST_YEAR}-11-01", "endsOn": f"{LAST_YEAR}-12-31"},
        **is_admin,
    )
    # the published cases (anonymous callers see no drafts), which the sections feature
    cases = (await api.data(CASE_SLUGS, {"year": YEAR}))["cases"]["nodes"]
    last_cases = (await api.data(CASE_SLUGS, {"year": LAST_YEAR}))["cases"]["nodes"]
    case_ids = [case["id"] for case in cases]
    last_case_ids = [case["id"] for case in last_cases]
    for code, scale, offset in (("pl", 90, 6), ("gb", 160, 11)):
        staff = {"role": Role.SECTION_ADMIN, "section": code}
        await api.mutate(
            SECTION_CAMPAIGN_UPDATE,
            "sectionCampaignUpdate",
            {"year": LAST_YEAR, "featuredCaseSlugs": [case["slug"] for case in last_cases]},
            **staff,
        )
        rows = import_rows(YEAR, case_ids, scale, offset) + import_rows(
            LAST_YEAR, last_case_ids, scale * 2 // 3, offset
        )
        await api.mutate(ACTIONS_IMPORT, "actionsImport", {"actions": rows}, **staff)
    # France: a few actions on one day, under the worldwide view's minimum cell size
    few = import_rows(YEAR, case_ids[:1], 0, 1, days=1)
    await api.mutate(
        ACTIONS_IMPORT,
        "actionsImport",
        {"actions": few},
        role=Role.SECTION_ADMIN,
        section="fr",
    )
    return Seeded(case_ids=tuple(case_ids))


async def totals(api: Api, *, role: Role, section: str | None = None) -> Any:
    return await api.data(TOTALS, {"year": YEAR}, role=role, section=section)


async def sign_in(page: Page, token: str) -> None:
    """Paste the token and sign in with the keyboard, as a person would."""
    await page.locator("#token").fill(token)
    await page.locator("#token").press("Enter")
    await page.locator("body[data-state=ready]").wait_for(timeout=WAIT_MS)


async def shown_value(page: Page, selector: str) -> str:
    value = await page.locator(selector).first.get_attribute("data-value")
    assert value is not None, selector
    return value


async def shown_cases(page: Page) -> dict[str, str]:
    values: dict[str, str] = await page.eval_on_selector_all(
        "#per-case li[data-case-id]",
        "items => Object.fromEntries(items.map(i => [i.dataset.caseId, i.dataset.value]))",
    )
    return values


def expected_cells(cells: list[dict[str, Any]], key: str) -> dict[str, str]:
    return {
        cell[key]: "withheld" if cell["isSuppressed"] else str(cell["quantity"]) for cell in cells
    }


async def wait_live(page: Page) -> None:
    await page.locator("#live-state[data-state=live]").wait_for(timeout=WAIT_MS)


async def test_the_is_dashboard_shows_the_totals_and_follows_new_actions_live(
    page: Page,
    demo_server: DemoServer,
    api: Api,
    seeded: Seeded,
    screenshot: Callable[..., Awaitable[Path]],
) -> None:
    # given the worldwide totals as the API reports them to the IS
    expected = await totals(api, role=Role.IS_ANALYST)
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))
    await page.set_viewport_size(DESKTOP)

    # when an IS analyst opens the dashboard and signs in
    await page.goto(f"{demo_server.url}/dashboard?lang=en")
    await sign_in(page, demo_server.token_for(Role.IS_ANALYST))
    await wait_live(page)

    # then the page shows the same numbers: the total, verified and self-reported, per case
    summary = expected["summary"]
    assert await shown_value(page, "#total-quantity") == str(summary["quantity"])
    assert await shown_value(page, "#total-verified") == str(summary["verified"])
    assert await shown_value(page, "#total-self-reported") == str(summary["selfReported"])
    assert await shown_value(page, "#total-goal") == str(GOAL)
    assert await page.locator("#total-quantity").inner_text() == f"{summary['quantity']:,}"
    assert await shown_cases(page) == expected_cells(expected["byCase"]["cells"], "caseId")
    # the sections ranked, France's few actions withheld and said to be
    sections: dict[str, str] = await page.eval_on_selector_all(
        "#sections-table tr[data-section-code]",
        "rows => Object.fromEntries(rows.map(r => [r.dataset.sectionCode, r.dataset.value]))",
    )
    assert sections == expected_cells(expected["bySection"]["cells"], "sectionCode")
    assert sections["fr"] == "withheld"
    assert await page.locator("#withheld-note").is_visible()
    assert (
        await page.locator("#sections-table tbody tr").first.get_attribute("data-section-code")
        == max(
            (cell for cell in expected["bySection"]["cells"] if not cell["isSuppressed"]),
            key=lambda cell: int(cell["quantity"]),
        )["sectionCode"]
    )
    # the day chart (with Human Rights Day in its table) and the history chart are drawn
    assert await page.locator("#per-day canvas").count() >= 1
    assert await page.locator("#history canvas").count() >= 1
    day_table = await page.locator("#per-day-data table").text_content()
    assert day_table is not None
    assert "Dec 10 — Human Rights Day" in day_table
    await screenshot(page, "dashboard-desktop.png", full_page=True)

    # when an action is recorded through the public API at Poland's endpoint
    await page.evaluate("window.keptAcrossUpdates = true")
    await api.mutate(
        ACTION_RECORD,
        "actionRecord",
        {
            "campaign": YEAR,
            "caseId": seeded.case_ids[0],
            "actionType": "LETTER",
            "idempotencyKey": str(uuid.uuid4()),
            "clientId": str(uuid.uuid4()),
            "occurredAt": f"{HUMAN_RIGHTS_DAY.isoformat()}T15:00:00+01:00",
        },
        section="pl",
    )

    # then the total goes up by one on the same page, without a reload
    await page.locator(f"#total-quantity[data-value='{summary['quantity'] + 1}']").wait_for(
        timeout=WAIT_MS
    )
    assert await page.evaluate("window.keptAcrossUpdates") is True
    assert navigations == [f"{demo_server.url}/dashboard?lang=en"]
    after = await totals(api, role=Role.IS_ANALYST)
    assert await shown_cases(page) == expected_cells(after["byCase"]["cells"], "caseId")


async def test_a_section_dashboard_shows_that_section_only(
    page: Page,
    demo_server: DemoServer,
    api: Api,
    seeded: Seeded,
    screenshot: Callable[..., Awaitable[Path]],
) -> None:
    # given Poland's own totals, and Great Britain's
    poland = await totals(api, role=Role.SECTION_ADMIN, section="pl")
    britain = await totals(api, role=Role.SECTION_ADMIN, section="gb")
    api_paths: list[str] = []
    page.on(
        "request",
        lambda request: (
            api_paths.append(request.url.removeprefix(demo_server.url))
            if "graphql" in request.url
            else None
        ),
    )

    # when Poland's staff open their dashboard (in Polish, the section's language)
    await page.goto(f"{demo_server.url}/s/pl/dashboard")
    await sign_in(page, demo_server.token_for(Role.SECTION_ADMIN, "pl"))
    await wait_live(page)

    # then it shows Poland's numbers, with Polish labels, and nothing of any other section
    assert await page.locator("html").get_attribute("lang") == "pl"
    assert await shown_value(page, "#total-quantity") == str(poland["summary"]["quantity"])
    assert await shown_cases(page) == expected_cells(poland["byCase"]["cells"], "caseId")
    assert poland["summary"]["quantity"] != britain["summary"]["quantity"]
    assert await page.locator("[data-section-code]").count() == 0
    assert await page.locator("#sections").count() == 0
    assert await page.locator("#per-case-title").inner_text() == "Działania według spraw"
    assert await page.locator("#live-state").inner_text() == "Na żywo"
    assert set(api_paths) == {"/s/pl/graphql"}
    await screenshot(page, "dashboard-pl.png", full_page=True)

    # and on a phone the page fits the screen's width
    await page.set_viewport_size(PHONE)
    await page.locator("body[data-state=ready]").wait_for()
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"]
    await screenshot(page, "dashboard-phone.png", full_page=True)


async def test_the_sign_in_and_controls_are_reachable_with_the_keyboard_in_french(
    page: Page, demo_server: DemoServer, seeded: Seeded
) -> None:
    # given the IS dashboard in French
    await page.goto(f"{demo_server.url}/dashboard?lang=fr")
    assert await page.locator("#sign-in-title").inner_text() == "Connexion"

    # when a person goes through it with Tab only
    focused = []
    for _ in range(8):
        await page.keyboard.press("Tab")
        focused.append(
            await page.evaluate("document.activeElement.id || document.activeElement.textContent")
        )

    # then the skip link, the languages and the token field come in reading order
    assert focused[0] == "Aller au tableau de bord"
    assert focused[1:5] == ["English", "Français", "Polski", "العربية"]
    assert focused[5] == "token"
    assert focused[6] == "Se connecter"

    # when they sign in from the keyboard, the campaign choice and sign-out are reachable
    await page.locator("#token").focus()
    await page.keyboard.type(demo_server.token_for(Role.IS_ADMIN))
    await page.keyboard.press("Enter")
    await page.locator("body[data-state=ready]").wait_for(timeout=WAIT_MS)
    reachable = []
    await page.locator("#main").focus()
    for _ in range(4):
        await page.keyboard.press("Tab")
        reachable.append(await page.evaluate("document.activeElement.id"))
    assert reachable[0] == "campaign"
    assert await page.locator("#sign-out").inner_text() == "Se déconnecter"

    # and signing out forgets the token
    await page.locator("#sign-out").focus()
    await page.keyboard.press("Enter")
    assert await page.locator("#sign-in").is_visible()
    assert await page.evaluate("sessionStorage.length") == 0


async def test_the_arabic_page_reads_right_to_left(
    page: Page, demo_server: DemoServer, screenshot: Callable[..., Awaitable[Path]]
) -> None:
    # when the dashboard is opened in Arabic
    await page.goto(f"{demo_server.url}/dashboard?lang=ar")

    # then the whole page runs right to left: the sign-in button sits left of its field's end
    assert await page.locator("html").get_attribute("dir") == "rtl"
    assert await page.evaluate("getComputedStyle(document.body).direction") == "rtl"
    assert await page.locator("#sign-in-title").inner_text() == "تسجيل الدخول"
    brand = await page.locator(".brand").bounding_box()
    languages = await page.locator(".languages").bounding_box()
    assert brand is not None
    assert languages is not None
    assert brand["x"] > languages["x"]
    await screenshot(page, "dashboard-ar-sign-in.png")


@pytest.mark.parametrize(
    ("path", "token", "status", "message"),
    [
        pytest.param(
            "/dashboard",
            lambda token_for: "not-a-token",
            401,
            "The token was refused (expired, revoked or not for this platform).",
            id="refused",
        ),
        pytest.param(
            "/s/pl/dashboard",
            lambda token_for: token_for(Role.SECTION_ADMIN, "gb"),
            403,
            "This token may not open this dashboard: it is bound to another section",
            id="another-section",
        ),
        pytest.param(
            "/s/pl/dashboard",
            lambda token_for: token_for(Role.EVENT_HOST, "pl"),
            None,
            "This token does not allow reading these totals",
            id="no-staff-role",
        ),
    ],
)
async def test_a_token_that_cannot_open_the_dashboard_is_explained(
    page: Page,
    demo_server: DemoServer,
    browser_problems: BrowserProblems,
    path: str,
    token: Callable[[Callable[..., str]], str],
    status: int | None,
    message: str,
) -> None:
    # given a token the API refuses here (the browser logs a refused request)
    if status is not None:
        browser_problems.expect(f"HTTP {status}")
        browser_problems.expect(f"status of {status}")
    await page.goto(f"{demo_server.url}{path}?lang=en")

    # when it is pasted
    await page.locator("#token").fill(token(demo_server.token_for))
    await page.locator("#token").press("Enter")

    # then the form stays, says why, keeps the focus, and nothing is remembered
    error = page.locator("#sign-in-error")
    await page.locator("#sign-in-error", has_text=message).wait_for(timeout=WAIT_MS)
    assert await error.get_attribute("role") == "alert"
    assert await page.locator("#dashboard").is_hidden()
    assert await page.evaluate("document.activeElement.id") == "token"
    assert await page.evaluate("sessionStorage.length") == 0
