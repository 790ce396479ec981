"""Campaigns and each section's participation in them through the GraphQL API (HTTP, real
database).

Campaign years are global and unique and other tests share the database: every campaign
made here gets a random year between 2100 and 2200 (retried when taken), never a demo year.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.conftest import GraphQLClient, unique_code
from w4r.platform.auth import Role

NewSection = Callable[..., Awaitable[dict[str, Any]]]

FIRST_TEST_YEAR = 2100
LAST_TEST_YEAR = 2200
YEAR_ATTEMPTS = 200

CAMPAIGN_FIELDS = """
  id year name startsOn endsOn actionDaysStart actionDaysEnd reportingDeadline
  goalActions goalDescription status
"""
CAMPAIGN_CREATE = f"""
mutation ($input: CampaignCreateInput!) {{
  campaignCreate(input: $input) {{
    campaign {{ {CAMPAIGN_FIELDS} }}
    errors {{ field code message }}
  }}
}}
"""
CAMPAIGN_UPDATE = f"""
mutation ($input: CampaignUpdateInput!) {{
  campaignUpdate(input: $input) {{
    campaign {{ {CAMPAIGN_FIELDS} }}
    errors {{ field code message }}
  }}
}}
"""
CAMPAIGN = f"""
query ($year: Int!) {{
  campaign(year: $year) {{ {CAMPAIGN_FIELDS} }}
}}
"""
CAMPAIGNS_PAGE = """
query ($first: Int, $after: String) {
  campaigns(first: $first, after: $after) {
    edges { cursor node { year status } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
SECTION_CAMPAIGN_UPDATE = """
mutation ($input: SectionCampaignUpdateInput!) {
  sectionCampaignUpdate(input: $input) {
    participation {
      startsOn endsOn effectiveStartsOn effectiveEndsOn
      featuredCases { slug }
      campaign { year }
    }
    errors { field code message }
  }
}
"""
PARTICIPATION = """
query ($year: Int!) {
  campaign(year: $year) {
    year
    participation {
      startsOn endsOn effectiveStartsOn effectiveEndsOn
      featuredCases { slug }
    }
  }
}
"""
CASE_CREATE = """
mutation ($input: CaseCreateInput!) {
  caseCreate(input: $input) { case { id slug } errors { field code message } }
}
"""
CASE_PUBLISH = """
mutation ($input: CasePublishInput!) {
  casePublish(input: $input) { case { id status } errors { field code message } }
}
"""

SECTION_ROLES = frozenset({Role.SECTION_ADMIN, Role.SECTION_EDITOR})


# --- helpers -----------------------------------------------------------------------------


def forge(value: object) -> str:
    """A cursor the server never gave: ``value`` as JSON in base64url, like real ones."""
    raw = json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def problems(payload: dict[str, Any]) -> list[tuple[str | None, str]]:
    """A payload's ``errors`` as sorted (field, code) pairs."""
    return sorted(
        ((error["field"], error["code"]) for error in payload["errors"]),
        key=lambda pair: (pair[0] or "", pair[1]),
    )


def top_level_codes(response: httpx.Response) -> list[str]:
    body = response.json()
    return [error["extensions"]["code"] for error in body["errors"]]


def caller(role: Role | None, section_code: str | None = None) -> dict[str, Any]:
    """``GraphQLClient.post`` options for ``role``; section staff belong to ``section_code``."""
    if role is None:
        return {}
    return {"role": role, "token_section": section_code if role in SECTION_ROLES else None}


def random_year() -> int:
    return FIRST_TEST_YEAR + secrets.randbelow(LAST_TEST_YEAR - FIRST_TEST_YEAR + 1)


def campaign_input(year: int, **overrides: Any) -> dict[str, Any]:
    """A valid ``CampaignCreateInput`` (an open campaign) for ``year``."""
    return {
        "year": year,
        "name": f"Write for Rights {year}",
        "startsOn": f"{year}-11-01",
        "endsOn": f"{year}-12-31",
        "actionDaysStart": f"{year}-12-04",
        "actionDaysEnd": f"{year}-12-18",
        "reportingDeadline": f"{year + 1}-01-15",
        "goalActions": 5_000_000,
        "goalDescription": "Five million letters, emails and messages of support.",
        "status": "OPEN",
        **overrides,
    }


async def create_campaign(graphql: GraphQLClient, **overrides: Any) -> dict[str, Any]:
    """Create a campaign as an IS admin in a random free test year (retried when taken)."""
    for _ in range(YEAR_ATTEMPTS):
        values = campaign_input(random_year(), **overrides)
        data = await graphql.data(CAMPAIGN_CREATE, {"input": values}, role=Role.IS_ADMIN)
        payload = data["campaignCreate"]
        if problems(payload) == [("year", "ALREADY_EXISTS")]:
            continue
        assert payload["errors"] == [], payload
        campaign: dict[str, Any] = payload["campaign"]
        return campaign
    raise AssertionError(f"No free campaign year between {FIRST_TEST_YEAR} and {LAST_TEST_YEAR}")


async def campaign_as(graphql: GraphQLClient, year: int, **options: Any) -> dict[str, Any] | None:
    data = await graphql.data(CAMPAIGN, {"year": year}, **options)
    campaign: dict[str, Any] | None = data["campaign"]
    return campaign


async def free_year(graphql: GraphQLClient) -> int:
    """A test year that has no campaign (as an IS admin sees them, drafts included)."""
    for _ in range(YEAR_ATTEMPTS):
        year = random_year()
        if await campaign_as(graphql, year, role=Role.IS_ADMIN) is None:
            return year
    raise AssertionError(f"Every year between {FIRST_TEST_YEAR} and {LAST_TEST_YEAR} is taken")


async def all_campaign_edges(
    graphql: GraphQLClient, first: int, **options: Any
) -> list[dict[str, Any]]:
    """Every campaign edge the caller sees, ``first`` at a time, checking the page info."""
    edges: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        data = await graphql.data(CAMPAIGNS_PAGE, {"first": first, "after": after}, **options)
        page = data["campaigns"]
        assert len(page["edges"]) <= first
        edges.extend(page["edges"])
        if not page["pageInfo"]["hasNextPage"]:
            assert page["pageInfo"]["endCursor"] == (
                page["edges"][-1]["cursor"] if page["edges"] else None
            )
            return edges
        assert len(page["edges"]) == first
        after = page["pageInfo"]["endCursor"]
        assert after == page["edges"][-1]["cursor"]


async def visible_years(graphql: GraphQLClient, **options: Any) -> list[int]:
    return [edge["node"]["year"] for edge in await all_campaign_edges(graphql, 100, **options)]


def case_input(slug: str, years: list[int]) -> dict[str, Any]:
    """A minimal valid ``CaseCreateInput``."""
    return {
        "slug": slug,
        "subjectKind": "PERSON",
        "subjectName": f"Subject {slug}",
        "country": "GB",
        "themes": ["FREEDOM_OF_EXPRESSION"],
        "sourceLanguage": "en",
        "sourceText": {"title": f"Title of {slug}", "summary": f"Summary of {slug}."},
        "campaignYears": years,
    }


async def create_case(graphql: GraphQLClient, years: list[int], *, publish: bool) -> str:
    """Create a case (as an IS admin) in the campaigns of ``years``; returns its slug."""
    slug = "case-" + unique_code()
    data = await graphql.data(CASE_CREATE, {"input": case_input(slug, years)}, role=Role.IS_ADMIN)
    assert data["caseCreate"]["errors"] == [], data
    if publish:
        case_id = data["caseCreate"]["case"]["id"]
        published = await graphql.data(CASE_PUBLISH, {"input": {"id": case_id}}, role=Role.IS_ADMIN)
        assert published["casePublish"]["errors"] == [], published
    return slug


# --- campaignCreate and reading campaigns ------------------------------------------------


async def test_campaign_create_returns_every_field_exactly(graphql: GraphQLClient) -> None:
    # given/when an IS admin creates an open campaign with a window, action days, a
    # reporting deadline and a goal
    campaign = await create_campaign(graphql)

    # then the campaign is returned exactly as given, with an id
    year = campaign["year"]
    assert FIRST_TEST_YEAR <= year <= LAST_TEST_YEAR
    expected = {"id": campaign["id"], **campaign_input(year)}
    assert campaign == expected
    assert isinstance(campaign["id"], str)
    assert campaign["id"]
    # and campaign(year) shows it to everyone
    assert await campaign_as(graphql, year) == expected
    assert await campaign_as(graphql, year, role=Role.PARTNER_APP) == expected


async def test_campaign_create_defaults_to_a_draft(graphql: GraphQLClient) -> None:
    # given an input without a status
    year = await free_year(graphql)
    values = campaign_input(year)
    del values["status"]

    # when an IS admin creates the campaign
    data = await graphql.data(CAMPAIGN_CREATE, {"input": values}, role=Role.IS_ADMIN)

    # then it is a draft
    payload = data["campaignCreate"]
    assert payload["errors"] == []
    assert payload["campaign"]["status"] == "DRAFT"
    assert await campaign_as(graphql, year) is None


async def test_campaigns_are_listed_newest_first_with_working_cursors(
    graphql: GraphQLClient,
) -> None:
    # given an open campaign
    year = (await create_campaign(graphql))["year"]

    # when anyone pages through the campaigns two at a time
    edges = await all_campaign_edges(graphql, 2)

    # then the campaigns come newest first, each once, and include the new one
    years = [edge["node"]["year"] for edge in edges]
    assert years == sorted(years, reverse=True)
    assert len(set(years)) == len(years)
    assert year in years
    # and every page boundary's cursor resumes exactly after its edge
    position = years.index(year)
    if position > 0:
        after = edges[position - 1]["cursor"]
        data = await graphql.data(CAMPAIGNS_PAGE, {"first": 1, "after": after})
        assert [edge["node"]["year"] for edge in data["campaigns"]["edges"]] == [year]
    data = await graphql.data(CAMPAIGNS_PAGE, {"first": 100, "after": edges[position]["cursor"]})
    assert [edge["node"]["year"] for edge in data["campaigns"]["edges"]] == years[position + 1 :]


@pytest.mark.parametrize(
    "cursor",
    [
        pytest.param(forge(["Campaign", "21x0"]), id="not-a-year"),
        pytest.param(forge(["Campaign", "-2100"]), id="negative-year"),
        pytest.param(forge(["Campaign", "99999999999"]), id="year-beyond-32-bits"),
        pytest.param(forge(["Campaign", "9" * 5000]), id="year-of-5000-digits"),
        pytest.param(forge(["Campaign", "21\u00b2"]), id="superscript-digit"),
        pytest.param(forge(["Case", "2100"]), id="other-list"),
        pytest.param(forge(["Campaign", "2100", "2101"]), id="too-many-parts"),
        pytest.param(forge(["Campaign", 2100]), id="number-not-string"),
        pytest.param(forge({"year": 2100}), id="object"),
        pytest.param("!!not base64!!", id="not-base64"),
        pytest.param("", id="empty"),
    ],
)
async def test_campaigns_refuse_a_forged_cursor(graphql: GraphQLClient, cursor: str) -> None:
    # when a caller pages with a cursor the server never gave
    response = await graphql.post(CAMPAIGNS_PAGE, {"first": 5, "after": cursor})

    # then it is a top-level BAD_USER_INPUT error, not a database error
    assert response.status_code == 200
    assert top_level_codes(response) == ["BAD_USER_INPUT"]
    assert response.json()["data"] is None


@pytest.mark.parametrize(
    ("first", "code"),
    [(0, "PAGE_SIZE_TOO_SMALL"), (-1, "PAGE_SIZE_TOO_SMALL"), (101, "PAGE_SIZE_TOO_LARGE")],
)
async def test_campaigns_refuse_a_page_size_out_of_range(
    graphql: GraphQLClient, first: int, code: str
) -> None:
    # when a caller asks for a page of a size out of 1..100
    response = await graphql.post(CAMPAIGNS_PAGE, {"first": first})

    # then it is refused before execution (the cost rules, docs/limits.md)
    assert top_level_codes(response) == [code]


async def test_a_draft_campaign_is_visible_to_is_staff_only(
    graphql: GraphQLClient, new_section: NewSection
) -> None:
    # given a draft campaign and a section
    campaign = await create_campaign(graphql, status="DRAFT")
    year = campaign["year"]
    code = (await new_section())["code"]

    # when callers outside the IS look for it, then it does not exist for them
    for role in (None, Role.PARTNER_APP, Role.SECTION_ADMIN, Role.SECTION_EDITOR):
        options = caller(role, code)
        assert await campaign_as(graphql, year, **options) is None, role
        assert year not in await visible_years(graphql, **options), role
    # and a partner app and an anonymous caller at the section's endpoint neither
    for role in (None, Role.PARTNER_APP):
        assert await campaign_as(graphql, year, section=code, **caller(role)) is None, role

    # when IS staff look for it, then they see it, in the list too
    for role in (Role.IS_ADMIN, Role.IS_ANALYST):
        assert await campaign_as(graphql, year, role=role) == campaign, role
        assert year in await visible_years(graphql, role=role), role


# --- campaignCreate validation -----------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param(
            lambda year: {"startsOn": f"{year}-11-01", "endsOn": f"{year}-10-31"},
            [("endsOn", "INVALID")],
            id="window-ends-before-it-starts",
        ),
        pytest.param(
            lambda year: {"endsOn": None, "reportingDeadline": None},
            [("endsOn", "REQUIRED")],
            id="window-without-end",
        ),
        pytest.param(
            lambda year: {"startsOn": None},
            [("endsOn", "REQUIRED")],
            id="window-without-start",
        ),
        pytest.param(
            lambda year: {"actionDaysStart": f"{year}-12-10", "actionDaysEnd": f"{year}-12-09"},
            [("actionDaysEnd", "INVALID")],
            id="action-days-end-before-they-start",
        ),
        pytest.param(
            lambda year: {"actionDaysEnd": None},
            [("actionDaysEnd", "REQUIRED")],
            id="action-days-without-end",
        ),
        pytest.param(
            lambda year: {"reportingDeadline": f"{year}-12-30"},
            [("reportingDeadline", "INVALID")],
            id="reporting-deadline-before-window-end",
        ),
        pytest.param(lambda year: {"goalActions": 0}, [("goalActions", "INVALID")], id="goal-0"),
        pytest.param(
            lambda year: {"goalActions": -5}, [("goalActions", "INVALID")], id="goal-negative"
        ),
        pytest.param(lambda year: {"name": "  \t "}, [("name", "REQUIRED")], id="empty-name"),
        pytest.param(lambda year: {"name": "x" * 201}, [("name", "TOO_LONG")], id="long-name"),
        pytest.param(lambda year: {"year": 2201}, [("year", "INVALID")], id="year-after-2200"),
        pytest.param(lambda year: {"year": 1990}, [("year", "INVALID")], id="year-before-1991"),
        pytest.param(
            lambda year: {"name": "", "goalActions": 0, "endsOn": f"{year}-01-01"},
            [("endsOn", "INVALID"), ("goalActions", "INVALID"), ("name", "REQUIRED")],
            id="several-at-once",
        ),
    ],
)
async def test_campaign_create_refuses_an_invalid_input(
    graphql: GraphQLClient,
    change: Callable[[int], dict[str, Any]],
    expected: list[tuple[str, str]],
) -> None:
    # given an input with a problem for a year that has no campaign
    values = campaign_input(await free_year(graphql))
    values.update(change(values["year"]))

    # when an IS admin tries to create the campaign
    data = await graphql.data(CAMPAIGN_CREATE, {"input": values}, role=Role.IS_ADMIN)

    # then the payload names each problem with its stable code and a message
    payload = data["campaignCreate"]
    assert payload["campaign"] is None
    assert problems(payload) == expected
    assert all(error["message"] for error in payload["errors"])
    # and nothing was written
    assert await campaign_as(graphql, values["year"], role=Role.IS_ADMIN) is None


