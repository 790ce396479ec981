"""Who may call what: one permission matrix for the whole schema, applied when it is built.

:data:`MATRIX` maps a schema coordinate (``Query.cases``, ``Mutation.actionRecord``,
``Section.members``) to its :class:`Rule`: the roles that may use it and, for callers that
present an API key, the :class:`~w4r.platform.auth.ApiScope` the key needs. A coordinate
with no rule is open to whoever reached its parent; every root field (query, mutation,
subscription) must have one. :func:`apply_permission_matrix` walks the strawberry type
definitions from the roots, attaches a :class:`MatrixPermissionExtension` to every field the
matrix names, and raises :class:`PermissionMatrixError` when a root field has no rule or a
rule names a field the schema does not have, so an operation added without a rule fails the
build instead of being open by accident.

A refusal is a top-level error with ``extensions.code`` ``FORBIDDEN`` at the field's path,
checked before the resolver runs. Checks that need the data (a section's own members, a
host's own events) stay in the resolvers and services.

docs/permissions.md is generated from here (:func:`permissions_markdown`, ``w4r
permissions``); a test keeps it equal to the generated text.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

from strawberry.exceptions import StrawberryGraphQLError
from strawberry.extensions import FieldExtension
from strawberry.schema.config import StrawberryConfig
from strawberry.types.base import (
    StrawberryContainer,
    StrawberryObjectDefinition,
    get_object_definition,
)
from strawberry.types.field import StrawberryField
from strawberry.types.lazy_type import LazyType
from strawberry.types.union import StrawberryUnion

from w4r.platform.auth import ApiScope, Principal, Role
from w4r.schema.context import Info

ROOT_TYPES: Final = ("Query", "Mutation", "Subscription")


@dataclass(frozen=True, slots=True)
class Rule:
    """Who may use one field.

    ``roles``: the roles allowed; a caller bound to a section (section staff, event hosts,
    section-bound partner apps and keys) only at that section's endpoint. ``api_scope``: the
    scope an API key needs on top of its role; None closes the field to API keys.
    ``note``: what the resolver checks beyond the rule (shown in docs/permissions.md).
    """

    roles: frozenset[Role]
    api_scope: ApiScope | None = None
    note: str = ""

    def allows(self, principal: Principal, section_code: str | None) -> bool:
        """Whether ``principal`` may use the field in the scope of ``section_code``."""
        if principal.role not in self.roles:
            return False
        if principal.scopes is not None and (
            self.api_scope is None or not principal.has_scope(self.api_scope)
        ):
            return False
        # A section-bound caller acts only inside its section (resolving the request's
        # section already refused another section; this guards the global scope too).
        return principal.section_code is None or principal.section_code == section_code

    def refusal(self, coordinate: str, principal: Principal) -> str:
        """Why ``principal`` was refused (safe to show to the caller)."""
        if principal.scopes is not None and principal.role in self.roles:
            if self.api_scope is None:
                return f"{coordinate} is not open to API keys."
            if not principal.has_scope(self.api_scope):
                return f"{coordinate} needs an API key with the scope {self.api_scope.value!r}."
        names = ", ".join(sorted(role.value for role in self.roles))
        return f"This needs one of the roles: {names}."


def rule(*roles: Role, api_scope: ApiScope | None = None, note: str = "") -> Rule:
    return Rule(frozenset(roles), api_scope, note)


EVERYONE: Final = tuple(Role)
IS_ADMIN: Final = (Role.IS_ADMIN,)
IS_STAFF: Final = (Role.IS_ADMIN, Role.IS_ANALYST)
SECTION_ADMINS: Final = (Role.IS_ADMIN, Role.SECTION_ADMIN)
SECTION_STAFF: Final = (Role.IS_ADMIN, Role.SECTION_ADMIN, Role.SECTION_EDITOR)
ORGANISERS: Final = (*SECTION_STAFF, Role.EVENT_HOST)
STAFF_READERS: Final = (*SECTION_STAFF, Role.IS_ANALYST)
PUBLIC_WRITERS: Final = tuple(role for role in Role if role is not Role.IS_ANALYST)
"""Public writes (registering for an event) are open to everyone but the analyst, whose
role only reads."""

PUBLIC_READ: Final = rule(*EVERYONE, api_scope=ApiScope.READ_PUBLIC)
WEBHOOK_OWNERS: Final = rule(
    *SECTION_ADMINS,
    Role.PARTNER_APP,
    api_scope=ApiScope.READ_PUBLIC,
    note="in a section scope; admins: every webhook of the section; a key: its own",
)

MATRIX: Final[Mapping[str, Rule]] = {
    # --- queries ---
    "Query.viewer": PUBLIC_READ,
    "Query.section": PUBLIC_READ,
    "Query.sections": rule(*IS_STAFF),
    "Query.campaign": rule(*EVERYONE, api_scope=ApiScope.READ_PUBLIC, note="drafts: IS staff"),
    "Query.campaigns": rule(*EVERYONE, api_scope=ApiScope.READ_PUBLIC, note="drafts: IS staff"),
    "Query.cases": rule(*EVERYONE, api_scope=ApiScope.READ_PUBLIC, note="drafts: IS staff"),
    "Query.case": rule(*EVERYONE, api_scope=ApiScope.READ_PUBLIC, note="drafts: IS staff"),
    "Query.tallies": rule(*SECTION_STAFF, note="the section's"),
    "Query.totals": rule(
        *STAFF_READERS, note="global: every section, small cells withheld; section: its own"
    ),
    "Query.historicTotals": PUBLIC_READ,
    "Query.events": rule(
        *EVERYONE, api_scope=ApiScope.READ_PUBLIC, note="published; staff all; hosts own"
    ),
    "Query.event": rule(
        *EVERYONE, api_scope=ApiScope.READ_PUBLIC, note="published; staff all; hosts own"
    ),
    "Query.auditLog": rule(*SECTION_ADMINS, note="section: its rows; global: every row"),
    "Query.apiKeys": rule(*SECTION_ADMINS, note="section: its keys; global: the IS's keys"),
    "Query.allowedNetworks": rule(*SECTION_ADMINS, note="in a section scope"),
    "Query.flaggedActions": rule(*SECTION_STAFF, note="the section's"),
    "Query.supporterExport": rule(Role.SECTION_ADMIN, note="the section's; personal data"),
    "Query.webhooks": WEBHOOK_OWNERS,
    "Query.webhookDeliveries": WEBHOOK_OWNERS,
    # Federation: each entity resolves as its own query (campaign, case, section, event)
    # would for the caller, so the entry is open to exactly who may read those types.
    "Query._entities": rule(
        *EVERYONE,
        api_scope=ApiScope.READ_PUBLIC,
        note="each as its query: drafts IS staff; events and a section: the request's "
        "section (IS staff: any section); else null",
    ),
    "Query._service": rule(
        *EVERYONE, api_scope=ApiScope.READ_PUBLIC, note="refused where introspection is off"
    ),
    # --- mutations ---
    "Mutation.sectionCreate": rule(*IS_ADMIN),
    "Mutation.sectionUpdate": rule(*SECTION_ADMINS, note="a section admin: own section"),
    "Mutation.sectionHostAdd": rule(*IS_ADMIN),
    "Mutation.sectionMemberAdd": rule(*SECTION_ADMINS, note="in a section scope"),
    "Mutation.sectionMemberRemove": rule(*SECTION_ADMINS, note="in a section scope"),
    "Mutation.campaignCreate": rule(*IS_ADMIN),
    "Mutation.campaignUpdate": rule(*IS_ADMIN),
    "Mutation.sectionCampaignUpdate": rule(*SECTION_STAFF, note="in a section scope"),
    "Mutation.caseCreate": rule(*IS_ADMIN),
    "Mutation.caseUpdate": rule(*IS_ADMIN),
    "Mutation.casePublish": rule(*IS_ADMIN),
    "Mutation.caseOutcomeAdd": rule(*IS_ADMIN),
    "Mutation.caseTranslationUpsert": rule(
        *SECTION_STAFF, note="section scope: the section's; global: official"
    ),
    "Mutation.caseTranslationPublish": rule(
        *SECTION_STAFF, note="section scope: the section's; global: official"
    ),
    "Mutation.actionRecord": rule(
        Role.ANONYMOUS,
        Role.PARTNER_APP,
        *SECTION_STAFF,
        api_scope=ApiScope.RECORD_ACTIONS,
        note="in a section scope",
    ),
    "Mutation.actionsImport": rule(
        Role.PARTNER_APP,
        *SECTION_STAFF,
        api_scope=ApiScope.IMPORT_ACTIONS,
        note="in a section scope",
    ),
    "Mutation.tallyReport": rule(Role.ANONYMOUS, *SECTION_STAFF, note="in a section scope"),
    "Mutation.tallyApprove": rule(*SECTION_STAFF, note="the section's tallies"),
    "Mutation.tallyReject": rule(*SECTION_STAFF, note="the section's tallies"),
    "Mutation.eventCreate": rule(*ORGANISERS, note="a host's waits for approval"),
    "Mutation.eventUpdate": rule(*ORGANISERS, note="hosts: own events"),
    "Mutation.eventReport": rule(*ORGANISERS, note="hosts: own events"),
    "Mutation.eventPublish": rule(*SECTION_STAFF),
    "Mutation.eventCancel": rule(*SECTION_STAFF),
    "Mutation.eventApprove": rule(*SECTION_STAFF),
    "Mutation.eventReject": rule(*SECTION_STAFF),
    "Mutation.eventRegister": rule(*PUBLIC_WRITERS),
    "Mutation.eventRegistrationCancel": rule(*PUBLIC_WRITERS, note="with its token"),
    "Mutation.apiKeyCreate": rule(
        *SECTION_ADMINS, note="section: its keys; global: IS keys, cases:read only"
    ),
    "Mutation.apiKeyRevoke": rule(*SECTION_ADMINS, note="section: its keys; global: the IS's keys"),
    "Mutation.allowedNetworkAdd": rule(*SECTION_ADMINS, note="in a section scope"),
    "Mutation.allowedNetworkRemove": rule(*SECTION_ADMINS, note="in a section scope"),
    "Mutation.petitionSign": rule(
        Role.ANONYMOUS,
        Role.PARTNER_APP,
        api_scope=ApiScope.RECORD_ACTIONS,
        note="in a section scope; counts once confirmed in a double opt-in section",
    ),
    "Mutation.signatureConfirm": rule(*PUBLIC_WRITERS, note="with the mail's code"),
    "Mutation.consentGive": rule(
        Role.ANONYMOUS,
        Role.PARTNER_APP,
        Role.SECTION_ADMIN,
        Role.SECTION_EDITOR,
        note="public: on a form; staff: recorded with how it was given",
    ),
    "Mutation.consentWithdraw": rule(
        *PUBLIC_WRITERS, note="with a mail's code, the email as when giving, or by staff"
    ),
    "Mutation.supporterErase": rule(Role.SECTION_ADMIN, note="the section's; counts stay"),
    "Mutation.webhookCreate": WEBHOOK_OWNERS,
    "Mutation.webhookUpdate": WEBHOOK_OWNERS,
    "Mutation.webhookDelete": WEBHOOK_OWNERS,
    "Mutation.webhookRedeliver": WEBHOOK_OWNERS,
    # --- subscriptions ---
    "Subscription.totalsUpdated": PUBLIC_READ,
    # --- fields of objects: personal data and staff-only fields ---
    "Section.members": rule(*SECTION_ADMINS, note="at that section's endpoint"),
    "Case.internalNotes": rule(*IS_STAFF),
    "Case.translations": rule(*STAFF_READERS, note="a section's own at its endpoint"),
    "Tally.reporterName": rule(*SECTION_STAFF),
    "Tally.reporterEmail": rule(*SECTION_STAFF),
    "Tally.note": rule(*SECTION_STAFF),
    "Tally.reviewNote": rule(*SECTION_STAFF),
    "Event.registrations": rule(*ORGANISERS, note="hosts: own events"),
    "Action.flag": rule(*SECTION_STAFF),
}


class PermissionMatrixError(ValueError):
    """The matrix and the schema disagree: a root field without a rule, or a rule for a
    field that does not exist."""


class MatrixPermissionExtension(FieldExtension):
    """Checks one field's :class:`Rule` before its resolver runs (recognised by class, so
    rebuilding a schema replaces it instead of stacking a second one)."""

    def __init__(self, coordinate: str, rule: Rule) -> None:
        self.coordinate = coordinate
        self.rule = rule

    def check(self, info: Info) -> None:
        """Raise the top-level FORBIDDEN error unless the rule allows this caller here."""
        context = info.context
        section_code = None if context.section is None else context.section.code
        if not self.rule.allows(context.principal, section_code):
            raise StrawberryGraphQLError(
                self.rule.refusal(self.coordinate, context.principal),
                extensions={"code": "FORBIDDEN"},
            )

    def resolve(self, next_: Any, source: Any, info: Info, **kwargs: Any) -> Any:
        self.check(info)
        return next_(source, info, **kwargs)

    async def resolve_async(self, next_: Any, source: Any, info: Info, **kwargs: Any) -> Any:
        self.check(info)
        result = next_(source, info, **kwargs)
        # A subscription's resolver may hand back its async generator without awaiting.
        return await result if inspect.isawaitable(result) else result


def _named_types(type_: Any) -> Iterator[Any]:
    """The named types inside a field's type (through lists, optionals, unions, lazies)."""
    if isinstance(type_, StrawberryContainer):
        yield from _named_types(type_.of_type)
    elif isinstance(type_, LazyType):
        yield from _named_types(type_.resolve_type())
    elif isinstance(type_, StrawberryUnion):
        for member in type_.types:
            yield from _named_types(member)
    else:
        yield type_


