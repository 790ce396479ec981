"""Case texts through the GraphQL API: the fallback chain end to end, outdated translations,
isolation between sections, permissions and input errors (HTTP, real database)."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from typing import Any
from unittest.mock import ANY

import httpx
import pytest

from tests.conftest import GraphQLClient, unique_code
from w4r.platform.auth import Role

NewSection = Callable[..., Awaitable[dict[str, Any]]]

CASE_CREATE = """
mutation ($input: CaseCreateInput!) {
  caseCreate(input: $input) {
    case { id slug status sourceLanguage sourceRevision }
    errors { field code message }
  }
}
"""
CASE_PUBLISH = """
mutation ($input: CasePublishInput!) {
  casePublish(input: $input) { case { id status } errors { field code message } }
}
"""
CASE_UPDATE = """
mutation ($input: CaseUpdateInput!) {
  caseUpdate(input: $input) {
    case { id sourceRevision subjectName themes }
    errors { field code message }
  }
}
"""
TRANSLATION_FIELDS = """
language origin status isPublished isMachineTranslated sourceRevision title summary
missingFields sourceChanges { field before after }
"""
TRANSLATION_UPSERT = (
    """
mutation ($input: CaseTranslationUpsertInput!) {
  caseTranslationUpsert(input: $input) {
    translation { """
    + TRANSLATION_FIELDS
    + """ }
    errors { field code message }
  }
}
"""
)
TRANSLATION_PUBLISH = (
    """
mutation ($input: CaseTranslationPublishInput!) {
  caseTranslationPublish(input: $input) {
    translation { """
    + TRANSLATION_FIELDS
    + """ }
    errors { field code message }
  }
}
"""
)
CASE_TEXT = """
query ($id: UUID!, $language: String) {
  case(id: $id) {
    text(language: $language) {
      language requestedLanguage isFallback origin isOutdated isMachineTranslated title summary
    }
  }
}
"""
CASE_TRANSLATIONS = (
    """
query ($id: UUID!) {
  case(id: $id) {
    sourceRevision
    translations { """
    + TRANSLATION_FIELDS
    + """ updatedAt publishedAt }
  }
}
"""
)
CAMPAIGN_CREATE = """
mutation ($input: CampaignCreateInput!) {
  campaignCreate(input: $input) { campaign { year status } errors { field code message } }
}
"""
CAMPAIGN_CASE_TEXTS = """
query ($year: Int!, $language: String) {
  cases(campaign: $year, first: 10) {
    edges { node { id text(language: $language) { language origin title } } }
  }
}
"""
CASE_SOURCE_REVISION = "query ($id: UUID!) { case(id: $id) { sourceRevision } }"
CASES_PAGE = "query ($first: Int) { cases(first: $first) { edges { node { id } } } }"

UNKNOWN_CASE_ID = "00000000-0000-4000-8000-000000000000"


# --- helpers -----------------------------------------------------------------------------


def text_of(label: str) -> dict[str, str]:
    """A ``CaseTextInput`` whose title and summary name ``label``."""
    return {"title": f"{label} title", "summary": f"{label} summary"}


def editor_of(code: str) -> dict[str, Any]:
    """Post options: a section editor of ``code`` at that section's endpoint."""
    return {"role": Role.SECTION_EDITOR, "token_section": code, "section": code}


def is_admin(section: str | None = None) -> dict[str, Any]:
    """Post options: an IS admin, at a section's endpoint or in the global scope."""
    return {"role": Role.IS_ADMIN, "section": section}


def problems(payload: dict[str, Any]) -> list[tuple[str | None, str]]:
    """A payload's ``errors`` as sorted (field, code) pairs."""
    return sorted(
        ((error["field"], error["code"]) for error in payload["errors"]),
        key=lambda pair: (pair[0] or "", pair[1]),
    )


def top_level_codes(response: httpx.Response) -> list[str]:
    body = response.json()
    return [error["extensions"]["code"] for error in body["errors"]]


def served_as(
    label: str,
    *,
    language: str,
    requested: str | None,
    origin: str,
    fallback: bool,
    outdated: bool = False,
    machine: bool = False,
) -> dict[str, Any]:
    """The ``CaseText`` expected when the text written as ``text_of(label)`` is served."""
    return {
        "language": language,
        "requestedLanguage": requested,
        "isFallback": fallback,
        "origin": origin,
        "isOutdated": outdated,
        "isMachineTranslated": machine,
        **text_of(label),
    }