async def test_campaign_create_refuses_a_year_that_exists(graphql: GraphQLClient) -> None:
    # given a campaign
    campaign = await create_campaign(graphql)
    year = campaign["year"]

    # when an IS admin creates another campaign for the same year
    values = campaign_input(year, name="Another campaign", status="DRAFT", goalActions=7)
    data = await graphql.data(CAMPAIGN_CREATE, {"input": values}, role=Role.IS_ADMIN)

    # then the year is refused as ALREADY_EXISTS and the first campaign is as it was
    payload = data["campaignCreate"]
    assert payload["campaign"] is None
    assert problems(payload) == [("year", "ALREADY_EXISTS")]
    assert await campaign_as(graphql, year, role=Role.IS_ADMIN) == campaign


# --- campaignUpdate ----------------------------------------------------------------------


async def test_campaign_update_changes_only_the_fields_given(graphql: GraphQLClient) -> None:
    # given a campaign
    campaign = await create_campaign(graphql)
    year = campaign["year"]

    # when an IS admin changes its name, goal, reporting deadline and status
    changes = {
        "name": "Write for Rights: the letters",
        "goalActions": 6_500_000,
        "reportingDeadline": f"{year + 1}-01-31",
        "status": "CLOSED",
    }
    data = await graphql.data(
        CAMPAIGN_UPDATE, {"input": {"year": year, **changes}}, role=Role.IS_ADMIN
    )

    # then those fields changed and every other field is as it was
    expected = {**campaign, **changes}
    assert data["campaignUpdate"] == {"campaign": expected, "errors": []}
    assert await campaign_as(graphql, year) == expected

    # when an IS admin gives only a new window
    window = {"startsOn": f"{year}-10-15", "endsOn": f"{year}-12-20"}
    data = await graphql.data(
        CAMPAIGN_UPDATE, {"input": {"year": year, **window}}, role=Role.IS_ADMIN
    )

    # then only the window changed
    expected = {**expected, **window}
    assert data["campaignUpdate"] == {"campaign": expected, "errors": []}
    assert await campaign_as(graphql, year) == expected


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param(
            lambda year: {"endsOn": f"{year}-10-01"},
            [("endsOn", "INVALID")],
            id="window-ends-before-the-existing-start",
        ),
        pytest.param(
            lambda year: {"endsOn": f"{year + 1}-02-01"},
            [("reportingDeadline", "INVALID")],
            id="window-ends-after-the-existing-deadline",
        ),
        pytest.param(lambda year: {"goalActions": 0}, [("goalActions", "INVALID")], id="goal-0"),
        pytest.param(lambda year: {"name": " "}, [("name", "REQUIRED")], id="empty-name"),
    ],
)
async def test_campaign_update_refuses_an_invalid_result(
    graphql: GraphQLClient,
    campaign_to_change: dict[str, Any],
    change: Callable[[int], dict[str, Any]],
    expected: list[tuple[str, str]],
) -> None:
    # given a campaign
    year = campaign_to_change["year"]

    # when an IS admin changes it into an invalid campaign
    values = {"year": year, **change(year)}
    data = await graphql.data(CAMPAIGN_UPDATE, {"input": values}, role=Role.IS_ADMIN)

    # then the problem is reported and the campaign is unchanged
    payload = data["campaignUpdate"]
    assert payload["campaign"] is None
    assert problems(payload) == expected
    assert await campaign_as(graphql, year, role=Role.IS_ADMIN) == campaign_to_change