def schema_fields(*roots: type) -> dict[str, StrawberryField]:
    """Every object field reachable from ``roots``, by schema coordinate (``Type.field``)."""
    name_converter = StrawberryConfig().name_converter
    fields: dict[str, StrawberryField] = {}
    seen: set[str] = set()
    pending: list[StrawberryObjectDefinition] = [
        get_object_definition(root, strict=True) for root in roots
    ]
    while pending:
        definition = pending.pop()
        if definition.name in seen or definition.is_input:
            continue
        seen.add(definition.name)
        for field in definition.fields:
            fields[f"{definition.name}.{name_converter.get_graphql_name(field)}"] = field
            for named in _named_types(field.type):
                child = get_object_definition(named)
                if child is not None and child.name not in seen:
                    pending.append(child)
    return fields


def check_matrix(fields: Mapping[str, StrawberryField], matrix: Mapping[str, Rule]) -> None:
    """Every root field has a rule and every rule names an existing field."""
    unruled = sorted(
        coordinate
        for coordinate in fields
        if coordinate.split(".", 1)[0] in ROOT_TYPES and coordinate not in matrix
    )
    unknown = sorted(coordinate for coordinate in matrix if coordinate not in fields)
    problems = []
    if unruled:
        problems.append(
            "these operations have no rule: "
            + ", ".join(unruled)
            + "; add them to MATRIX in w4r/schema/permissions.py"
        )
    if unknown:
        problems.append(
            "these rules name no field of the schema: "
            + ", ".join(unknown)
            + "; fix or remove them in MATRIX in w4r/schema/permissions.py"
        )
    if problems:
        raise PermissionMatrixError(
            "The permission matrix does not fit the schema: " + "; ".join(problems)
        )