def overview(translations: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """``Case.translations`` as (language, origin, status) triples, in the order listed."""
    return [(item["language"], item["origin"], item["status"]) for item in translations]


async def create_case(
    graphql: GraphQLClient,
    *,
    source_language: str = "en",
    label: str = "Source",
    publish: bool = True,
    campaign_years: list[int] | None = None,
) -> str:
    """A case (published unless told otherwise) created by an IS admin; returns its id."""
    case_input = {
        "slug": "case-" + unique_code(),
        "subjectKind": "PERSON",
        "subjectName": "Test Person",
        "country": "GB",
        "themes": ["FREEDOM_OF_EXPRESSION"],
        "sourceLanguage": source_language,
        "sourceText": text_of(label),
        "campaignYears": campaign_years or [],
    }
    data = await graphql.data(CASE_CREATE, {"input": case_input}, role=Role.IS_ADMIN)
    assert data["caseCreate"]["errors"] == [], data
    case_id: str = data["caseCreate"]["case"]["id"]
    if publish:
        published = await graphql.data(CASE_PUBLISH, {"input": {"id": case_id}}, role=Role.IS_ADMIN)
        assert published["casePublish"]["errors"] == [], published
        assert published["casePublish"]["case"]["status"] == "PUBLISHED"
    return case_id


async def open_campaign(graphql: GraphQLClient) -> int:
    """An open campaign in a year no other test uses (2100-2200); returns the year."""
    while True:
        year = 2100 + secrets.randbelow(101)
        campaign_input = {"year": year, "name": f"Campaign {year}", "status": "OPEN"}
        data = await graphql.data(CAMPAIGN_CREATE, {"input": campaign_input}, role=Role.IS_ADMIN)
        payload = data["campaignCreate"]
        if payload["errors"] == [{"field": "year", "code": "ALREADY_EXISTS", "message": ANY}]:
            continue
        assert payload["errors"] == [], payload
        assert payload["campaign"] == {"year": year, "status": "OPEN"}
        return year


async def upsert(
    graphql: GraphQLClient,
    case_id: str,
    language: str,
    text: dict[str, Any],
    *,
    machine: bool = False,
    **caller: Any,
) -> dict[str, Any]:
    """The ``caseTranslationUpsert`` payload (the call must have no top-level error)."""
    variables = {
        "input": {
            "caseId": case_id,
            "language": language,
            "text": text,
            "isMachineTranslated": machine,
        }
    }
    data = await graphql.data(TRANSLATION_UPSERT, variables, **caller)
    payload: dict[str, Any] = data["caseTranslationUpsert"]
    return payload


async def publish(
    graphql: GraphQLClient, case_id: str, language: str, **caller: Any
) -> dict[str, Any]:
    """The ``caseTranslationPublish`` payload (the call must have no top-level error)."""
    variables = {"input": {"caseId": case_id, "language": language}}
    data = await graphql.data(TRANSLATION_PUBLISH, variables, **caller)
    payload: dict[str, Any] = data["caseTranslationPublish"]
    return payload


async def write_and_publish(
    graphql: GraphQLClient,
    case_id: str,
    language: str,
    label: str,
    *,
    machine: bool = False,
    **caller: Any,
) -> None:
    written = await upsert(graphql, case_id, language, text_of(label), machine=machine, **caller)
    assert written["errors"] == [], written
    published = await publish(graphql, case_id, language, **caller)
    assert published["errors"] == [], published
    assert published["translation"]["status"] == "PUBLISHED"


async def served(
    graphql: GraphQLClient,
    case_id: str,
    language: str | None = None,
    *,
    section: str | None = None,
    accept_language: str | None = None,
) -> dict[str, Any]:
    """``Case.text`` as an anonymous reader; ``language`` None leaves the argument out."""
    variables: dict[str, Any] = {"id": case_id}
    if language is not None:
        variables["language"] = language
    headers = None if accept_language is None else {"accept-language": accept_language}
    data = await graphql.data(CASE_TEXT, variables, section=section, headers=headers)
    text: dict[str, Any] = data["case"]["text"]
    return text


async def translations(
    graphql: GraphQLClient, case_id: str, section: str | None = None
) -> list[dict[str, Any]]:
    """``Case.translations`` as an IS admin at ``section``'s endpoint (or globally)."""
    data = await graphql.data(CASE_TRANSLATIONS, {"id": case_id}, **is_admin(section))
    listed: list[dict[str, Any]] = data["case"]["translations"]
    return listed


async def source_revision(graphql: GraphQLClient, case_id: str) -> int:
    data = await graphql.data(CASE_SOURCE_REVISION, {"id": case_id}, role=Role.IS_ADMIN)
    revision: int = data["case"]["sourceRevision"]
    return revision


async def update_case(graphql: GraphQLClient, case_id: str, **changes: Any) -> dict[str, Any]:
    data = await graphql.data(
        CASE_UPDATE, {"input": {"id": case_id, **changes}}, role=Role.IS_ADMIN
    )
    payload: dict[str, Any] = data["caseUpdate"]
    assert payload["errors"] == [], payload
    return payload


# --- the fallback chain, end to end --------------------------------------------------------


async def test_section_translation_is_served_at_its_own_section_only(
    graphql: GraphQLClient, new_section: NewSection
) -> None:
    # given a published English case and two sections that both speak Polish
    case_id = await create_case(graphql)
    section_a = (await new_section(languages=["en", "pl"]))["code"]
    section_b = (await new_section(languages=["en", "pl"]))["code"]
    # and section A's published Polish translation
    await write_and_publish(graphql, case_id, "pl", "A pl", **editor_of(section_a))

    # when Polish is asked for at A, at B and in the global scope
    at_a = await served(graphql, case_id, "pl", section=section_a)
    at_b = await served(graphql, case_id, "pl", section=section_b)
    in_global_scope = await served(graphql, case_id, "pl")

    # then A serves its own text
    assert at_a == served_as(
        "A pl", language="pl", requested="pl", origin="SECTION", fallback=False
    )
    # and neither B nor the global scope ever serves it: they fall back to the source
    source = served_as("Source", language="en", requested="pl", origin="SOURCE", fallback=True)
    assert at_b == source
    assert in_global_scope == source


async def test_official_translation_is_served_to_everyone_once_published(
    graphql: GraphQLClient, new_section: NewSection
) -> None:
    # given a published English case, a French-speaking section, and the IS's French draft
    case_id = await create_case(graphql)
    section = (await new_section(languages=["en", "fr"]))["code"]
    written = await upsert(graphql, case_id, "fr", text_of("IS fr"), machine=True, **is_admin())
    assert written["errors"] == []
    assert written["translation"]["origin"] == "INTERNATIONAL_SECRETARIAT"
    assert written["translation"]["status"] == "DRAFT"
    assert written["translation"]["isPublished"] is False
    assert written["translation"]["sourceRevision"] == 1
    source = served_as("Source", language="en", requested="fr", origin="SOURCE", fallback=True)
    assert await served(graphql, case_id, "fr") == source
    assert await served(graphql, case_id, "fr", section=section) == source

    # when the IS publishes it
    published = await publish(graphql, case_id, "fr", **is_admin())

    # then it is published
    assert published["errors"] == []
    assert published["translation"]["status"] == "PUBLISHED"
    assert published["translation"]["isPublished"] is True
    # and served in the global scope, at a section's endpoint and to partner apps
    official = served_as(
        "IS fr",
        language="fr",
        requested="fr",
        origin="INTERNATIONAL_SECRETARIAT",
        fallback=False,
        machine=True,
    )
    assert await served(graphql, case_id, "fr") == official
    assert await served(graphql, case_id, "fr", section=section) == official
    data = await graphql.data(CASE_TEXT, {"id": case_id, "language": "fr"}, role=Role.PARTNER_APP)
    assert data["case"]["text"] == official


async def test_parent_language_serves_the_is_translation(
    graphql: GraphQLClient, new_section: NewSection
) -> None:
    # given a section speaking Canadian French and the IS's published French translation
    case_id = await create_case(graphql)
    section = (await new_section(languages=["en", "fr-CA"]))["code"]
    await write_and_publish(graphql, case_id, "fr", "IS fr", **is_admin())

    # when Canadian French is asked for at the section's endpoint
    text = await served(graphql, case_id, "fr-CA", section=section)

    # then the IS French text is served as a fallback from fr-CA
    assert text == served_as(
        "IS fr",
        language="fr",
        requested="fr-CA",
        origin="INTERNATIONAL_SECRETARIAT",
        fallback=True,
    )


async def test_parent_language_serves_the_section_translation_first(
    graphql: GraphQLClient, new_section: NewSection
) -> None:
    # given a section with its own French translation, and the IS's French translation
    case_id = await create_case(graphql)
    section = (await new_section(languages=["fr", "fr-CA"]))["code"]
    await write_and_publish(graphql, case_id, "fr", "IS fr", **is_admin())
    await write_and_publish(graphql, case_id, "fr", "Section fr", **editor_of(section))

    # when Canadian French is asked for at the section's endpoint and in the global scope
    at_section = await served(graphql, case_id, "fr-CA", section=section)
    in_global_scope = await served(graphql, case_id, "fr-CA")

    # then the section's French is served at its endpoint, the IS's French elsewhere
    assert at_section == served_as(
        "Section fr", language="fr", requested="fr-CA", origin="SECTION", fallback=True
    )
    assert in_global_scope == served_as(
        "IS fr",
        language="fr",
        requested="fr-CA",
        origin="INTERNATIONAL_SECRETARIAT",
        fallback=True,
    )


async def test_source_is_the_last_resort(graphql: GraphQLClient, new_section: NewSection) -> None:
    # given a case written in Spanish with an official French translation
    case_id = await create_case(graphql, source_language="es", label="Fuente")
    section = (await new_section(languages=["de"]))["code"]
    await write_and_publish(graphql, case_id, "fr", "IS fr", **is_admin())

    # when German (which nobody wrote) is asked for
    in_global_scope = await served(graphql, case_id, "de")
    at_section = await served(graphql, case_id, "de", section=section)

    # then the Spanish source is served as a fallback
    source = served_as("Fuente", language="es", requested="de", origin="SOURCE", fallback=True)
    assert in_global_scope == source
    assert at_section == source
    # and asking for the source language serves it with no fallback
    assert await served(graphql, case_id, "es") == served_as(
        "Fuente", language="es", requested="es", origin="SOURCE", fallback=False
    )


async def test_draft_translations_are_never_served(
    graphql: GraphQLClient, new_section: NewSection
) -> None:
    # given a section's Polish draft and the IS's Polish draft of a published case
    case_id = await create_case(graphql)
    section = (await new_section(languages=["en", "pl"]))["code"]
    section_draft = await upsert(
        graphql, case_id, "pl", text_of("Section pl"), **editor_of(section)
    )
    official_draft = await upsert(graphql, case_id, "pl", text_of("IS pl"), **is_admin())
    assert section_draft["errors"] == []
    assert official_draft["errors"] == []

    # when Polish is asked for at the section's endpoint and in the global scope
    at_section = await served(graphql, case_id, "pl", section=section)
    in_global_scope = await served(graphql, case_id, "pl")

    # then neither draft is served: the source is
    source = served_as("Source", language="en", requested="pl", origin="SOURCE", fallback=True)
    assert at_section == source
    assert in_global_scope == source
    # and both drafts exist, as drafts
    assert overview(await translations(graphql, case_id, section)) == [
        ("en", "SOURCE", "PUBLISHED"),
        ("pl", "INTERNATIONAL_SECRETARIAT", "DRAFT"),
        ("pl", "SECTION", "DRAFT"),
    ]


@pytest.mark.parametrize(
    ("accept_language", "language", "requested", "fallback"),
    [
        pytest.param("de;q=0.9, pl", "pl", "pl", False, id="best-quality-first"),
        pytest.param("de, pl;q=0.5", "de", "de", False, id="header-order-among-equals"),
        pytest.param("fr, pl;q=0.5", "pl", "fr", True, id="next-when-first-missing"),
        pytest.param("*, klingon, pl;q=0.8, de;q=0.5", "pl", "pl", False, id="invalid-skipped"),
        pytest.param("PL", "pl", "pl", False, id="canonical-case"),
        pytest.param("pl;q=0, de", "de", "de", False, id="quality-zero-dropped"),
    ],
)
async def test_accept_language_is_honoured(
    graphql: GraphQLClient,
    accept_language: str,
    language: str,
    requested: str,
    fallback: bool,
) -> None:
    # given official German and Polish translations
    case_id = await create_case(graphql)
    await write_and_publish(graphql, case_id, "de", "IS de", **is_admin())
    await write_and_publish(graphql, case_id, "pl", "IS pl", **is_admin())

    # when no argument is given and the request has an Accept-Language header
    text = await served(graphql, case_id, accept_language=accept_language)

    # then the languages are tried best first
    assert text == served_as(
        f"IS {language}",
        language=language,
        requested=requested,
        origin="INTERNATIONAL_SECRETARIAT",
        fallback=fallback,
    )


async def test_language_argument_wins_over_accept_language(
    graphql: GraphQLClient, new_section: NewSection
) -> None:
    # given official German and Polish translations and a section speaking both
    case_id = await create_case(graphql)
    section = (await new_section(languages=["de", "pl"], defaultLanguage="pl"))["code"]
    await write_and_publish(graphql, case_id, "de", "IS de", **is_admin())
    await write_and_publish(graphql, case_id, "pl", "IS pl", **is_admin())

    # when German is the argument and Polish the Accept-Language
    in_global_scope = await served(graphql, case_id, "de", accept_language="pl")
    at_section = await served(graphql, case_id, "de", section=section, accept_language="pl")
    source = await served(graphql, case_id, "en", section=section, accept_language="pl")

    # then the argument decides
    german = served_as(
        "IS de", language="de", requested="de", origin="INTERNATIONAL_SECRETARIAT", fallback=False
    )
    assert in_global_scope == german
    assert at_section == german
    assert source == served_as(
        "Source", language="en", requested="en", origin="SOURCE", fallback=False
    )


async def test_section_default_language_is_used_when_nothing_is_asked(
    graphql: GraphQLClient, new_section: NewSection
) -> None:
    # given a section whose default language is Polish, and an official Polish translation
    case_id = await create_case(graphql)
    section = (await new_section(languages=["en", "pl"], defaultLanguage="pl"))["code"]
    await write_and_publish(graphql, case_id, "pl", "IS pl", **is_admin())
    polish = served_as(
        "IS pl", language="pl", requested="pl", origin="INTERNATIONAL_SECRETARIAT", fallback=False
    )

    # when nothing is asked at the section's endpoint
    # then its default language is served
    assert await served(graphql, case_id, section=section) == polish
    # and an Accept-Language with no valid tag counts as nothing asked
    assert await served(graphql, case_id, section=section, accept_language="*, klingon") == polish
    # and a valid Accept-Language comes before the default language
    assert await served(graphql, case_id, section=section, accept_language="de") == served_as(
        "Source", language="en", requested="de", origin="SOURCE", fallback=True
    )
    # and in the global scope with nothing asked the source is served, with no fallback
    assert await served(graphql, case_id) == served_as(
        "Source", language="en", requested=None, origin="SOURCE", fallback=False
    )


async def test_section_default_language_serves_the_section_translation(
    graphql: GraphQLClient, new_section: NewSection
) -> None:
    # given a section whose default language is Canadian French, with its own translation
    case_id = await create_case(graphql)
    section = (await new_section(languages=["en", "fr-CA"], defaultLanguage="fr-CA"))["code"]
    await write_and_publish(graphql, case_id, "fr-CA", "Section fr-CA", **editor_of(section))

    # when nothing is asked at the section's endpoint
    text = await served(graphql, case_id, section=section)

    # then its own translation into its default language is served
    assert text == served_as(
        "Section fr-CA", language="fr-CA", requested="fr-CA", origin="SECTION", fallback=False
    )


async def test_each_case_in_a_list_is_served_its_own_text(
    graphql: GraphQLClient, new_section: NewSection
) -> None:
    # given an open campaign with three cases: one the section translated into Polish, one
    # the IS translated, and one nobody translated
    year = await open_campaign(graphql)
    section = (await new_section(languages=["pl"]))["code"]
    own = await create_case(graphql, label="Own", campaign_years=[year])
    official = await create_case(graphql, label="Official", campaign_years=[year])
    untranslated = await create_case(graphql, label="Untranslated", campaign_years=[year])
    await write_and_publish(graphql, own, "pl", "Own pl", **editor_of(section))
    await write_and_publish(graphql, official, "pl", "Official pl", **is_admin())

    # when a reader lists the campaign's cases in Polish at the section's endpoint
    data = await graphql.data(
        CAMPAIGN_CASE_TEXTS, {"year": year, "language": "pl"}, section=section
    )

    # then each case gets its own text, in the campaign's order
    assert [edge["node"] for edge in data["cases"]["edges"]] == [
        {"id": own, "text": {"language": "pl", "origin": "SECTION", "title": "Own pl title"}},
        {
            "id": official,
            "text": {
                "language": "pl",
                "origin": "INTERNATIONAL_SECRETARIAT",
                "title": "Official pl title",
            },
        },
        {
            "id": untranslated,
            "text": {"language": "en", "origin": "SOURCE", "title": "Untranslated title"},
        },
    ]


@pytest.mark.parametrize("language", ["klingon", "", "fr_CA_xx!"])
async def test_invalid_language_argument_is_a_top_level_error(
    graphql: GraphQLClient, language: str
) -> None:
    # given a published case
    case_id = await create_case(graphql)

    # when its text is asked for in something that is no language tag
    response = await graphql.post(CASE_TEXT, {"id": case_id, "language": language})

    # then it is a top-level BAD_USER_INPUT error (the case is null: its text is required)
    assert response.status_code == 200
    assert top_level_codes(response) == ["BAD_USER_INPUT"]
    assert response.json()["data"] == {"case": None}


# --- outdated translations -----------------------------------------------------------------


async def test_changed_source_summary_makes_translations_outdated(
    graphql: GraphQLClient, new_section: NewSection
) -> None:
    # given a section's published Polish translation and the IS's published French one
    case_id = await create_case(graphql)
    section = (await new_section(languages=["pl"]))["code"]
    await write_and_publish(graphql, case_id, "pl", "Section pl", **editor_of(section))
    await write_and_publish(graphql, case_id, "fr", "IS fr", **is_admin())

    # when the IS changes only the summary of the source text
    updated = await update_case(
        graphql,
        case_id,
        sourceText={"title": "Source title", "summary": "A new summary"},
    )

    # then the source revision goes up
    assert updated["case"]["sourceRevision"] == 2
    # and both translations are OUTDATED, still published, showing what changed
    listed = await translations(graphql, case_id, section)
    assert overview(listed) == [
        ("en", "SOURCE", "PUBLISHED"),
        ("fr", "INTERNATIONAL_SECRETARIAT", "OUTDATED"),
        ("pl", "SECTION", "OUTDATED"),
    ]
    change = [{"field": "summary", "before": "Source summary", "after": "A new summary"}]
    source, official, own = listed
    assert source["sourceRevision"] == 2
    assert source["sourceChanges"] == []
    assert source["summary"] == "A new summary"
    for translation in (official, own):
        assert translation["isPublished"] is True
        assert translation["sourceRevision"] == 1
        assert translation["sourceChanges"] == change
    # and readers are still served them, flagged as outdated
    assert await served(graphql, case_id, "pl", section=section) == served_as(
        "Section pl", language="pl", requested="pl", origin="SECTION", fallback=False, outdated=True
    )
    assert await served(graphql, case_id, "fr") == served_as(
        "IS fr",
        language="fr",
        requested="fr",
        origin="INTERNATIONAL_SECRETARIAT",
        fallback=False,
        outdated=True,
    )


async def test_source_changes_compare_the_translations_revision_with_the_latest(
    graphql: GraphQLClient, new_section: NewSection
) -> None:
    # given a section's published Polish translation made from revision 1
    case_id = await create_case(graphql)
    section = (await new_section(languages=["pl"]))["code"]
    await write_and_publish(graphql, case_id, "pl", "Section pl", **editor_of(section))

    # when the IS changes the summary, then the title and adds a story
    await update_case(
        graphql, case_id, sourceText={"title": "Source title", "summary": "Summary 2"}
    )
    updated = await update_case(
        graphql,
        case_id,
        sourceText={"title": "Title 3", "summary": "Summary 2", "story": "A story."},
    )

    # then the source is at revision 3
    assert updated["case"]["sourceRevision"] == 3
    # and the translation lists every change since revision 1, in display order
    listed = await translations(graphql, case_id, section)
    assert overview(listed) == [("en", "SOURCE", "PUBLISHED"), ("pl", "SECTION", "OUTDATED")]
    assert listed[1]["sourceRevision"] == 1
    assert listed[1]["sourceChanges"] == [
        {"field": "title", "before": "Source title", "after": "Title 3"},
        {"field": "summary", "before": "Source summary", "after": "Summary 2"},
        {"field": "story", "before": None, "after": "A story."},
    ]
    # and the translation now lacks the story the source has
    assert listed[1]["missingFields"] == ["story"]


async def test_outdated_translation_cannot_be_published_until_written_again(
    graphql: GraphQLClient, new_section: NewSection
) -> None:
    # given a section's published Polish translation made outdated by a new summary
    case_id = await create_case(graphql)
    section = (await new_section(languages=["pl"]))["code"]
    await write_and_publish(graphql, case_id, "pl", "Section pl", **editor_of(section))
    await update_case(
        graphql, case_id, sourceText={"title": "Source title", "summary": "A new summary"}
    )
    before = await translations(graphql, case_id, section)

    # when the section publishes it again as it is
    refused = await publish(graphql, case_id, "pl", **editor_of(section))

    # then it is refused as OUTDATED, and nothing changed
    assert problems(refused) == [("language", "OUTDATED")]
    assert refused["translation"] is None
    assert await translations(graphql, case_id, section) == before

    # when the section writes it again
    rewritten = await upsert(graphql, case_id, "pl", text_of("Section pl v2"), **editor_of(section))

    # then it is a current draft made from the new source revision
    assert rewritten["errors"] == []
    assert rewritten["translation"]["status"] == "DRAFT"
    assert rewritten["translation"]["isPublished"] is False
    assert rewritten["translation"]["sourceRevision"] == 2
    assert rewritten["translation"]["sourceChanges"] == []
    # and, a draft, it is not served until published
    assert await served(graphql, case_id, "pl", section=section) == {
        "language": "en",
        "requestedLanguage": "pl",
        "isFallback": True,
        "origin": "SOURCE",
        "isOutdated": False,
        "isMachineTranslated": False,
        "title": "Source title",
        "summary": "A new summary",
    }

    # when it is published
    published = await publish(graphql, case_id, "pl", **editor_of(section))

    # then it is served, no longer outdated
    assert published["errors"] == []
    assert published["translation"]["status"] == "PUBLISHED"
    assert await served(graphql, case_id, "pl", section=section) == served_as(
        "Section pl v2", language="pl", requested="pl", origin="SECTION", fallback=False
    )


async def test_outdated_official_translation_cannot_be_published(
    graphql: GraphQLClient,
) -> None:
    # given the IS's French draft, then a new source title
    case_id = await create_case(graphql)
    written = await upsert(graphql, case_id, "fr", text_of("IS fr"), **is_admin())
    assert written["errors"] == []
    await update_case(
        graphql, case_id, sourceText={"title": "A new title", "summary": "Source summary"}
    )
    before = await translations(graphql, case_id)
    assert overview(before) == [
        ("en", "SOURCE", "PUBLISHED"),
        ("fr", "INTERNATIONAL_SECRETARIAT", "OUTDATED"),
    ]
    assert before[1]["sourceChanges"] == [
        {"field": "title", "before": "Source title", "after": "A new title"}
    ]

    # when the IS publishes the outdated draft
    refused = await publish(graphql, case_id, "fr", **is_admin())

    # then it is refused, and nothing changed
    assert problems(refused) == [("language", "OUTDATED")]
    assert await translations(graphql, case_id) == before
    assert (await served(graphql, case_id, "fr"))["origin"] == "SOURCE"


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param(
            {"sourceText": {"title": "Source title", "summary": "Source summary"}},
            id="same-source-text",
        ),
        pytest.param({"themes": ["ENVIRONMENT", "TORTURE"]}, id="themes-only"),
        pytest.param({"subjectName": "Another Name", "country": "FR"}, id="no-source-text"),
    ],
)
async def test_update_without_a_text_change_leaves_translations_current(
    graphql: GraphQLClient, new_section: NewSection, changes: dict[str, Any]
) -> None:
    # given a section's published Polish translation
    case_id = await create_case(graphql)
    section = (await new_section(languages=["pl"]))["code"]
    await write_and_publish(graphql, case_id, "pl", "Section pl", **editor_of(section))
    before = await translations(graphql, case_id, section)

    # when the IS updates the case without changing its source text
    updated = await update_case(graphql, case_id, **changes)

    # then the source revision stays, and the translations are unchanged and current
    assert updated["case"]["sourceRevision"] == 1
    assert await source_revision(graphql, case_id) == 1
    after = await translations(graphql, case_id, section)
    assert after == before
    assert overview(after) == [("en", "SOURCE", "PUBLISHED"), ("pl", "SECTION", "PUBLISHED")]
    assert await served(graphql, case_id, "pl", section=section) == served_as(
        "Section pl", language="pl", requested="pl", origin="SECTION", fallback=False
    )


