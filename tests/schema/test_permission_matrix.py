"""The permission matrix holds for every operation of the built schema and every caller.

The schema is introspected (its GraphQL type map), and for every query, mutation and
subscription field a minimal valid operation is generated: required arguments get
type-correct dummy values found by walking the input types, a page size is given where a
field pages, and the selection is ``__typename``. Each operation runs in-process, in a unit
of work that is rolled back, for every role (section roles and event hosts bound to a test
section, at that section) and for API keys with each scope. A field must answer FORBIDDEN
exactly when the matrix refuses the caller: the expectation is computed here from the
rule's roles and scope, not by asking the rule.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
import strawberry
from starlette.applications import Starlette
from starlette.requests import Request
from strawberry.types.execution import PreExecutionError

from tests.schema.operations import Operation, operations
from w4r.audit.recorder import AuditRecorder, RequestOrigin
from w4r.platform.auth import ANONYMOUS, ApiScope, Principal, Role
from w4r.platform.database import TenantBinding
from w4r.schema.api import Mutation, Query, Subscription, build_schema
from w4r.schema.context import Context, GraphQLServices
from w4r.schema.permissions import (
    MATRIX,
    MatrixPermissionExtension,
    PermissionMatrixError,
    Rule,
    apply_permission_matrix,
    permissions_markdown,
    rule,
    schema_fields,
)
from w4r.settings import Settings
from w4r.tenants.registry import SectionRef

NewSection = Callable[..., Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Caller:
    label: str
    principal: Principal
    at_section: bool


def callers(code: str) -> list[Caller]:
    """Every kind of caller: the section-bound ones at their section, the others at the
    section and in the global scope, API keys (a section's) with each scope."""
    callers = [
        Caller("anonymous", ANONYMOUS, False),
        Caller("anonymous at a section", ANONYMOUS, True),
        Caller("partner app", Principal(Role.PARTNER_APP, subject="app"), False),
        Caller(
            "partner app of the section",
            Principal(Role.PARTNER_APP, subject="app", section_code=code),
            True,
        ),
        Caller("is-analyst", Principal(Role.IS_ANALYST, subject="analyst"), False),
        Caller("is-analyst at a section", Principal(Role.IS_ANALYST, subject="analyst"), True),
        Caller("is-admin", Principal(Role.IS_ADMIN, subject="admin"), False),
        Caller("is-admin at a section", Principal(Role.IS_ADMIN, subject="admin"), True),
    ]
    for role in (Role.EVENT_HOST, Role.SECTION_EDITOR, Role.SECTION_ADMIN):
        principal = Principal(role, subject=role.value, section_code=code)
        callers.append(Caller(role.value, principal, True))
    scope_sets = [frozenset({scope}) for scope in ApiScope]
    scope_sets += [frozenset(), frozenset(ApiScope)]
    for scopes in scope_sets:
        label = "API key with " + (",".join(sorted(scopes)) or "no scope")
        principal = Principal(
            Role.PARTNER_APP,
            subject="key",
            section_code=code,
            scopes=scopes,
            api_key_id=uuid.uuid4(),
        )
        callers.append(Caller(label, principal, True))
    return callers


def expected_refusal(chosen: Rule, caller: Caller, code: str) -> bool:
    """What the matrix says, from the rule's data: refused unless the role is listed, a key
    has the rule's scope, and a section-bound caller is at its own section."""
    principal = caller.principal
    if principal.role not in chosen.roles:
        return True
    if principal.scopes is not None and (
        chosen.api_scope is None or chosen.api_scope not in principal.scopes
    ):
        return True
    here = code if caller.at_section else None
    return principal.section_code is not None and principal.section_code != here


def context_for(
    services: GraphQLServices, caller: Caller, section: SectionRef | None, number: int
) -> Context:
    binding = (
        TenantBinding.global_scope() if section is None else TenantBinding.for_section(section.id)
    )
    # Each caller its own documentation address, so no budget of the app is shared.
    address = f"198.51.100.{number}"
    request = Request(
        {
            "type": "http",
            "method": "POST",
            "path": "/graphql",
            "headers": [],
            "query_string": b"",
            "client": (address, 40000),
            "path_params": {},
        }
    )
    return Context(
        request=request,
        principal=caller.principal,
        section=section,
        unit_of_work=services.database.unit_of_work(binding),
        services=services,
        audit=AuditRecorder(
            caller.principal, RequestOrigin.of(address, None, None), services.database, binding
        ),
    )


def forbidden_at(errors: list[Any] | None, name: str) -> bool:
    return any(
        error.path == [name] and (error.extensions or {}).get("code") == "FORBIDDEN"
        for error in errors or ()
    )


async def run(schema: strawberry.Schema, chosen: Operation, context: Context) -> list[Any]:
    """The errors of ``chosen`` executed (or subscribed to: its first result)."""
    if chosen.kind != "subscription":
        result = await schema.execute(
            chosen.document, variable_values=chosen.variables, context_value=context
        )
        return list(result.errors or ())
    stream = await schema.subscribe(
        chosen.document, variable_values=chosen.variables, context_value=context
    )
    if isinstance(stream, PreExecutionError):
        return list(stream.errors or ())
    try:
        first = await asyncio.wait_for(stream.__anext__(), timeout=10)
    finally:
        await stream.aclose()
    return list(first.errors or ())


@pytest.fixture(scope="module")
def schema(settings: Settings) -> strawberry.Schema:
    return build_schema(settings)


CALLER_LABELS = [caller.label for caller in callers("zz")]


@pytest.mark.parametrize("label", CALLER_LABELS)
async def test_every_operation_is_forbidden_exactly_when_the_matrix_refuses_the_caller(
    app: Starlette, schema: strawberry.Schema, new_section: NewSection, label: str
) -> None:
    # given a section and a caller of this kind
    created = await new_section()
    code = created["code"]
    services: GraphQLServices = app.state.graphql_services
    section = (await services.registry.snapshot()).by_code[code]
    caller = next(each for each in callers(code) if each.label == label)
    number = CALLER_LABELS.index(label) + 1

    # when the caller runs every operation of the schema
    mismatches = []
    every = operations(schema)
    for chosen in every:
        context = context_for(services, caller, section if caller.at_section else None, number)
        try:
            errors = await run(schema, chosen, context)
        finally:
            await context.unit_of_work.rollback()
            await context.unit_of_work.close()
        refused = forbidden_at(errors, chosen.name)
        expected = expected_refusal(MATRIX[chosen.coordinate], caller, code)
        if refused != expected:
            mismatches.append((chosen.coordinate, "refused" if refused else "allowed", errors))

    # then it is refused exactly where the matrix says so
    assert mismatches == []
    assert {chosen.coordinate for chosen in every} == {
        coordinate
        for coordinate in MATRIX
        if coordinate.split(".", 1)[0] in {"Query", "Mutation", "Subscription"}
    }


def test_the_matrix_covers_queries_mutations_and_subscriptions(schema: strawberry.Schema) -> None:
    kinds = {chosen.kind for chosen in operations(schema)}
    assert kinds == {"query", "mutation", "subscription"}


def test_an_analyst_reads_but_never_writes_nor_reads_personal_data() -> None:
    analyst_may = {
        coordinate for coordinate, chosen in MATRIX.items() if Role.IS_ANALYST in chosen.roles
    }
    assert not {coordinate for coordinate in analyst_may if coordinate.startswith("Mutation.")}
    assert not analyst_may & {
        "Section.members",
        "Event.registrations",
        "Tally.reporterName",
        "Tally.reporterEmail",
        "Query.auditLog",
        "Query.supporterExport",
    }


def test_api_keys_reach_public_reads_and_recording_only() -> None:
    keyed = {
        coordinate: chosen.api_scope
        for coordinate, chosen in MATRIX.items()
        if chosen.api_scope is not None
    }
    # a key writes only what a partner records (actions, their imports, signatures) and
    # its own webhooks (which receive public data only) ...
    own_webhooks = {
        "Query.webhooks",
        "Query.webhookDeliveries",
        "Mutation.webhookCreate",
        "Mutation.webhookUpdate",
        "Mutation.webhookDelete",
        "Mutation.webhookRedeliver",
    }
    assert {
        coordinate: scope
        for coordinate, scope in keyed.items()
        if coordinate.startswith("Mutation.")
    } == {
        "Mutation.actionRecord": ApiScope.RECORD_ACTIONS,
        "Mutation.actionsImport": ApiScope.IMPORT_ACTIONS,
        "Mutation.petitionSign": ApiScope.RECORD_ACTIONS,
        **{
            coordinate: ApiScope.READ_PUBLIC
            for coordinate in own_webhooks
            if coordinate.startswith("Mutation.")
        },
    }
    # ... and reads only what the public may read, with cases:read
    reads = {
        coordinate: scope
        for coordinate, scope in keyed.items()
        if not coordinate.startswith("Mutation.")
    }
    assert set(reads.values()) == {ApiScope.READ_PUBLIC}
    assert all(
        Role.ANONYMOUS in MATRIX[coordinate].roles
        for coordinate in reads
        if coordinate not in own_webhooks
    )


@strawberry.type
class _Query:
    @strawberry.field
    def ruled(self) -> int:
        return 1

    @strawberry.field
    def unruled(self) -> int:
        return 2


@strawberry.type
class _Mutation:
    @strawberry.mutation
    def change(self) -> int:
        return 3


@strawberry.type
class _Subscription:
    @strawberry.subscription
    async def ticks(self) -> Any:
        yield 1


def test_a_root_field_without_a_rule_fails_the_build() -> None:
    # given a matrix that forgets Query.unruled
    matrix = {
        "Query.ruled": rule(Role.IS_ADMIN),
        "Mutation.change": rule(Role.IS_ADMIN),
        "Subscription.ticks": rule(Role.IS_ADMIN),
    }

    # when the matrix is applied, then the build fails and names the field
    with pytest.raises(PermissionMatrixError, match=r"no rule: Query\.unruled;"):
        apply_permission_matrix(_Query, _Mutation, _Subscription, matrix)


def test_a_rule_for_a_field_that_does_not_exist_fails_the_build() -> None:
    matrix = {
        "Query.ruled": rule(Role.IS_ADMIN),
        "Query.unruled": rule(Role.IS_ADMIN),
        "Mutation.change": rule(Role.IS_ADMIN),
        "Subscription.ticks": rule(Role.IS_ADMIN),
        "Mutation.removedLongAgo": rule(Role.IS_ADMIN),
    }

    with pytest.raises(
        PermissionMatrixError, match=r"name no field of the schema: Mutation\.removedLongAgo"
    ):
        apply_permission_matrix(_Query, _Mutation, _Subscription, matrix)


def test_the_real_schema_fails_to_build_when_an_operation_loses_its_rule() -> None:
    matrix = {key: value for key, value in MATRIX.items() if key != "Mutation.sectionCreate"}
    with pytest.raises(PermissionMatrixError, match=r"Mutation\.sectionCreate"):
        apply_permission_matrix(Query, Mutation, Subscription, matrix)
    # the real matrix still applies cleanly afterwards
    apply_permission_matrix(Query, Mutation, Subscription)


def test_the_committed_docs_are_the_generated_matrix() -> None:
    from pathlib import Path

    committed = Path(__file__).resolve().parents[2] / "docs" / "permissions.md"
    assert committed.read_text(encoding="utf-8") == permissions_markdown(), (
        "docs/permissions.md is stale: regenerate it with `w4r permissions > docs/permissions.md`"
    )


def test_every_ruled_field_of_an_object_carries_exactly_its_rule(
    schema: strawberry.Schema,
) -> None:
    # the built schema's fields, beyond the roots: each named one has one matrix check
    fields = schema_fields(Query, Mutation, Subscription)
    for coordinate, chosen in MATRIX.items():
        checks = [
            extension
            for extension in fields[coordinate].extensions
            if isinstance(extension, MatrixPermissionExtension)
        ]
        assert [(check.coordinate, check.rule) for check in checks] == [(coordinate, chosen)]
    unruled = [
        coordinate
        for coordinate, field in fields.items()
        if coordinate not in MATRIX
        and any(isinstance(extension, MatrixPermissionExtension) for extension in field.extensions)
    ]
    assert unruled == []


def test_the_cli_prints_the_generated_matrix(capsys: pytest.CaptureFixture[str]) -> None:
    from w4r.cli import main

    assert main(["permissions"]) == 0
    assert capsys.readouterr().out == permissions_markdown()
