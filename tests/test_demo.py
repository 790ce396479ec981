"""The demo data (w4r/demo.py) loaded into the test database, and read back over HTTP.

Other tests (the CLI's ``w4r demo``) may load the demo data too, so nothing here assumes this
module's load was the first: the assertions are about the resulting state, and a report is
expected to be empty only for a load made right after another.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from tests.conftest import GraphQLClient
from w4r.demo import DemoReport, load_demo
from w4r.platform.auth import Role
from w4r.platform.bootstrap import DatabaseTarget
from w4r.platform.database import Database

CAMPAIGN = """
query ($year: Int!) {
  campaign(year: $year) {
    year name startsOn endsOn actionDaysStart actionDaysEnd reportingDeadline
    goalActions goalDescription status
  }
}
"""
CASE_RECORD = """
query ($slug: String!) {
  case(slug: $slug) {
    slug subjectName country status
    campaigns { year }
    outcomes { kind occurredOn datePrecision description }
  }
}
"""
CASE_TEXT = """
query ($slug: String!, $language: String) {
  case(slug: $slug) {
    text(language: $language) {
      language requestedLanguage isFallback origin isMachineTranslated title demands
    }
  }
}
"""
SECTION_LANGUAGES = "{ section { code languages defaultLanguage } }"

DRAFT_SLUG = "young-environmental-activists-cambodia"


@dataclass(frozen=True)
class DemoLoads:
    first: DemoReport
    second: DemoReport


@pytest.fixture(scope="module")
async def demo(database_target: DatabaseTarget) -> AsyncIterator[DemoLoads]:
    """The demo data loaded twice in a row, as the app's role."""
    engine = create_async_engine(database_target.app_url)
    try:
        database = Database(engine)
        first = await load_demo(database)
        second = await load_demo(database)
        yield DemoLoads(first=first, second=second)
    finally:
        await engine.dispose()


async def case_record(graphql: GraphQLClient, slug: str, **options: object) -> object:
    data = await graphql.data(CASE_RECORD, {"slug": slug}, **options)
    return data["case"]


async def test_a_second_load_right_after_another_adds_nothing(demo: DemoLoads) -> None:
    # given the demo data loaded (by this load or an earlier one)
    # when it is loaded again right away, then nothing is new
    assert demo.second.is_empty
    assert demo.second == DemoReport()
    assert demo.second.describe() == "Demo data already there."


async def test_a_first_load_reports_what_it_created(demo: DemoLoads) -> None:
    # given the first load of this module, which may or may not have been the first ever
    report = demo.first

    # then whatever it reports is demo data, each item at most once
    assert set(report.sections) <= {"gb", "us", "au", "pl", "fr", "ca"}
    assert len(set(report.sections)) == len(report.sections)
    assert set(report.campaigns) <= {2014, 2015, 2019, 2020, 2021, 2022, 2023, 2024, 2025}
    assert len(set(report.cases)) == len(report.cases)
    assert report.describe().startswith(
        "Demo data already there." if report.is_empty else "Demo data loaded: "
    )


@pytest.mark.usefixtures("demo")
async def test_the_2015_campaign(graphql: GraphQLClient) -> None:
    # when anyone reads the 2015 campaign
    data = await graphql.data(CAMPAIGN, {"year": 2015})

    # then it has the window, action days, reporting deadline and goal of the documents
    assert data["campaign"] == {
        "year": 2015,
        "name": "Write for Rights 2015",
        "startsOn": "2015-10-01",
        "endsOn": "2015-12-31",
        "actionDaysStart": "2015-12-04",
        "actionDaysEnd": "2015-12-18",
        "reportingDeadline": "2016-01-15",
        "goalActions": 4_000_000,
        "goalDescription": (
            "Surpass 4 million actions and make a difference in the lives of all ten cases."
        ),
        "status": "CLOSED",
    }