# --- isolation between sections (row-level security, through HTTP) ------------------------


async def test_section_translation_is_invisible_to_another_section(
    graphql: GraphQLClient, new_section: NewSection
) -> None:
    # given section A's published Polish translation
    case_id = await create_case(graphql)
    section_a = (await new_section(languages=["pl"]))["code"]
    section_b = (await new_section(languages=["pl", "de"]))["code"]
    await write_and_publish(graphql, case_id, "pl", "A pl", **editor_of(section_a))

    # when B's editor lists the case's translations at B
    data = await graphql.data(CASE_TRANSLATIONS, {"id": case_id}, **editor_of(section_b))

    # then A's translation is not there: B sees its languages as MISSING
    assert overview(data["case"]["translations"]) == [
        ("en", "SOURCE", "PUBLISHED"),
        ("pl", "SECTION", "MISSING"),
        ("de", "SECTION", "MISSING"),
    ]
    assert [item["title"] for item in data["case"]["translations"]] == [
        "Source title",
        None,
        None,
    ]
    # and B's readers are never served A's text
    for language in ("pl", None):
        text = await served(graphql, case_id, language, section=section_b)
        assert text["origin"] == "SOURCE"
        assert text["title"] == "Source title"


async def test_another_section_writing_the_same_language_leaves_the_first_unchanged(
    graphql: GraphQLClient, new_section: NewSection
) -> None:
    # given section A's published Polish translation
    case_id = await create_case(graphql)
    section_a = (await new_section(languages=["pl"]))["code"]
    section_b = (await new_section(languages=["pl"]))["code"]
    await write_and_publish(graphql, case_id, "pl", "A pl", **editor_of(section_a))
    a_before = await translations(graphql, case_id, section_a)

    # when B writes and publishes its own Polish translation of the same case
    written = await upsert(graphql, case_id, "pl", text_of("B pl"), **editor_of(section_b))

    # then it is B's own, new draft
    assert written["errors"] == []
    assert written["translation"]["status"] == "DRAFT"
    assert written["translation"]["title"] == "B pl title"
    published = await publish(graphql, case_id, "pl", **editor_of(section_b))
    assert published["errors"] == []

    # and each section is served its own text
    assert await served(graphql, case_id, "pl", section=section_b) == served_as(
        "B pl", language="pl", requested="pl", origin="SECTION", fallback=False
    )
    assert await served(graphql, case_id, "pl", section=section_a) == served_as(
        "A pl", language="pl", requested="pl", origin="SECTION", fallback=False
    )
    # and A's translation is exactly as it was
    assert await translations(graphql, case_id, section_a) == a_before
    b_listed = await translations(graphql, case_id, section_b)
    assert [(item["language"], item["origin"], item["title"]) for item in b_listed] == [
        ("en", "SOURCE", "Source title"),
        ("pl", "SECTION", "B pl title"),
    ]


