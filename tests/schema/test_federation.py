"""w4r as an Apollo Federation 2 subgraph (w4r/schema/federation.py, docs/federation.md).

In process: ``_entities`` for each entity type and each key, with the visibility of the
direct queries (drafts, sections, events of the request's section only) and the field rules
of the permission matrix; malformed representations and too many of them refused before any
lookup; ``_service`` and ``w4r schema export``; the cost of ``_entities``.

With Apollo's own code (interop/federation/*.mjs, Node): the exported SDL composes with a
second subgraph written for the test, and a real Apollo Gateway over both (w4r served by
uvicorn on 127.0.0.1, on the test database) answers one query from both subgraphs, forwards
the caller's token and section, and never completes a draft case for an anonymous caller.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import parse

from tests.actions.test_ledger_api import publish_case
from tests.campaigns.test_campaigns_api import case_input, create_campaign
from tests.conftest import GraphQLClient, unique_code
from tests.events.test_events_api import create_event, event_input, published_event, staff
from tests.servers import RunningServer, serving
from tests.tools import INTEROP, node
from w4r.campaigns.repository import CampaignRepository
from w4r.cases.repository import CaseRepository
from w4r.events.repository import EventRepository
from w4r.platform.auth import Role
from w4r.platform.bootstrap import DatabaseTarget
from w4r.schema.api import build_schema
from w4r.schema.cost import CostRules, plan_document
from w4r.schema.federation import subgraph_sdl
from w4r.settings import Settings
from w4r.tenants.repository import SectionRepository

NewSection = Callable[..., Awaitable[dict[str, Any]]]
TokenFor = Callable[..., str]

NODE_TIMEOUT_SECONDS = 60.0
URGENT_ACTIONS = "https://urgent-actions.example/cases/"
"""Where interop/federation/urgent-actions.mjs says each case's urgent action is."""

ENTITIES = """
query ($representations: [_Any!]!) {
  _entities(representations: $representations) {
    __typename
    ... on Campaign { id year campaignStatus: status }
    ... on Case { id slug caseStatus: status }
    ... on Section { id code }
    ... on Event { id eventStatus: status }
  }
}
"""
CASE_NOTES = """
query ($representations: [_Any!]!) {
  _entities(representations: $representations) { ... on Case { slug internalNotes } }
}
"""
SECTION_MEMBERS = """
query ($representations: [_Any!]!) {
  _entities(representations: $representations) {
    ... on Section { code members(first: 5) { nodes { email } } }
  }
}
"""
SERVICE = "{ _service { sdl } }"
CASE_WITH_NOTES_CREATE = """
mutation ($input: CaseCreateInput!) {
  caseCreate(input: $input) { case { id slug internalNotes } errors { field code message } }
}
"""

# Through the gateway: fields of w4r and of the urgent-actions subgraph in one query.
GATEWAY_CASE = """
query ($slug: String!) { case(slug: $slug) { id slug subjectName urgentActionUrl } }
"""
GATEWAY_CASES = """
query ($year: Int!) { cases(campaign: $year, first: 10) { nodes { id slug urgentActionUrl } } }
"""
GATEWAY_REFERENCED_CASE = """
query ($id: UUID!) { urgentActionCase(id: $id) { id slug status urgentActionUrl } }
"""
GATEWAY_SECTION = """
{
  viewer { role sectionCode }
  section { code }
  events(first: 10) { nodes { id status } }
}
"""
GATEWAY_REFERENCED_EVENT = "query ($id: UUID!) { urgentActionEvent(id: $id) { id status } }"


# --- helpers -----------------------------------------------------------------------------


def representation(type_name: str, **key: Any) -> dict[str, Any]:
    return {"__typename": type_name, **key}


async def entities(
    graphql: GraphQLClient, representations: list[Any], **options: Any
) -> list[dict[str, Any] | None]:
    data = await graphql.data(ENTITIES, {"representations": representations}, **options)
    found: list[dict[str, Any] | None] = data["_entities"]
    return found


