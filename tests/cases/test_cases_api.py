"""Cases, their outcomes and the case lists through the GraphQL API (HTTP, real database).

Case slugs are unique per test (``case-`` + ``unique_code()``); campaigns get random years
between 2100 and 2200 (see tests/campaigns/test_campaigns_api.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.campaigns.test_campaigns_api import (
    caller,
    create_campaign,
    forge,
    free_year,
    participation,
    problems,
    top_level_codes,
    update_participation,
)
from tests.conftest import GraphQLClient, unique_code
from w4r.platform.auth import Role

NewSection = Callable[..., Awaitable[dict[str, Any]]]

CASE_FIELDS = """
  id slug subjectKind subjectName country themes sourceLanguage sourceRevision status
  publishedAt
  image { url credit }
  text {
    language requestedLanguage isFallback origin isMachineTranslated isOutdated
    title summary story demands letterGuidance sampleLetter imageAlt
  }
  appealTargets { name title organisation postalAddress email salutation letterLanguage }
  solidarityRecipients { name postalAddress guidance }
  outcomes { kind occurredOn datePrecision description }
  campaigns { year }
"""
CASE_CREATE = f"""
mutation ($input: CaseCreateInput!) {{
  caseCreate(input: $input) {{
    case {{ {CASE_FIELDS} internalNotes }}
    errors {{ field code message }}
  }}
}}
"""
CASE_UPDATE = f"""
mutation ($input: CaseUpdateInput!) {{
  caseUpdate(input: $input) {{
    case {{ {CASE_FIELDS} internalNotes }}
    errors {{ field code message }}
  }}
}}
"""
CASE_PUBLISH = """
mutation ($input: CasePublishInput!) {
  casePublish(input: $input) { case { id status publishedAt } errors { field code message } }
}
"""
CASE_OUTCOME_ADD = """
mutation ($input: CaseOutcomeAddInput!) {
  caseOutcomeAdd(input: $input) {
    outcome { id kind occurredOn datePrecision description }
    case { id slug }
    errors { field code message }
  }
}
"""
CASE_BY_ID_FOR_IS = f"query ($id: UUID!) {{ case(id: $id) {{ {CASE_FIELDS} internalNotes }} }}"
CASE_BY_SLUG_FOR_IS = (
    f"query ($slug: String!) {{ case(slug: $slug) {{ {CASE_FIELDS} internalNotes }} }}"
)
CASE_BY_ID = f"query ($id: UUID!) {{ case(id: $id) {{ {CASE_FIELDS} }} }}"
CASE_BY_SLUG = f"query ($slug: String!) {{ case(slug: $slug) {{ {CASE_FIELDS} }} }}"
CASE_INTERNAL_NOTES = "query ($id: UUID!) { case(id: $id) { slug internalNotes } }"
CASE_ID_AND_SLUG = "query ($id: UUID, $slug: String) { case(id: $id, slug: $slug) { slug } }"
CASES_PAGE = """
query ($campaign: Int, $filter: CaseFilter, $first: Int, $after: String) {
  cases(campaign: $campaign, filter: $filter, first: $first, after: $after) {
    edges { cursor node { slug } }
    pageInfo { hasNextPage endCursor }
  }
}
"""

UNKNOWN_CASE_ID = "00000000-0000-4000-8000-000000000000"


# --- helpers -----------------------------------------------------------------------------


def new_slug(prefix: str = "case") -> str:
    return f"{prefix}-{unique_code()}"


def full_case_input(slug: str, years: list[int]) -> dict[str, Any]:
    """A ``CaseCreateInput`` with every field, in canonical form (read back as given)."""
    return {
        "slug": slug,
        "subjectKind": "PERSON",
        "subjectName": "Ada Test-Person",
        "country": "GB",
        "themes": ["DEATH_PENALTY", "TORTURE"],
        "sourceLanguage": "en",
        "sourceText": {
            "title": "Ada Test-Person: sentenced after an unfair trial",
            "summary": "Ada was sentenced after an unfair trial.",
            "story": "Ada was arrested in 2099.\n\nHer trial lasted one day.",
            "demands": "Call for Ada's release.",
            "letterGuidance": "Write to the minister; send Ada a card.",
            "sampleLetter": "Dear Minister,\nplease release Ada.",
            "imageAlt": "Ada smiling at the camera.",
        },
        "campaignYears": years,
        "appealTargets": [
            {
                "name": "Jane Minister",
                "title": "Minister of Justice",
                "organisation": "Ministry of Justice",
                "postalAddress": "1 Justice Road\nCapital City",
                "email": "minister@justice.example.org",
                "salutation": "Dear Minister",
                "letterLanguage": "en-GB",
            },
            {
                "name": "The Prosecutor General",
                "title": None,
                "organisation": None,
                "postalAddress": None,
                "email": "prosecutor@example.org",
                "salutation": None,
                "letterLanguage": "fr",
            },
        ],
        "solidarityRecipients": [
            {
                "name": "Ada Test-Person",
                "postalAddress": "c/o Amnesty International\nPeter Benenson House",
                "guidance": "Tell Ada where you are writing from.",
            }
        ],
        "imageUrl": "https://images.example.org/cases/ada.jpg",
        "imageCredit": "© Amnesty International",
        "internalNotes": "Consent confirmed.\nCheck the photograph's date.",
    }


def minimal_case_input(slug: str, years: list[int], **overrides: Any) -> dict[str, Any]:
    return {
        "slug": slug,
        "subjectKind": "GROUP",
        "subjectName": f"Subject {slug}",
        "country": "GB",
        "themes": ["FREEDOM_OF_EXPRESSION"],
        "sourceLanguage": "en",
        "sourceText": {"title": f"Title of {slug}", "summary": f"Summary of {slug}."},
        "campaignYears": years,
        **overrides,
    }


def expected_case(values: dict[str, Any], case_id: str) -> dict[str, Any]:
    """What reading a just-created (draft, unpublished) case from ``values`` returns,
    without ``internalNotes``."""
    source = values["sourceText"]
    return {
        "id": case_id,
        "slug": values["slug"],
        "subjectKind": values["subjectKind"],
        "subjectName": values["subjectName"],
        "country": values["country"],
        "themes": values["themes"],
        "sourceLanguage": values["sourceLanguage"],
        "sourceRevision": 1,
        "status": "DRAFT",
        "publishedAt": None,
        "image": {"url": values["imageUrl"], "credit": values["imageCredit"]},
        "text": {
            "language": values["sourceLanguage"],
            "requestedLanguage": None,
            "isFallback": False,
            "origin": "SOURCE",
            "isMachineTranslated": False,
            "isOutdated": False,
            **source,
        },
        "appealTargets": values["appealTargets"],
        "solidarityRecipients": values["solidarityRecipients"],
        "outcomes": [],
        "campaigns": [{"year": year} for year in sorted(values["campaignYears"])],
    }


async def create_case(graphql: GraphQLClient, values: dict[str, Any]) -> dict[str, Any]:
    """Create a case as an IS admin; returns it (with ``internalNotes``)."""
    data = await graphql.data(CASE_CREATE, {"input": values}, role=Role.IS_ADMIN)
    payload = data["caseCreate"]
    assert payload["errors"] == [], payload
    case: dict[str, Any] = payload["case"]
    return case


async def publish(graphql: GraphQLClient, case_id: str) -> None:
    data = await graphql.data(CASE_PUBLISH, {"input": {"id": case_id}}, role=Role.IS_ADMIN)
    assert data["casePublish"]["errors"] == [], data
    assert data["casePublish"]["case"]["status"] == "PUBLISHED"


async def add_outcome(graphql: GraphQLClient, case_id: str, **overrides: Any) -> dict[str, Any]:
    """The ``caseOutcomeAdd`` payload as an IS admin."""
    values = {
        "caseId": case_id,
        "occurredOn": "2025-02-17",
        "datePrecision": "DAY",
        "kind": "RELEASED",
        "description": "Released after years in prison.",
        **overrides,
    }
    data = await graphql.data(CASE_OUTCOME_ADD, {"input": values}, role=Role.IS_ADMIN)
    payload: dict[str, Any] = data["caseOutcomeAdd"]
    return payload


async def case_by_slug(graphql: GraphQLClient, slug: str, **options: Any) -> dict[str, Any] | None:
    query = CASE_BY_SLUG_FOR_IS if options.get("role") is Role.IS_ADMIN else CASE_BY_SLUG
    data = await graphql.data(query, {"slug": slug}, **options)
    case: dict[str, Any] | None = data["case"]
    return case


async def case_by_id(graphql: GraphQLClient, case_id: str, **options: Any) -> dict[str, Any] | None:
    query = CASE_BY_ID_FOR_IS if options.get("role") is Role.IS_ADMIN else CASE_BY_ID
    data = await graphql.data(query, {"id": case_id}, **options)
    case: dict[str, Any] | None = data["case"]
    return case


async def listed_slugs(
    graphql: GraphQLClient,
    campaign: int | None = None,
    filter: dict[str, Any] | None = None,  # noqa: A002
    first: int = 100,
    **options: Any,
) -> list[str]:
    """Every slug of ``cases`` (all pages, ``first`` at a time), checking the page info."""
    found: list[str] = []
    after: str | None = None
    while True:
        variables = {"campaign": campaign, "filter": filter, "first": first, "after": after}
        data = await graphql.data(CASES_PAGE, variables, **options)
        page = data["cases"]
        assert len(page["edges"]) <= first
        found.extend(edge["node"]["slug"] for edge in page["edges"])
        if not page["pageInfo"]["hasNextPage"]:
            assert page["pageInfo"]["endCursor"] == (
                page["edges"][-1]["cursor"] if page["edges"] else None
            )
            return found
        assert len(page["edges"]) == first
        after = page["pageInfo"]["endCursor"]
        assert after == page["edges"][-1]["cursor"]


@pytest.fixture(scope="module")
async def shared_year(module_graphql: GraphQLClient) -> int:
    """An open campaign for tests that only add cases to it and never list it whole."""
    campaign = await create_campaign(module_graphql)
    year: int = campaign["year"]
    return year


@pytest.fixture(scope="module")
async def second_year(module_graphql: GraphQLClient) -> int:
    campaign = await create_campaign(module_graphql)
    year: int = campaign["year"]
    return year


OUTSIDE_THE_IS = [
    pytest.param(None, id="anonymous"),
    pytest.param(Role.PARTNER_APP, id="partner-app"),
    pytest.param(Role.SECTION_EDITOR, id="section-editor"),
    pytest.param(Role.SECTION_ADMIN, id="section-admin"),
]


# --- caseCreate and reading a case -------------------------------------------------------


async def test_case_create_returns_every_field_exactly(
    graphql: GraphQLClient, shared_year: int, second_year: int
) -> None:
    # given an input with every field, in two campaigns
    values = full_case_input(new_slug(), [second_year, shared_year])

    # when an IS admin creates the case
    case = await create_case(graphql, values)

    # then it is a draft returned exactly as given
    expected = {
        **expected_case(values, case["id"]),
        "internalNotes": values["internalNotes"],
    }
    assert case == expected
    # and the IS admin reads it back the same by id and by slug
    assert await case_by_id(graphql, case["id"], role=Role.IS_ADMIN) == expected
    assert await case_by_slug(graphql, values["slug"], role=Role.IS_ADMIN) == expected


async def test_case_create_normalizes_its_input(graphql: GraphQLClient, shared_year: int) -> None:
    # given an input in loose but valid forms
    slug = new_slug()
    values = minimal_case_input(
        f"  {slug.upper()} ",
        [shared_year, shared_year],
        subjectName="  Ada   Test ",
        country=" fr ",
        themes=["TORTURE", "TORTURE", "ENVIRONMENT"],
        sourceLanguage="fr_ca",
        appealTargets=[{"name": " The  Minister ", "email": "Minister@Example.ORG"}],
        imageUrl="  https://images.example.org/a.jpg ",
    )

    # when an IS admin creates the case
    case = await create_case(graphql, values)

    # then the values are stored in canonical form
    assert case["slug"] == slug
    assert case["subjectName"] == "Ada Test"
    assert case["country"] == "FR"
    assert case["themes"] == ["TORTURE", "ENVIRONMENT"]
    assert case["sourceLanguage"] == "fr-CA"
    assert case["appealTargets"][0]["name"] == "The Minister"
    assert case["appealTargets"][0]["email"] == "Minister@example.org"
    assert case["image"] == {"url": "https://images.example.org/a.jpg", "credit": None}
    assert case["campaigns"] == [{"year": shared_year}]
    # and the slug is found in any case
    found = await case_by_slug(graphql, slug.upper(), role=Role.IS_ADMIN)
    assert found is not None
    assert found["id"] == case["id"]


@pytest.mark.parametrize("role", OUTSIDE_THE_IS)
async def test_a_draft_case_is_visible_to_is_staff_only(
    graphql: GraphQLClient,
    new_section: NewSection,
    shared_year: int,
    role: Role | None,
) -> None:
    # given a draft case of an open campaign, and a section
    values = full_case_input(new_slug(), [shared_year])
    case = await create_case(graphql, values)
    code = (await new_section())["code"]

    # when the caller looks for it, globally and at the section's endpoint
    for section in (None, code):
        options = {**caller(role, code), "section": section}
        # then it is not there
        assert await case_by_id(graphql, case["id"], **options) is None
        assert await case_by_slug(graphql, values["slug"], **options) is None
        assert values["slug"] not in await listed_slugs(graphql, shared_year, **options)
        assert values["slug"] not in await listed_slugs(graphql, **options)

    # and IS staff see it
    for is_role in (Role.IS_ADMIN, Role.IS_ANALYST):
        found = await case_by_id(graphql, case["id"], role=is_role)
        assert found is not None
        assert found["status"] == "DRAFT"
        assert values["slug"] in await listed_slugs(graphql, shared_year, role=is_role)


async def test_case_publish_makes_a_case_visible_to_everyone(
    graphql: GraphQLClient, new_section: NewSection, shared_year: int
) -> None:
    # given a draft case and a section
    values = full_case_input(new_slug(), [shared_year])
    case = await create_case(graphql, values)
    code = (await new_section())["code"]

    # when an IS admin publishes it
    data = await graphql.data(CASE_PUBLISH, {"input": {"id": case["id"]}}, role=Role.IS_ADMIN)

    # then it is published, with a publication time
    payload = data["casePublish"]
    assert payload["errors"] == []
    assert payload["case"]["id"] == case["id"]
    assert payload["case"]["status"] == "PUBLISHED"
    published_at = payload["case"]["publishedAt"]
    assert isinstance(published_at, str)
    expected = {
        **expected_case(values, case["id"]),
        "status": "PUBLISHED",
        "publishedAt": published_at,
    }
    # and every caller reads it, by id, by slug and in the campaign's list (section staff
    # in their section, whose default language "en" is the one asked for)
    for role in (None, Role.PARTNER_APP, Role.SECTION_EDITOR, Role.SECTION_ADMIN, Role.IS_ANALYST):
        options = caller(role, code)
        requested = "en" if role in (Role.SECTION_EDITOR, Role.SECTION_ADMIN) else None
        seen = {**expected, "text": {**expected["text"], "requestedLanguage": requested}}
        assert await case_by_id(graphql, case["id"], **options) == seen, role
        assert await case_by_slug(graphql, values["slug"], **options) == seen, role
        assert values["slug"] in await listed_slugs(graphql, shared_year, **options), role

    # when it is published again, then nothing changes
    data = await graphql.data(CASE_PUBLISH, {"input": {"id": case["id"]}}, role=Role.IS_ADMIN)
    assert data["casePublish"]["errors"] == []
    assert data["casePublish"]["case"]["publishedAt"] == published_at


async def test_case_publish_of_an_unknown_case_is_not_found(graphql: GraphQLClient) -> None:
    data = await graphql.data(CASE_PUBLISH, {"input": {"id": UNKNOWN_CASE_ID}}, role=Role.IS_ADMIN)
    assert data["casePublish"]["case"] is None
    assert problems(data["casePublish"]) == [("id", "NOT_FOUND")]


@pytest.mark.parametrize("role", OUTSIDE_THE_IS)
async def test_internal_notes_are_forbidden_outside_the_is(
    graphql: GraphQLClient, new_section: NewSection, shared_year: int, role: Role | None
) -> None:
    # given a published case with internal notes, and a section
    values = full_case_input(new_slug(), [shared_year])
    case = await create_case(graphql, values)
    await publish(graphql, case["id"])
    code = (await new_section())["code"]

    # when the caller asks for its internal notes
    response = await graphql.post(CASE_INTERNAL_NOTES, {"id": case["id"]}, **caller(role, code))

    # then the field is a top-level FORBIDDEN error and nothing of the notes is shown
    assert response.status_code == 200
    body = response.json()
    assert top_level_codes(response) == ["FORBIDDEN"]
    assert body["errors"][0]["path"] == ["case", "internalNotes"]
    assert body["data"] == {"case": {"slug": values["slug"], "internalNotes": None}}
    assert values["internalNotes"] not in response.text


@pytest.mark.parametrize("role", [Role.IS_ADMIN, Role.IS_ANALYST])
async def test_internal_notes_are_readable_by_is_staff(
    graphql: GraphQLClient, shared_year: int, role: Role
) -> None:
    # given a draft case with internal notes
    values = full_case_input(new_slug(), [shared_year])
    case = await create_case(graphql, values)

    # when IS staff read its notes, then they get them
    data = await graphql.data(CASE_INTERNAL_NOTES, {"id": case["id"]}, role=role)
    assert data == {"case": {"slug": values["slug"], "internalNotes": values["internalNotes"]}}


# --- caseCreate validation ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        pytest.param({"slug": "Not A Slug!"}, [("slug", "INVALID")], id="slug-with-spaces"),
        pytest.param({"slug": "double--hyphen"}, [("slug", "INVALID")], id="slug-double-hyphen"),
        pytest.param({"slug": "-leading"}, [("slug", "INVALID")], id="slug-leading-hyphen"),
        pytest.param({"slug": "a" * 81}, [("slug", "INVALID")], id="slug-too-long"),
        pytest.param({"slug": "  "}, [("slug", "INVALID")], id="slug-empty"),
        pytest.param({"country": "XX"}, [("country", "UNKNOWN_COUNTRY")], id="unknown-country"),
        pytest.param({"country": "EU"}, [("country", "UNKNOWN_COUNTRY")], id="region-country"),
        pytest.param(
            {"sourceLanguage": "xx-notreal"},
            [("sourceLanguage", "UNKNOWN_LANGUAGE")],
            id="unknown-source-language",
        ),
        pytest.param(
            {"sourceText": {"title": "  ", "summary": "A summary."}},
            [("sourceText.title", "REQUIRED")],
            id="missing-title",
        ),
        pytest.param(
            {"sourceText": {"title": "A title", "summary": ""}},
            [("sourceText.summary", "REQUIRED")],
            id="missing-summary",
        ),
        pytest.param(
            {"subjectName": " "}, [("subjectName", "REQUIRED")], id="missing-subject-name"
        ),
        pytest.param(
            {"appealTargets": [{"name": "The Minister", "email": "not-an-email"}]},
            [("appealTargets.0.email", "INVALID")],
            id="bad-target-email",
        ),
        pytest.param(
            {
                "appealTargets": [
                    {"name": "The Minister", "email": "minister@example.org"},
                    {"name": "The Governor", "letterLanguage": "xx-notreal"},
                ]
            },
            [("appealTargets.1.letterLanguage", "UNKNOWN_LANGUAGE")],
            id="bad-target-letter-language",
        ),
        pytest.param(
            {"appealTargets": [{"name": " "}]},
            [("appealTargets.0.name", "REQUIRED")],
            id="target-without-name",
        ),
        pytest.param(
            {"solidarityRecipients": [{"name": ""}]},
            [("solidarityRecipients.0.name", "REQUIRED")],
            id="recipient-without-name",
        ),
        pytest.param(
            {"imageUrl": "ftp://images.example.org/a.jpg"}, [("imageUrl", "INVALID")], id="ftp"
        ),
        pytest.param({"imageUrl": "not a url"}, [("imageUrl", "INVALID")], id="not-a-url"),
        pytest.param(
            {
                "country": "XX",
                "sourceText": {"title": "", "summary": "A summary."},
                "appealTargets": [{"name": "The Minister", "email": "nobody"}],
                "imageUrl": "/relative.jpg",
            },
            [
                ("appealTargets.0.email", "INVALID"),
                ("country", "UNKNOWN_COUNTRY"),
                ("imageUrl", "INVALID"),
                ("sourceText.title", "REQUIRED"),
            ],
            id="several-at-once",
        ),
    ],
)
async def test_case_create_refuses_an_invalid_input(
    graphql: GraphQLClient,
    shared_year: int,
    overrides: dict[str, Any],
    expected: list[tuple[str, str]],
) -> None:
    # given an input with a problem
    slug = new_slug()
    values = {**minimal_case_input(slug, [shared_year]), **overrides}

    # when an IS admin tries to create the case
    data = await graphql.data(CASE_CREATE, {"input": values}, role=Role.IS_ADMIN)

    # then each problem is reported with its field, its stable code and a message
    payload = data["caseCreate"]
    assert payload["case"] is None
    assert problems(payload) == expected
    assert all(error["message"] for error in payload["errors"])
    # and nothing was written: the slug is still free
    assert await case_by_slug(graphql, slug, role=Role.IS_ADMIN) is None
    assert await case_by_slug(graphql, values["slug"], role=Role.IS_ADMIN) is None
    assert slug not in await listed_slugs(graphql, shared_year, role=Role.IS_ADMIN)


async def test_case_create_refuses_an_unknown_campaign_year(
    graphql: GraphQLClient, shared_year: int
) -> None:
    # given an input naming an existing campaign and a year without one
    absent = await free_year(graphql)
    slug = new_slug()
    values = minimal_case_input(slug, [shared_year, absent])

    # when an IS admin tries to create the case
    data = await graphql.data(CASE_CREATE, {"input": values}, role=Role.IS_ADMIN)

    # then the year is NOT_FOUND on campaignYears and nothing was written
    payload = data["caseCreate"]
    assert payload["case"] is None
    assert problems(payload) == [("campaignYears", "NOT_FOUND")]
    assert await case_by_slug(graphql, slug, role=Role.IS_ADMIN) is None
    assert slug not in await listed_slugs(graphql, shared_year, role=Role.IS_ADMIN)


async def test_case_create_refuses_a_slug_that_exists(
    graphql: GraphQLClient, shared_year: int, second_year: int
) -> None:
    # given a case
    slug = new_slug()
    first = await create_case(graphql, full_case_input(slug, [shared_year]))

    # when an IS admin creates another case with the same slug (in another spelling)
    values = minimal_case_input(f" {slug.upper()}", [second_year], subjectName="Someone else")
    data = await graphql.data(CASE_CREATE, {"input": values}, role=Role.IS_ADMIN)

    # then the slug is refused as ALREADY_EXISTS and the first case is as it was
    payload = data["caseCreate"]
    assert payload["case"] is None
    assert problems(payload) == [("slug", "ALREADY_EXISTS")]
    assert await case_by_slug(graphql, slug, role=Role.IS_ADMIN) == first
    assert slug not in await listed_slugs(graphql, second_year, role=Role.IS_ADMIN)


# --- caseUpdate --------------------------------------------------------------------------


async def test_case_update_replaces_lists_and_moves_campaigns(
    graphql: GraphQLClient, shared_year: int, second_year: int
) -> None:
    # given a case in one campaign with two targets and one recipient
    values = full_case_input(new_slug(), [shared_year])
    case = await create_case(graphql, values)

    # when an IS admin replaces its targets, recipients, themes and campaigns
    changes = {
        "themes": ["ENVIRONMENT", "WOMENS_RIGHTS"],
        "campaignYears": [second_year],
        "appealTargets": [
            {
                "name": "The Governor",
                "title": "Governor",
                "organisation": "The State",
                "postalAddress": "State House",
                "email": "governor@example.org",
                "salutation": "Dear Governor",
                "letterLanguage": "es",
            }
        ],
        "solidarityRecipients": [
            {"name": "Ada's family", "postalAddress": None, "guidance": "Write to her mother."},
            {"name": "Ada's lawyer", "postalAddress": "Law Street 2", "guidance": None},
        ],
    }
    data = await graphql.data(
        CASE_UPDATE, {"input": {"id": case["id"], **changes}}, role=Role.IS_ADMIN
    )

    # then those fields are replaced and every other field is as it was
    expected = {
        **case,
        "themes": changes["themes"],
        "campaigns": [{"year": second_year}],
        "appealTargets": changes["appealTargets"],
        "solidarityRecipients": changes["solidarityRecipients"],
    }
    assert data["caseUpdate"] == {"case": expected, "errors": []}
    assert await case_by_id(graphql, case["id"], role=Role.IS_ADMIN) == expected
    # and the case moved from one campaign's list to the other's
    assert values["slug"] not in await listed_slugs(graphql, shared_year, role=Role.IS_ADMIN)
    assert values["slug"] in await listed_slugs(graphql, second_year, role=Role.IS_ADMIN)

    # when an IS admin adds the first campaign back and empties the lists
    data = await graphql.data(
        CASE_UPDATE,
        {
            "input": {
                "id": case["id"],
                "campaignYears": [second_year, shared_year],
                "appealTargets": [],
                "solidarityRecipients": [],
            }
        },
        role=Role.IS_ADMIN,
    )

    # then the case is in both campaigns, oldest first, with no targets or recipients
    expected = {
        **expected,
        "campaigns": [{"year": year} for year in sorted((shared_year, second_year))],
        "appealTargets": [],
        "solidarityRecipients": [],
    }
    assert data["caseUpdate"] == {"case": expected, "errors": []}
    assert values["slug"] in await listed_slugs(graphql, shared_year, role=Role.IS_ADMIN)


async def test_case_update_of_the_source_text_makes_a_new_revision(
    graphql: GraphQLClient, shared_year: int
) -> None:
    # given a case
    values = full_case_input(new_slug(), [shared_year])
    case = await create_case(graphql, values)

    # when an IS admin changes its subject name and source text
    text = {"title": "A new title", "summary": "A new summary."}
    data = await graphql.data(
        CASE_UPDATE,
        {"input": {"id": case["id"], "subjectName": "Ada Renamed", "sourceText": text}},
        role=Role.IS_ADMIN,
    )

    # then the source text is replaced and its revision goes up
    updated = data["caseUpdate"]["case"]
    assert data["caseUpdate"]["errors"] == []
    assert updated["subjectName"] == "Ada Renamed"
    assert updated["sourceRevision"] == 2
    assert updated["text"] == {
        **case["text"],
        "title": "A new title",
        "summary": "A new summary.",
        "story": None,
        "demands": None,
        "letterGuidance": None,
        "sampleLetter": None,
        "imageAlt": None,
    }
    assert updated["appealTargets"] == case["appealTargets"]


async def test_case_update_clears_optional_texts_given_empty(
    graphql: GraphQLClient, shared_year: int
) -> None:
    # given a case with an image and internal notes
    case = await create_case(graphql, full_case_input(new_slug(), [shared_year]))

    # when an IS admin gives them as empty strings
    values = {"id": case["id"], "imageUrl": "", "imageCredit": " ", "internalNotes": ""}
    data = await graphql.data(CASE_UPDATE, {"input": values}, role=Role.IS_ADMIN)

    # then they are cleared and nothing else changed
    expected = {**case, "image": None, "internalNotes": None}
    assert data["caseUpdate"] == {"case": expected, "errors": []}
    assert await case_by_id(graphql, case["id"], role=Role.IS_ADMIN) == expected


async def test_case_update_refuses_to_take_a_featured_case_out_of_its_campaign(
    graphql: GraphQLClient, new_section: NewSection, shared_year: int, second_year: int
) -> None:
    # given a published case of a campaign, featured there by a section
    case = await create_case(graphql, full_case_input(new_slug(), [shared_year]))
    await publish(graphql, case["id"])
    code = (await new_section())["code"]
    featured = {"year": shared_year, "featuredCaseSlugs": [case["slug"]]}
    assert (await update_participation(graphql, code, featured))["errors"] == []
    before = await case_by_id(graphql, case["id"], role=Role.IS_ADMIN)
    shown = await participation(graphql, shared_year, code)

    # when an IS admin moves the case to another campaign
    values = {"id": case["id"], "campaignYears": [second_year], "subjectName": "Moved"}
    response = await graphql.post(CASE_UPDATE, {"input": values}, role=Role.IS_ADMIN)

    # then the move is refused in the payload (not as an unexpected error)
    body = response.json()
    assert response.status_code == 200
    assert "errors" not in body, body
    payload = body["data"]["caseUpdate"]
    assert payload["case"] is None
    assert problems(payload) == [("campaignYears", "NOT_ALLOWED")]
    # and nothing changed: the case is where it was and the section still features it
    assert await case_by_id(graphql, case["id"], role=Role.IS_ADMIN) == before
    assert await participation(graphql, shared_year, code) == shown


async def test_case_update_of_an_unknown_case_is_not_found(graphql: GraphQLClient) -> None:
    # when an IS admin changes a case that does not exist
    data = await graphql.data(
        CASE_UPDATE, {"input": {"id": UNKNOWN_CASE_ID, "subjectName": "X"}}, role=Role.IS_ADMIN
    )

    # then it is NOT_FOUND on the id
    assert data["caseUpdate"]["case"] is None
    assert problems(data["caseUpdate"]) == [("id", "NOT_FOUND")]


async def test_case_update_refuses_an_invalid_change(
    graphql: GraphQLClient, shared_year: int
) -> None:
    # given a case
    case = await create_case(graphql, full_case_input(new_slug(), [shared_year]))
    absent = await free_year(graphql)

    # when an IS admin sends invalid changes together with valid ones
    changes = {
        "id": case["id"],
        "subjectName": "Changed",
        "country": "XX",
        "campaignYears": [absent],
        "appealTargets": [{"name": "New target", "email": "bad"}],
        "themes": ["ENVIRONMENT"],
    }
    data = await graphql.data(CASE_UPDATE, {"input": changes}, role=Role.IS_ADMIN)

    # then every problem is reported and nothing changed
    assert data["caseUpdate"]["case"] is None
    assert problems(data["caseUpdate"]) == [
        ("appealTargets.0.email", "INVALID"),
        ("campaignYears", "NOT_FOUND"),
        ("country", "UNKNOWN_COUNTRY"),
    ]
    assert await case_by_id(graphql, case["id"], role=Role.IS_ADMIN) == case


@pytest.mark.parametrize(
    "role",
    [*OUTSIDE_THE_IS, pytest.param(Role.IS_ANALYST, id="is-analyst")],
)
async def test_case_mutations_are_for_is_admins_only(
    graphql: GraphQLClient, new_section: NewSection, shared_year: int, role: Role | None
) -> None:
    # given a draft case and a section
    case = await create_case(graphql, full_case_input(new_slug(), [shared_year]))
    code = (await new_section())["code"]
    options = caller(role, code)
    new = new_slug()

    # when the caller tries every case mutation
    attempts = [
        (CASE_CREATE, minimal_case_input(new, [shared_year])),
        (CASE_UPDATE, {"id": case["id"], "subjectName": "Hijacked", "appealTargets": []}),
        (CASE_PUBLISH, {"id": case["id"]}),
        (
            CASE_OUTCOME_ADD,
            {
                "caseId": case["id"],
                "occurredOn": "2024-05-01",
                "datePrecision": "DAY",
                "kind": "RELEASED",
                "description": "Released.",
            },
        ),
    ]
    for document, values in attempts:
        response = await graphql.post(document, {"input": values}, **options)

        # then each is a top-level FORBIDDEN error
        assert response.status_code == 200
        assert top_level_codes(response) == ["FORBIDDEN"], document
        assert response.json()["data"] is None

    # and nothing changed: no new case, the case unchanged, unpublished, without outcomes
    assert await case_by_slug(graphql, new, role=Role.IS_ADMIN) is None
    assert await case_by_id(graphql, case["id"], role=Role.IS_ADMIN) == case


# --- caseOutcomeAdd ----------------------------------------------------------------------


async def test_case_outcome_add_stores_the_date_at_its_precision(
    graphql: GraphQLClient, shared_year: int
) -> None:
    # given a published case
    case = await create_case(graphql, full_case_input(new_slug(), [shared_year]))
    await publish(graphql, case["id"])

    # when an IS admin adds an outcome known to the month
    payload = await add_outcome(
        graphql,
        case["id"],
        occurredOn="2025-02-17",
        datePrecision="MONTH",
        kind="SENTENCE_COMMUTED",
        description="  The governor commuted the death sentence.  ",
    )

    # then it is stored as the first of that month, with its kind and precision
    assert payload["errors"] == []
    assert payload["case"] == {"id": case["id"], "slug": case["slug"]}
    commuted = {
        "kind": "SENTENCE_COMMUTED",
        "occurredOn": "2025-02-01",
        "datePrecision": "MONTH",
        "description": "The governor commuted the death sentence.",
    }
    assert {key: value for key, value in payload["outcome"].items() if key != "id"} == commuted

    # when it adds an earlier outcome known to the day and a later one known to the year
    released = {
        "kind": "RELEASED",
        "occurredOn": "2023-05-09",
        "datePrecision": "DAY",
        "description": "Released on bail.",
    }
    dropped = {
        "kind": "CHARGES_DROPPED",
        "occurredOn": "2025-01-01",
        "datePrecision": "YEAR",
        "description": "The last charges were dropped.",
    }
    late_in_the_year = {**dropped, "occurredOn": "2025-09-30"}
    assert (await add_outcome(graphql, case["id"], **released))["errors"] == []
    assert (await add_outcome(graphql, case["id"], **late_in_the_year))["errors"] == []

    # then everyone reads the outcomes oldest first
    found = await case_by_id(graphql, case["id"])
    assert found is not None
    assert found["outcomes"] == [released, dropped, commuted]


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        pytest.param(
            {"occurredOn": (datetime.now(UTC) + timedelta(days=400)).date().isoformat()},
            [("occurredOn", "INVALID")],
            id="future-date",
        ),
        pytest.param(
            {
                "occurredOn": (datetime.now(UTC) + timedelta(days=800)).date().isoformat(),
                "datePrecision": "YEAR",
            },
            [("occurredOn", "INVALID")],
            id="future-year",
        ),
        pytest.param({"description": "  \n "}, [("description", "REQUIRED")], id="empty"),
        pytest.param(
            {"description": "x" * 2001}, [("description", "TOO_LONG")], id="long-description"
        ),
        pytest.param(
            {"caseId": UNKNOWN_CASE_ID, "description": ""},
            [("caseId", "NOT_FOUND")],
            id="unknown-case",
        ),
    ],
)
async def test_case_outcome_add_refuses_an_invalid_input(
    graphql: GraphQLClient,
    shared_year: int,
    overrides: dict[str, Any],
    expected: list[tuple[str, str]],
) -> None:
    # given a case with one outcome
    case = await create_case(graphql, full_case_input(new_slug(), [shared_year]))
    assert (await add_outcome(graphql, case["id"], occurredOn="2020-06-30"))["errors"] == []
    before = await case_by_id(graphql, case["id"], role=Role.IS_ADMIN)

    # when an IS admin adds an invalid outcome
    payload = await add_outcome(graphql, case["id"], **overrides)

    # then the problem is reported and the timeline is as it was
    assert payload["outcome"] is None
    assert payload["case"] is None
    assert problems(payload) == expected
    assert await case_by_id(graphql, case["id"], role=Role.IS_ADMIN) == before


# --- the cases list ----------------------------------------------------------------------


async def test_cases_of_a_campaign_come_in_the_campaigns_order(graphql: GraphQLClient) -> None:
    # given a campaign with five published cases and a draft, created in an order that is
    # not the order of their slugs
    year = (await create_campaign(graphql))["year"]
    code = unique_code()
    created: list[str] = []
    for prefix in ("e", "b", "d", "draft", "a", "c"):
        slug = f"{prefix}-{code}"
        case = await create_case(graphql, minimal_case_input(slug, [year]))
        if prefix != "draft":
            await publish(graphql, case["id"])
        created.append(slug)
    published = [slug for slug in created if not slug.startswith("draft-")]

    for first in (1, 2, 3, 5, 100):
        # when anyone pages through the campaign's cases
        # then each published case comes exactly once, in creation order
        assert await listed_slugs(graphql, year, first=first) == published, first
        # and IS staff also get the draft, at its place
        assert await listed_slugs(graphql, year, first=first, role=Role.IS_ADMIN) == created

    # and the list of all cases is in slug order
    everything = await listed_slugs(graphql, role=Role.IS_ADMIN)
    mine = [slug for slug in everything if slug.endswith(code)]
    assert mine == sorted(created)


async def test_cases_of_a_campaign_resume_after_a_cursor(graphql: GraphQLClient) -> None:
    # given a campaign with three published cases
    year = (await create_campaign(graphql))["year"]
    slugs = []
    for _ in range(3):
        case = await create_case(graphql, minimal_case_input(new_slug(), [year]))
        await publish(graphql, case["id"])
        slugs.append(case["slug"])

    # when a caller takes the first page, then the rest after its end cursor
    data = await graphql.data(CASES_PAGE, {"campaign": year, "first": 1})
    page = data["cases"]
    assert [edge["node"]["slug"] for edge in page["edges"]] == slugs[:1]
    assert page["pageInfo"]["hasNextPage"] is True
    data = await graphql.data(
        CASES_PAGE, {"campaign": year, "first": 5, "after": page["pageInfo"]["endCursor"]}
    )

    # then the rest comes, and no more
    rest = data["cases"]
    assert [edge["node"]["slug"] for edge in rest["edges"]] == slugs[1:]
    assert rest["pageInfo"]["hasNextPage"] is False

    # when the cursor of the campaign list is used for the list of all cases (or the
    # reverse), or a cursor is forged, then it is a top-level BAD_USER_INPUT error
    all_cases = await graphql.data(CASES_PAGE, {"first": 1})
    for variables in (
        {"first": 1, "after": page["pageInfo"]["endCursor"]},
        {"campaign": year, "first": 1, "after": all_cases["cases"]["pageInfo"]["endCursor"]},
        {"campaign": year, "first": 1, "after": forge(["CampaignCase", "x", slugs[0]])},
        {"campaign": year, "first": 1, "after": "%%%"},
    ):
        response = await graphql.post(CASES_PAGE, variables)
        assert top_level_codes(response) == ["BAD_USER_INPUT"], variables


@pytest.mark.parametrize(
    "cursor",
    [
        pytest.param(forge(["CampaignCase", "x", "a-slug"]), id="position-not-a-number"),
        pytest.param(forge(["CampaignCase", "-1", "a-slug"]), id="negative-position"),
        pytest.param(forge(["CampaignCase", "9" * 5000, "a-slug"]), id="5000-digits"),
        pytest.param(forge(["CampaignCase", "1\u00b2", "a-slug"]), id="superscript-digit"),
        pytest.param(forge(["CampaignCase", "1"]), id="no-slug"),
        pytest.param(forge(["CampaignCase", "1", "a\u0000b"]), id="nul-in-slug"),
        pytest.param(forge(["Case", "a-slug"]), id="cursor-of-all-cases"),
        pytest.param(forge(["Campaign", "2100"]), id="cursor-of-campaigns"),
        pytest.param("%%%", id="not-base64"),
    ],
)
async def test_cases_of_a_campaign_refuse_a_forged_cursor(
    graphql: GraphQLClient, shared_year: int, cursor: str
) -> None:
    # when a caller pages a campaign's cases with a cursor the server never gave
    variables = {"campaign": shared_year, "first": 2, "after": cursor}
    response = await graphql.post(CASES_PAGE, variables)

    # then it is a top-level BAD_USER_INPUT error, not a database error
    assert response.status_code == 200
    assert top_level_codes(response) == ["BAD_USER_INPUT"]
    assert response.json()["data"] is None


async def test_cases_filters(graphql: GraphQLClient, new_section: NewSection) -> None:
    # given a campaign with cases of different countries, themes and outcomes, and a draft
    year = (await create_campaign(graphql))["year"]
    code = (await new_section())["code"]
    specs = {
        "fr-environment-outcome": ("FR", ["ENVIRONMENT"], True),
        "pe-torture": ("PE", ["TORTURE"], False),
        "fr-torture-environment": ("FR", ["TORTURE", "ENVIRONMENT"], False),
    }
    slugs: dict[str, str] = {}
    suffix = unique_code()
    for name, (country, themes, with_outcome) in specs.items():
        values = minimal_case_input(f"{name}-{suffix}", [year], country=country, themes=themes)
        case = await create_case(graphql, values)
        await publish(graphql, case["id"])
        if with_outcome:
            assert (await add_outcome(graphql, case["id"]))["errors"] == []
        slugs[name] = case["slug"]
    draft = await create_case(
        graphql,
        minimal_case_input(f"draft-{suffix}", [year], country="FR", themes=["TORTURE"]),
    )
    a, b, c = slugs["fr-environment-outcome"], slugs["pe-torture"], slugs["fr-torture-environment"]

    # when anyone filters the campaign's cases, then only the matching published ones come
    assert await listed_slugs(graphql, year, {"country": "fr"}) == [a, c]
    assert await listed_slugs(graphql, year, {"country": "PE"}) == [b]
    assert await listed_slugs(graphql, year, {"theme": "TORTURE"}) == [b, c]
    assert await listed_slugs(graphql, year, {"theme": "ENVIRONMENT"}) == [a, c]
    assert await listed_slugs(graphql, year, {"theme": "PRESS_FREEDOM"}) == []
    assert await listed_slugs(graphql, year, {"hasOutcome": True}) == [a]
    assert await listed_slugs(graphql, year, {"hasOutcome": False}) == [b, c]
    assert await listed_slugs(
        graphql, year, {"country": "FR", "theme": "TORTURE", "hasOutcome": False}
    ) == [c]
    assert await listed_slugs(graphql, year, {"status": "PUBLISHED"}) == [a, b, c]

    # and the draft is listed to IS staff only, with the other filters applying to it too
    for is_role in (Role.IS_ADMIN, Role.IS_ANALYST):
        is_staff: dict[str, Any] = {"role": is_role}
        assert await listed_slugs(graphql, year, {"status": "DRAFT"}, **is_staff) == [draft["slug"]]
        assert await listed_slugs(graphql, year, {"country": "FR"}, **is_staff) == [
            a,
            c,
            draft["slug"],
        ]
    for role in (None, Role.PARTNER_APP, Role.SECTION_ADMIN, Role.SECTION_EDITOR):
        options = caller(role, code)
        assert await listed_slugs(graphql, year, {"status": "DRAFT"}, **options) == [], role
        assert await listed_slugs(graphql, year, {"country": "FR"}, **options) == [a, c], role

    # when the country filter is no country, then it is a top-level BAD_USER_INPUT error
    response = await graphql.post(
        CASES_PAGE, {"campaign": year, "filter": {"country": "XX"}, "first": 10}
    )
    assert top_level_codes(response) == ["BAD_USER_INPUT"]


async def test_cases_of_a_year_without_a_campaign_is_not_found(graphql: GraphQLClient) -> None:
    # given a year without a campaign and a draft campaign
    absent = await free_year(graphql)
    draft_year = (await create_campaign(graphql, status="DRAFT"))["year"]

    # when anyone lists the cases of that year, then it is a top-level NOT_FOUND error
    for year in (absent, draft_year):
        response = await graphql.post(CASES_PAGE, {"campaign": year, "first": 5})
        assert response.status_code == 200
        assert top_level_codes(response) == ["NOT_FOUND"], year
        assert response.json()["data"] is None

    # and IS staff get the draft campaign's (empty) list
    assert await listed_slugs(graphql, draft_year, role=Role.IS_ANALYST) == []


@pytest.mark.parametrize(
    ("first", "code"),
    [(0, "PAGE_SIZE_TOO_SMALL"), (-1, "PAGE_SIZE_TOO_SMALL"), (101, "PAGE_SIZE_TOO_LARGE")],
)
async def test_cases_refuse_a_page_size_out_of_range(
    graphql: GraphQLClient, first: int, code: str
) -> None:
    # when a caller asks for a page of a size out of 1..100
    response = await graphql.post(CASES_PAGE, {"first": first})

    # then it is refused before execution (the cost rules, docs/limits.md)
    assert response.status_code == 400
    assert top_level_codes(response) == [code]
    assert "data" not in response.json()


@pytest.mark.parametrize(
    "variables",
    [
        pytest.param({}, id="neither"),
        pytest.param({"id": UNKNOWN_CASE_ID, "slug": "rocky-myers"}, id="both"),
    ],
)
async def test_case_needs_exactly_one_of_id_and_slug(
    graphql: GraphQLClient, variables: dict[str, Any]
) -> None:
    # when a caller gives both or neither of id and slug
    response = await graphql.post(CASE_ID_AND_SLUG, variables)

    # then it is a top-level BAD_USER_INPUT error
    assert response.status_code == 200
    assert top_level_codes(response) == ["BAD_USER_INPUT"]
    assert response.json()["data"] == {"case": None}


@pytest.mark.parametrize("role", [None, Role.IS_ADMIN])
async def test_an_unknown_case_is_null(graphql: GraphQLClient, role: Role | None) -> None:
    # when a caller asks for a case that does not exist, then it is null without error
    assert await graphql.data(CASE_ID_AND_SLUG, {"id": UNKNOWN_CASE_ID}, **caller(role)) == {
        "case": None
    }
    assert await graphql.data(CASE_ID_AND_SLUG, {"slug": new_slug()}, **caller(role)) == {
        "case": None
    }