async def test_section_token_at_another_sections_endpoint_is_refused(
    graphql: GraphQLClient, new_section: NewSection
) -> None:
    # given two sections speaking Polish
    case_id = await create_case(graphql)
    section_a = (await new_section(languages=["pl"]))["code"]
    section_b = (await new_section(languages=["pl"]))["code"]
    variables = {"input": {"caseId": case_id, "language": "pl", "text": text_of("A pl")}}

    # when A's editor writes a translation at B's endpoint
    response = await graphql.post(
        TRANSLATION_UPSERT,
        variables,
        role=Role.SECTION_EDITOR,
        token_section=section_a,
        section=section_b,
    )

    # then it is refused before execution
    assert response.status_code == 403
    assert top_level_codes(response) == ["SECTION_FORBIDDEN"]
    assert "data" not in response.json()
    # and nothing was written at either section
    for code in (section_a, section_b):
        assert overview(await translations(graphql, case_id, code)) == [
            ("en", "SOURCE", "PUBLISHED"),
            ("pl", "SECTION", "MISSING"),
        ]


# --- permissions and input errors ----------------------------------------------------------


@pytest.mark.parametrize("role", [None, Role.PARTNER_APP, Role.IS_ANALYST])
@pytest.mark.parametrize("at_section", [True, False], ids=["section", "global"])
async def test_only_translators_may_write_or_publish_translations(
    graphql: GraphQLClient, new_section: NewSection, role: Role | None, at_section: bool
) -> None:
    # given a published case and a section speaking Polish, with a Polish draft
    case_id = await create_case(graphql)
    section = (await new_section(languages=["pl"]))["code"]
    where = section if at_section else None
    written = await upsert(graphql, case_id, "pl", text_of("Draft pl"), **is_admin(where))
    assert written["errors"] == []
    before = await translations(graphql, case_id, where)

    # when a caller who is not a translator writes and publishes a translation
    upsert_response = await graphql.post(
        TRANSLATION_UPSERT,
        {"input": {"caseId": case_id, "language": "pl", "text": text_of("Intruder")}},
        role=role,
        section=where,
    )
    publish_response = await graphql.post(
        TRANSLATION_PUBLISH,
        {"input": {"caseId": case_id, "language": "pl"}},
        role=role,
        section=where,
    )

    # then both are refused with a top-level FORBIDDEN
    for response in (upsert_response, publish_response):
        assert response.status_code == 200
        assert top_level_codes(response) == ["FORBIDDEN"]
        assert response.json()["data"] is None
    # and nothing changed
    assert await translations(graphql, case_id, where) == before
    assert (await served(graphql, case_id, "pl", section=where))["origin"] == "SOURCE"


