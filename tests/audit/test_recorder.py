"""The audit recorder and the mutation audit's id extraction, without a database."""

from __future__ import annotations

import uuid

import strawberry

from w4r.audit.models import AuditOutcome
from w4r.audit.recorder import AuditRecorder, RequestOrigin
from w4r.platform.auth import ANONYMOUS, Principal, Role
from w4r.platform.database import Database, TenantBinding
from w4r.schema.audit.mutations import target_ids
from w4r.schema.errors import UserError


def test_an_origin_keeps_a_real_address_a_plain_request_id_and_a_short_agent() -> None:
    origin = RequestOrigin.of("2001:db8::1", "req-1.2:3", "agent\x07/" + "x" * 400)
    assert origin.client_ip == "2001:db8::1"
    assert origin.request_id == "req-1.2:3"
    assert origin.user_agent == "agent/" + "x" * 250


def test_an_origin_drops_what_is_not_an_address_and_replaces_a_strange_request_id() -> None:
    origin = RequestOrigin.of("testclient", "has space", None)
    assert origin.client_ip is None
    assert origin.request_id != "has space"
    assert len(origin.request_id) == 32
    assert origin.user_agent is None


def recorder(principal: Principal) -> AuditRecorder:
    database = Database.__new__(Database)  # never used: nothing is written here
    return AuditRecorder(
        principal, RequestOrigin.of(None, "r", None), database, TenantBinding.global_scope()
    )


def test_reads_of_one_resource_make_one_row_with_each_id_once() -> None:
    first, second = uuid.uuid4(), uuid.uuid4()
    audit = recorder(Principal(Role.SECTION_ADMIN, subject="ada", section_code="gb"))

    audit.personal_data("Tally.reporterEmail", [first])
    audit.personal_data("Tally.reporterEmail", [second, first])
    audit.export("supporter", [second])

    assert [(row["action"], row["target_ids"]) for row in audit.rows()] == [
        ("read:Tally.reporterEmail", [first, second]),
        ("export:supporter", [second]),
    ]
    assert audit.has_personal_data


def test_a_rollback_turns_kept_mutations_into_failures_and_leaves_reads() -> None:
    audit = recorder(Principal(Role.IS_ADMIN, subject="is"))
    audit.mutation("caseCreate", AuditOutcome.OK)
    audit.mutation("casePublish", AuditOutcome.USER_ERROR, error_codes=["NOT_FOUND"])
    audit.personal_data("Section.members", [])

    audit.request_rolled_back()

    assert [(row["action"], row["outcome"], row["error_codes"]) for row in audit.rows()] == [
        ("mutation:caseCreate", "failed", []),
        ("mutation:casePublish", "user-error", ["NOT_FOUND"]),
        ("read:Section.members", "ok", []),
    ]


def test_only_staff_mutations_are_audited() -> None:
    assert not recorder(ANONYMOUS).audits_mutations
    assert not recorder(Principal(Role.PARTNER_APP, subject="app")).audits_mutations
    for role in (Role.EVENT_HOST, Role.SECTION_EDITOR, Role.SECTION_ADMIN, Role.IS_ANALYST):
        assert recorder(Principal(role, subject="s", section_code="gb")).audits_mutations


@strawberry.input
class _Input:
    id: uuid.UUID
    case_ids: list[uuid.UUID]
    name: str


@strawberry.type
class _Node:
    id: uuid.UUID
    email: str


@strawberry.type
class _Payload:
    node: _Node | None
    removed_id: uuid.UUID | None
    errors: list[UserError]


def test_target_ids_are_the_uuids_of_the_input_and_of_what_the_payload_returns() -> None:
    given, listed, returned, removed = (uuid.uuid4() for _ in range(4))
    arguments = {"input": _Input(id=given, case_ids=[listed, given], name="Ada")}
    payload = _Payload(
        node=_Node(id=returned, email="ada@example.org"), removed_id=removed, errors=[]
    )

    assert target_ids(arguments, payload) == [given, listed, returned, removed]
    assert target_ids(arguments, None) == [given, listed]