async def refusal(
    graphql: GraphQLClient, representations: list[Any], **options: Any
) -> dict[str, Any]:
    """The one top-level error of a refused ``_entities`` call (which has no data)."""
    response = await graphql.post(ENTITIES, {"representations": representations}, **options)
    payload = response.json()
    assert response.status_code == 200, payload
    assert payload["data"] is None, payload
    (error,) = payload["errors"]
    assert error["path"] == ["_entities"]
    return {"message": error["message"], "code": error["extensions"]["code"]}


@dataclass(frozen=True)
class Catalogue:
    """An open campaign with a published and a draft case, a draft campaign (IS admin)."""

    campaign_id: str
    year: int
    draft_campaign_id: str
    draft_year: int
    case_id: str
    case_slug: str
    draft_case_id: str
    draft_case_slug: str


@pytest.fixture(scope="module")
async def catalogue(module_graphql: GraphQLClient) -> Catalogue:
    campaign = await create_campaign(module_graphql)
    draft = await create_campaign(module_graphql, status="DRAFT")
    published = await publish_case(module_graphql, [campaign["year"]])
    slug = "case-" + unique_code()
    values = case_input(slug, [campaign["year"]]) | {"internalNotes": "Met the family."}
    data = await module_graphql.data(CASE_WITH_NOTES_CREATE, {"input": values}, role=Role.IS_ADMIN)
    assert data["caseCreate"]["errors"] == [], data
    return Catalogue(
        campaign_id=campaign["id"],
        year=campaign["year"],
        draft_campaign_id=draft["id"],
        draft_year=draft["year"],
        case_id=published.id,
        case_slug=published.slug,
        draft_case_id=data["caseCreate"]["case"]["id"],
        draft_case_slug=slug,
    )


@dataclass
class Lookups:
    """Calls of the repositories' batch reads behind the entity loaders."""

    calls: list[str]


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> Lookups:
    recorded = Lookups([])
    spied = [
        (CaseRepository, "by_ids"),
        (CaseRepository, "by_slugs"),
        (CampaignRepository, "by_ids"),
        (CampaignRepository, "by_years"),
        (SectionRepository, "by_ids"),
        (SectionRepository, "by_codes"),
        (EventRepository, "by_ids"),
    ]
    for owner, name in spied:
        original = getattr(owner, name)

        def spy(*args: Any, _original: Any = original, _name: str = name, **kwargs: Any) -> Any:
            recorded.calls.append(_name)
            return _original(*args, **kwargs)

        monkeypatch.setattr(owner, name, spy)
    return recorded


# --- _entities, in process ---------------------------------------------------------------


async def test_a_published_case_resolves_by_id_and_by_slug_for_everyone(
    graphql: GraphQLClient, catalogue: Catalogue, lookups: Lookups
) -> None:
    # given an anonymous caller, when it asks for the published case by each of its keys
    found = await entities(
        graphql,
        [
            representation("Case", id=catalogue.case_id),
            representation("Case", slug=catalogue.case_slug),
        ],
    )

    # then both resolve to the case, each key in one batched statement
    expected = {
        "__typename": "Case",
        "id": catalogue.case_id,
        "slug": catalogue.case_slug,
        "caseStatus": "PUBLISHED",
    }
    assert found == [expected, expected]
    assert sorted(lookups.calls) == ["by_ids", "by_slugs"]


@pytest.mark.parametrize(
    ("role", "sees_drafts"),
    [
        (None, False),
        (Role.PARTNER_APP, False),
        (Role.IS_ANALYST, True),
        (Role.IS_ADMIN, True),
    ],
)
async def test_a_draft_case_resolves_for_is_staff_only(
    graphql: GraphQLClient, catalogue: Catalogue, role: Role | None, sees_drafts: bool
) -> None:
    # when a caller asks for the draft case by id and by slug
    found = await entities(
        graphql,
        [
            representation("Case", id=catalogue.draft_case_id),
            representation("Case", slug=catalogue.draft_case_slug),
        ],
        role=role,
    )

    # then IS staff get it, everyone else null, as from `case`
    draft = {
        "__typename": "Case",
        "id": catalogue.draft_case_id,
        "slug": catalogue.draft_case_slug,
        "caseStatus": "DRAFT",
    }
    assert found == ([draft, draft] if sees_drafts else [None, None])