async def user_error_leaves_nothing_written(
    graphql: GraphQLClient,
    case_id: str,
    section: str | None,
    variables: dict[str, Any],
    caller: dict[str, Any],
) -> list[tuple[str | None, str]]:
    """Upsert ``variables`` as ``caller``; check the payload has no translation and that
    the case's translations at ``section`` did not change. Returns the problems."""
    before = await translations(graphql, case_id, section)
    data = await graphql.data(TRANSLATION_UPSERT, variables, **caller)
    payload = data["caseTranslationUpsert"]
    assert payload["translation"] is None
    assert await translations(graphql, case_id, section) == before
    return problems(payload)


async def test_language_outside_the_sections_languages_is_out_of_scope(
    graphql: GraphQLClient, new_section: NewSection
) -> None:
    # given a section speaking English and Polish
    case_id = await create_case(graphql)
    section = (await new_section(languages=["en", "pl"]))["code"]

    # when its editor writes a German translation
    variables = {"input": {"caseId": case_id, "language": "de", "text": text_of("de")}}
    found = await user_error_leaves_nothing_written(
        graphql, case_id, section, variables, editor_of(section)
    )

    # then it is OUT_OF_SCOPE, and nothing was written
    assert found == [("language", "OUT_OF_SCOPE")]
    assert (await served(graphql, case_id, "de", section=section))["origin"] == "SOURCE"


