"""No N+1: a page of cases with everything a partner app shows costs a fixed number of SQL
statements, whatever the number of cases on the page.

The statements are counted with SQLAlchemy's ``before_cursor_execute`` event on the app's
own engine during one HTTP request: the tenant binding, the campaign, the page and one
batched statement per loader. Routing is counted as in production, where the section
registry is an in-process snapshot refreshed every few seconds: the test settings refresh it
on every request (``section_cache_seconds=0``), which would add its own two statements.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import event
from sqlalchemy.engine import Connection, ExecutionContext
from starlette.applications import Starlette

from tests.campaigns.test_campaigns_api import create_campaign
from tests.conftest import SECTION_CREATE, GraphQLClient, section_input, unique_code
from w4r.platform.auth import Role

CASE_COUNT = 25
MAX_STATEMENTS = 12
PARTNER_STATEMENTS = 10
"""The partner list, measured: the tenant binding, the campaign, the page, then one
statement each for the published IS texts and the section's published translations (in
the requested languages, their parents and the source only), the appeal targets, the
recipients, the outcomes, the campaigns and the totals of all the page's cases (the
campaign of `totals(campaign:)` is the list's, already read)."""
SECTION_TRANSLATIONS_STATEMENTS = 5
"""The IS admin's translations at a section's endpoint: the binding, the campaign, the
page, then the IS texts and the section's translations of all the page's cases."""
GLOBAL_TRANSLATIONS_STATEMENTS = 4
"""The same in the global scope: no section translations."""

PARTNER_CASE_LIST = """
query ($year: Int!, $first: Int!) {
  cases(campaign: $year, first: $first) {
    edges {
      node {
        slug subjectName country themes
        text(language: "pl") { language isFallback origin title summary story demands }
        appealTargets { name title email }
        solidarityRecipients { name }
        outcomes { kind occurredOn datePrecision description }
        campaigns { year }
        totals(campaign: $year) { quantity verified selfReported }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}
"""
ADMIN_TRANSLATIONS_LIST = """
query ($year: Int!, $first: Int!) {
  cases(campaign: $year, first: $first) {
    edges { node { slug translations { language origin status isPublished missingFields } } }
    pageInfo { hasNextPage endCursor }
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
  casePublish(input: $input) { case { id } errors { field code message } }
}
"""
CASE_OUTCOME_ADD = """
mutation ($input: CaseOutcomeAddInput!) {
  caseOutcomeAdd(input: $input) { outcome { id } errors { field code message } }
}
"""
TRANSLATION_UPSERT = """
mutation ($input: CaseTranslationUpsertInput!) {
  caseTranslationUpsert(input: $input) {
    translation { language status } errors { field code message }
  }
}
"""
TRANSLATION_PUBLISH = """
mutation ($input: CaseTranslationPublishInput!) {
  caseTranslationPublish(input: $input) {
    translation { language status } errors { field code message }
  }
}
"""


@dataclass(frozen=True)
class CaseList:
    """A campaign of 25 published cases and a section (languages ["pl"]) that translated
    the cases of even index."""

    year: int
    section: str
    slugs: tuple[str, ...]


def text(index: int, language: str) -> dict[str, str]:
    return {
        "title": f"[{language}] Title {index}",
        "summary": f"[{language}] Summary {index}.",
        "story": f"[{language}] Story {index}.",
        "demands": f"[{language}] Demands {index}.",
    }


def targets(index: int) -> list[dict[str, str]]:
    return [
        {"name": f"Minister {index}", "title": "Minister", "email": f"minister{index}@example.org"},
        {"name": f"Governor {index}", "title": "Governor", "email": f"governor{index}@example.org"},
    ]


OUTCOMES = (
    {
        "occurredOn": "2021-03-04",
        "datePrecision": "DAY",
        "kind": "CHARGES_DROPPED",
        "description": "The charges were dropped.",
    },
    {
        "occurredOn": "2022-06-01",
        "datePrecision": "MONTH",
        "kind": "RELEASED",
        "description": "Released.",
    },
)


async def mutate(
    graphql: GraphQLClient, document: str, values: dict[str, Any], **options: Any
) -> Any:
    """The payload of a one-field mutation, which must have no errors."""
    data = await graphql.data(document, {"input": values}, **options)
    (payload,) = data.values()
    assert payload["errors"] == [], payload
    return payload


