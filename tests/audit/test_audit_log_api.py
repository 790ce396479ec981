"""The audit log through the real app (HTTP, real database): what each request writes, and
who reads it.

Each request carries its own ``X-Request-ID``, so a test finds exactly the rows of its own
requests (read as the owner, past row-level security) while other tests write theirs.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import GraphQLClient, unique_code
from w4r.audit.repository import AuditRepository
from w4r.platform.auth import Role
from w4r.tenants.service import MemberService

NewSection = Callable[..., Awaitable[dict[str, Any]]]

USER_AGENT = "audit-test/1.0"

MEMBER_ADD = """
mutation ($input: SectionMemberAddInput!) {
  sectionMemberAdd(input: $input) { member { id } errors { field code } }
}
"""
MEMBER_ADD_AND_SECTION_CREATE = """
mutation ($member: SectionMemberAddInput!, $section: SectionCreateInput!) {
  sectionMemberAdd(input: $member) { member { id } errors { code } }
  sectionCreate(input: $section) { section { id } errors { code } }
}
"""
SECTION_CREATE = """
mutation ($input: SectionCreateInput!) {
  sectionCreate(input: $input) { section { id } errors { code } }
}
"""
MEMBERS = """
query { section { members(first: 10) { edges { node { id } } } } }
"""
PUBLIC_READS = """
query {
  viewer { role }
  section { code name hosts }
  campaigns(first: 5) { edges { node { year } } }
  cases(first: 5) { edges { node { slug } } }
  events(first: 5) { edges { node { id } } }
}
"""
ACTION_RECORD = """
mutation ($input: ActionRecordInput!) {
  actionRecord(input: $input) { errors { code } }
}
"""
AUDIT_LOG = """
query ($first: Int, $after: String, $filter: AuditLogFilter) {
  auditLog(first: $first, after: $after, filter: $filter) {
    edges {
      node {
        id occurredAt sectionId actorRole actorSubject apiKeyId action outcome errorCodes
        targetIds clientIp requestId userAgent
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}
"""

ROW_COLUMNS = (
    "section_id, actor_role, actor_subject, api_key_id, action, outcome, error_codes, "
    "target_ids, host(client_ip) as client_ip, request_id, user_agent"
)


def caller(
    graphql: GraphQLClient,
    role: Role | None,
    *,
    code: str | None = None,
    subject: str | None = None,
    request_id: str,
) -> dict[str, Any]:
    """``GraphQLClient.post`` options: ``role`` (of section ``code``, at its endpoint) with
    its own token subject, and the request's id and user agent."""
    headers = {"x-request-id": request_id, "user-agent": USER_AGENT}
    if role is not None:
        token = graphql.token_for(
            role, code if role not in _GLOBAL_ROLES else None, subject=subject
        )
        headers["authorization"] = f"Bearer {token}"
    return {"section": code, "headers": headers}


_GLOBAL_ROLES = {Role.IS_ADMIN, Role.IS_ANALYST}


def request_id() -> str:
    return "audit-" + uuid.uuid4().hex


async def audit_rows(owner_engine: AsyncEngine, request: str) -> list[dict[str, Any]]:
    """The audit rows a request wrote, oldest first (read as the owner, past RLS)."""
    async with owner_engine.connect() as connection:
        result = await connection.execute(
            text(
                f"select {ROW_COLUMNS} from audit_log where request_id = :request "
                "order by occurred_at, id"
            ),
            {"request": request},
        )
        return [dict(row._mapping) for row in result]


def member_input(**overrides: Any) -> dict[str, Any]:
    return {
        "email": f"{uuid.uuid4().hex[:8]}@example.org",
        "displayName": "Grace Hopper",
        "role": "SECTION_EDITOR",
        **overrides,
    }


def row(**values: Any) -> dict[str, Any]:
    """An expected audit row: the test client's address and user agent, no key, no codes."""
    return {
        "api_key_id": None,
        "error_codes": [],
        "target_ids": [],
        "client_ip": "127.0.0.1",
        "user_agent": USER_AGENT,
        **values,
    }


async def test_a_staff_mutation_writes_one_row_of_who_what_when_and_where(
    graphql: GraphQLClient, new_section: NewSection, owner_engine: AsyncEngine
) -> None:
    # given a section and its admin
    section = await new_section()
    request = request_id()
    before = datetime.now(UTC)

    # when the admin adds a member
    response = await graphql.post(
        MEMBER_ADD,
        {"input": member_input()},
        **caller(
            graphql, Role.SECTION_ADMIN, code=section["code"], subject="ada", request_id=request
        ),
    )

    # then one row says who did what to which member, from where
    member_id = response.json()["data"]["sectionMemberAdd"]["member"]["id"]
    assert response.headers["x-request-id"] == request
    assert await audit_rows(owner_engine, request) == [
        row(
            section_id=uuid.UUID(section["id"]),
            actor_role="section-admin",
            actor_subject="ada",
            action="mutation:sectionMemberAdd",
            outcome="ok",
            target_ids=[uuid.UUID(member_id)],
            request_id=request,
        )
    ]
    async with owner_engine.connect() as connection:
        occurred_at = (
            await connection.execute(
                text("select occurred_at from audit_log where request_id = :r"), {"r": request}
            )
        ).scalar_one()
    assert before <= occurred_at <= datetime.now(UTC)


async def test_a_refused_mutation_is_recorded_as_forbidden(
    graphql: GraphQLClient, new_section: NewSection, owner_engine: AsyncEngine
) -> None:
    # given a section editor, and an IS analyst in the global scope
    section = await new_section()
    editor_request, analyst_request = request_id(), request_id()

    # when each tries a mutation the matrix refuses them
    refused_editor = await graphql.post(
        MEMBER_ADD,
        {"input": member_input()},
        **caller(
            graphql,
            Role.SECTION_EDITOR,
            code=section["code"],
            subject="ed",
            request_id=editor_request,
        ),
    )
    refused_analyst = await graphql.post(
        SECTION_CREATE,
        {
            "input": {
                "code": unique_code(),
                "name": "X",
                "country": "GB",
                "languages": ["en"],
                "timeZone": "UTC",
            }
        },
        **caller(graphql, Role.IS_ANALYST, subject="an", request_id=analyst_request),
    )

    # then both are refused and recorded as such, the analyst's in the global scope
    assert refused_editor.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert refused_analyst.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await audit_rows(owner_engine, editor_request) == [
        row(
            section_id=uuid.UUID(section["id"]),
            actor_role="section-editor",
            actor_subject="ed",
            action="mutation:sectionMemberAdd",
            outcome="forbidden",
            request_id=editor_request,
        )
    ]
    assert await audit_rows(owner_engine, analyst_request) == [
        row(
            section_id=None,
            actor_role="is-analyst",
            actor_subject="an",
            action="mutation:sectionCreate",
            outcome="forbidden",
            request_id=analyst_request,
        )
    ]


async def test_a_mutation_with_payload_errors_is_recorded_with_their_codes(
    graphql: GraphQLClient, new_section: NewSection, owner_engine: AsyncEngine
) -> None:
    section = await new_section()
    request = request_id()

    response = await graphql.post(
        MEMBER_ADD,
        {"input": member_input(email="not an email", displayName="")},
        **caller(
            graphql, Role.SECTION_ADMIN, code=section["code"], subject="ada", request_id=request
        ),
    )

    codes = sorted(
        {error["code"] for error in response.json()["data"]["sectionMemberAdd"]["errors"]}
    )
    assert codes  # the input was refused with payload errors
    assert await audit_rows(owner_engine, request) == [
        row(
            section_id=uuid.UUID(section["id"]),
            actor_role="section-admin",
            actor_subject="ada",
            action="mutation:sectionMemberAdd",
            outcome="user-error",
            error_codes=codes,
            request_id=request,
        )
    ]


async def test_a_mutation_that_fails_unexpectedly_is_recorded_as_failed(
    graphql: GraphQLClient,
    new_section: NewSection,
    owner_engine: AsyncEngine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given a member service that breaks
    section = await new_section()
    request = request_id()

    async def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("the directory is down")

    monkeypatch.setattr(MemberService, "add", broken)

    # when an admin adds a member
    response = await graphql.post(
        MEMBER_ADD,
        {"input": member_input()},
        **caller(
            graphql, Role.SECTION_ADMIN, code=section["code"], subject="ada", request_id=request
        ),
    )

    # then the caller gets the masked error and the log says the mutation failed
    assert response.json()["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert await audit_rows(owner_engine, request) == [
        row(
            section_id=uuid.UUID(section["id"]),
            actor_role="section-admin",
            actor_subject="ada",
            action="mutation:sectionMemberAdd",
            outcome="failed",
            request_id=request,
        )
    ]


async def test_a_mutation_undone_by_a_refusal_in_the_same_request_is_recorded_as_failed(
    graphql: GraphQLClient, new_section: NewSection, owner_engine: AsyncEngine
) -> None:
    # given a section admin who sends a member addition and a section creation together
    section = await new_section()
    request = request_id()
    email = f"{uuid.uuid4().hex[:8]}@example.org"

    # when the creation is refused, the whole request rolls back
    response = await graphql.post(
        MEMBER_ADD_AND_SECTION_CREATE,
        {
            "member": member_input(email=email),
            "section": {
                "code": unique_code(),
                "name": "X",
                "country": "GB",
                "languages": ["en"],
                "timeZone": "UTC",
            },
        },
        **caller(
            graphql, Role.SECTION_ADMIN, code=section["code"], subject="ada", request_id=request
        ),
    )

    # then no member was kept, and the log says so: failed, then forbidden
    assert response.json()["errors"][0]["path"] == ["sectionCreate"]
    async with owner_engine.connect() as connection:
        kept = (
            await connection.execute(
                text("select count(*) from section_members where email = :email"), {"email": email}
            )
        ).scalar_one()
    assert kept == 0
    rows = await audit_rows(owner_engine, request)
    assert [(each["action"], each["outcome"]) for each in rows] == [
        ("mutation:sectionMemberAdd", "failed"),
        ("mutation:sectionCreate", "forbidden"),
    ]


async def test_reading_members_writes_one_personal_data_row_with_every_id(
    graphql: GraphQLClient, new_section: NewSection, owner_engine: AsyncEngine
) -> None:
    # given a section with two members
    section = await new_section()
    code = section["code"]
    for _ in range(2):
        await graphql.post(
            MEMBER_ADD,
            {"input": member_input()},
            **caller(graphql, Role.SECTION_ADMIN, code=code, request_id=request_id()),
        )
    request = request_id()

    # when its admin reads the members
    response = await graphql.post(
        MEMBERS, **caller(graphql, Role.SECTION_ADMIN, code=code, subject="ada", request_id=request)
    )

    # then one row names every member read
    edges = response.json()["data"]["section"]["members"]["edges"]
    ids = [uuid.UUID(edge["node"]["id"]) for edge in edges]
    assert len(ids) == 2
    assert await audit_rows(owner_engine, request) == [
        row(
            section_id=uuid.UUID(section["id"]),
            actor_role="section-admin",
            actor_subject="ada",
            action="read:Section.members",
            outcome="ok",
            target_ids=ids,
            request_id=request,
        )
    ]


async def test_anonymous_and_public_reads_and_public_writes_write_nothing(
    graphql: GraphQLClient, new_section: NewSection, owner_engine: AsyncEngine
) -> None:
    section = await new_section()
    code = section["code"]
    requests = [request_id() for _ in range(4)]

    # when the public reads and writes, and staff read public data only
    await graphql.post(PUBLIC_READS, **caller(graphql, None, code=code, request_id=requests[0]))
    await graphql.post(
        ACTION_RECORD,
        {
            "input": {
                "campaign": 1999,
                "caseId": str(uuid.uuid4()),
                "actionType": "LETTER",
                "idempotencyKey": str(uuid.uuid4()),
                "clientId": "browser",
            }
        },
        **caller(graphql, None, code=code, request_id=requests[1]),
    )
    await graphql.post(
        PUBLIC_READS, **caller(graphql, Role.PARTNER_APP, code=code, request_id=requests[2])
    )
    await graphql.post(
        PUBLIC_READS, **caller(graphql, Role.SECTION_ADMIN, code=code, request_id=requests[3])
    )

    # then none of them wrote a row
    for request in requests:
        assert await audit_rows(owner_engine, request) == []


async def admin_mutation(graphql: GraphQLClient, code: str, subject: str) -> str:
    """A member added by the section's admin ``subject``; the request's id."""
    request = request_id()
    response = await graphql.post(
        MEMBER_ADD,
        {"input": member_input()},
        **caller(graphql, Role.SECTION_ADMIN, code=code, subject=subject, request_id=request),
    )
    assert response.json()["data"]["sectionMemberAdd"]["errors"] == []
    return request


async def read_log(
    graphql: GraphQLClient, role: Role, code: str | None, **variables: Any
) -> list[dict[str, Any]]:
    response = await graphql.post(
        AUDIT_LOG,
        {"first": 100, **variables},
        **caller(graphql, role, code=code, request_id=request_id()),
    )
    payload = response.json()
    assert "errors" not in payload, payload
    return [edge["node"] for edge in payload["data"]["auditLog"]["edges"]]


async def test_a_section_admin_sees_its_own_sections_rows_only(
    graphql: GraphQLClient, new_section: NewSection
) -> None:
    # given two sections whose admins each changed something
    first, second = await new_section(), await new_section()
    subject = "shared-" + uuid.uuid4().hex[:6]
    first_request = await admin_mutation(graphql, first["code"], subject)
    second_request = await admin_mutation(graphql, second["code"], subject)

    # when the first section's admin reads the log (asking for that subject's rows)
    seen = await read_log(
        graphql, Role.SECTION_ADMIN, first["code"], filter={"actorSubject": subject}
    )

    # then only the first section's rows are there
    assert [(node["requestId"], node["sectionId"]) for node in seen] == [
        (first_request, first["id"])
    ]
    # and an IS admin in the global scope sees both, newest first
    everything = await read_log(graphql, Role.IS_ADMIN, None, filter={"actorSubject": subject})
    assert [node["requestId"] for node in everything] == [second_request, first_request]
    assert everything[0]["action"] == "mutation:sectionMemberAdd"
    assert everything[0]["outcome"] == "OK"


async def test_reading_the_log_is_itself_recorded(
    graphql: GraphQLClient, new_section: NewSection, owner_engine: AsyncEngine
) -> None:
    section = await new_section()
    subject = "reader-" + uuid.uuid4().hex[:6]
    written = await admin_mutation(graphql, section["code"], subject)
    request = request_id()

    response = await graphql.post(
        AUDIT_LOG,
        {"first": 10, "filter": {"actorSubject": subject}},
        **caller(
            graphql, Role.SECTION_ADMIN, code=section["code"], subject="auditor", request_id=request
        ),
    )

    (node,) = [edge["node"] for edge in response.json()["data"]["auditLog"]["edges"]]
    assert node["requestId"] == written
    assert [
        (each["action"], each["target_ids"]) for each in await audit_rows(owner_engine, request)
    ] == [("read:Query.auditLog", [uuid.UUID(node["id"])])]


async def test_the_log_pages_and_filters(graphql: GraphQLClient, new_section: NewSection) -> None:
    # given three changes by one admin
    section = await new_section()
    code = section["code"]
    subject = "pager-" + uuid.uuid4().hex[:6]
    requests = [await admin_mutation(graphql, code, subject) for _ in range(3)]
    mine = {"actorSubject": subject, "action": "mutation:sectionMemberAdd"}

    # when it is read two at a time
    first_page = await graphql.data(
        AUDIT_LOG,
        {"first": 2, "filter": mine},
        **caller(graphql, Role.SECTION_ADMIN, code=code, request_id=request_id()),
    )
    cursor = first_page["auditLog"]["pageInfo"]["endCursor"]
    second_page = await graphql.data(
        AUDIT_LOG,
        {"first": 2, "after": cursor, "filter": mine},
        **caller(graphql, Role.SECTION_ADMIN, code=code, request_id=request_id()),
    )

    # then the pages hold the three, newest first, and no more
    pages = [first_page["auditLog"], second_page["auditLog"]]
    assert [[edge["node"]["requestId"] for edge in page["edges"]] for page in pages] == [
        [requests[2], requests[1]],
        [requests[0]],
    ]
    assert [page["pageInfo"]["hasNextPage"] for page in pages] == [True, False]
    # and time filters cut it: nothing before an hour ago's end, everything since then
    hour_ago = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    assert (
        await read_log(graphql, Role.SECTION_ADMIN, code, filter={**mine, "until": hour_ago}) == []
    )
    assert (
        len(await read_log(graphql, Role.SECTION_ADMIN, code, filter={**mine, "since": hour_ago}))
        == 3
    )
    # and an action that nobody did lists nothing
    assert (
        await read_log(graphql, Role.SECTION_ADMIN, code, filter={"action": "mutation:nothing"})
        == []
    )


async def test_a_filter_whose_end_is_before_its_start_is_bad_input(
    graphql: GraphQLClient, new_section: NewSection
) -> None:
    section = await new_section()
    now = datetime.now(UTC)
    response = await graphql.post(
        AUDIT_LOG,
        {
            "first": 5,
            "filter": {"since": now.isoformat(), "until": (now - timedelta(days=1)).isoformat()},
        },
        **caller(graphql, Role.SECTION_ADMIN, code=section["code"], request_id=request_id()),
    )
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


@pytest.mark.parametrize(
    ("role", "at_section"),
    [
        (None, False),
        (None, True),
        (Role.IS_ANALYST, False),
        (Role.IS_ANALYST, True),
        (Role.SECTION_EDITOR, True),
        (Role.EVENT_HOST, True),
        (Role.PARTNER_APP, True),
    ],
)
async def test_only_admins_read_the_log(
    graphql: GraphQLClient, new_section: NewSection, role: Role | None, at_section: bool
) -> None:
    code = (await new_section())["code"] if at_section else None
    response = await graphql.post(
        AUDIT_LOG, {"first": 5}, **caller(graphql, role, code=code, request_id=request_id())
    )
    payload = response.json()
    assert payload["data"] is None
    assert [(error["path"], error["extensions"]["code"]) for error in payload["errors"]] == [
        (["auditLog"], "FORBIDDEN")
    ]


async def test_no_variable_value_ever_reaches_the_log(
    graphql: GraphQLClient, new_section: NewSection, owner_engine: AsyncEngine
) -> None:
    # given a canary in every text a staff caller sends, accepted and refused
    canary = "canary" + uuid.uuid4().hex[:10]
    section = await new_section()
    code = section["code"]
    requests = [request_id() for _ in range(3)]
    await graphql.post(
        MEMBER_ADD,
        {"input": member_input(email=f"{canary}@example.org", displayName=canary)},
        **caller(graphql, Role.SECTION_ADMIN, code=code, request_id=requests[0]),
    )
    await graphql.post(
        MEMBER_ADD,
        {"input": member_input(email=canary, displayName=canary)},
        **caller(graphql, Role.SECTION_ADMIN, code=code, request_id=requests[1]),
    )
    await graphql.post(
        MEMBER_ADD,
        {"input": member_input(email=f"{canary}@example.org", displayName=canary)},
        **caller(graphql, Role.SECTION_EDITOR, code=code, request_id=requests[2]),
    )
    await graphql.post(
        MEMBERS, **caller(graphql, Role.SECTION_ADMIN, code=code, request_id=request_id())
    )

    # then rows were written, and no column of any row holds the canary
    async with owner_engine.connect() as connection:
        written = (
            await connection.execute(
                text("select count(*) from audit_log where request_id = any(:requests)"),
                {"requests": requests},
            )
        ).scalar_one()
        leaked = (
            await connection.execute(
                text("select count(*) from audit_log a where row_to_json(a)::text like :canary"),
                {"canary": f"%{canary}%"},
            )
        ).scalar_one()
    assert written == 3
    assert leaked == 0


async def test_personal_data_is_withheld_when_its_audit_cannot_be_written(
    graphql: GraphQLClient,
    new_section: NewSection,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # given a log that refuses to be written
    section = await new_section()
    code = section["code"]

    async def refused(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(AuditRepository, "append", refused)

    # when an admin reads the members, and then adds one
    read = await graphql.post(
        MEMBERS, **caller(graphql, Role.SECTION_ADMIN, code=code, request_id=request_id())
    )
    change = await graphql.post(
        MEMBER_ADD,
        {"input": member_input()},
        **caller(graphql, Role.SECTION_ADMIN, code=code, request_id=request_id()),
    )

    # then the read is withheld and the change is not made (its audit row goes in with it);
    # both failures are logged
    assert read.status_code == 503
    assert read.json()["errors"][0]["extensions"]["code"] == "AUDIT_UNAVAILABLE"
    assert "members" not in read.text
    assert change.json()["data"] is None
    assert change.json()["errors"][0]["extensions"]["code"] == "COMMIT_FAILED"
    assert caplog.text.count("audit log rows could not be written") == 2
    monkeypatch.undo()
    after = await graphql.post(
        MEMBERS, **caller(graphql, Role.SECTION_ADMIN, code=code, request_id=request_id())
    )
    assert after.json()["data"]["section"]["members"]["edges"] == []


async def test_a_malformed_request_id_is_replaced_by_a_new_one(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql", json={"query": "{ viewer { role } }"}, headers={"x-request-id": "bad id\t"}
    )
    assert response.headers["x-request-id"] != "bad id\t"
    assert len(response.headers["x-request-id"]) == 32