@pytest.mark.parametrize("at_section", [True, False], ids=["section", "global"])
async def test_invalid_language_tag_is_unknown_language(
    graphql: GraphQLClient, new_section: NewSection, at_section: bool
) -> None:
    # given a published case
    case_id = await create_case(graphql)
    section = (await new_section(languages=["pl"]))["code"] if at_section else None
    caller = editor_of(section) if section is not None else is_admin()

    # when a translation into something that is no language tag is written
    variables = {"input": {"caseId": case_id, "language": "klingon", "text": text_of("x")}}
    found = await user_error_leaves_nothing_written(graphql, case_id, section, variables, caller)

    # then it is UNKNOWN_LANGUAGE, and nothing was written
    assert found == [("language", "UNKNOWN_LANGUAGE")]


async def test_unknown_case_is_not_found(graphql: GraphQLClient, new_section: NewSection) -> None:
    # given a section speaking Polish
    section = (await new_section(languages=["pl"]))["code"]
    variables = {"input": {"caseId": UNKNOWN_CASE_ID, "language": "pl", "text": text_of("x")}}

    # when its editor translates a case that does not exist
    data = await graphql.data(TRANSLATION_UPSERT, variables, **editor_of(section))

    # then it is NOT_FOUND on caseId
    payload = data["caseTranslationUpsert"]
    assert problems(payload) == [("caseId", "NOT_FOUND")]
    assert payload["translation"] is None
    # and publishing it is NOT_FOUND too
    published = await publish(graphql, UNKNOWN_CASE_ID, "pl", **editor_of(section))
    assert problems(published) == [("caseId", "NOT_FOUND")]
    # and there is still no such case
    still = await graphql.data(CASE_TEXT, {"id": UNKNOWN_CASE_ID}, **is_admin(section))
    assert still == {"case": None}