def apply_permission_matrix(
    query: type, mutation: type, subscription: type, matrix: Mapping[str, Rule] = MATRIX
) -> None:
    """Attach each rule of ``matrix`` to its field; raise :class:`PermissionMatrixError`
    first when the matrix does not fit the schema. Idempotent: a field's previous matrix
    extension is replaced, so a schema can be built more than once per process."""
    fields = schema_fields(query, mutation, subscription)
    check_matrix(fields, matrix)
    for coordinate, field in fields.items():
        kept = [
            extension
            for extension in field.extensions
            if not isinstance(extension, MatrixPermissionExtension)
        ]
        chosen = matrix.get(coordinate)
        # The permission goes first in the list: strawberry makes the last extension the
        # outermost, so wrappers added later (the audit of mutations) see its refusals.
        field.extensions = (
            kept if chosen is None else [MatrixPermissionExtension(coordinate, chosen), *kept]
        )


COLUMNS: Final = (
    Role.ANONYMOUS,
    Role.PARTNER_APP,
    Role.EVENT_HOST,
    Role.SECTION_EDITOR,
    Role.SECTION_ADMIN,
    Role.IS_ANALYST,
    Role.IS_ADMIN,
)

_SECTIONS: Final = (
    ("Queries", "Query."),
    ("Mutations", "Mutation."),
    ("Subscriptions", "Subscription."),
    ("Fields of objects", ""),
)