async def test_campaign_update_of_an_unknown_year_is_not_found(graphql: GraphQLClient) -> None:
    # given a year without a campaign
    year = await free_year(graphql)

    # when an IS admin changes that year's campaign
    data = await graphql.data(
        CAMPAIGN_UPDATE, {"input": {"year": year, "name": "Nothing"}}, role=Role.IS_ADMIN
    )

    # then it is NOT_FOUND and no campaign appeared
    payload = data["campaignUpdate"]
    assert payload["campaign"] is None
    assert problems(payload) == [("year", "NOT_FOUND")]
    assert await campaign_as(graphql, year, role=Role.IS_ADMIN) is None


FORBIDDEN_CAMPAIGN_WRITERS = [
    pytest.param(None, id="anonymous"),
    pytest.param(Role.PARTNER_APP, id="partner-app"),
    pytest.param(Role.SECTION_EDITOR, id="section-editor"),
    pytest.param(Role.SECTION_ADMIN, id="section-admin"),
    pytest.param(Role.IS_ANALYST, id="is-analyst"),
]


@pytest.mark.parametrize("role", FORBIDDEN_CAMPAIGN_WRITERS)
async def test_campaign_create_is_for_is_admins_only(
    graphql: GraphQLClient, new_section: NewSection, role: Role | None
) -> None:
    # given a year without a campaign and a section (for section staff)
    year = await free_year(graphql)
    code = (await new_section())["code"]

    # when the caller tries to create a campaign
    response = await graphql.post(
        CAMPAIGN_CREATE, {"input": campaign_input(year)}, **caller(role, code)
    )

    # then it is a top-level FORBIDDEN error and nothing was written
    assert response.status_code == 200
    assert top_level_codes(response) == ["FORBIDDEN"]
    assert response.json()["data"] is None
    assert await campaign_as(graphql, year, role=Role.IS_ADMIN) is None


