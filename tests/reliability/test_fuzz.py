"""Property-based fuzzing of the GraphQL API, in process.

schemathesis (its GraphQL support, built on hypothesis-graphql) generates documents from
the real schema, one root field per document: valid queries and mutations with arbitrary
arguments, and invalid ones (wrong types, missing required arguments). Each is posted
through the real app as one kind of caller. Whatever comes in: no HTTP 500, no error that
is a masked fault or a raw Python exception text, and a request that was refused or answered
with errors wrote nothing.

The oracle is this module's, not schemathesis's ``not_a_server_error``: that check counts
every error with a ``path`` as a server fault, while w4r answers a refusal of one field (a
caller without the role, an unknown id) as a field error with a stable code, as the GraphQL
specification has it (docs/permissions.md).
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import graphql
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.graphql import nodes
from schemathesis.specs.graphql.schemas import GraphQLSchema
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import SECTION_CREATE, GraphQLClient, section_input, unique_code
from w4r.platform.auth import Role
from w4r.schema.api import build_schema
from w4r.settings import Settings

ALLOWED_STATUSES = frozenset({200, 400, 401, 403, 413, 429})
RAW_EXCEPTION = re.compile(
    r"Traceback|File \"|\b(?:[A-Z]\w*(?:Error|Exception)|KeyError|StopIteration)\b\s*:|"
    r"NoneType|object has no attribute|unexpected keyword argument|positional argument|"
    r"asyncpg|sqlalchemy|psycopg|\bSQL\b|not subscriptable|object is not|"
    r"invalid literal for|unhashable type|\.py\b",
)
EXAMPLES = 75
"""Per caller. Each example digests every table before and after, and late in a full run
the tables are large: 75 keeps a caller under about 15 seconds on a small machine."""

# The scalars w4r adds, as GraphQL value nodes: valid-looking values and plain junk.
JUNK = st.text(max_size=12).map(nodes.String)
CUSTOM_SCALARS = {
    "UUID": st.one_of(st.uuids().map(nodes.String), JUNK),
    "Date": st.one_of(
        st.dates(min_value=datetime.date(1900, 1, 1)).map(nodes.String),
        JUNK,
        st.integers().map(nodes.Int),
    ),
    "DateTime": st.one_of(
        st.datetimes(timezones=st.just(datetime.UTC)).map(
            lambda value: nodes.String(value.isoformat())
        ),
        JUNK,
    ),
    "JSON": st.one_of(
        st.dictionaries(st.text(max_size=5), st.integers(), max_size=3).map(
            lambda value: nodes.String(json.dumps(value))
        ),
        st.integers().map(nodes.Int),
        JUNK,
    ),
    "_Any": JUNK,
    "_FieldSet": JUNK,
    "link__Import": JUNK,
}


@dataclass(frozen=True)
class Caller:
    """Who calls, and at which endpoint."""

    name: str
    role: Role | None
    section_endpoint: bool
    token_section: bool


CALLERS = [
    Caller("anonymous at the IS endpoint", None, section_endpoint=False, token_section=False),
    Caller("anonymous at a section", None, section_endpoint=True, token_section=False),
    Caller("section admin", Role.SECTION_ADMIN, section_endpoint=True, token_section=True),
    Caller("IS analyst", Role.IS_ANALYST, section_endpoint=False, token_section=False),
]


def api_schema() -> GraphQLSchema:
    """The served schema as schemathesis sees it (introspected), with a strategy for each
    scalar w4r adds. Every query and mutation root field is one of its operations."""
    served: graphql.GraphQLSchema = build_schema(Settings(_env_file=None))._schema
    for name, strategy in CUSTOM_SCALARS.items():
        schemathesis.graphql.scalar(name, strategy)
    introspection: dict[str, Any] = dict(graphql.introspection_from_schema(served))
    return schemathesis.graphql.from_dict(introspection)


SCHEMA = api_schema()


def cases() -> st.SearchStrategy[schemathesis.Case[Any]]:
    """Valid and invalid documents of one root field each (so that one refusal means no
    write at all), over every operation alike."""
    return st.one_of(
        SCHEMA.as_strategy(GenerationMode.POSITIVE),
        SCHEMA.as_strategy(GenerationMode.NEGATIVE),
    )


@pytest.fixture(scope="module")
async def fuzz_section(module_graphql: GraphQLClient) -> str:
    """A section of the fuzz tests' own: the section admin's token is bound to it."""
    code = unique_code()
    data = await module_graphql.data(
        SECTION_CREATE, {"input": section_input(code)}, role=Role.IS_ADMIN
    )
    assert data["sectionCreate"]["errors"] == [], data
    return code


@pytest.fixture(scope="module")
async def watched_tables(owner_engine: AsyncEngine) -> AsyncIterator[list[str]]:
    """Every table the app writes: parents only (a partitioned table counts its partitions).
    The audit log is watched apart: it keeps refused requests too, by design."""
    async with owner_engine.connect() as connection:
        rows = await connection.execute(
            text(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')"
                " AND NOT c.relispartition AND c.relname NOT IN ('alembic_version', 'audit_log')"
                " ORDER BY c.relname"
            )
        )
        yield [row[0] for row in rows]


async def snapshot(engine: AsyncEngine, tables: list[str]) -> dict[str, tuple[int, int]]:
    """Per table: its row count and a digest of every row (updates show as well); and the
    audit log's count of successful mutations (a refused one is audited as refused)."""
    query = " UNION ALL ".join(
        [
            f"SELECT '{name}', count(*), coalesce(sum(hashtextextended(t::text, 0)), 0)"
            f' FROM public."{name}" t'
            for name in tables
        ]
        + ["SELECT 'audit_log (ok)', count(*), 0 FROM public.audit_log WHERE outcome = 'ok'"]
    )
    async with engine.connect() as connection:
        rows = await connection.execute(text(query))
        return {row[0]: (row[1], int(row[2])) for row in rows}