async def test_draft_case_is_not_found_for_a_section_translator(
    graphql: GraphQLClient, new_section: NewSection
) -> None:
    # given a case the IS has not published
    case_id = await create_case(graphql, publish=False)
    section = (await new_section(languages=["pl"]))["code"]

    # when a section editor translates it
    variables = {"input": {"caseId": case_id, "language": "pl", "text": text_of("pl")}}
    found = await user_error_leaves_nothing_written(
        graphql, case_id, section, variables, editor_of(section)
    )

    # then it is NOT_FOUND (drafts are for IS staff), and nothing was written
    assert found == [("caseId", "NOT_FOUND")]
    assert overview(await translations(graphql, case_id, section)) == [
        ("en", "SOURCE", "PUBLISHED"),
        ("pl", "SECTION", "MISSING"),
    ]


@pytest.mark.parametrize("title", ["", "   "])
async def test_missing_title_is_required(
    graphql: GraphQLClient, new_section: NewSection, title: str
) -> None:
    # given a section speaking Polish
    case_id = await create_case(graphql)
    section = (await new_section(languages=["pl"]))["code"]

    # when its editor writes a translation with an empty title
    text = {"title": title, "summary": "Podsumowanie"}
    variables = {"input": {"caseId": case_id, "language": "pl", "text": text}}
    found = await user_error_leaves_nothing_written(
        graphql, case_id, section, variables, editor_of(section)
    )

    # then it is REQUIRED on title, and nothing was written
    assert found == [("title", "REQUIRED")]