@pytest.mark.parametrize("role", FORBIDDEN_CAMPAIGN_WRITERS)
async def test_campaign_update_is_for_is_admins_only(
    graphql: GraphQLClient,
    new_section: NewSection,
    campaign_to_change: dict[str, Any],
    role: Role | None,
) -> None:
    # given a campaign and a section (for section staff)
    year = campaign_to_change["year"]
    code = (await new_section())["code"]

    # when the caller tries to change the campaign
    values = {"year": year, "name": "Hijacked", "status": "CLOSED", "goalActions": 1}
    response = await graphql.post(CAMPAIGN_UPDATE, {"input": values}, **caller(role, code))

    # then it is a top-level FORBIDDEN error and the campaign is unchanged
    assert response.status_code == 200
    assert top_level_codes(response) == ["FORBIDDEN"]
    assert response.json()["data"] is None
    assert await campaign_as(graphql, year, role=Role.IS_ADMIN) == campaign_to_change


# --- sectionCampaignUpdate ---------------------------------------------------------------


@dataclass(frozen=True)
class FeaturedWorld:
    """An open campaign with three published cases (in creation order), a draft case of
    it, a published case of no campaign and a draft campaign: shared by this module's
    participation tests, which never change them (each uses its own sections)."""

    year: int
    starts_on: str
    ends_on: str
    published: tuple[str, str, str]
    draft: str
    elsewhere: str
    draft_year: int