@pytest.fixture(scope="module")
async def case_list(app: Starlette, token_for: Callable[..., str]) -> AsyncIterator[CaseList]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        graphql = GraphQLClient(http, token_for)
        year = (await create_campaign(graphql))["year"]
        code = unique_code()
        values = section_input(code, country="PL", languages=["pl"], timeZone="Europe/Warsaw")
        await mutate(graphql, SECTION_CREATE, values, role=Role.IS_ADMIN)
        section_admin = {"role": Role.SECTION_ADMIN, "token_section": code, "section": code}
        suffix = unique_code()
        slugs: list[str] = []
        for index in range(CASE_COUNT):
            created = await mutate(
                graphql,
                CASE_CREATE,
                {
                    "slug": f"n{index:02d}-{suffix}",
                    "subjectKind": "PERSON",
                    "subjectName": f"Subject {index}",
                    "country": "PL" if index % 2 == 0 else "MX",
                    "themes": ["TORTURE"],
                    "sourceLanguage": "en",
                    "sourceText": text(index, "en"),
                    "campaignYears": [year],
                    "appealTargets": targets(index),
                    "solidarityRecipients": [{"name": f"Subject {index}"}],
                },
                role=Role.IS_ADMIN,
            )
            case_id = created["case"]["id"]
            await mutate(graphql, CASE_PUBLISH, {"id": case_id}, role=Role.IS_ADMIN)
            for outcome in OUTCOMES:
                await mutate(
                    graphql, CASE_OUTCOME_ADD, {"caseId": case_id, **outcome}, role=Role.IS_ADMIN
                )
            translations: list[tuple[str, dict[str, Any]]] = [("fr", {"role": Role.IS_ADMIN})]
            if index % 2 == 0:
                translations.append(("pl", section_admin))
            for language, options in translations:
                upsert = {"caseId": case_id, "language": language, "text": text(index, language)}
                await mutate(graphql, TRANSLATION_UPSERT, upsert, **options)
                publish = {"caseId": case_id, "language": language}
                await mutate(graphql, TRANSLATION_PUBLISH, publish, **options)
            slugs.append(created["case"]["slug"])
        yield CaseList(year=year, section=code, slugs=tuple(slugs))