@pytest.mark.usefixtures("demo")
async def test_rocky_myers_sentence_was_commuted_in_february_2025(graphql: GraphQLClient) -> None:
    # when anyone reads Rocky Myers' case
    case = await case_record(graphql, "rocky-myers")

    # then it is the 2023 campaign's, with the commutation dated to the month
    assert case == {
        "slug": "rocky-myers",
        "subjectName": "Rocky Myers",
        "country": "US",
        "status": "PUBLISHED",
        "campaigns": [{"year": 2023}],
        "outcomes": [
            {
                "kind": "SENTENCE_COMMUTED",
                "occurredOn": "2025-02-01",
                "datePrecision": "MONTH",
                "description": (
                    "The governor of Alabama commuted Rocky Myers' death sentence. The threat "
                    "of execution has finally ended."
                ),
            }
        ],
    }


@pytest.mark.usefixtures("demo")
async def test_magai_matiop_ngong_was_released_on_22_march_2022(graphql: GraphQLClient) -> None:
    # when anyone reads Magai Matiop Ngong's case
    case = await case_record(graphql, "magai-matiop-ngong")

    # then it is the 2019 campaign's, with the release dated to the day
    assert case == {
        "slug": "magai-matiop-ngong",
        "subjectName": "Magai Matiop Ngong",
        "country": "SS",
        "status": "PUBLISHED",
        "campaigns": [{"year": 2019}],
        "outcomes": [
            {
                "kind": "RELEASED",
                "occurredOn": "2022-03-22",
                "datePrecision": "DAY",
                "description": "The High Court of South Sudan freed Magai Matiop Ngong.",
            }
        ],
    }


@pytest.mark.usefixtures("demo")
async def test_the_draft_demo_case_is_for_is_staff_only(graphql: GraphQLClient) -> None:
    # when an anonymous caller looks for the draft demo case, then it does not exist
    assert await case_record(graphql, DRAFT_SLUG) is None
    assert await case_record(graphql, DRAFT_SLUG, section="gb") is None

    # when an IS analyst looks for it, then it is there, a draft of the 2025 campaign
    case = await case_record(graphql, DRAFT_SLUG, role=Role.IS_ANALYST)
    assert case == {
        "slug": DRAFT_SLUG,
        "subjectName": "Young environmental activists in Cambodia",
        "country": "KH",
        "status": "DRAFT",
        "campaigns": [{"year": 2025}],
        "outcomes": [],
    }


@pytest.mark.usefixtures("demo")
async def test_the_polish_section_serves_its_own_translation(graphql: GraphQLClient) -> None:
    # given the Polish section
    data = await graphql.data(SECTION_LANGUAGES, section="pl")
    assert data["section"] == {"code": "pl", "languages": ["pl"], "defaultLanguage": "pl"}

    # when a reader at its endpoint asks for Polish
    data = await graphql.data(
        CASE_TEXT, {"slug": "rocky-myers"}, section="pl", headers={"accept-language": "pl"}
    )

    # then Rocky Myers' text is the section's Polish translation
    assert data["case"]["text"] == {
        "language": "pl",
        "requestedLanguage": "pl",
        "isFallback": False,
        "origin": "SECTION",
        "isMachineTranslated": False,
        "title": "Rocky Myers: trzy dekady w celi śmierci",
        "demands": "Zaapeluj do gubernatora Alabamy o ułaskawienie Rocky'ego Myersa.",
    }


@pytest.mark.usefixtures("demo")
async def test_the_canadian_section_falls_back_to_the_is_french(graphql: GraphQLClient) -> None:
    # given the Canadian section, in Canadian English and French
    data = await graphql.data(SECTION_LANGUAGES, section="ca")
    assert data["section"] == {
        "code": "ca",
        "languages": ["en-CA", "fr-CA"],
        "defaultLanguage": "en-CA",
    }

    # when a reader at its endpoint asks for Rocky Myers' text in Canadian French
    data = await graphql.data(CASE_TEXT, {"slug": "rocky-myers", "language": "fr-CA"}, section="ca")

    # then it is the IS's official French translation, as a fallback
    assert data["case"]["text"] == {
        "language": "fr",
        "requestedLanguage": "fr-CA",
        "isFallback": True,
        "origin": "INTERNATIONAL_SECRETARIAT",
        "isMachineTranslated": False,
        "title": "Rocky Myers : trois décennies dans le couloir de la mort",
        "demands": "Demandez au gouverneur de l'Alabama d'accorder sa grâce à Rocky Myers.",
    }