def _row(coordinate: str, chosen: Rule) -> str:
    cells = ["yes" if role in chosen.roles else "-" for role in COLUMNS]
    key = "-" if chosen.api_scope is None else f"`{chosen.api_scope.value}`"
    return f"| `{coordinate}` | {' | '.join(cells)} | {key} | {chosen.note} |"


def permissions_markdown(matrix: Mapping[str, Rule] = MATRIX) -> str:
    """docs/permissions.md: the matrix as tables, one per kind of field."""
    lines = [
        "# Permissions",
        "",
        "<!-- Generated from w4r/schema/permissions.py by `w4r permissions`; do not edit. -->",
        "",
        "Every operation of the schema, and every field of an object that not everyone who",
        "reaches it may read, has one rule in `MATRIX` (`w4r/schema/permissions.py`). The rule",
        "is checked before the resolver runs; a refusal is a top-level error with",
        "`extensions.code` `FORBIDDEN` at the field's path. A schema whose operation has no rule",
        "does not build.",
        "",
        "- Section staff, event hosts and section-bound partner apps and API keys act only at",
        "  their own section's endpoint (`/s/<code>/graphql`, its host, or `W4R-Section`).",
        "- **API key** is the scope a key needs on top of its role (partner-app); `-`: no key",
        "  may use it, whatever its scopes.",
        "- **Checked by the resolver** is what the data decides after the rule let the call in.",
        "- Every staff mutation and every read of personal data is written to the audit log",
        "  (see [audit.md](audit.md)).",
        "",
        "API key scopes:",
        "",
    ]
    lines.extend(f"- `{scope.value}`: {_scope_text(scope)}" for scope in ApiScope)
    header = (
        "| field | "
        + " | ".join(role.value for role in COLUMNS)
        + " | API key | checked by the resolver |"
    )
    divider = "|---|" + "---|" * len(COLUMNS) + "---|---|"
    for title, prefix in _SECTIONS:
        chosen = [
            (coordinate, each)
            for coordinate, each in matrix.items()
            if (
                coordinate.startswith(prefix)
                if prefix
                else coordinate.split(".", 1)[0] not in ROOT_TYPES
            )
        ]
        if not chosen:
            continue
        lines.extend(["", f"## {title}", "", header, divider])
        lines.extend(_row(coordinate, each) for coordinate, each in chosen)
    return "\n".join(lines) + "\n"


def _scope_text(scope: ApiScope) -> str:
    documented = {
        ApiScope.READ_PUBLIC: "read published cases and campaigns, events and public totals",
        ApiScope.RECORD_ACTIONS: "record actions for the key's section (`actionRecord`)",
        ApiScope.IMPORT_ACTIONS: "import batches of actions for the key's section "
        "(`actionsImport`)",
    }
    return documented.get(scope, scope.value)
