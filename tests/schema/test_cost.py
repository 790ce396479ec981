"""The cost of an operation, computed before it runs (rules: w4r/schema/cost.py, docs/limits.md).

Costs are computed on the real schema. The HTTP tests show that refusals happen before any
resolver runs: the response has no ``data`` at all and a refused mutation writes nothing.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from graphql import DocumentNode, GraphQLSchema, parse
from starlette.applications import Starlette

from tests.conftest import GraphQLClient, section_input, unique_code
from w4r.app import create_app
from w4r.platform.auth import Role
from w4r.platform.bootstrap import DatabaseTarget
from w4r.schema import cost as cost_module
from w4r.schema.api import build_schema
from w4r.schema.cost import Costing, CostRules, DocumentPlan, plan_document
from w4r.settings import Settings

SMALL_MAX_COST = 50

VIEWER = "{ viewer { role } }"
VIEWER_SCALARS = "{ viewer { role subject sectionCode } }"
TYPENAME = "{ __typename }"
SECTIONS = "{ sections(first: 10) { edges { node { code } } pageInfo { hasNextPage } } }"
SECTIONS_WITH_MEMBERS = """
{
  sections(first: 10) {
    edges { node { code members(first: 20) { edges { node { email } } } } }
  }
}
"""
SECTIONS_BY_FRAGMENT = """
query { sections(first: 10) { ...Page } }
fragment Page on SectionConnection { edges { node { ...Code } } pageInfo { hasNextPage } }
fragment Code on Section { code }
"""
SECTIONS_BY_INLINE_FRAGMENT = """
{
  sections(first: 10) {
    ... on SectionConnection { edges { node { code } } pageInfo { ... { hasNextPage } } }
  }
}
"""
ALIASED_SECTIONS = """
{
  small: sections(first: 2) { nodes { code } }
  large: sections(first: 30) { nodes { code } }
}
"""
MERGED_SECTIONS = """
{
  sections(first: 10) { nodes { code } }
  sections(first: 10) { nodes { name } }
}
"""
SECTIONS_PAGE = "query ($size: Int) { sections(first: $size) { nodes { code } } }"
SECTIONS_PAGE_WITH_DEFAULT = "query ($size: Int = 7) { sections(first: $size) { nodes { code } } }"
SKIPPED_AND_INCLUDED = """
query ($members: Boolean!) {
  sections(first: 10) {
    nodes {
      code
      members(first: 5) @include(if: $members) { nodes { email } }
      never: members(first: 5) @skip(if: true) { nodes { email } }
    }
  }
}
"""
SKIPPED_FRAGMENT = """
query ($hide: Boolean!) {
  sections(first: 10) { nodes { ...Members @skip(if: $hide) } }
}
fragment Members on Section { members(first: 5) { nodes { email } } }
"""
SKIPPED_WITHOUT_PAGE_SIZE = "{ viewer { role } sections @skip(if: true) { nodes { code } } }"
CASE_CAMPAIGNS = '{ case(slug: "any") { campaigns { year totals { quantity } } } }'
CASES_CAMPAIGNS = "{ cases(first: 5) { nodes { slug campaigns { totals { quantity } } } } }"
SECTION_CREATE = """
mutation ($input: SectionCreateInput!) {
  sectionCreate(input: $input) { section { code } errors { code } }
}
"""
TWO_SECTION_CREATES = """
mutation ($a: SectionCreateInput!, $b: SectionCreateInput!) {
  a: sectionCreate(input: $a) { section { code } }
  b: sectionCreate(input: $b) { section { code } }
}
"""
TOTALS_UPDATED = """
subscription ($campaign: Int!) {
  totalsUpdated(campaign: $campaign) { campaignYear totals { quantity } }
}
"""
INTROSPECTION = "{ __schema { types { name fields { name args { name type { name } } } } } }"
NAMED_OPERATIONS = """
query Small { viewer { role } }
query Large { sections(first: 100) { nodes { code } } }
"""

WITHOUT_PAGE_SIZE = "{ viewer { role } sections { edges { node { code } } } }"
MEMBERS_WITHOUT_PAGE_SIZE = """
mutation ($input: SectionCreateInput!) {
  sectionCreate(input: $input) { section { code members { nodes { email } } } errors { code } }
}
"""
TWO_WITHOUT_PAGE_SIZE = "{ sections { nodes { code } } campaigns { nodes { year } } }"
OVER_SMALL_MAX = "{ sections(first: 6) { edges { node { code } } pageInfo { hasNextPage } } }"
OVER_SMALL_MAX_MUTATION = """
mutation ($input: SectionCreateInput!) {
  sectionCreate(input: $input) { section { members(first: 50) { nodes { email } } } }
}
"""
GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"


@pytest.fixture(scope="module")
def schema() -> GraphQLSchema:
    built = build_schema(Settings(_env_file=None))
    graphql_schema: GraphQLSchema = built._schema
    return graphql_schema


@pytest.fixture(scope="module")
def cost_of(schema: GraphQLSchema) -> Callable[..., Costing]:
    """``cost_of(document, variables, operation)``: the costing with the default rules."""

    def compute(
        document: str, variables: dict[str, Any] | None = None, operation: str | None = None
    ) -> Costing:
        plan = plan_document(schema, parse(document), CostRules()).operation(operation)
        assert plan is not None
        costing = plan.evaluate(schema, variables)
        assert costing is not None
        return costing

    return compute


def codes_of(costing: Costing) -> list[str]:
    return [str((error.extensions or {})["code"]) for error in costing.errors]


@pytest.fixture(scope="module")
async def small_app(
    settings: Settings, database_target: DatabaseTarget
) -> AsyncIterator[Starlette]:
    """A deployment whose operations may cost at most SMALL_MAX_COST."""
    small = settings.model_copy(update={"max_query_cost": SMALL_MAX_COST})
    application = create_app(small, target=database_target)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def small_graphql(
    small_app: Starlette, token_for: Callable[..., str]
) -> AsyncIterator[GraphQLClient]:
    transport = httpx.ASGITransport(app=small_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield GraphQLClient(http, token_for)


def error_codes(response: httpx.Response) -> list[str]:
    return [error["extensions"]["code"] for error in response.json()["errors"]]


# --- the rules -------------------------------------------------------------------------------


def test_scalar_fields_cost_nothing_and_an_operation_at_least_one(
    cost_of: Callable[..., Costing],
) -> None:
    # one object field; more scalars below it add nothing; no object at all still costs 1
    assert cost_of(VIEWER) == Costing(1)
    assert cost_of(VIEWER_SCALARS) == Costing(1)
    assert cost_of(TYPENAME) == Costing(1)


def test_fields_under_a_connection_are_multiplied_by_its_page_size(
    cost_of: Callable[..., Costing],
) -> None:
    # sections 1; edges, node and pageInfo 10 each (edges do not multiply again)
    assert cost_of(SECTIONS) == Costing(31)


def test_nested_connections_multiply(cost_of: Callable[..., Costing]) -> None:
    # sections 1 + edges 10 + node 10 + members 10 + (edges + node) 10 x 20 each
    assert cost_of(SECTIONS_WITH_MEMBERS) == Costing(1 + 10 + 10 + 10 + 200 + 200)


def test_fragments_and_inline_fragments_cost_what_they_select(
    cost_of: Callable[..., Costing],
) -> None:
    assert cost_of(SECTIONS_BY_FRAGMENT) == cost_of(SECTIONS) == Costing(31)
    assert cost_of(SECTIONS_BY_INLINE_FRAGMENT) == Costing(31)


def test_aliases_count_separately_and_merged_fields_once(
    cost_of: Callable[..., Costing],
) -> None:
    # two aliased connections: (1 + 2) + (1 + 30)
    assert cost_of(ALIASED_SECTIONS) == Costing(34)
    # the same field twice is executed once: 1 + 10
    assert cost_of(MERGED_SECTIONS) == Costing(11)


@pytest.mark.parametrize(("size", "expected"), [(1, 2), (25, 26), (100, 101)])
def test_a_page_size_may_come_from_a_variable(
    cost_of: Callable[..., Costing], size: int, expected: int
) -> None:
    assert cost_of(SECTIONS_PAGE, {"size": size}) == Costing(expected)


def test_a_variable_default_is_a_page_size(cost_of: Callable[..., Costing]) -> None:
    assert cost_of(SECTIONS_PAGE_WITH_DEFAULT) == Costing(8)
    assert cost_of(SECTIONS_PAGE_WITH_DEFAULT, {"size": 3}) == Costing(4)


@pytest.mark.parametrize(("members", "expected"), [(False, 11), (True, 11 + 10 + 50)])
def test_skip_and_include_are_honoured(
    cost_of: Callable[..., Costing], members: bool, expected: int
) -> None:
    # sections 1 + nodes 10; with members: members 10 + nodes 10 x 5
    assert cost_of(SKIPPED_AND_INCLUDED, {"members": members}) == Costing(expected)


@pytest.mark.parametrize(("hide", "expected"), [(True, 11), (False, 71)])
def test_a_skipped_fragment_spread_costs_nothing(
    cost_of: Callable[..., Costing], hide: bool, expected: int
) -> None:
    assert cost_of(SKIPPED_FRAGMENT, {"hide": hide}) == Costing(expected)


def test_a_skipped_connection_needs_no_page_size(cost_of: Callable[..., Costing]) -> None:
    assert cost_of(SKIPPED_WITHOUT_PAGE_SIZE) == Costing(1)


def test_a_plain_list_multiplies_by_the_default_bound(
    cost_of: Callable[..., Costing],
) -> None:
    # case 1 + campaigns 1 + totals 1 x 10 (the list has no page size)
    assert cost_of(CASE_CAMPAIGNS) == Costing(12)
    # cases 1 + nodes 5 + campaigns 5 + totals 5 x 10
    assert cost_of(CASES_CAMPAIGNS) == Costing(61)


def test_the_list_bound_is_a_setting(schema: GraphQLSchema) -> None:
    plan = plan_document(schema, parse(CASE_CAMPAIGNS), CostRules(list_bound=3)).operation(None)
    assert plan is not None
    assert plan.evaluate(schema, None) == Costing(5)


def test_a_mutation_costs_its_base_plus_its_selection(cost_of: Callable[..., Costing]) -> None:
    # sectionCreate 10 + section 1 + errors 1
    assert cost_of(SECTION_CREATE, {"input": section_input("zz-cost")}) == Costing(12)
    # each mutation field pays the base
    variables = {"a": section_input("zz-a"), "b": section_input("zz-b")}
    assert cost_of(TWO_SECTION_CREATES, variables) == Costing(22)


def test_a_subscription_is_costed_once(cost_of: Callable[..., Costing]) -> None:
    assert cost_of(TOTALS_UPDATED, {"campaign": 2025}) == Costing(2)


def test_introspection_costs_one_per_field(cost_of: Callable[..., Costing]) -> None:
    assert cost_of(INTROSPECTION) == Costing(1)


def test_the_named_operation_is_the_one_costed(cost_of: Callable[..., Costing]) -> None:
    assert cost_of(NAMED_OPERATIONS, operation="Small") == Costing(1)
    assert cost_of(NAMED_OPERATIONS, operation="Large") == Costing(101)


@pytest.mark.parametrize(
    ("variables", "code"),
    [
        ({}, "PAGE_SIZE_REQUIRED"),
        ({"size": None}, "PAGE_SIZE_REQUIRED"),
        ({"size": 101}, "PAGE_SIZE_TOO_LARGE"),
        ({"size": 0}, "PAGE_SIZE_TOO_SMALL"),
    ],
)
def test_a_connection_needs_a_page_size_in_range(
    cost_of: Callable[..., Costing], variables: dict[str, Any], code: str
) -> None:
    assert codes_of(cost_of(SECTIONS_PAGE, variables)) == [code]


def test_every_connection_without_a_page_size_is_named(cost_of: Callable[..., Costing]) -> None:
    costing = cost_of(TWO_WITHOUT_PAGE_SIZE)
    assert [error.message for error in costing.errors] == [
        "`sections` is a connection: give `first` (1 to 100) to say how many nodes to fetch.",
        "`campaigns` is a connection: give `first` (1 to 100) to say how many nodes to fetch.",
    ]
    assert codes_of(costing) == ["PAGE_SIZE_REQUIRED", "PAGE_SIZE_REQUIRED"]


# --- over HTTP: refused before execution -----------------------------------------------------


async def test_a_connection_without_first_is_refused_before_execution(
    graphql: GraphQLClient,
) -> None:
    # when a query asks for a connection without a page size
    response = await graphql.post(WITHOUT_PAGE_SIZE, role=Role.IS_ADMIN)

    # then it is a request error: nothing ran, not even `viewer`
    assert response.status_code == 400
    assert response.headers["content-type"] == GRAPHQL_RESPONSE_JSON
    assert response.json() == {
        "errors": [
            {
                "message": "`sections` is a connection: give `first` (1 to 100) to say how "
                "many nodes to fetch.",
                "locations": [{"line": 1, "column": 19}],
                "extensions": {"code": "PAGE_SIZE_REQUIRED"},
            }
        ]
    }


async def test_a_mutation_selecting_a_connection_without_first_writes_nothing(
    graphql: GraphQLClient,
) -> None:
    # given a valid section creation whose selection lists members without a page size
    code = unique_code()

    # when
    response = await graphql.post(
        MEMBERS_WITHOUT_PAGE_SIZE, {"input": section_input(code)}, role=Role.IS_ADMIN
    )

    # then it is refused and the section does not exist
    assert response.status_code == 400
    assert "data" not in response.json()
    assert error_codes(response) == ["PAGE_SIZE_REQUIRED"]
    assert code not in await graphql.section_codes()


async def test_an_oversized_page_from_a_variable_is_refused_with_json_too(
    client: httpx.AsyncClient,
) -> None:
    # when an application/json client asks for 500 sections at once
    response = await client.post(
        "/graphql",
        json={"query": SECTIONS_PAGE, "variables": {"size": 500}},
        headers={"accept": "application/json"},
    )

    # then the request is refused (200 under application/json, as every request error)
    assert response.status_code == 200
    assert response.json() == {
        "errors": [
            {
                "message": "`sections(first: 500)` asks for more than 100 nodes; fetch pages of "
                "at most 100 with `after`.",
                "locations": [{"line": 1, "column": 22}],
                "extensions": {"code": "PAGE_SIZE_TOO_LARGE"},
            }
        ]
    }


async def test_an_operation_over_the_maximum_cost_is_refused(
    small_graphql: GraphQLClient,
) -> None:
    # when pages of 6 sections cost 1 + 6 (edges) + 6 (node) + 6 (pageInfo) = 19, and pages
    # of 20 cost 61, under a maximum of 50
    served = await small_graphql.post(OVER_SMALL_MAX, role=Role.IS_ADMIN)
    refused = await small_graphql.post(
        OVER_SMALL_MAX.replace("first: 6", "first: 20"), role=Role.IS_ADMIN
    )

    # then
    assert served.status_code == 200
    assert served.json()["extensions"]["cost"]["requested"] == 19
    assert refused.status_code == 400
    assert refused.json() == {
        "errors": [
            {
                "message": "The operation costs 61 and at most 50 is allowed; ask for smaller "
                "pages (`first`) or fewer nested lists.",
                "extensions": {"code": "QUERY_TOO_COSTLY"},
            }
        ],
        "extensions": {"cost": {"requested": 61}},
    }


async def test_a_mutation_over_the_maximum_cost_writes_nothing(
    small_graphql: GraphQLClient, graphql: GraphQLClient
) -> None:
    # given a valid section creation selecting 50 members (10 + 1 + 1 + 50 > 50)
    code = unique_code()

    # when
    response = await small_graphql.post(
        OVER_SMALL_MAX_MUTATION, {"input": section_input(code)}, role=Role.IS_ADMIN
    )

    # then
    assert response.status_code == 400
    assert error_codes(response) == ["QUERY_TOO_COSTLY"]
    assert code not in await graphql.section_codes()


# --- the plan cache --------------------------------------------------------------------------


async def test_a_document_is_analysed_once_whatever_its_variables(
    graphql: GraphQLClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a document no earlier request sent, and a count of analyses
    probe = (
        f"query CostProbe{secrets.token_hex(4)} ($size: Int) "
        "{ sections(first: $size) { nodes { code } } }"
    )
    analysed: list[DocumentNode] = []

    def counting(schema: GraphQLSchema, document: DocumentNode, rules: CostRules) -> DocumentPlan:
        analysed.append(document)
        return plan_document(schema, document, rules)

    monkeypatch.setattr(cost_module, "plan_document", counting)

    # when it is sent with three page sizes
    costs = []
    for size in (1, 5, 9):
        response = await graphql.post(probe, {"size": size}, role=Role.IS_ADMIN)
        assert response.status_code == 200, response.json()
        costs.append(response.json()["extensions"]["cost"]["requested"])

    # then each was costed with its own variables from one analysis
    assert costs == [2, 6, 10]
    assert len(analysed) == 1