@pytest.fixture
async def fresh_registry(
    app: Starlette, case_list: CaseList, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The section registry loaded once and kept fresh for the test, as in production."""
    registry = app.state.graphql_services.registry
    await registry.snapshot()
    monkeypatch.setattr(registry, "ttl_seconds", 3600.0)


@contextmanager
def counted_statements(app: Starlette) -> Iterator[list[str]]:
    """The SQL statements the app's engine executes inside the block."""
    statements: list[str] = []

    def count(
        connection: Connection,
        cursor: Any,
        statement: str,
        parameters: Any,
        context: ExecutionContext | None,
        executemany: bool,
    ) -> None:
        statements.append(statement)

    engine = app.state.database.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


async def counted_request(
    app: Starlette, graphql: GraphQLClient, query: str, variables: dict[str, Any], **options: Any
) -> tuple[list[str], Any]:
    """The statements of one request, and its ``data`` (which must have no errors)."""
    with counted_statements(app) as statements:
        data = await graphql.data(query, variables, **options)
    return statements, data


@pytest.mark.usefixtures("fresh_registry")
async def test_the_partner_case_list_costs_the_same_for_5_and_25_cases(
    app: Starlette, graphql: GraphQLClient, case_list: CaseList
) -> None:
    # given a campaign of 25 published cases with texts, targets, recipients, outcomes
    # and translations
    variables = {"year": case_list.year}

    # when a partner app lists 5, then 25 of them at the section's endpoint
    few, few_data = await counted_request(
        app, graphql, PARTNER_CASE_LIST, {**variables, "first": 5}, section=case_list.section
    )
    many, many_data = await counted_request(
        app, graphql, PARTNER_CASE_LIST, {**variables, "first": 25}, section=case_list.section
    )

    # then both cost the same small number of statements
    assert len(few_data["cases"]["edges"]) == 5
    assert len(many_data["cases"]["edges"]) == CASE_COUNT
    assert len(many) == len(few), "\n".join(many)
    assert len(many) == PARTNER_STATEMENTS, "\n".join(many)
    assert len(many) <= MAX_STATEMENTS


async def test_the_partner_case_list_serves_each_cases_data(
    graphql: GraphQLClient, case_list: CaseList
) -> None:
    # when a partner app lists the 25 cases at the section's endpoint
    data = await graphql.data(
        PARTNER_CASE_LIST, {"year": case_list.year, "first": 25}, section=case_list.section
    )

    # then they come in the campaign's order, all on one page
    page = data["cases"]
    assert [edge["node"]["slug"] for edge in page["edges"]] == list(case_list.slugs)
    assert page["pageInfo"]["hasNextPage"] is False
    nodes = {edge["node"]["slug"]: edge["node"] for edge in page["edges"]}
    # and a case the section translated is served in Polish, from the section
    assert nodes[case_list.slugs[6]] == {
        "slug": case_list.slugs[6],
        "subjectName": "Subject 6",
        "country": "PL",
        "themes": ["TORTURE"],
        "text": {
            "language": "pl",
            "isFallback": False,
            "origin": "SECTION",
            **text(6, "pl"),
        },
        "appealTargets": targets(6),
        "solidarityRecipients": [{"name": "Subject 6"}],
        "outcomes": list(OUTCOMES),
        "campaigns": [{"year": case_list.year}],
        "totals": {"quantity": 0, "verified": 0, "selfReported": 0},
    }
    # and one it did not translate falls back to the English source
    assert nodes[case_list.slugs[7]] == {
        "slug": case_list.slugs[7],
        "subjectName": "Subject 7",
        "country": "MX",
        "themes": ["TORTURE"],
        "text": {
            "language": "en",
            "isFallback": True,
            "origin": "SOURCE",
            **text(7, "en"),
        },
        "appealTargets": targets(7),
        "solidarityRecipients": [{"name": "Subject 7"}],
        "outcomes": list(OUTCOMES),
        "campaigns": [{"year": case_list.year}],
        "totals": {"quantity": 0, "verified": 0, "selfReported": 0},
    }
    # and every case has its own targets and outcomes
    for index, slug in enumerate(case_list.slugs):
        assert nodes[slug]["appealTargets"] == targets(index)
        assert nodes[slug]["outcomes"] == list(OUTCOMES)
        assert nodes[slug]["text"]["origin"] == ("SECTION" if index % 2 == 0 else "SOURCE")


@pytest.mark.usefixtures("fresh_registry")
async def test_the_admin_translations_list_costs_the_same_for_5_and_25_cases(
    app: Starlette, graphql: GraphQLClient, case_list: CaseList
) -> None:
    # given the campaign of 25 cases, each with an IS translation and some with a section's
    variables = {"year": case_list.year}

    # when an IS admin lists the translations of 5, then 25 cases at the section's endpoint
    few, few_data = await counted_request(
        app,
        graphql,
        ADMIN_TRANSLATIONS_LIST,
        {**variables, "first": 5},
        role=Role.IS_ADMIN,
        section=case_list.section,
    )
    many, many_data = await counted_request(
        app,
        graphql,
        ADMIN_TRANSLATIONS_LIST,
        {**variables, "first": 25},
        role=Role.IS_ADMIN,
        section=case_list.section,
    )

    # then both cost the same small number of statements
    assert len(few_data["cases"]["edges"]) == 5
    assert len(many_data["cases"]["edges"]) == CASE_COUNT
    assert len(many) == len(few), "\n".join(many)
    assert len(many) == SECTION_TRANSLATIONS_STATEMENTS, "\n".join(many)
    assert len(many) <= MAX_STATEMENTS
    # and each case lists the source, the IS translation and the section's language
    for index, edge in enumerate(many_data["cases"]["edges"]):
        languages = [
            (item["language"], item["origin"], item["status"])
            for item in edge["node"]["translations"]
        ]
        section = ("pl", "SECTION", "PUBLISHED" if index % 2 == 0 else "MISSING")
        assert languages == [
            ("en", "SOURCE", "PUBLISHED"),
            ("fr", "INTERNATIONAL_SECRETARIAT", "PUBLISHED"),
            section,
        ]


@pytest.mark.usefixtures("fresh_registry")
async def test_the_is_translations_list_costs_the_same_for_5_and_25_cases_globally(
    app: Starlette, graphql: GraphQLClient, case_list: CaseList
) -> None:
    # when an IS admin lists the translations of 5, then 25 cases in the global scope
    variables = {"year": case_list.year}
    few, _ = await counted_request(
        app, graphql, ADMIN_TRANSLATIONS_LIST, {**variables, "first": 5}, role=Role.IS_ADMIN
    )
    many, many_data = await counted_request(
        app, graphql, ADMIN_TRANSLATIONS_LIST, {**variables, "first": 25}, role=Role.IS_ADMIN
    )

    # then both cost the same, and only the IS texts are listed
    assert len(many) == len(few), "\n".join(many)
    assert len(many) == GLOBAL_TRANSLATIONS_STATEMENTS, "\n".join(many)
    for edge in many_data["cases"]["edges"]:
        assert [item["language"] for item in edge["node"]["translations"]] == ["en", "fr"]
