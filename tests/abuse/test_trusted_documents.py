"""Trusted documents over HTTP (POST and GET): sent by SHA-256 id or the persisted query
extension, required for anonymous writes where a section says so, and the CLI that stores
them.
"""

from __future__ import annotations

import asyncio
import functools
import secrets
import uuid
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
import strawberry.schema.schema
from graphql import ASTValidationRule, DocumentNode, GraphQLError, GraphQLSchema, validate
from sqlalchemy.ext.asyncio import AsyncEngine
from strawberry.extensions.parser_cache import _get_parse_cache

from tests.abuse.conftest import ClientAt, fresh_address
from tests.actions.test_ledger_api import (
    ACTION_RECORD,
    CASE_TOTALS,
    NOTHING,
    NewSection,
    action_input,
    case_totals,
    counted,
    open_campaign,
    own_totals,
    record,
    section_in,
    staff,
)
from tests.conftest import GraphQLClient
from w4r.abuse.documents import DocumentDraft, TrustedDocumentService, document_hash
from w4r.abuse.repository import TrustedDocumentRepository
from w4r.cli import main
from w4r.platform.auth import Role
from w4r.platform.database import Database, TenantBinding
from w4r.settings import Settings

SECTION_UPDATE = """
mutation ($input: SectionUpdateInput!) {
  sectionUpdate(input: $input) {
    section { code requireTrustedDocuments }
    errors { field code message }
  }
}
"""
ACCEPT = {"accept": "application/graphql-response+json"}


async def trust(app_engine: AsyncEngine, *documents: str) -> None:
    """Store documents as trusted (what `w4r documents add` does)."""
    async with Database(app_engine).session(TenantBinding.global_scope()) as session:
        await TrustedDocumentService(session).add(
            [
                DocumentDraft(name=f"test-{index}.graphql", document=d)
                for index, d in enumerate(documents)
            ]
        )
        await session.commit()


async def require_trusted_documents(graphql: GraphQLClient, code: str) -> None:
    values = {"code": code, "requireTrustedDocuments": True}
    data = await graphql.data(SECTION_UPDATE, {"input": values}, **staff(code))
    payload = data["sectionUpdate"]
    assert payload == {
        "section": {"code": code, "requireTrustedDocuments": True},
        "errors": [],
    }


async def post(
    client: GraphQLClient, code: str, body: dict[str, Any], headers: dict[str, str] | None = None
) -> httpx.Response:
    return await client.http.post(
        f"/s/{code}/graphql", json=body, headers={**ACCEPT, **(headers or {})}
    )


def codes(response: httpx.Response) -> list[str]:
    return [error["extensions"]["code"] for error in response.json()["errors"]]


async def test_a_section_that_requires_them_refuses_raw_anonymous_writes(
    graphql: GraphQLClient, new_section: NewSection, client_at: ClientAt, app_engine: AsyncEngine
) -> None:
    # given a section that requires trusted documents, and the action document trusted
    world = await open_campaign(graphql, featured=1)
    code = await section_in(graphql, new_section, world)
    await require_trusted_documents(graphql, code)
    await trust(app_engine, ACTION_RECORD)
    browser = await client_at(fresh_address())
    variables = {"input": action_input(world, world.first)}

    # when an anonymous supporter sends the document's text
    raw = await post(browser, code, {"query": ACTION_RECORD, "variables": variables})

    # then it is refused before execution, and nothing counts
    assert raw.status_code == 400
    assert codes(raw) == ["TRUSTED_DOCUMENT_REQUIRED"]
    assert "data" not in raw.json()
    assert await own_totals(graphql, code, world.year) == NOTHING

    # when it sends the document's id, then the same id and input through the extension
    by_id = await post(
        browser,
        code,
        {"documentId": f"sha256:{document_hash(ACTION_RECORD)}", "variables": variables},
    )
    second = {"input": action_input(world, world.first)}
    by_extension = await post(
        browser,
        code,
        {
            "variables": second,
            "extensions": {
                "persistedQuery": {"version": 1, "sha256Hash": document_hash(ACTION_RECORD)}
            },
        },
    )

    # then both are recorded and count
    for response in (by_id, by_extension):
        assert response.status_code == 200, response.json()
        assert response.json()["data"]["actionRecord"]["errors"] == []
    assert await own_totals(graphql, code, world.year) == counted(2)


async def test_reads_and_staff_writes_need_no_trusted_document(
    graphql: GraphQLClient, new_section: NewSection, client_at: ClientAt
) -> None:
    # given a section that requires trusted documents
    world = await open_campaign(graphql, featured=1)
    code = await section_in(graphql, new_section, world)
    await require_trusted_documents(graphql, code)
    browser = await client_at(fresh_address())

    # when an anonymous reader sends a raw query and the section's admin a raw mutation
    totals = await case_totals(browser, world.first, world.year, section=code)
    payload = await record(
        browser, code, action_input(world, world.first), role=Role.SECTION_ADMIN, token_section=code
    )

    # then both run
    assert totals == NOTHING
    assert payload["errors"] == []
    assert await own_totals(graphql, code, world.year) == counted(1)