@pytest.fixture(scope="module")
async def world(module_graphql: GraphQLClient) -> FeaturedWorld:
    graphql = module_graphql
    campaign = await create_campaign(graphql)
    year = campaign["year"]
    first = await create_case(graphql, [year], publish=True)
    second = await create_case(graphql, [year], publish=True)
    third = await create_case(graphql, [year], publish=True)
    draft_campaign = await create_campaign(graphql, status="DRAFT")
    return FeaturedWorld(
        year=year,
        starts_on=campaign["startsOn"],
        ends_on=campaign["endsOn"],
        published=(first, second, third),
        draft=await create_case(graphql, [year], publish=False),
        elsewhere=await create_case(graphql, [], publish=True),
        draft_year=draft_campaign["year"],
    )


@pytest.fixture(scope="module")
async def campaign_to_change_once(module_graphql: GraphQLClient) -> dict[str, Any]:
    return await create_campaign(module_graphql)


@pytest.fixture
async def campaign_to_change(
    graphql: GraphQLClient, campaign_to_change_once: dict[str, Any]
) -> dict[str, Any]:
    """A campaign that refused changes leave as it was (checked before each test)."""
    year = campaign_to_change_once["year"]
    assert await campaign_as(graphql, year, role=Role.IS_ADMIN) == campaign_to_change_once
    return campaign_to_change_once


