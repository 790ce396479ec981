"""GraphQL over HTTP: media types, status codes, methods, body limits, health, masking."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from unittest.mock import ANY

import httpx
import pytest
import strawberry
from graphql import GraphQLError

from tests.conftest import SECTION_CODES, SECTION_CREATE, GraphQLClient, section_input, unique_code
from w4r.platform.auth import Role
from w4r.platform.errors import PermissionDeniedError, W4RError
from w4r.platform.migrations import head_revision
from w4r.schema.errors import should_mask_error
from w4r.settings import Settings
from w4r.tenants.service import SectionService

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
JSON = "application/json"
COST = ANY
"""Every executed operation reports its cost (tests/schema/test_cost.py checks the figures)."""

VIEWER_ROLE = "{ viewer { role } }"
UNKNOWN_FIELD = "{ viewer { xyzzy } }"
SYNTAX_ERROR = "{ viewer { role }"
SECTIONS_PAGE_SIZE = "query ($first: Int) { sections(first: $first) { edges { node { code } } } }"
SECTION_NAME = "{ section { code name } }"
UPDATE_THEN_CREATE = """
mutation ($update: SectionUpdateInput!, $create: SectionCreateInput!) {
  sectionUpdate(input: $update) { section { name } errors { code } }
  sectionCreate(input: $create) { section { code } errors { code } }
}
"""


def error_codes(payload: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in payload["errors"]]


# --- media types -------------------------------------------------------------------------


async def test_without_accept_the_response_is_json(
    client: httpx.AsyncClient,
) -> None:
    # given a request with no Accept header at all (httpx adds */* unless removed)
    request = client.build_request("POST", "/graphql", json={"query": VIEWER_ROLE})
    del request.headers["accept"]

    # when it is sent
    response = await client.send(request)

    # then it gets application/json, which a client that names no type can read
    # (the graphql-http audit, docs/protocol.md)
    assert response.status_code == 200
    assert response.headers["content-type"] == JSON
    assert response.json() == {"data": {"viewer": {"role": "ANONYMOUS"}}, "extensions": COST}


async def test_accept_json_gets_json(client: httpx.AsyncClient) -> None:
    # when
    response = await client.post("/graphql", json={"query": VIEWER_ROLE}, headers={"accept": JSON})

    # then
    assert response.status_code == 200
    assert response.headers["content-type"] == JSON
    assert response.json() == {"data": {"viewer": {"role": "ANONYMOUS"}}, "extensions": COST}


@pytest.mark.parametrize(
    ("accept", "status_code"),
    [(JSON, 200), (GRAPHQL_RESPONSE_JSON, 400)],
)
async def test_a_validation_error_is_400_only_with_graphql_response_json(
    client: httpx.AsyncClient, accept: str, status_code: int
) -> None:
    # when a document asks for a field that does not exist
    response = await client.post(
        "/graphql", json={"query": UNKNOWN_FIELD}, headers={"accept": accept}
    )

    # then the status depends on the media type, the body does not
    assert response.status_code == status_code
    assert response.headers["content-type"] == accept
    assert response.json() == {
        "errors": [
            {
                "message": "Cannot query field 'xyzzy' on type 'Viewer'.",
                "locations": [{"line": 1, "column": 12}],
                "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"},
            }
        ]
    }


async def test_a_syntax_error_is_400_parse_failed(client: httpx.AsyncClient) -> None:
    # when
    response = await client.post(
        "/graphql", json={"query": SYNTAX_ERROR}, headers={"accept": GRAPHQL_RESPONSE_JSON}
    )

    # then
    payload = response.json()
    assert response.status_code == 400
    assert response.headers["content-type"] == GRAPHQL_RESPONSE_JSON
    assert "data" not in payload
    assert payload == {
        "errors": [
            {
                "message": "Syntax Error: Expected Name, found <EOF>.",
                "locations": [{"line": 1, "column": 18}],
                "extensions": {"code": "GRAPHQL_PARSE_FAILED"},
            }
        ]
    }


async def test_a_variables_error_is_400_with_graphql_response_json(
    graphql: GraphQLClient,
) -> None:
    # when a declared Int variable gets a string
    response = await graphql.post(SECTIONS_PAGE_SIZE, {"first": "ten"}, role=Role.IS_ADMIN)

    # then the operation never started: a request error
    payload = response.json()
    assert response.status_code == 400
    assert response.headers["content-type"] == GRAPHQL_RESPONSE_JSON
    assert "data" not in payload
    assert [error["message"] for error in payload["errors"]] == [
        "Variable '$first' has invalid value: Int cannot represent non-integer value: 'ten'"
    ]


@pytest.mark.parametrize(
    ("document", "variables"),
    [
        (SYNTAX_ERROR, {}),
        (UNKNOWN_FIELD, {}),
        (SECTIONS_PAGE_SIZE, {"first": "ten"}),
    ],
    ids=["parse", "validation", "variables"],
)
async def test_every_request_error_carries_a_code(
    graphql: GraphQLClient, document: str, variables: dict[str, Any]
) -> None:
    # when a parse, validation or variables error is returned
    response = await graphql.post(document, variables, role=Role.IS_ADMIN)

    # then each error has a machine-readable code, like every other refusal
    assert response.status_code == 400
    assert all("code" in error.get("extensions", {}) for error in response.json()["errors"])


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        (f"{JSON};q=0.9, {GRAPHQL_RESPONSE_JSON};q=0.1", JSON),
        (f"{JSON};q=0.1, {GRAPHQL_RESPONSE_JSON};q=0.9", GRAPHQL_RESPONSE_JSON),
        (f"{GRAPHQL_RESPONSE_JSON}, {JSON}", GRAPHQL_RESPONSE_JSON),
        (f"{JSON}, {GRAPHQL_RESPONSE_JSON}", JSON),
        (f"{GRAPHQL_RESPONSE_JSON};q=0, {JSON}", JSON),
        ("text/html, */*;q=0.8", JSON),
        ("application/*", JSON),
        (f"*/*, {GRAPHQL_RESPONSE_JSON}", JSON),
        (f"*/*;q=0.5, {GRAPHQL_RESPONSE_JSON}", GRAPHQL_RESPONSE_JSON),
    ],
)
async def test_accept_q_values_are_honoured(
    client: httpx.AsyncClient, accept: str, media_type: str
) -> None:
    # when
    response = await client.post(
        "/graphql", json={"query": VIEWER_ROLE}, headers={"accept": accept}
    )

    # then
    assert response.status_code == 200
    assert response.headers["content-type"] == media_type
    assert response.json() == {"data": {"viewer": {"role": "ANONYMOUS"}}, "extensions": COST}


@pytest.mark.parametrize("accept", ["text/plain", f"{GRAPHQL_RESPONSE_JSON};q=0, text/plain"])
async def test_an_unacceptable_accept_is_406(client: httpx.AsyncClient, accept: str) -> None:
    # when
    response = await client.post(
        "/graphql", json={"query": VIEWER_ROLE}, headers={"accept": accept}
    )

    # then
    assert response.status_code == 406
    assert response.headers["content-type"] == JSON
    assert response.json() == {
        "errors": [
            {
                "message": f"Accept {GRAPHQL_RESPONSE_JSON} or {JSON}.",
                "extensions": {"code": "NOT_ACCEPTABLE"},
            }
        ]
    }


# --- methods -----------------------------------------------------------------------------


async def test_a_query_works_over_get(client: httpx.AsyncClient) -> None:
    # when
    response = await client.get(
        "/graphql", params={"query": VIEWER_ROLE}, headers={"accept": GRAPHQL_RESPONSE_JSON}
    )

    # then
    assert response.status_code == 200
    assert response.headers["content-type"] == GRAPHQL_RESPONSE_JSON
    assert response.json() == {"data": {"viewer": {"role": "ANONYMOUS"}}, "extensions": COST}


async def test_a_mutation_over_get_is_405_and_writes_nothing(
    client: httpx.AsyncClient, graphql: GraphQLClient, token_for: Callable[..., str]
) -> None:
    # given an IS admin, who could create a section over POST
    code = unique_code()

    # when the mutation is sent over GET
    response = await client.get(
        "/graphql",
        params={
            "query": SECTION_CREATE,
            "variables": json.dumps({"input": section_input(code)}),
        },
        headers={
            "accept": GRAPHQL_RESPONSE_JSON,
            "authorization": f"Bearer {token_for(Role.IS_ADMIN)}",
        },
    )

    # then it is refused with 405 and an Allow header
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json() == {
        "errors": [
            {
                "message": "mutations are not allowed when using GET",
                "extensions": {"code": "METHOD_NOT_ALLOWED"},
            }
        ]
    }
    # and no section was created
    assert code not in await graphql.section_codes()


async def test_a_head_request_is_405_allowing_get_and_post(client: httpx.AsyncClient) -> None:
    # when
    response = await client.head(
        "/graphql", params={"query": VIEWER_ROLE}, headers={"accept": GRAPHQL_RESPONSE_JSON}
    )

    # then the Allow header lists both methods the endpoint serves
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"


# --- request bodies ----------------------------------------------------------------------


async def test_batching_is_refused(client: httpx.AsyncClient) -> None:
    # when a JSON list of two operations is posted
    response = await client.post(
        "/graphql",
        json=[{"query": VIEWER_ROLE}, {"query": VIEWER_ROLE}],
        headers={"accept": GRAPHQL_RESPONSE_JSON},
    )

    # then
    assert response.status_code == 400
    assert response.json() == {
        "errors": [{"message": "Batching is not enabled", "extensions": {"code": "BAD_REQUEST"}}]
    }


async def test_a_batch_of_mutations_writes_nothing(
    client: httpx.AsyncClient, graphql: GraphQLClient, token_for: Callable[..., str]
) -> None:
    # given two section creations in one batch, sent by an IS admin
    codes = [unique_code(), unique_code()]
    batch = [{"query": SECTION_CREATE, "variables": {"input": section_input(c)}} for c in codes]

    # when
    response = await client.post(
        "/graphql",
        json=batch,
        headers={
            "accept": GRAPHQL_RESPONSE_JSON,
            "authorization": f"Bearer {token_for(Role.IS_ADMIN)}",
        },
    )

    # then
    assert response.status_code == 400
    assert error_codes(response.json()) == ["BAD_REQUEST"]
    assert not set(codes) & await graphql.section_codes()


@pytest.mark.parametrize(
    ("content", "content_type", "message"),
    [
        (b"{ viewer { role } }", JSON, "Unable to parse the request as UTF-8 JSON."),
        (b'{"query": ', JSON, "Unable to parse the request as UTF-8 JSON."),
        (b"{ viewer { role } }", "application/graphql", "Unsupported content type"),
        (b"{ viewer { role } }", "text/plain", "Unsupported content type"),
        (b"query=%7B+viewer+%7D", "application/x-www-form-urlencoded", "Unsupported content type"),
    ],
)
async def test_a_body_that_is_not_a_json_request_is_400(
    client: httpx.AsyncClient, content: bytes, content_type: str, message: str
) -> None:
    # when
    response = await client.post(
        "/graphql",
        content=content,
        headers={"content-type": content_type, "accept": GRAPHQL_RESPONSE_JSON},
    )

    # then
    assert response.status_code == 400
    assert response.headers["content-type"] == GRAPHQL_RESPONSE_JSON
    assert response.json() == {
        "errors": [{"message": message, "extensions": {"code": "BAD_REQUEST"}}]
    }


@pytest.mark.parametrize("content", [b"42", b'"{ viewer { role } }"', b"null", b"true"])
async def test_a_json_body_that_is_not_an_object_is_400(
    client: httpx.AsyncClient, content: bytes
) -> None:
    # when the body is valid JSON but not a request object
    response = await client.post(
        "/graphql",
        content=content,
        headers={"content-type": JSON, "accept": GRAPHQL_RESPONSE_JSON},
    )

    # then it is a client error, not a server error
    assert response.status_code == 400
    assert response.headers["content-type"] == GRAPHQL_RESPONSE_JSON
    assert error_codes(response.json()) == ["BAD_REQUEST"]


async def test_a_body_that_is_not_utf8_is_400(client: httpx.AsyncClient) -> None:
    # when
    response = await client.post(
        "/graphql",
        content=b'{"query": "\xff\xfe"}',
        headers={"content-type": JSON, "accept": GRAPHQL_RESPONSE_JSON},
    )

    # then
    assert response.status_code == 400
    assert error_codes(response.json()) == ["BAD_REQUEST"]


def padded_body(document: str, variables: dict[str, Any], size: int) -> bytes:
    """A JSON request body padded with trailing whitespace to exactly ``size`` bytes."""
    body = json.dumps({"query": document, "variables": variables}).encode()
    assert len(body) <= size
    return body + b" " * (size - len(body))


async def test_a_body_over_the_limit_is_413_and_writes_nothing(
    client: httpx.AsyncClient,
    graphql: GraphQLClient,
    settings: Settings,
    token_for: Callable[..., str],
) -> None:
    # given a valid section creation padded to one byte over the limit
    code = unique_code()
    content = padded_body(
        SECTION_CREATE, {"input": section_input(code)}, settings.max_request_bytes + 1
    )

    # when it is posted by an IS admin
    response = await client.post(
        "/graphql",
        content=content,
        headers={
            "content-type": JSON,
            "accept": GRAPHQL_RESPONSE_JSON,
            "authorization": f"Bearer {token_for(Role.IS_ADMIN)}",
        },
    )

    # then
    assert response.status_code == 413
    assert response.headers["content-type"] == GRAPHQL_RESPONSE_JSON
    assert response.json() == {
        "errors": [
            {
                "message": f"The request body exceeds {settings.max_request_bytes} bytes.",
                "extensions": {"code": "PAYLOAD_TOO_LARGE"},
            }
        ]
    }
    assert code not in await graphql.section_codes()


async def test_a_streamed_body_over_the_limit_is_413_without_content_length(
    client: httpx.AsyncClient,
    graphql: GraphQLClient,
    settings: Settings,
    token_for: Callable[..., str],
) -> None:
    # given the same oversized body sent in chunks, with no Content-Length
    code = unique_code()
    content = padded_body(
        SECTION_CREATE, {"input": section_input(code)}, settings.max_request_bytes + 1
    )

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(content), 64 * 1024):
            yield content[start : start + 64 * 1024]

    # when
    response = await client.post(
        "/graphql",
        content=chunks(),
        headers={
            "content-type": JSON,
            "accept": GRAPHQL_RESPONSE_JSON,
            "authorization": f"Bearer {token_for(Role.IS_ADMIN)}",
        },
    )

    # then
    assert response.request.headers.get("content-length") is None
    assert response.status_code == 413
    assert error_codes(response.json()) == ["PAYLOAD_TOO_LARGE"]
    assert code not in await graphql.section_codes()


async def test_a_body_of_exactly_the_limit_is_served(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    # given a body of exactly max_request_bytes
    content = padded_body(VIEWER_ROLE, {}, settings.max_request_bytes)

    # when
    response = await client.post(
        "/graphql",
        content=content,
        headers={"content-type": JSON, "accept": GRAPHQL_RESPONSE_JSON},
    )

    # then
    assert len(content) == settings.max_request_bytes
    assert response.status_code == 200
    assert response.json() == {"data": {"viewer": {"role": "ANONYMOUS"}}, "extensions": COST}


# --- the unit of work --------------------------------------------------------------------


async def test_a_top_level_error_rolls_back_the_whole_operation(
    graphql: GraphQLClient, new_section: Callable[..., Awaitable[dict[str, Any]]]
) -> None:
    # given a section, and its admin
    section = await new_section(name="Before")
    code = section["code"]
    other_code = unique_code()

    # when the admin renames it (allowed) and creates a section (forbidden) in one operation
    response = await graphql.post(
        UPDATE_THEN_CREATE,
        {"update": {"code": code, "name": "After"}, "create": section_input(other_code)},
        role=Role.SECTION_ADMIN,
        token_section=code,
        section=code,
    )

    # then the refusal is a field error, so the status is 200 with data null
    payload = response.json()
    assert response.status_code == 200
    assert payload["data"] is None
    assert [(error["path"], error["extensions"]["code"]) for error in payload["errors"]] == [
        (["sectionCreate"], "FORBIDDEN")
    ]
    # and the allowed rename was rolled back with it
    data = await graphql.data(SECTION_NAME, role=Role.IS_ADMIN, section=code)
    assert data == {"section": {"code": code, "name": "Before"}}
    assert other_code not in await graphql.section_codes()


# --- health ------------------------------------------------------------------------------


async def test_healthz(client: httpx.AsyncClient) -> None:
    # when
    response = await client.get("/healthz")

    # then
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_reports_the_migration_head(client: httpx.AsyncClient) -> None:
    # given
    head = head_revision()

    # when
    response = await client.get("/readyz")

    # then
    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "database": "ok",
        "migrations": {"current": head, "head": head},
    }


# --- masking -----------------------------------------------------------------------------


class _BadInputError(W4RError):
    pass


@pytest.mark.parametrize(
    ("error", "masked"),
    [
        (GraphQLError("boom", original_error=RuntimeError("secret")), True),
        (GraphQLError("boom", original_error=KeyError("secret")), True),
        (GraphQLError("refused", original_error=PermissionDeniedError("no")), False),
        (GraphQLError("refused", original_error=_BadInputError("no")), False),
        (GraphQLError("wrapped", original_error=GraphQLError("inner")), False),
        (GraphQLError("plain"), False),
        (
            GraphQLError("typed", original_error=strawberry.exceptions.StrawberryGraphQLError("x")),
            False,
        ),
    ],
)
def test_only_unexpected_errors_are_masked(error: GraphQLError, masked: bool) -> None:
    assert should_mask_error(error) is masked


async def test_an_unexpected_error_is_masked_over_http(
    graphql: GraphQLClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a resolver that fails unexpectedly with a secret in its message
    async def broken_page(self: SectionService, *, after_code: str | None, limit: int) -> Any:
        raise RuntimeError("password=hunter2")

    monkeypatch.setattr(SectionService, "page", broken_page)

    # when
    response = await graphql.post(SECTION_CODES, {"after": None}, role=Role.IS_ADMIN)

    # then the caller sees a generic message and an INTERNAL_SERVER_ERROR code only
    payload = response.json()
    assert response.status_code == 200
    assert payload == {
        "data": None,
        "extensions": COST,
        "errors": [
            {
                "message": "Unexpected error.",
                "locations": [{"line": 3, "column": 3}],
                "path": ["sections"],
                "extensions": {"code": "INTERNAL_SERVER_ERROR"},
            }
        ],
    }
    assert "hunter2" not in response.text