async def test_a_draft_case_resolves_to_null_for_section_staff_at_their_section(
    graphql: GraphQLClient, catalogue: Catalogue, new_section: NewSection
) -> None:
    code = (await new_section())["code"]
    found = await entities(
        graphql, [representation("Case", id=catalogue.draft_case_id)], **staff(code)
    )
    assert found == [None]


async def test_campaigns_resolve_by_id_and_by_year_and_drafts_for_is_staff_only(
    graphql: GraphQLClient, catalogue: Catalogue
) -> None:
    representations = [
        representation("Campaign", id=catalogue.campaign_id),
        representation("Campaign", year=catalogue.year),
        representation("Campaign", id=catalogue.draft_campaign_id),
        representation("Campaign", year=catalogue.draft_year),
    ]
    open_campaign = {
        "__typename": "Campaign",
        "id": catalogue.campaign_id,
        "year": catalogue.year,
        "campaignStatus": "OPEN",
    }
    draft = {
        "__typename": "Campaign",
        "id": catalogue.draft_campaign_id,
        "year": catalogue.draft_year,
        "campaignStatus": "DRAFT",
    }

    # when the public and an IS analyst ask for an open and a draft campaign by both keys
    public = await entities(graphql, representations)
    analyst = await entities(graphql, representations, role=Role.IS_ANALYST)

    # then the public gets the open one only, the analyst both
    assert public == [open_campaign, open_campaign, None, None]
    assert analyst == [open_campaign, open_campaign, draft, draft]


async def test_a_section_resolves_at_its_own_endpoint_and_for_is_staff_anywhere(
    graphql: GraphQLClient, new_section: NewSection
) -> None:
    # given two sections
    first = await new_section()
    second = await new_section()
    representations = [
        representation("Section", id=first["id"]),
        representation("Section", code=first["code"]),
    ]
    shown = {"__typename": "Section", "id": first["id"], "code": first["code"]}

    # then it resolves at its own endpoint, as `section` does, and for IS staff anywhere
    assert await entities(graphql, representations, section=first["code"]) == [shown, shown]
    assert await entities(graphql, representations, role=Role.IS_ANALYST) == [shown, shown]
    assert await entities(graphql, representations, role=Role.IS_ADMIN, section=second["code"]) == [
        shown,
        shown,
    ]
    # and to null in the global scope and at another section's endpoint, for its staff too
    assert await entities(graphql, representations) == [None, None]
    assert await entities(graphql, representations, section=second["code"]) == [None, None]
    assert await entities(graphql, representations, **staff(second["code"])) == [None, None]


async def test_an_unknown_section_resolves_to_null(graphql: GraphQLClient) -> None:
    found = await entities(
        graphql,
        [representation("Section", id=str(uuid.uuid4())), representation("Section", code="zz-x")],
        role=Role.IS_ADMIN,
    )
    assert found == [None, None]


async def test_an_event_resolves_only_at_its_sections_endpoint(
    graphql: GraphQLClient, catalogue: Catalogue, new_section: NewSection
) -> None:
    # given a published and a draft event of one section, and another section
    code = (await new_section())["code"]
    other = (await new_section())["code"]
    published = await published_event(graphql, code, event_input(catalogue.year))
    draft = (await create_event(graphql, event_input(catalogue.year), **staff(code)))["id"]
    representations = [
        representation("Event", id=published),
        representation("Event", id=draft),
    ]

    # then at its section the public sees the published one, the staff both
    assert await entities(graphql, representations, section=code) == [
        {"__typename": "Event", "id": published, "eventStatus": "PUBLISHED"},
        None,
    ]
    assert await entities(graphql, representations, **staff(code)) == [
        {"__typename": "Event", "id": published, "eventStatus": "PUBLISHED"},
        {"__typename": "Event", "id": draft, "eventStatus": "DRAFT"},
    ]
    # and another section's endpoint, even for its staff, and the global scope see neither
    assert await entities(graphql, representations, section=other) == [None, None]
    assert await entities(graphql, representations, **staff(other)) == [None, None]
    assert await entities(graphql, representations, role=Role.IS_ADMIN) == [None, None]