def slugs(*names: str) -> list[dict[str, str]]:
    return [{"slug": name} for name in names]


async def participation(
    graphql: GraphQLClient, year: int, section: str | None, **options: Any
) -> dict[str, Any] | None:
    """The campaign's ``participation`` at ``section``'s endpoint (the campaign must exist)."""
    data = await graphql.data(PARTICIPATION, {"year": year}, section=section, **options)
    assert data["campaign"] is not None
    assert data["campaign"]["year"] == year
    found: dict[str, Any] | None = data["campaign"]["participation"]
    return found


async def update_participation(
    graphql: GraphQLClient, code: str, values: dict[str, Any], role: Role = Role.SECTION_ADMIN
) -> dict[str, Any]:
    """The ``sectionCampaignUpdate`` payload for ``values`` by the section's own staff."""
    data = await graphql.data(
        SECTION_CAMPAIGN_UPDATE,
        {"input": values},
        role=role,
        token_section=code,
        section=code,
    )
    payload: dict[str, Any] = data["sectionCampaignUpdate"]
    return payload


@pytest.mark.parametrize("role", [Role.SECTION_ADMIN, Role.SECTION_EDITOR])
async def test_section_campaign_update_sets_the_window_and_featured_cases(
    graphql: GraphQLClient, new_section: NewSection, world: FeaturedWorld, role: Role
) -> None:
    # given a section
    code = (await new_section())["code"]
    first, _, third = world.published

    # when its staff set its own window and feature two cases, the third one first
    values = {
        "year": world.year,
        "startsOn": f"{world.year}-11-15",
        "endsOn": f"{world.year}-12-20",
        "featuredCaseSlugs": [third, f"  {first.upper()} "],
    }
    payload = await update_participation(graphql, code, values, role)

    # then the payload shows the section's window, effective as such, and the cases in order
    expected = {
        "startsOn": f"{world.year}-11-15",
        "endsOn": f"{world.year}-12-20",
        "effectiveStartsOn": f"{world.year}-11-15",
        "effectiveEndsOn": f"{world.year}-12-20",
        "featuredCases": slugs(third, first),
    }
    assert payload == {
        "participation": {**expected, "campaign": {"year": world.year}},
        "errors": [],
    }
    # and campaign(year) at the section's endpoint shows the same to anyone
    assert await participation(graphql, world.year, code) == expected
    assert await participation(graphql, world.year, code, role=Role.PARTNER_APP) == expected
    assert await participation(graphql, world.year, code, role=Role.IS_ADMIN) == expected
    # and the global scope has no participation
    assert await participation(graphql, world.year, None, role=Role.IS_ADMIN) is None


