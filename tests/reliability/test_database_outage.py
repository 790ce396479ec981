"""A request that arrives while PostgreSQL is down gets an answer a GraphQL client can read.

Before execution (the caller's key, the section) it is a 503; during execution, the field
that could not reach the database has the error ``DATABASE_UNAVAILABLE`` instead of a masked
``INTERNAL_SERVER_ERROR``, so that a client knows to send it again.

Found by bench/chaos.py: while PostgreSQL restarted, a request whose section had to be looked
up again (the registry reloads every ``W4R_SECTION_CACHE_SECONDS``) failed inside the
endpoint, before GraphQL ran, and got uvicorn's bare ``500 Internal Server Error`` in plain
text. It is now a 503 in the negotiated GraphQL format with the stable code
``DATABASE_UNAVAILABLE`` and ``Retry-After``: nothing ran, so the request may be retried as
it is.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import pytest
from sqlalchemy.exc import DBAPIError

from tests.conftest import GraphQLClient
from w4r.campaigns.service import CampaignService
from w4r.tenants.repository import SectionRepository

SECTION_QUERY = "query { section { code } }"


@pytest.mark.parametrize(
    "failure",
    [
        DBAPIError("SELECT", None, ConnectionRefusedError("connection refused")),
        ConnectionRefusedError(111, "Connection refused"),  # as asyncpg can raise it unwrapped
    ],
    ids=["wrapped", "unwrapped"],
)
async def test_a_request_during_an_outage_is_told_to_retry(
    failure: Exception,
    graphql: GraphQLClient,
    new_section: Callable[..., Awaitable[dict[str, Any]]],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # given a section, and a database that refuses connections
    section = await new_section()

    async def unreachable(*_args: Any, **_kwargs: Any) -> None:
        raise failure

    monkeypatch.setattr(SectionRepository, "registry", unreachable)

    # when an anonymous caller asks the section's endpoint
    response = await graphql.post(SECTION_QUERY, section=section["code"])

    # then the answer is a retryable 503 with a stable code, and the cause is logged
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert response.headers["content-type"].startswith("application/graphql-response+json")
    assert response.json()["errors"][0]["extensions"]["code"] == "DATABASE_UNAVAILABLE"
    assert "the database is unavailable" in caplog.text

    # and once the database is back, the same request is answered
    monkeypatch.undo()
    answered = await graphql.data(SECTION_QUERY, section=section["code"])
    assert answered["section"]["code"] == section["code"]


@pytest.mark.parametrize(
    "failure",
    [
        asyncpg.CannotConnectNowError("the database system is starting up"),
        DBAPIError(
            "SELECT",
            None,
            asyncpg.ConnectionDoesNotExistError("closed"),
            connection_invalidated=True,
        ),
        OSError(104, "Connection reset by peer"),
    ],
    ids=["starting-up", "connection-invalidated", "reset"],
)
async def test_a_field_that_cannot_reach_the_database_says_so(
    failure: Exception, graphql: GraphQLClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a database that goes away while a query runs
    async def unreachable(*_args: Any, **_kwargs: Any) -> None:
        raise failure

    monkeypatch.setattr(CampaignService, "page", unreachable)

    # when a query needs it
    response = await graphql.post("{ campaigns(first: 1) { nodes { year } } }")

    # then its field says the database is unavailable, not an unexpected error
    errors = response.json()["errors"]
    assert [error["extensions"]["code"] for error in errors] == ["DATABASE_UNAVAILABLE"]
    assert errors[0]["path"] == ["campaigns"]
    assert "retry" in errors[0]["message"]


async def test_a_fault_that_is_not_an_outage_stays_masked(
    graphql: GraphQLClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a query whose resolver fails for a reason of its own (a bug, a constraint)
    async def broken(*_args: Any, **_kwargs: Any) -> None:
        raise DBAPIError("SELECT", None, asyncpg.UniqueViolationError("duplicate key"))

    monkeypatch.setattr(CampaignService, "page", broken)

    # when it runs, the fault is masked as unexpected: retrying would not help
    response = await graphql.post("{ campaigns(first: 1) { nodes { year } } }")
    assert [error["extensions"]["code"] for error in response.json()["errors"]] == [
        "INTERNAL_SERVER_ERROR"
    ]