def refused_or_erroneous(status: int, payload: Any) -> bool:
    """Whether the request was refused, or any part of its answer is an error."""
    if status != 200 or not isinstance(payload, dict) or payload.get("errors"):
        return True
    return any(_has_user_errors(value) for value in (payload.get("data") or {}).values())


def _has_user_errors(value: Any) -> bool:
    return isinstance(value, dict) and bool(value.get("errors"))


def error_messages(payload: Any) -> list[tuple[str, Any]]:
    """Each top-level error's message and code, and each payload error's message and code."""
    found: list[tuple[str, Any]] = []
    if not isinstance(payload, dict):
        return found
    for error in payload.get("errors") or []:
        found.append((error.get("message", ""), (error.get("extensions") or {}).get("code")))
    for value in (payload.get("data") or {}).values():
        if _has_user_errors(value):
            found.extend(
                (error.get("message") or "", error.get("code")) for error in value["errors"]
            )
    return found


@pytest.mark.parametrize("caller", CALLERS, ids=[caller.name for caller in CALLERS])
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(case=cases())
async def test_no_fault_no_leak_no_write_from_refusals(
    caller: Caller,
    case: schemathesis.Case[Any],
    module_graphql: GraphQLClient,
    fuzz_section: str,
    owner_engine: AsyncEngine,
    watched_tables: list[str],
) -> None:
    # given the state of every table
    before = await snapshot(owner_engine, watched_tables)

    # when a generated document is posted as the caller
    document = case.body
    assert isinstance(document, str), case
    response = await module_graphql.post(
        document,
        role=caller.role,
        token_section=fuzz_section if caller.token_section else None,
        section=fuzz_section if caller.section_endpoint else None,
    )

    # then the answer is a refusal or an answer, never a fault
    assert response.status_code in ALLOWED_STATUSES, (response.status_code, response.text)
    assert "Traceback" not in response.text, response.text
    payload = response.json()
    for message, code in error_messages(payload):
        assert code != "INTERNAL_SERVER_ERROR", (document, payload)
        assert message != "Unexpected error.", (document, payload)
        assert not RAW_EXCEPTION.search(message), (document, message)
    # and a refused request, or one answered with errors, wrote nothing
    if refused_or_erroneous(response.status_code, payload):
        after = await snapshot(owner_engine, watched_tables)
        changed = {name for name in before if before[name] != after.get(name)}
        assert not changed, (document, payload, changed)