async def test_participation_is_each_sections_own(
    graphql: GraphQLClient, new_section: NewSection, world: FeaturedWorld
) -> None:
    # given two sections, one of which takes part with its own window and two cases
    one = (await new_section())["code"]
    other = (await new_section(country="FR", languages=["fr"], timeZone="Europe/Paris"))["code"]
    first, second, third = world.published
    own = {"year": world.year, "startsOn": f"{world.year}-10-01", "endsOn": f"{world.year}-12-10"}
    payload = await update_participation(
        graphql, one, {**own, "featuredCaseSlugs": [first, second]}
    )
    assert payload["errors"] == []

    # when the other section looks at the campaign, then it sees no participation
    assert await participation(graphql, world.year, other) is None
    assert await participation(graphql, world.year, other, role=Role.IS_ADMIN) is None

    # when the other section takes part without a window of its own and features one case
    payload = await update_participation(
        graphql, other, {"year": world.year, "featuredCaseSlugs": [third]}, Role.SECTION_EDITOR
    )

    # then its effective window is the campaign's, and it sees only its own settings
    expected_other = {
        "startsOn": None,
        "endsOn": None,
        "effectiveStartsOn": world.starts_on,
        "effectiveEndsOn": world.ends_on,
        "featuredCases": slugs(third),
    }
    assert payload == {
        "participation": {**expected_other, "campaign": {"year": world.year}},
        "errors": [],
    }
    assert await participation(graphql, world.year, other) == expected_other
    # and the first section still sees its own
    assert await participation(graphql, world.year, one) == {
        "startsOn": f"{world.year}-10-01",
        "endsOn": f"{world.year}-12-10",
        "effectiveStartsOn": f"{world.year}-10-01",
        "effectiveEndsOn": f"{world.year}-12-10",
        "featuredCases": slugs(first, second),
    }


async def test_section_campaign_update_replaces_the_featured_list(
    graphql: GraphQLClient, new_section: NewSection, world: FeaturedWorld
) -> None:
    # given a section that features the three cases with its own window
    code = (await new_section())["code"]
    first, second, third = world.published
    window = {"startsOn": f"{world.year}-11-02", "endsOn": f"{world.year}-12-30"}
    payload = await update_participation(
        graphql, code, {"year": world.year, **window, "featuredCaseSlugs": [first, second, third]}
    )
    assert payload["errors"] == []
    shown = await participation(graphql, world.year, code)
    assert shown is not None
    assert shown["featuredCases"] == slugs(first, second, third)

    # when it sends a shorter list in another order, without a window
    payload = await update_participation(
        graphql, code, {"year": world.year, "featuredCaseSlugs": [third, first]}
    )

    # then the list is replaced, in the order given, and the campaign's window applies
    expected = {
        "startsOn": None,
        "endsOn": None,
        "effectiveStartsOn": world.starts_on,
        "effectiveEndsOn": world.ends_on,
        "featuredCases": slugs(third, first),
    }
    assert payload["errors"] == []
    assert await participation(graphql, world.year, code) == expected

    # when it sends an empty list, then it features nothing
    payload = await update_participation(
        graphql, code, {"year": world.year, "featuredCaseSlugs": []}
    )
    assert payload["errors"] == []
    assert await participation(graphql, world.year, code) == {**expected, "featuredCases": []}


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param(
            lambda world: {"featuredCaseSlugs": [world.published[0], world.elsewhere]},
            [("featuredCaseSlugs", "NOT_FOUND")],
            id="case-of-no-campaign",
        ),
        pytest.param(
            lambda world: {"featuredCaseSlugs": [world.draft]},
            [("featuredCaseSlugs", "NOT_FOUND")],
            id="draft-case",
        ),
        pytest.param(
            lambda world: {"featuredCaseSlugs": ["case-" + unique_code()]},
            [("featuredCaseSlugs", "NOT_FOUND")],
            id="unknown-case",
        ),
        pytest.param(
            lambda world: {
                "startsOn": f"{world.year}-12-01",
                "endsOn": f"{world.year}-11-30",
                "featuredCaseSlugs": [world.published[2]],
            },
            [("endsOn", "INVALID")],
            id="window-ends-before-it-starts",
        ),
        pytest.param(
            lambda world: {"startsOn": f"{world.year}-11-20", "endsOn": None},
            [("endsOn", "REQUIRED")],
            id="window-without-end",
        ),
        pytest.param(
            lambda world: {
                "startsOn": f"{world.year}-12-01",
                "endsOn": f"{world.year}-11-30",
                "featuredCaseSlugs": [world.draft, world.elsewhere],
            },
            [
                ("endsOn", "INVALID"),
                ("featuredCaseSlugs", "NOT_FOUND"),
                ("featuredCaseSlugs", "NOT_FOUND"),
            ],
            id="several-at-once",
        ),
    ],
)
async def test_section_campaign_update_refuses_an_invalid_input(
    graphql: GraphQLClient,
    new_section: NewSection,
    world: FeaturedWorld,
    change: Callable[[FeaturedWorld], dict[str, Any]],
    expected: list[tuple[str, str]],
) -> None:
    # given a section that takes part with its own window and one featured case
    code = (await new_section())["code"]
    before = {
        "year": world.year,
        "startsOn": f"{world.year}-11-10",
        "endsOn": f"{world.year}-12-12",
        "featuredCaseSlugs": [world.published[1]],
    }
    assert (await update_participation(graphql, code, before))["errors"] == []
    shown = await participation(graphql, world.year, code)

    # when its admin sends an invalid change
    payload = await update_participation(graphql, code, {**before, **change(world)})

    # then each problem is reported with its field and stable code
    assert payload["participation"] is None
    assert problems(payload) == expected
    assert all(error["message"] for error in payload["errors"])
    # and the participation is as it was
    assert await participation(graphql, world.year, code) == shown


