"""Guards: depth, aliases, tokens, introspection and suggestions; refusals change nothing."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
import strawberry.schema.schema
from graphql import ASTValidationRule, DocumentNode, GraphQLError, GraphQLSchema, validate
from starlette.applications import Starlette

from tests.conftest import GraphQLClient, section_input, unique_code
from w4r.app import create_app
from w4r.platform.auth import Role
from w4r.platform.bootstrap import DatabaseTarget
from w4r.schema.api import build_schema
from w4r.settings import Settings

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
SHALLOW_DEPTH = 4


def nested(names: list[str], leaf: str) -> str:
    """``a { b { c { leaf } } }`` for names a, b, c."""
    return "".join(f"{name} {{ " for name in names) + leaf + " }" * len(names)


def aliased_viewers(count: int) -> str:
    return "{ " + " ".join(f"v{i}: viewer {{ role }}" for i in range(count)) + " }"


def aliased_section_creates(count: int) -> str:
    variables = ", ".join(f"$c{i}: String!" for i in range(count))
    fields = " ".join(
        f'c{i}: sectionCreate(input: {{code: $c{i}, name: "Alias bomb", country: "GB", '
        f'languages: ["en"], timeZone: "Europe/London"}}) {{ section {{ code }} }}'
        for i in range(count)
    )
    return f"mutation AliasBomb({variables}) {{ {fields} }}"


# Depth: the top-level field is at depth 0; a field nested n levels below is at depth n.
# The real schema is shallow (at most depth 6) and the depth rule skips everything under
# introspection fields (`__schema`, `__type`), so the over-deep document at the default limit
# (12) nests fields that do not exist; a deployment with a small limit refuses valid documents.
TOO_DEEP_FOR_DEFAULT = (
    "query TooDeep { viewer { " + nested([f"d{i}" for i in range(1, 13)], "leaf") + " } }"
)
AT_SHALLOW_LIMIT = "query AtLimit { section { members(first: 20) { edges { node { id } } } } }"
OVER_SHALLOW_LIMIT = (
    "query OverLimit { sections { edges { node { members { pageInfo { hasNextPage } } } } } }"
)
DEEP_SECTION_CREATE = """
mutation DeepCreate($input: SectionCreateInput!) {
  sectionCreate(input: $input) { section { members(first: 20) { edges { node { id } } } } }
}
"""

ALIASES_AT_LIMIT = aliased_viewers(30)
ALIASES_OVER_LIMIT = aliased_viewers(31)
ALIAS_BOMB_MUTATION = aliased_section_creates(31)

# Exactly 2000 tokens is allowed, 2001 is not. The document at the limit spends most tokens
# on directives (8 tokens a field): ~2000 identical fields would instead exhaust
# graphql-core's own field-merging budget ("Validation aborted.").
TOKENS_AT_LIMIT = "{ " + "__typename @include(if: true) " * 249 + "__typename " * 6 + "}"
TOKENS_OVER_LIMIT = "{ " + "__typename " * 1999 + "}"
TOKENS_OVER_LIMIT_MUTATION = (
    "mutation ($input: SectionCreateInput!) { sectionCreate(input: $input) { section { code "
    + "__typename " * 2000
    + "} } }"
)

TOO_MANY_TOKENS = "Syntax Error: Document contains more than 2000 tokens. Parsing aborted."

# Unique to this test run, so the module-level LRU caches cannot have seen it before.
VALIDATION_CACHE_PROBE = f"query ValidationCacheProbe{secrets.token_hex(4)} {{ viewer {{ role }} }}"

INTROSPECT_SCHEMA = "{ __schema { queryType { name } } }"
INTROSPECT_TYPE = '{ __type(name: "Section") { fields { name } } }'
TYPENAME = "{ __typename }"
MISSPELLED_FIELD = "{ viewr { role } }"


def messages(response: httpx.Response) -> list[str]:
    return [error["message"] for error in response.json()["errors"]]


def codes_of(response: httpx.Response) -> list[str]:
    return [error["extensions"]["code"] for error in response.json()["errors"]]


@pytest.fixture(scope="module")
async def shallow_app(
    settings: Settings, database_target: DatabaseTarget
) -> AsyncIterator[Starlette]:
    """The app of a deployment configured with max_query_depth=4."""
    shallow = settings.model_copy(update={"max_query_depth": SHALLOW_DEPTH})
    application = create_app(shallow, target=database_target)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def shallow_graphql(
    shallow_app: Starlette, token_for: Callable[..., str]
) -> AsyncIterator[GraphQLClient]:
    transport = httpx.ASGITransport(app=shallow_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield GraphQLClient(http, token_for)


@pytest.fixture(scope="module")
def production_schema() -> strawberry.Schema:
    return build_schema(Settings(_env_file=None, environment="production"))


# --- depth -------------------------------------------------------------------------------


async def test_an_over_deep_query_is_refused_at_the_default_limit(
    graphql: GraphQLClient, settings: Settings
) -> None:
    # given the default limit
    assert settings.max_query_depth == 12

    # when a document nests fields 13 levels below the top
    response = await graphql.post(TOO_DEEP_FOR_DEFAULT)

    # then the depth rule refuses it (besides the unknown field)
    assert response.status_code == 400
    assert "data" not in response.json()
    assert messages(response) == [
        "'TooDeep' exceeds maximum operation depth of 12",
        "Cannot query field 'd1' on type 'Viewer'.",
    ]
    assert codes_of(response) == ["GRAPHQL_VALIDATION_FAILED", "GRAPHQL_VALIDATION_FAILED"]


async def test_a_valid_query_at_the_depth_limit_is_served(shallow_graphql: GraphQLClient) -> None:
    # when a document reaches exactly depth 4 on a deployment limited to 4
    data = await shallow_graphql.data(AT_SHALLOW_LIMIT)

    # then (no section in the global scope)
    assert data == {"section": None}


async def test_a_valid_query_over_the_depth_limit_is_refused(
    shallow_graphql: GraphQLClient,
) -> None:
    # when a valid document reaches depth 5 on a deployment limited to 4
    response = await shallow_graphql.post(OVER_SHALLOW_LIMIT, role=Role.IS_ADMIN)

    # then only the depth rule objects
    assert response.status_code == 400
    assert response.headers["content-type"] == GRAPHQL_RESPONSE_JSON
    assert response.json() == {
        "errors": [
            {
                "message": "'OverLimit' exceeds maximum operation depth of 4",
                "locations": [{"line": 1, "column": 66}],
                "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"},
            }
        ]
    }


async def test_an_over_deep_mutation_writes_nothing(
    shallow_graphql: GraphQLClient, graphql: GraphQLClient
) -> None:
    # given an IS admin's valid section creation whose selection is too deep
    code = unique_code()

    # when
    response = await shallow_graphql.post(
        DEEP_SECTION_CREATE, {"input": section_input(code)}, role=Role.IS_ADMIN
    )

    # then it is refused and no section was created
    assert response.status_code == 400
    assert messages(response) == ["'DeepCreate' exceeds maximum operation depth of 4"]
    assert code not in await graphql.section_codes()


# --- aliases -----------------------------------------------------------------------------


async def test_aliases_up_to_the_limit_are_served(graphql: GraphQLClient) -> None:
    # when
    data = await graphql.data(ALIASES_AT_LIMIT)

    # then
    assert data == {f"v{i}": {"role": "ANONYMOUS"} for i in range(30)}


async def test_an_alias_bomb_is_refused(graphql: GraphQLClient) -> None:
    # when 31 aliases of the same field are sent
    response = await graphql.post(ALIASES_OVER_LIMIT)

    # then
    assert response.status_code == 400
    assert response.headers["content-type"] == GRAPHQL_RESPONSE_JSON
    assert response.json() == {
        "errors": [
            {
                "message": "31 aliases found. Allowed: 30",
                "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"},
            }
        ]
    }


async def test_an_alias_bomb_of_mutations_writes_nothing(graphql: GraphQLClient) -> None:
    # given 31 aliased section creations, each with its own code, sent by an IS admin
    codes = {f"c{i}": unique_code() for i in range(31)}

    # when
    response = await graphql.post(ALIAS_BOMB_MUTATION, codes, role=Role.IS_ADMIN)

    # then it is refused for its aliases alone
    assert response.status_code == 400
    assert messages(response) == ["31 aliases found. Allowed: 30"]
    # and none of the sections exists
    assert not set(codes.values()) & await graphql.section_codes()


# --- tokens ------------------------------------------------------------------------------


async def test_a_document_of_exactly_max_tokens_is_served(graphql: GraphQLClient) -> None:
    # when
    data = await graphql.data(TOKENS_AT_LIMIT)

    # then
    assert data == {"__typename": "Query"}


async def test_an_over_long_document_is_refused(graphql: GraphQLClient) -> None:
    # when a document of 2001 tokens is sent
    response = await graphql.post(TOKENS_OVER_LIMIT)

    # then it is refused while parsing, with a message that says why
    assert response.status_code == 400
    assert response.json() == {
        "errors": [
            {
                "message": TOO_MANY_TOKENS,
                "locations": [{"line": 1, "column": 21992}],
                "extensions": {"code": "GRAPHQL_PARSE_FAILED"},
            }
        ]
    }


async def test_an_over_long_mutation_writes_nothing(graphql: GraphQLClient) -> None:
    # given an IS admin's section creation padded past the token limit
    code = unique_code()

    # when
    response = await graphql.post(
        TOKENS_OVER_LIMIT_MUTATION, {"input": section_input(code)}, role=Role.IS_ADMIN
    )

    # then
    assert response.status_code == 400
    assert messages(response) == [TOO_MANY_TOKENS]
    assert code not in await graphql.section_codes()


# --- the validation cache ----------------------------------------------------------------


async def test_validation_runs_once_for_identical_documents(
    graphql: GraphQLClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a count of validations of the probe document
    # (strawberry's validate_document calls graphql-core's validate, imported by name)
    validated: list[DocumentNode] = []

    def counting_validate(
        schema: GraphQLSchema,
        document: DocumentNode,
        rules: tuple[type[ASTValidationRule], ...],
    ) -> list[GraphQLError]:
        if "ValidationCacheProbe" in (document.loc.source.body if document.loc else ""):
            validated.append(document)
        return validate(schema, document, rules)

    monkeypatch.setattr(strawberry.schema.schema, "validate", counting_validate)

    # when the same document is sent twice
    first = await graphql.data(VALIDATION_CACHE_PROBE)
    second = await graphql.data(VALIDATION_CACHE_PROBE)

    # then both are answered and the document was validated once
    assert first == second == {"viewer": {"role": "ANONYMOUS"}}
    assert len(validated) == 1


# --- introspection and suggestions -------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "fields"),
    [(INTROSPECT_SCHEMA, ["__schema", "queryType"]), (INTROSPECT_TYPE, ["__type", "fields"])],
)
async def test_introspection_is_refused_in_production(
    production_schema: strawberry.Schema, document: str, fields: list[str]
) -> None:
    # when
    result = await production_schema.execute(document)

    # then every introspection field is named
    assert result.data is None
    assert [error.message for error in result.errors or []] == [
        "GraphQL introspection has been disabled, but the requested query contained the field "
        f"{field!r}."
        for field in fields
    ]


async def test_typename_is_still_served_in_production(
    production_schema: strawberry.Schema,
) -> None:
    # when
    result = await production_schema.execute(TYPENAME)

    # then
    assert result.errors is None
    assert result.data == {"__typename": "Query"}


async def test_a_misspelled_field_gets_no_suggestion_in_production(
    production_schema: strawberry.Schema,
) -> None:
    # when
    result = await production_schema.execute(MISSPELLED_FIELD)

    # then
    assert result.data is None
    assert [error.message for error in result.errors or []] == [
        "Cannot query field 'viewr' on type 'Query'."
    ]


async def test_a_misspelled_field_gets_a_suggestion_in_development(
    graphql: GraphQLClient,
) -> None:
    # when (the session app runs with development settings)
    response = await graphql.post(MISSPELLED_FIELD)

    # then
    assert response.status_code == 400
    assert messages(response) == [
        "Cannot query field 'viewr' on type 'Query'. Did you mean 'viewer'?"
    ]


async def test_introspection_is_served_in_development(graphql: GraphQLClient) -> None:
    # when
    data = await graphql.data(INTROSPECT_SCHEMA)

    # then
    assert data == {"__schema": {"queryType": {"name": "Query"}}}


@pytest.mark.parametrize(
    ("document", "variables"),
    [
        ("{ sections(frist: 1) { edges { cursor } } }", None),
        ("query ($i: SectionCreateInpt!) { viewer { role } }", None),
        ("{ viewer { ... on Viewr { role } } }", None),
        (
            'mutation { sectionCreate(input: {cod: "a", name: "b", country: "GB", '
            'languages: ["en"], timeZone: "UTC"}) { errors { code } } }',
            None,
        ),
        (
            "mutation ($i: SectionCreateInput!) { sectionCreate(input: $i) { errors { code } } }",
            {
                "i": {
                    "cod": "a",
                    "name": "b",
                    "country": "GB",
                    "languages": ["en"],
                    "timeZone": "UTC",
                }
            },
        ),
    ],
    ids=["argument", "type", "fragment-type", "input-field", "variable-input-field"],
)
async def test_no_error_suggests_schema_names_in_production(
    production_schema: strawberry.Schema, document: str, variables: dict[str, Any] | None
) -> None:
    # when a misspelled argument, type or input field is sent with introspection off
    result = await production_schema.execute(document, variables)

    # then it is refused without naming what the schema does have
    found = [error.message for error in result.errors or []]
    assert found
    assert [message for message in found if "Did you mean" in message] == []