async def test_publishing_a_language_never_written_is_not_found(
    graphql: GraphQLClient, new_section: NewSection
) -> None:
    # given a section speaking Polish and German, with only a Polish draft
    case_id = await create_case(graphql)
    section = (await new_section(languages=["pl", "de"]))["code"]
    written = await upsert(graphql, case_id, "pl", text_of("pl"), **editor_of(section))
    assert written["errors"] == []
    before = await translations(graphql, case_id, section)

    # when it publishes German, and the IS publishes an official German translation
    at_section = await publish(graphql, case_id, "de", **editor_of(section))
    in_global_scope = await publish(graphql, case_id, "de", **is_admin())

    # then both are NOT_FOUND, and nothing changed
    assert problems(at_section) == [("language", "NOT_FOUND")]
    assert at_section["translation"] is None
    assert problems(in_global_scope) == [("language", "NOT_FOUND")]
    assert await translations(graphql, case_id, section) == before


async def test_official_translation_into_the_source_language_is_invalid(
    graphql: GraphQLClient,
) -> None:
    # given an English case
    case_id = await create_case(graphql)

    # when the IS writes an "official translation" into English
    variables = {"input": {"caseId": case_id, "language": "en", "text": text_of("Overwrite")}}
    found = await user_error_leaves_nothing_written(graphql, case_id, None, variables, is_admin())

    # then it is INVALID, and the source is unchanged
    assert found == [("language", "INVALID")]
    assert await source_revision(graphql, case_id) == 1
    assert await served(graphql, case_id, "en") == served_as(
        "Source", language="en", requested="en", origin="SOURCE", fallback=False
    )
    # and publishing the source language as a translation is INVALID too
    published = await publish(graphql, case_id, "en", **is_admin())
    assert problems(published) == [("language", "INVALID")]


# --- Case.translations -----------------------------------------------------------------


@pytest.mark.parametrize("role", [None, Role.PARTNER_APP])
@pytest.mark.parametrize("at_section", [True, False], ids=["section", "global"])
async def test_translations_are_refused_to_readers(
    graphql: GraphQLClient, new_section: NewSection, role: Role | None, at_section: bool
) -> None:
    # given a published case
    case_id = await create_case(graphql)
    section = (await new_section(languages=["pl"]))["code"] if at_section else None

    # when an anonymous reader or a partner app lists its translations
    response = await graphql.post(CASE_TRANSLATIONS, {"id": case_id}, role=role, section=section)

    # then it is a top-level FORBIDDEN error
    assert response.status_code == 200
    assert top_level_codes(response) == ["FORBIDDEN"]
    assert response.json()["data"] == {"case": None}


async def test_translations_list_the_sections_missing_languages(
    graphql: GraphQLClient, new_section: NewSection
) -> None:
    # given an official French translation and a section speaking en, fr-CA and pl
    case_id = await create_case(graphql)
    section = (await new_section(languages=["en", "fr-CA", "pl"]))["code"]
    await write_and_publish(graphql, case_id, "fr", "IS fr", **is_admin())

    # when the section's editor lists the case's translations at its endpoint
    data = await graphql.data(CASE_TRANSLATIONS, {"id": case_id}, **editor_of(section))
    listed = data["case"]["translations"]

    # then it lists the IS texts, then as MISSING each of the section's languages that no
    # text covers: en is the source's language, fr-CA falls back to the IS French
    assert overview(listed) == [
        ("en", "SOURCE", "PUBLISHED"),
        ("fr", "INTERNATIONAL_SECRETARIAT", "PUBLISHED"),
        ("pl", "SECTION", "MISSING"),
    ]
    for missing in listed[2:]:
        assert missing == {
            "language": missing["language"],
            "origin": "SECTION",
            "status": "MISSING",
            "isPublished": False,
            "isMachineTranslated": False,
            "sourceRevision": None,
            "title": None,
            "summary": None,
            "missingFields": ["title", "summary"],
            "sourceChanges": [],
            "updatedAt": None,
            "publishedAt": None,
        }
    # and in the global scope only the IS texts are listed
    assert overview(await translations(graphql, case_id)) == [
        ("en", "SOURCE", "PUBLISHED"),
        ("fr", "INTERNATIONAL_SECRETARIAT", "PUBLISHED"),
    ]


# --- pages -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "code"),
    [(0, "PAGE_SIZE_TOO_SMALL"), (-1, "PAGE_SIZE_TOO_SMALL"), (101, "PAGE_SIZE_TOO_LARGE")],
)
async def test_over_large_or_empty_case_pages_are_refused(
    graphql: GraphQLClient, first: int, code: str
) -> None:
    # given/when a page of cases outside 1..100 is asked for
    response = await graphql.post(CASES_PAGE, {"first": first})

    # then it is refused before execution (the cost rules, docs/limits.md)
    assert response.status_code == 400
    assert top_level_codes(response) == [code]
    assert "data" not in response.json()