async def test_one_call_resolves_every_entity_type_in_order(
    graphql: GraphQLClient, catalogue: Catalogue, new_section: NewSection
) -> None:
    section = await new_section()
    event = await published_event(graphql, section["code"], event_input(catalogue.year))
    found = await entities(
        graphql,
        [
            representation("Event", id=event),
            representation("Case", slug=catalogue.case_slug),
            representation("Section", code=section["code"]),
            representation("Campaign", year=catalogue.year),
            representation("Case", id=str(uuid.uuid4())),
        ],
        section=section["code"],
    )
    assert found == [
        {"__typename": "Event", "id": event, "eventStatus": "PUBLISHED"},
        {
            "__typename": "Case",
            "id": catalogue.case_id,
            "slug": catalogue.case_slug,
            "caseStatus": "PUBLISHED",
        },
        {"__typename": "Section", "id": section["id"], "code": section["code"]},
        {
            "__typename": "Campaign",
            "id": catalogue.campaign_id,
            "year": catalogue.year,
            "campaignStatus": "OPEN",
        },
        None,
    ]


async def test_fields_of_an_entity_keep_their_rules_of_the_matrix(
    graphql: GraphQLClient, catalogue: Catalogue, new_section: NewSection
) -> None:
    # an IS admin reads a draft case's internal notes through _entities ...
    draft = {"representations": [representation("Case", id=catalogue.draft_case_id)]}
    data = await graphql.data(CASE_NOTES, draft, role=Role.IS_ADMIN)
    assert data == {
        "_entities": [{"slug": catalogue.draft_case_slug, "internalNotes": "Met the family."}]
    }
    # ... the public sees a published case but is refused its notes, as with `case`
    published = {"representations": [representation("Case", id=catalogue.case_id)]}
    response = await graphql.post(CASE_NOTES, published)
    payload = response.json()
    assert payload["data"] == {"_entities": [{"slug": catalogue.case_slug, "internalNotes": None}]}
    assert [(error["path"], error["extensions"]["code"]) for error in payload["errors"]] == [
        (["_entities", 0, "internalNotes"], "FORBIDDEN")
    ]

    # and a section's members stay for its admins at its endpoint
    section = await new_section()
    members = {"representations": [representation("Section", id=section["id"])]}
    response = await graphql.post(SECTION_MEMBERS, members, section=section["code"])
    payload = response.json()
    assert payload["data"] == {"_entities": [None]}
    assert [(error["path"], error["extensions"]["code"]) for error in payload["errors"]] == [
        (["_entities", 0, "members"], "FORBIDDEN")
    ]
    data = await graphql.data(SECTION_MEMBERS, members, **staff(section["code"]))
    assert data == {"_entities": [{"code": section["code"], "members": {"nodes": []}}]}


# --- refusals, before any lookup ---------------------------------------------------------


async def test_representations_over_the_cap_are_refused_before_any_lookup(
    graphql: GraphQLClient, settings: Settings, catalogue: Catalogue, lookups: Lookups
) -> None:
    # given one representation more than the cap
    maximum = settings.federation_max_representations
    over = [representation("Case", id=catalogue.case_id)] * (maximum + 1)

    # when they are sent, then the call is refused and nothing was looked up
    assert await refusal(graphql, over) == {
        "message": f"`_entities` resolves at most {maximum} representations per request and "
        f"got {maximum + 1}; split them over several requests.",
        "code": "TOO_MANY_REPRESENTATIONS",
    }
    assert lookups.calls == []

    # while exactly the cap resolves, in one statement
    found = await entities(graphql, over[:maximum])
    assert len(found) == maximum
    assert {None if entity is None else entity["id"] for entity in found} == {catalogue.case_id}
    assert lookups.calls == ["by_ids"]