async def test_unknown_and_mismatching_ids_are_refused(
    graphql: GraphQLClient, new_section: NewSection, client_at: ClientAt
) -> None:
    # given a section, and a hash no document has
    code = (await new_section())["code"]
    browser = await client_at(fresh_address())
    unknown = document_hash(f"query {{ viewer {{ role }} }} # {uuid.uuid4()}")

    # when a request names it alone, with another query, or malformed
    missing = await post(browser, code, {"documentId": f"sha256:{unknown}"})
    mismatch = await post(
        browser,
        code,
        {
            "query": "{ __typename }",
            "extensions": {"persistedQuery": {"version": 1, "sha256Hash": unknown}},
        },
    )
    malformed = await post(browser, code, {"documentId": "md5:1234"})
    as_json = await post(
        browser, code, {"documentId": f"sha256:{unknown}"}, {"accept": "application/json"}
    )

    # then each gets its clear error before execution
    assert (missing.status_code, codes(missing)) == (400, ["PERSISTED_QUERY_NOT_FOUND"])
    assert (mismatch.status_code, codes(mismatch)) == (400, ["PERSISTED_QUERY_HASH_MISMATCH"])
    assert (malformed.status_code, codes(malformed)) == (400, ["PERSISTED_QUERY_INVALID"])
    assert (as_json.status_code, codes(as_json)) == (200, ["PERSISTED_QUERY_NOT_FOUND"])


async def test_a_query_with_its_own_hash_runs_when_the_section_does_not_require_them(
    graphql: GraphQLClient, new_section: NewSection, client_at: ClientAt
) -> None:
    # given a section that does not require trusted documents
    code = (await new_section())["code"]
    browser = await client_at(fresh_address())
    query = f"query Probe {{ __typename }} # {uuid.uuid4()}"

    # when a client sends an untrusted query with its hash (automatic persisted queries)
    response = await post(
        browser,
        code,
        {
            "query": query,
            "extensions": {"persistedQuery": {"version": 1, "sha256Hash": document_hash(query)}},
        },
    )

    # then it runs as sent
    assert response.status_code == 200
    assert response.json()["data"] == {"__typename": "Query"}


async def test_get_with_a_document_id(
    graphql: GraphQLClient, new_section: NewSection, client_at: ClientAt, app_engine: AsyncEngine
) -> None:
    # given a trusted read document and a section
    world = await open_campaign(graphql, featured=1)
    code = await section_in(graphql, new_section, world)
    await trust(app_engine, CASE_TOTALS)
    browser = await client_at(fresh_address())

    # when a reader GETs it by id
    response = await browser.http.get(
        f"/s/{code}/graphql",
        params={
            "documentId": f"sha256:{document_hash(CASE_TOTALS)}",
            "variables": f'{{"id": "{world.first.id}", "campaign": {world.year}}}',
        },
        headers=ACCEPT,
    )

    # then it runs
    assert response.status_code == 200, response.json()
    assert response.json()["data"]["case"]["totals"] == NOTHING


async def test_a_persisted_query_is_read_parsed_and_validated_once_per_replica(
    graphql: GraphQLClient,
    new_section: NewSection,
    app_engine: AsyncEngine,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given a trusted document no request has sent before, and counts of its reads from
    # the database, its parses and its validations
    name = f"Persisted{secrets.token_hex(4)}"
    document = f"query {name} {{ viewer {{ role }} }}"
    await trust(app_engine, document)
    code = (await new_section())["code"]
    reads: list[str] = []
    validations: list[DocumentNode] = []
    read_text = TrustedDocumentRepository.text_of

    async def counting_read(self: TrustedDocumentRepository, document_id: str) -> str | None:
        reads.append(document_id)
        return await read_text(self, document_id)

    def counting_validate(
        schema: GraphQLSchema, parsed: DocumentNode, rules: tuple[type[ASTValidationRule], ...]
    ) -> list[GraphQLError]:
        if parsed.loc is not None and name in parsed.loc.source.body:
            validations.append(parsed)
        return validate(schema, parsed, rules)

    monkeypatch.setattr(TrustedDocumentRepository, "text_of", counting_read)
    monkeypatch.setattr(strawberry.schema.schema, "validate", counting_validate)
    # strawberry's ParserCache: one least-recently-used cache per size, shared by requests
    parsed = cast(
        "functools._lru_cache_wrapper[Any]", _get_parse_cache(settings.document_cache_size or None)
    )
    parse_misses = parsed.cache_info().misses

    # when a client sends it by its hash three times, by POST and by GET
    body = {"documentId": f"sha256:{document_hash(document)}"}
    answers = [
        await post(graphql, code, body),
        await post(graphql, code, body),
        await graphql.http.get(f"/s/{code}/graphql", params=body, headers=ACCEPT),
    ]

    # then each is answered, and the text was read, parsed and validated once
    assert [a.json()["data"] for a in answers] == [{"viewer": {"role": "ANONYMOUS"}}] * 3
    assert len(reads) == 1
    assert len(validations) == 1
    assert parsed.cache_info().misses == parse_misses + 1


@pytest.mark.usefixtures("cli_env")
async def test_the_cli_adds_and_lists_documents(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # given two document files, one of them not GraphQL
    good = tmp_path / "record.graphql"
    good.write_text(f"mutation Probe {{ __typename }} # {uuid.uuid4()}\n", encoding="utf-8")
    bad = tmp_path / "broken.graphql"
    bad.write_text("mutation {", encoding="utf-8")

    # when both are added, then the good one alone, then listed
    with pytest.raises(SystemExit) as refused:
        await asyncio.to_thread(main, ["documents", "add", str(good), str(bad)])
    assert await asyncio.to_thread(main, ["documents", "add", str(good)]) == 0
    assert await asyncio.to_thread(main, ["documents", "add", str(good)]) == 0
    assert await asyncio.to_thread(main, ["documents", "list"]) == 0

    # then the broken file stopped the first call, and the good one is trusted once
    digest = document_hash(good.read_text(encoding="utf-8"))
    assert "broken.graphql" in str(refused.value)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"sha256:{digest}  record.graphql"
    assert lines[1] == f"sha256:{digest}  record.graphql  (already trusted)"
    assert sum(line.startswith(f"sha256:{digest}") for line in lines[2:]) == 1
