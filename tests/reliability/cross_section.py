"""The probe generator of the cross-section probes (tests/reliability/test_cross_section.py).

Everything here is derived from the built schema, so that a new operation is probed without
anyone writing a probe for it:

- **slots**: every argument and input field that names an object (``UUID`` and ``ID``
  scalars, and strings whose name says they identify something: a code, an email, a token),
  found by walking each root field's arguments through the input types;
- **selections**: every field of the returned type without required arguments, and the
  fields of its objects one level down (pages and payloads do not count as a level), as
  one named fragment per type and depth, so that anything a probe reaches shows in the
  response;
- **pages**: every field with an ``after`` argument (a keyset cursor).

``ID_KINDS`` says, for every slot, which kind of object it names: the table whose ids it
takes (``events``, ``webhook_subscriptions``, …), a value of the section (its code, a
supporter's email, a cancellation token) or a global object (a case, a campaign year). A
slot missing from it fails the coverage test with the slot's coordinate.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import strawberry
from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLUnionType,
    get_named_type,
)
from graphql.pyutils import Undefined

from tests.schema.operations import dummy, roots

IDENTIFYING_NAME: Final = re.compile(r"(?i)(^id$|Ids?$|^codes?$|^sections$|email$|token$|^case$)")
"""String (or UUID) arguments and input fields with such a name identify an object."""
IDENTIFYING_SCALARS: Final = frozenset({"UUID", "ID"})

GLOBAL_CASE: Final = "global:case"
"""A slot that takes a case id: cases are the International Secretariat's, not a section's."""
NOT_AN_IDENTIFIER: Final = "none"
"""A slot whose name looks identifying but names nothing of a section (a letter's address)."""

ID_KINDS: Final[Mapping[str, str]] = {
    # --- a section's rows, by the table their ids are from
    "Query.event(id)": "events",
    "Query.webhookDeliveries(webhookId)": "webhook_subscriptions",
    "SectionMemberRemoveInput.id": "section_members",
    "EventUpdateInput.id": "events",
    "EventDecisionInput.id": "events",
    "EventRegisterInput.eventId": "events",
    "EventReportInput.eventId": "events",
    "TallyDecisionInput.id": "tallies",
    "ApiKeyRevokeInput.id": "api_keys",
    "AllowedNetworkRemoveInput.id": "allowed_networks",
    "WebhookUpdateInput.id": "webhook_subscriptions",
    "WebhookDeleteInput.id": "webhook_subscriptions",
    "WebhookRedeliverInput.deliveryId": "webhook_deliveries",
    # --- a section's values that identify it or its people
    "SectionCreateInput.code": "section:code",
    "SectionUpdateInput.code": "section:code",
    "SectionHostAddInput.code": "section:code",
    "TotalsFilter.sections": "section:code",
    "Query.supporterExport(email)": "supporter:email",
    "SupporterEraseInput.email": "supporter:email",
    "ConsentWithdrawInput.email": "supporter:email",
    "ConsentGiveInput.email": "supporter:email",
    "PetitionSignInput.email": "supporter:email",
    "EventRegisterInput.email": "supporter:email",
    "SectionMemberAddInput.email": "member:email",
    "EventInput.organiserEmail": "member:email",
    "TallyReportInput.reporterEmail": "supporter:email",
    "ActionRecordInput.clientId": "supporter:client",
    "TallyReportInput.clientId": "supporter:client",
    "EventRegisterInput.clientId": "supporter:client",
    "PetitionSignInput.clientId": "supporter:client",
    "EventRegistrationCancelInput.cancellationToken": "registration:token",
    "ConsentWithdrawInput.token": "registration:token",
    "SignatureConfirmInput.token": "registration:token",
    # --- global objects: a real one keeps the probe valid, a section's id of any kind probes
    "Query.case(id)": GLOBAL_CASE,
    "Subscription.totalsUpdated(case)": GLOBAL_CASE,
    "EventFilter.case": GLOBAL_CASE,
    "TotalsFilter.cases": GLOBAL_CASE,
    "EventInput.caseIds": GLOBAL_CASE,
    "ActionRecordInput.caseId": GLOBAL_CASE,
    "ActionImportRow.caseId": GLOBAL_CASE,
    "TallyLineInput.caseId": GLOBAL_CASE,
    "EventReportLineInput.caseId": GLOBAL_CASE,
    "PetitionSignInput.caseId": GLOBAL_CASE,
    "ConsentGiveInput.caseId": GLOBAL_CASE,
    "ConsentWithdrawInput.caseId": GLOBAL_CASE,
    "CaseUpdateInput.id": GLOBAL_CASE,
    "CasePublishInput.id": GLOBAL_CASE,
    "CaseOutcomeAddInput.caseId": GLOBAL_CASE,
    "CaseTranslationUpsertInput.caseId": GLOBAL_CASE,
    "CaseTranslationPublishInput.caseId": GLOBAL_CASE,
    "AppealTargetInput.email": NOT_AN_IDENTIFIER,
}


# --- slots ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Slot:
    """One place of a root field's arguments that names an object."""

    coordinate: str
    """``Query.event(id)`` for an argument, ``EventUpdateInput.id`` for an input field."""
    path: tuple[str, ...]
    """Where the value goes in the root field's arguments (a list element: its first)."""
    is_list: bool
    scalar: str

    @property
    def kind(self) -> str | None:
        return ID_KINDS.get(self.coordinate)


def _unwrap(type_: GraphQLInputType) -> tuple[GraphQLInputType, bool]:
    """The type inside non-null and list wrappers, and whether a list was among them."""
    is_list = False
    while isinstance(type_, GraphQLNonNull | GraphQLList):
        is_list = is_list or isinstance(type_, GraphQLList)
        type_ = type_.of_type
    return type_, is_list


def _walk(
    coordinate: str, name: str, type_: GraphQLInputType, path: tuple[str, ...], seen: frozenset[str]
) -> Iterator[Slot]:
    inner, is_list = _unwrap(type_)
    if isinstance(inner, GraphQLScalarType):
        if inner.name in IDENTIFYING_SCALARS or (
            inner.name == "String" and IDENTIFYING_NAME.search(name)
        ):
            yield Slot(coordinate, path, is_list, inner.name)
        return
    if isinstance(inner, GraphQLInputObjectType) and inner.name not in seen:
        for field_name, input_field in inner.fields.items():
            yield from _walk(
                f"{inner.name}.{field_name}",
                field_name,
                input_field.type,
                (*path, field_name),
                seen | {inner.name},
            )


def field_slots(type_name: str, name: str, root_field: GraphQLField) -> list[Slot]:
    """Every slot of a root field's arguments."""
    return [
        slot
        for argument_name, argument in root_field.args.items()
        for slot in _walk(
            f"{type_name}.{name}({argument_name})",
            argument_name,
            argument.type,
            (argument_name,),
            frozenset(),
        )
    ]


# --- arguments -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Realistic:
    """Values that make a probe valid up to the lookup of what its slot names."""

    year: int
    case_id: str
    case_slug: str
    code: str
    """The other section's code: a section made or changed by code is always one that
    exists, so a probe never creates a section."""
    language: str
    event_input: Mapping[str, Any]
    unique: Iterator[str]

    def by_name(self, name: str, type_: GraphQLInputType) -> Any:
        inner, is_list = _unwrap(type_)
        value: Any = Undefined
        if name in {"campaign", "year"} and isinstance(inner, GraphQLScalarType):
            value = self.year
        elif name in {"caseId", "case"}:
            value = self.case_id
        elif name == "slug":
            value = self.case_slug
        elif name == "code":
            value = self.code
        elif name == "host":
            value = "not a host name"  # so that an IS admin's sectionHostAdd changes nothing
        elif name in {"idempotencyKey", "clientId"}:
            value = next(self.unique)
        elif name == "language":
            value = self.language
        elif name == "country":
            value = "GB"
        elif name == "quantity":
            value = 1
        elif name == "event" and isinstance(inner, GraphQLInputObjectType):
            value = dict(self.event_input)
        elif name == "lines" and isinstance(inner, GraphQLInputObjectType):
            return [{"caseId": self.case_id, "actionType": "LETTER", "quantity": 1}]
        if value is Undefined:
            return Undefined
        return [value] if is_list else value

    def fill(self, type_: GraphQLInputType) -> Any:
        """Like :func:`tests.schema.operations.dummy`, with realistic values by name."""
        inner, _ = _unwrap(type_)
        if not isinstance(inner, GraphQLInputObjectType):
            return dummy(type_)
        if inner.name == "EventInput":
            return dict(self.event_input)
        filled: dict[str, Any] = {}
        for name, input_field in inner.fields.items():
            by_name = self.by_name(name, input_field.type)
            if by_name is not Undefined:
                filled[name] = by_name
            elif isinstance(input_field.type, GraphQLNonNull) and (
                input_field.default_value is Undefined
            ):
                filled[name] = self.fill(input_field.type)
        return filled

    def arguments(self, root_field: GraphQLField) -> dict[str, Any]:
        """Every required argument, and realistic optional ones by name, plus a page size."""
        values: dict[str, Any] = {}
        for name, argument in root_field.args.items():
            by_name = self.by_name(name, argument.type)
            if name == "first":
                values[name] = 5
            elif isinstance(argument.type, GraphQLNonNull):
                values[name] = by_name if by_name is not Undefined else self.fill(argument.type)
            elif name == "campaign" and by_name is not Undefined:
                values[name] = by_name
        return values


def placed(arguments: Mapping[str, Any], slot: Slot, value: Any) -> dict[str, Any]:
    """``arguments`` with ``value`` at the slot (creating the input objects on its way)."""
    copied: dict[str, Any] = json.loads(json.dumps(arguments))
    target: dict[str, Any] = copied
    for step in slot.path[:-1]:
        inner = target.get(step)
        if isinstance(inner, list):
            if not inner:
                inner.append({})
            inner = inner[0]
        if not isinstance(inner, dict):
            inner = {}
            target[step] = inner
        target = inner
    target[slot.path[-1]] = [value] if slot.is_list else value
    return copied


# --- selections ----------------------------------------------------------------------------


ROOT_DEPTH: Final = 1
WRAPPERS: Final = ("Connection", "Payload")
"""Types that only wrap objects (a page, a mutation's answer): entered without spending a
level of depth, so that a page's nodes and a payload's object show their fields."""


def _selectable(field_: GraphQLField) -> bool:
    return not any(
        isinstance(argument.type, GraphQLNonNull) and argument.default_value is Undefined
        for argument in field_.args.values()
    )


@dataclass
class Fragments:
    """Named fragments ``<Type>_<depth>`` for one document: every field without required
    arguments of the type, its objects' fields one level less deep; ``skip`` leaves out
    fields (``Type.field``) the caller may not read at all."""

    skip: frozenset[str]
    written: dict[str, str] = field(default_factory=dict)
    aliases: int = 0
    """Aliases the fragments use (they count towards the document's alias limit)."""

    def spread(self, type_: GraphQLNamedType, depth: int) -> str:
        """The selection set for ``type_``: a fragment spread (one per member for a union,
        whose fields are aliased ``<Type>_<field>``: members' fields of one name may have
        different types, which one selection set cannot merge)."""
        if isinstance(type_, GraphQLUnionType):
            shapes: dict[str, set[str]] = {}
            for member in type_.types:
                for field_name, field_ in member.fields.items():
                    shapes.setdefault(field_name, set()).add(str(field_.type))
            clashing = frozenset(name for name, types in shapes.items() if len(types) > 1)
            members = " ".join(
                f"... on {member.name} {{ ...{self._fragment(member, depth, clashing)} }}"
                for member in type_.types
            )
            return f"{{ __typename {members} }}"
        assert isinstance(type_, GraphQLObjectType), type_
        return f"{{ ...{self._fragment(type_, depth)} }}"

    def _fragment(
        self, type_: GraphQLObjectType, depth: int, clashing: frozenset[str] = frozenset()
    ) -> str:
        name = f"{type_.name}_{depth}" + ("_in_union" if clashing else "")
        if name in self.written:
            return name
        self.written[name] = ""  # claimed before the fields: a cycle ends at depth 0 anyway
        parts = ["__typename"]
        for field_name, field_ in type_.fields.items():
            if f"{type_.name}.{field_name}" in self.skip or not _selectable(field_):
                continue
            if type_.name.endswith("Connection") and field_name == "edges":
                continue  # the same nodes as ``nodes``; ``pageInfo`` has the end cursor
            named = get_named_type(field_.type)
            page = "(first: 5)" if "first" in field_.args else ""
            alias = f"{type_.name}_{field_name}: " if field_name in clashing else ""
            self.aliases += bool(alias)
            if isinstance(named, GraphQLScalarType | GraphQLEnumType):
                parts.append(f"{alias}{field_name}")
            elif named.name.endswith(WRAPPERS):
                parts.append(f"{alias}{field_name}{page} {self.spread(named, depth)}")
            elif depth > 0:
                parts.append(f"{alias}{field_name}{page} {self.spread(named, depth - 1)}")
        self.written[name] = f"fragment {name} on {type_.name} {{ {' '.join(parts)} }}"
        return name

    def definitions(self) -> str:
        return "\n".join(self.written.values())


# --- probes --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Probe:
    """One call of a root field, with the values it sends."""

    coordinate: str
    """The root field, e.g. ``Mutation.eventUpdate``."""
    kind: str
    name: str
    arguments: Mapping[str, Any]
    what: str
    """What it tries, e.g. ``EventUpdateInput.id = events of B``."""
    sent: frozenset[str] = frozenset()
    """The other section's values this probe sends (an error may echo them)."""
    slot: str | None = None


def root_fields(schema: strawberry.Schema) -> Iterator[tuple[str, str, GraphQLField]]:
    for kind, root in roots(schema):
        for name, root_field in root.fields.items():
            yield kind, name, root_field


def declared(schema: strawberry.Schema, probe: Probe) -> GraphQLField:
    graphql_schema = schema._schema
    root = {
        "query": graphql_schema.query_type,
        "mutation": graphql_schema.mutation_type,
        "subscription": graphql_schema.subscription_type,
    }[probe.kind]
    assert root is not None
    root_field: GraphQLField = root.fields[probe.name]
    return root_field


def document(
    schema: strawberry.Schema, probes: Sequence[Probe], skip: frozenset[str]
) -> tuple[str, dict[str, Any], int]:
    """One document calling every probe (of one operation kind) under the alias ``p<i>``,
    each argument passed as a variable of its declared type; with its number of aliases."""
    fragments = Fragments(skip)
    declarations: list[str] = []
    calls: list[str] = []
    variables: dict[str, Any] = {}
    for index, probe in enumerate(probes):
        root_field = declared(schema, probe)
        passed = []
        for name, value in probe.arguments.items():
            variable = f"v{index}_{name}"
            declarations.append(f"${variable}: {root_field.args[name].type}")
            passed.append(f"{name}: ${variable}")
            variables[variable] = value
        call = f"{probe.name}({', '.join(passed)})" if passed else probe.name
        named = get_named_type(root_field.type)
        selection = (
            ""
            if isinstance(named, GraphQLScalarType | GraphQLEnumType)
            else " " + fragments.spread(named, ROOT_DEPTH)
        )
        calls.append(f"p{index}: {call}{selection}")
    kind = probes[0].kind
    head = f"{kind} ({', '.join(declarations)})" if declarations else kind
    text = f"{head} {{ {' '.join(calls)} }}\n{fragments.definitions()}"
    return text, variables, len(probes) + fragments.aliases


def coordinate_at(schema: strawberry.Schema, probe: Probe, path: Sequence[object]) -> str | None:
    """``Type.field`` of the field an error's path (below the probe's alias) points at:
    response keys are field names, or ``<Type>_<field>`` in a union's member fragment."""
    type_: GraphQLNamedType = get_named_type(declared(schema, probe).type)
    found = None
    for key in path[1:]:
        if not isinstance(key, str):
            continue  # a list index
        candidates = type_.types if isinstance(type_, GraphQLUnionType) else [type_]
        owner, name = next(
            (
                (candidate, field_name)
                for candidate in candidates
                if isinstance(candidate, GraphQLObjectType)
                for field_name in (key, key.removeprefix(f"{candidate.name}_"))
                if field_name in candidate.fields
            ),
            (None, ""),
        )
        if owner is None:
            return None
        found = f"{owner.name}.{name}"
        type_ = get_named_type(owner.fields[name].type)
    return found


def paged_fields(schema: strawberry.Schema) -> list[str]:
    """``Type.field`` of every field that takes a cursor (an ``after`` argument)."""
    found: list[str] = []
    for type_ in schema._schema.type_map.values():
        if isinstance(type_, GraphQLObjectType) and not type_.name.startswith("__"):
            found.extend(
                f"{type_.name}.{name}"
                for name, field_ in type_.fields.items()
                if "after" in field_.args
            )
    return sorted(found)