async def test_section_campaign_update_of_a_year_without_a_campaign_is_not_found(
    graphql: GraphQLClient, new_section: NewSection, world: FeaturedWorld
) -> None:
    # given a section, a year without a campaign and a draft campaign
    code = (await new_section())["code"]
    absent = await free_year(graphql)

    for year in (absent, world.draft_year):
        # when its admin sets its participation in that year
        payload = await update_participation(graphql, code, {"year": year})

        # then the year is NOT_FOUND and nothing was written
        assert payload["participation"] is None
        assert problems(payload) == [("year", "NOT_FOUND")]
    assert await campaign_as(graphql, absent, role=Role.IS_ADMIN) is None
    assert await participation(graphql, world.draft_year, code, role=Role.IS_ADMIN) is None


async def test_section_campaign_update_in_the_global_scope_is_out_of_scope(
    graphql: GraphQLClient, world: FeaturedWorld
) -> None:
    # when an IS admin sets a participation without naming a section
    values = {"year": world.year, "featuredCaseSlugs": [world.published[0]]}
    data = await graphql.data(SECTION_CAMPAIGN_UPDATE, {"input": values}, role=Role.IS_ADMIN)

    # then it is OUT_OF_SCOPE: a participation belongs to a section
    payload = data["sectionCampaignUpdate"]
    assert payload["participation"] is None
    assert problems(payload) == [(None, "OUT_OF_SCOPE")]
    assert await participation(graphql, world.year, None, role=Role.IS_ADMIN) is None


async def test_an_is_admin_may_set_a_participation_at_a_sections_endpoint(
    graphql: GraphQLClient, new_section: NewSection, world: FeaturedWorld
) -> None:
    # given a section
    code = (await new_section())["code"]

    # when an IS admin sets its participation at its endpoint
    values = {"year": world.year, "featuredCaseSlugs": [world.published[2]]}
    data = await graphql.data(
        SECTION_CAMPAIGN_UPDATE, {"input": values}, role=Role.IS_ADMIN, section=code
    )

    # then the section takes part
    assert data["sectionCampaignUpdate"]["errors"] == []
    shown = await participation(graphql, world.year, code)
    assert shown is not None
    assert shown["featuredCases"] == slugs(world.published[2])


@pytest.mark.parametrize(
    "role",
    [
        pytest.param(None, id="anonymous"),
        pytest.param(Role.PARTNER_APP, id="partner-app"),
        pytest.param(Role.IS_ANALYST, id="is-analyst"),
    ],
)
async def test_section_campaign_update_is_forbidden_to_other_callers(
    graphql: GraphQLClient, new_section: NewSection, world: FeaturedWorld, role: Role | None
) -> None:
    # given a section that does not take part
    code = (await new_section())["code"]

    # when the caller sets its participation at its endpoint
    values = {"year": world.year, "featuredCaseSlugs": [world.published[0]]}
    response = await graphql.post(
        SECTION_CAMPAIGN_UPDATE, {"input": values}, section=code, **caller(role)
    )

    # then it is a top-level FORBIDDEN error and the section still does not take part
    assert response.status_code == 200
    assert top_level_codes(response) == ["FORBIDDEN"]
    assert response.json()["data"] is None
    assert await participation(graphql, world.year, code) is None


async def test_featured_cases_are_refused_for_a_section_of_another_token(
    graphql: GraphQLClient, new_section: NewSection, world: FeaturedWorld
) -> None:
    # given two sections
    one = (await new_section())["code"]
    other = (await new_section())["code"]

    # when the admin of one sets a participation at the other's endpoint
    values = {"year": world.year, "featuredCaseSlugs": [world.published[0]]}
    response = await graphql.post(
        SECTION_CAMPAIGN_UPDATE,
        {"input": values},
        role=Role.SECTION_ADMIN,
        token_section=one,
        section=other,
    )

    # then the request is refused before execution and neither section takes part
    assert response.status_code == 403
    assert top_level_codes(response) == ["SECTION_FORBIDDEN"]
    assert await participation(graphql, world.year, one) is None
    assert await participation(graphql, world.year, other) is None