async def test_an_unknown_typename_is_refused_clearly_before_any_lookup(
    graphql: GraphQLClient, catalogue: Catalogue, lookups: Lookups
) -> None:
    # given a valid representation followed by one of a type that is no entity
    representations = [
        representation("Case", id=catalogue.case_id),
        representation("SectionMember", id=str(uuid.uuid4())),
    ]

    # then the call is refused, naming the representation and the entities there are
    assert await refusal(graphql, representations) == {
        "message": "`_entities`: representations[1]: `__typename` 'SectionMember' is not an "
        "entity of this subgraph; the entities are Campaign, Case, Event, Section.",
        "code": "BAD_USER_INPUT",
    }
    assert lookups.calls == []


@pytest.mark.parametrize(
    ("bad", "problem"),
    [
        ("a string", "not an object; give `__typename` and one key field."),
        (
            {"id": "00000000-0000-4000-8000-000000000000"},
            "no `__typename`; the entities are Campaign, Case, Event, Section.",
        ),
        (
            {"__typename": ["Case"], "id": "00000000-0000-4000-8000-000000000000"},
            "`__typename` \"['Case']\" is not an entity of this subgraph; the entities are "
            "Campaign, Case, Event, Section.",
        ),
        ({"__typename": "Case"}, "give exactly one key of Case: `id` or `slug` (got none)."),
        (
            {"__typename": "Case", "id": "00000000-0000-4000-8000-000000000000", "slug": "x"},
            "give exactly one key of Case: `id` or `slug` (got id, slug).",
        ),
        ({"__typename": "Event", "slug": "x"}, "give exactly one key of Event: `id` (got slug)."),
        ({"__typename": "Case", "id": "not-a-uuid"}, "`id` is not a valid UUID."),
        ({"__typename": "Campaign", "year": "2024"}, "`year` is not a valid Int."),
        ({"__typename": "Campaign", "year": 2**40}, "`year` is not a valid Int."),
        ({"__typename": "Section", "code": None}, "`code` is null."),
        ({"__typename": "Section", "code": 7}, "`code` is not a valid String."),
    ],
)
async def test_a_malformed_representation_is_refused_before_any_lookup(
    graphql: GraphQLClient, lookups: Lookups, bad: Any, problem: str
) -> None:
    assert await refusal(graphql, [bad]) == {
        "message": f"`_entities`: representations[0]: {problem}",
        "code": "BAD_USER_INPUT",
    }
    assert lookups.calls == []


# --- _service, schema export, cost -------------------------------------------------------


async def test_service_answers_the_sdl_that_schema_export_writes(
    graphql: GraphQLClient,
    settings: Settings,
    cli_env: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from w4r.cli import main

    # when the subgraph SDL is read over GraphQL and exported by the CLI, to a file and stdout
    data = await graphql.data(SERVICE)
    output = tmp_path / "w4r.graphql"
    assert main(["schema", "export", "--output", str(output)]) == 0
    assert main(["schema", "export"]) == 0

    # then all three are the federation SDL, with the @link and the entities' keys
    sdl = data["_service"]["sdl"]
    assert sdl == subgraph_sdl(build_schema(settings))
    assert output.read_text(encoding="utf-8") == sdl + "\n"
    assert capsys.readouterr().out == sdl + "\n"
    assert sdl.startswith(
        'schema @link(url: "https://specs.apollo.dev/federation/v2.0", import: ["@key"]) {'
    )
    for entity in (
        'type Campaign @key(fields: "id") @key(fields: "year") {',
        'type Case @key(fields: "id") @key(fields: "slug") {',
        'type Event @key(fields: "id") {',
        'type Section @key(fields: "id") @key(fields: "code") {',
        "union _Entity = Campaign | Case | Event | Section",
        "  _entities(representations: [_Any!]!): [_Entity]!",
    ):
        assert entity in sdl.splitlines()


async def test_service_is_refused_where_introspection_is_off(settings: Settings) -> None:
    schema = build_schema(settings.model_copy(update={"introspection": "off"}))
    result = await schema.execute(SERVICE)
    assert result.data is None
    assert [error.message for error in result.errors or ()] == [
        "The subgraph SDL (`_service`) is off, like introspection; compose from the file "
        "`w4r schema export` writes."
    ]


@pytest.mark.parametrize(
    ("representations", "cost"),
    [
        ("[]", 1),
        ('[{__typename: "Case", id: "x"}]', 1 + 1 * (1 + 10)),
        ('[{__typename: "Case", id: "x"}, {__typename: "Case", slug: "y"}]', 1 + 2 * (1 + 10)),
        ("$representations", 1 + 3 * (1 + 10)),
    ],
)
def test_entities_costs_its_selection_once_per_representation(
    settings: Settings, representations: str, cost: int
) -> None:
    # given a selection that costs 11 per case: its campaigns (a list of objects, 1) and
    # their totals (an object under a list: 1 x the list bound, 10)
    document = f"""
    query ($representations: [_Any!]!) {{
      _entities(representations: {representations}) {{
        ... on Case {{ slug campaigns {{ year totals {{ quantity }} }} }}
      }}
    }}
    """
    schema = build_schema(settings)._schema
    plan = plan_document(schema, parse(document), CostRules()).operation(None)
    assert plan is not None
    variables = {"representations": [{"__typename": "Case", "id": "x"}] * 3}

    # then _entities costs 1, and each representation its selection
    costing = plan.evaluate(schema, variables)
    assert costing is not None
    assert costing.errors == ()
    assert costing.cost == cost


# --- with Apollo's composition and gateway (Node) ----------------------------------------


async def run_node(*arguments: str) -> tuple[int, bytes, bytes]:
    process = await asyncio.create_subprocess_exec(
        node(),
        *arguments,
        cwd=INTEROP,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(NODE_TIMEOUT_SECONDS):
        stdout, stderr = await process.communicate()
    assert process.returncode is not None
    return process.returncode, stdout, stderr


@pytest.fixture(scope="module")
def sdl_file(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The subgraph SDL, as `w4r schema export --output` writes it."""
    from w4r.cli import build_parser, command_schema_export

    path = tmp_path_factory.mktemp("federation") / "w4r.graphql"
    arguments = build_parser().parse_args(["schema", "export", "--output", str(path)])
    with pytest.MonkeyPatch.context() as patch:
        # the deployment's settings are the test session's (no other W4R_* reaches them)
        patch.setattr("w4r.cli._settings", lambda _arguments: settings)
        assert command_schema_export(arguments) == 0
    return path


async def test_the_exported_sdl_composes_with_another_subgraph(sdl_file: Path) -> None:
    # when Apollo's composition composes w4r with the urgent-actions subgraph
    status, stdout, stderr = await run_node("federation/compose.mjs", str(sdl_file))

    # then it composes with no error and no hint
    assert status == 0, stderr.decode()
    composed = json.loads(stdout)
    assert composed["errors"] == []
    assert composed["hints"] == []
    supergraph = composed["supergraphSdl"]
    assert 'W4R @join__graph(name: "w4r"' in supergraph
    assert 'URGENT_ACTIONS @join__graph(name: "urgent-actions"' in supergraph
    assert '@join__type(graph: URGENT_ACTIONS, key: "id")' in supergraph


@dataclass(frozen=True)
class Gateway:
    url: str
    http: httpx.AsyncClient
    token_for: TokenFor

    async def post(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        path: str = "/",
        role: Role | None = None,
        token_section: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """The gateway's answer (always HTTP 200 here)."""
        sent = {"content-type": "application/json", **(headers or {})}
        if role is not None:
            sent["authorization"] = f"Bearer {self.token_for(role, token_section)}"
        body = {"query": query, "variables": variables or {}}
        response = await self.http.post(self.url.rstrip("/") + path, json=body, headers=sent)
        assert response.status_code == 200, response.text
        payload: dict[str, Any] = response.json()
        return payload


@pytest.fixture(scope="module")
async def w4r_server(
    settings: Settings, database_target: DatabaseTarget
) -> AsyncIterator[RunningServer]:
    async with serving(settings, database_target) as running:
        yield running


@pytest.fixture(scope="module")
async def gateway(
    w4r_server: RunningServer,
    sdl_file: Path,
    token_for: TokenFor,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Gateway]:
    """interop/federation/gateway.mjs over w4r (uvicorn) and urgent-actions, until the end
    of the module. Its standard error goes to a file, read when it fails to start."""
    log = tmp_path_factory.mktemp("gateway") / "stderr.log"
    with log.open("wb") as stderr:
        process = await asyncio.create_subprocess_exec(
            node(),
            "federation/gateway.mjs",
            str(sdl_file),
            f"{w4r_server.http_url}/graphql",
            cwd=INTEROP,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=stderr,
        )
    assert process.stdin is not None
    assert process.stdout is not None
    try:
        async with asyncio.timeout(NODE_TIMEOUT_SECONDS):
            line = await process.stdout.readline()
        if not line:
            await process.wait()
            raise AssertionError(f"the gateway did not start: {log.read_text()}")
        started = json.loads(line)
        assert started["hints"] == []
        async with httpx.AsyncClient(timeout=30.0) as http:
            yield Gateway(started["gateway"], http, token_for)
    finally:
        # closing its standard input is the gateway's signal to stop both servers
        process.stdin.close()
        try:
            async with asyncio.timeout(NODE_TIMEOUT_SECONDS):
                await process.wait()
        except TimeoutError:
            process.kill()
            await process.wait()


async def test_one_query_through_the_gateway_merges_both_subgraphs(
    gateway: Gateway, graphql: GraphQLClient, catalogue: Catalogue
) -> None:
    # when a case and its urgent action are asked for in one query
    answer = await gateway.post(GATEWAY_CASE, {"slug": catalogue.case_slug})

    # then w4r's fields and the other subgraph's come merged
    assert answer == {
        "data": {
            "case": {
                "id": catalogue.case_id,
                "slug": catalogue.case_slug,
                "subjectName": f"Subject {catalogue.case_slug}",
                "urgentActionUrl": URGENT_ACTIONS + catalogue.case_id,
            }
        }
    }

    # and so they do for each node of a page of cases
    # and so they do for each node of a page of cases (the draft one hidden), in order
    second = await publish_case(graphql, [catalogue.year])
    page = await gateway.post(GATEWAY_CASES, {"year": catalogue.year})
    assert page == {
        "data": {
            "cases": {
                "nodes": [
                    {
                        "id": case_id,
                        "slug": slug,
                        "urgentActionUrl": URGENT_ACTIONS + case_id,
                    }
                    for case_id, slug in [
                        (catalogue.case_id, catalogue.case_slug),
                        (second.id, second.slug),
                    ]
                ]
            }
        }
    }


async def test_a_reference_from_the_other_subgraph_resolves_through_w4r(
    gateway: Gateway, catalogue: Catalogue
) -> None:
    # when the other subgraph hands out a bare reference to a published case
    answer = await gateway.post(GATEWAY_REFERENCED_CASE, {"id": catalogue.case_id})

    # then the gateway completes it from w4r's _entities
    assert answer == {
        "data": {
            "urgentActionCase": {
                "id": catalogue.case_id,
                "slug": catalogue.case_slug,
                "status": "PUBLISHED",
                "urgentActionUrl": URGENT_ACTIONS + catalogue.case_id,
            }
        }
    }


async def test_a_draft_case_is_not_reachable_through_the_gateway_for_an_anonymous_caller(
    gateway: Gateway, catalogue: Catalogue
) -> None:
    variables = {"id": catalogue.draft_case_id}

    # when an anonymous caller follows a reference to a draft case
    anonymous = await gateway.post(GATEWAY_REFERENCED_CASE, variables)

    # then w4r resolves nothing: no field of the draft reaches the caller
    assert anonymous["data"] == {"urgentActionCase": None}
    assert catalogue.draft_case_slug not in json.dumps(anonymous)

    # while the IS admin's token, forwarded by the gateway, reaches it
    admin = await gateway.post(GATEWAY_REFERENCED_CASE, variables, role=Role.IS_ADMIN)
    assert admin == {
        "data": {
            "urgentActionCase": {
                "id": catalogue.draft_case_id,
                "slug": catalogue.draft_case_slug,
                "status": "DRAFT",
                "urgentActionUrl": URGENT_ACTIONS + catalogue.draft_case_id,
            }
        }
    }


async def test_a_section_bound_query_through_the_gateway_by_header_and_by_path(
    gateway: Gateway,
    graphql: GraphQLClient,
    catalogue: Catalogue,
    new_section: NewSection,
) -> None:
    # given a section with a published and a draft event
    code = (await new_section())["code"]
    published = await published_event(graphql, code, event_input(catalogue.year))
    draft = (await create_event(graphql, event_input(catalogue.year), **staff(code)))["id"]

    # when an anonymous caller asks through the gateway with W4R-Section, at
    # /s/<code>/graphql, and with neither
    by_header = await gateway.post(GATEWAY_SECTION, headers={"w4r-section": code})
    by_path = await gateway.post(GATEWAY_SECTION, path=f"/s/{code}/graphql")
    unbound = await gateway.post("{ section { code } }")

    # then w4r answered for the section named, with what the public sees of it
    public = {
        "data": {
            "viewer": {"role": "ANONYMOUS", "sectionCode": None},
            "section": {"code": code},
            "events": {"nodes": [{"id": published, "status": "PUBLISHED"}]},
        }
    }
    assert by_header == public
    assert by_path == public
    assert unbound == {"data": {"section": None}}

    # and with the section admin's token forwarded, w4r answers the admin: both events
    admin = await gateway.post(
        GATEWAY_SECTION, path=f"/s/{code}/graphql", role=Role.SECTION_ADMIN, token_section=code
    )
    assert admin["data"]["viewer"] == {"role": "SECTION_ADMIN", "sectionCode": code}
    assert admin["data"]["section"] == {"code": code}
    assert sorted(event["id"] for event in admin["data"]["events"]["nodes"]) == sorted(
        [published, draft]
    )


async def test_an_event_reference_through_the_gateway_resolves_in_its_section_only(
    gateway: Gateway, graphql: GraphQLClient, catalogue: Catalogue, new_section: NewSection
) -> None:
    # given a published event of one section, and another section
    code = (await new_section())["code"]
    other = (await new_section())["code"]
    event = await published_event(graphql, code, event_input(catalogue.year))
    variables = {"id": event}

    # then the reference resolves at its section, by header or by path
    found = {"data": {"urgentActionEvent": {"id": event, "status": "PUBLISHED"}}}
    assert (
        await gateway.post(GATEWAY_REFERENCED_EVENT, variables, headers={"w4r-section": code})
        == found
    )
    assert (
        await gateway.post(GATEWAY_REFERENCED_EVENT, variables, path=f"/s/{code}/graphql") == found
    )

    # and to null at another section and in the global scope (the gateway notes in its
    # extensions that it completed no field of the event)
    elsewhere = await gateway.post(GATEWAY_REFERENCED_EVENT, variables, path=f"/s/{other}/graphql")
    globally = await gateway.post(GATEWAY_REFERENCED_EVENT, variables)
    for answer in (elsewhere, globally):
        assert answer["data"] == {"urgentActionEvent": None}
        assert "errors" not in answer


async def test_a_bad_token_through_the_gateway_is_refused_by_w4r(gateway: Gateway) -> None:
    answer = await gateway.post(
        "{ viewer { role } }", headers={"authorization": "Bearer not-a-token"}
    )
    assert answer["data"] is None
    codes = [error["extensions"]["code"] for error in answer["errors"]]
    assert codes == ["UNAUTHENTICATED"]
