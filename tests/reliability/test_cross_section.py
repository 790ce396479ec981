"""Cross-section probes: acting as or at section A, nothing of section B is ever reached.

Two sections, A and B, are seeded with rich data through the API: members, API keys,
webhooks (and a queued delivery), an allowlisted network, events (published, draft, a
host's pending one) with a registration, a translation, actions, a petition signature
with a consent, and a tally. Every text a section writes carries its own canary
string. The probes are generated from the schema (tests/reliability/cross_section.py):

- **id swap**: every root field once, and every slot of its arguments (an argument or
  input field that names an object, found by walking the input types) filled with B's real
  values of the slot's kind (B's event ids in ``eventUpdate``, B's webhook ids, B's code,
  B's supporters' emails, a registration's cancellation token, …) and with ids of B's
  other tables (the wrong kind: B's webhook id as an event id, …; each caller a sixth of
  them, rotating, so that the callers together try every table);
- **type swap**: ``_entities`` with every B id under every entity type name and key;
- **alias batches**: every document holds up to ``max_aliases`` probes, and every query
  probe is also repeated to the alias limit in one document;
- **fragments**: circular fragments, and fragments on the wrong type;
- **forged cursors**: for every field that pages, B's real cursor (B's keyset) and A's
  decoded, altered (B's section id in every key part, another list's kind, an extra part,
  huge numbers) and re-encoded, and junk;
- **a subscription** over graphql-transport-ws on a real server, at A, to the totals of
  what B's ids name.

The callers: anonymous (at the IS endpoint and at A's), A's staff in every section role, A's
partner app, an API key of A for every scope, B's staff (at A), IS analyst and admin (at A),
and forged (another key, ``alg: none``, tampered claims) and expired tokens. The API has no
supporter callers (supporters act anonymously, with codes from their mails).

The oracle: no response (its data, errors and extensions) ever contains B's canary or any id
of B's rows (IS staff may see B's section itself, as ``sections`` shows it them). An id a
probe sent itself may come back in an error about it (a top-level error at the probe's
alias, or a ``UserError`` in its payload): that is an echo, not a leak. Every B row is
digested as the database owner before and after each caller's probes: nothing of B changes.
docs/reliability.md ("Cross-section probes") says what this proves and what it does not.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import httpx
import pytest
import strawberry
from graphql import FragmentDefinitionNode, GraphQLError, OperationDefinitionNode, parse
from sqlalchemy import text as sql
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from strawberry.extensions.max_aliases import count_fields_with_alias

from tests.actions.test_ledger_api import World, join, open_campaign
from tests.conftest import SECTION_CREATE, GraphQLClient, section_input, unique_code
from tests.events.test_events_api import event_input
from tests.platform.test_forged_tokens import raw, with_payload
from tests.reliability.cross_section import (
    GLOBAL_CASE,
    ID_KINDS,
    NOT_AN_IDENTIFIER,
    Probe,
    Realistic,
    Slot,
    coordinate_at,
    declared,
    document,
    field_slots,
    paged_fields,
    placed,
    root_fields,
)
from tests.schema.test_websocket_auth import initialise, opened, receive
from tests.servers import RunningServer, serving
from w4r.platform.auth import ApiScope, Role, TokenIssuer, generate_signing_key
from w4r.platform.bootstrap import DatabaseTarget
from w4r.schema.api import build_schema
from w4r.schema.federation import ENTITIES
from w4r.schema.permissions import MATRIX
from w4r.settings import Settings

LANGUAGES: Final = ["en", "cy"]
"""Both sections speak the same languages, so a translation's key (case, language) is the
same in A and B."""
TRANSLATED: Final = "cy"
ROOT_TYPES: Final = ("Query.", "Mutation.", "Subscription.")


# --- seeding -------------------------------------------------------------------------------


@dataclass
class Seeded:
    """One section's data: what the API answered while seeding it, and its rows' ids."""

    code: str
    id: str
    canary: str
    """In every text the section's rows hold."""
    marker: str
    """In the section's own name (IS staff may read the section itself)."""
    host_subject: str
    keys: dict[str, str] = field(default_factory=dict)
    """A bearer key of the section for every scope."""
    values: dict[str, list[str]] = field(default_factory=dict)
    """Identifying values by kind (``section:code``, ``supporter:email``, …)."""
    rows: dict[str, list[str]] = field(default_factory=dict)
    """The ids of the section's rows, by table (read as the database owner)."""

    def add(self, kind: str, value: str) -> None:
        self.values.setdefault(kind, []).append(value)

    @property
    def row_ids(self) -> set[str]:
        return {each for ids in self.rows.values() for each in ids}


def staff(code: str, role: Role = Role.SECTION_ADMIN) -> dict[str, Any]:
    return {"role": role, "token_section": code, "section": code}


async def payload_of(
    graphql: GraphQLClient, mutation: str, values: dict[str, Any], **options: Any
) -> dict[str, Any]:
    """The only payload of ``mutation``, which must have no user error."""
    data = await graphql.data(mutation, {"input": values}, **options)
    (payload,) = data.values()
    assert payload["errors"] == [], payload
    result: dict[str, Any] = payload
    return result


MEMBER_ADD = """mutation ($input: SectionMemberAddInput!) {
  sectionMemberAdd(input: $input) { member { id } errors { code message } } }"""
KEY_CREATE = """mutation ($input: ApiKeyCreateInput!) {
  apiKeyCreate(input: $input) { key apiKey { id } errors { code message } } }"""
WEBHOOK_CREATE = """mutation ($input: WebhookCreateInput!) {
  webhookCreate(input: $input) { webhook { id } errors { code message } } }"""
NETWORK_ADD = """mutation ($input: AllowedNetworkAddInput!) {
  allowedNetworkAdd(input: $input) { allowedNetwork { id } errors { code message } } }"""
EVENT_CREATE = """mutation ($input: EventInput!) {
  eventCreate(input: $input) { event { id } errors { code message } } }"""
EVENT_PUBLISH = """mutation ($input: EventDecisionInput!) {
  eventPublish(input: $input) { event { id } errors { code message } } }"""
EVENT_REGISTER = """mutation ($input: EventRegisterInput!) {
  eventRegister(input: $input) { registrationId cancellationToken errors { code message } } }"""
TRANSLATION_UPSERT = """mutation ($input: CaseTranslationUpsertInput!) {
  caseTranslationUpsert(input: $input) { translation { language } errors { code message } } }"""
ACTION_RECORD = """mutation ($input: ActionRecordInput!) {
  actionRecord(input: $input) { action { id } errors { code message } } }"""
PETITION_SIGN = """mutation ($input: PetitionSignInput!) {
  petitionSign(input: $input) { signatureId errors { code message } } }"""
TALLY_REPORT = """mutation ($input: TallyReportInput!) {
  tallyReport(input: $input) { tally { id } errors { code message } } }"""


def section_event(world: World, canary: str, email: str, **overrides: Any) -> dict[str, Any]:
    texts = [{"language": "en", "title": f"Letters {canary}", "description": canary}]
    return event_input(
        world.year,
        texts=texts,
        organiserName=f"Group {canary}",
        organiserEmail=email,
        venueName=f"Hall {canary}",
        caseIds=[world.first.id],
        **overrides,
    )


async def seed(
    graphql: GraphQLClient, token_for: Callable[..., str], world: World, letter: str
) -> Seeded:
    """A section taking part in the world's campaign, with a row of every kind."""
    code = unique_code()
    canary = f"cnry{letter}{uuid.uuid4().hex[:10]}"
    marker = f"mark{letter}{uuid.uuid4().hex[:10]}"
    seeded = Seeded(code, "", canary, marker, host_subject=f"host-{canary}")
    values = section_input(code, name=f"Section {marker}", languages=LANGUAGES)
    created = await payload_of(graphql, SECTION_CREATE, values, role=Role.IS_ADMIN)
    seeded.id = created["section"]["id"]
    seeded.add("section:code", code)
    await join(graphql, code, world)
    admin = staff(code)
    for role in ("SECTION_EDITOR", "EVENT_HOST"):
        email = f"{role.lower()}-{uuid.uuid4().hex[:8]}@example.org"
        member = {"email": email, "displayName": f"Member {canary}", "role": role}
        await payload_of(graphql, MEMBER_ADD, member, **admin)
        seeded.add("member:email", email)
    for scope in ApiScope:
        key = {"name": f"{scope.value} {canary}", "scopes": [scope.value]}
        seeded.keys[scope] = (await payload_of(graphql, KEY_CREATE, key, **admin))["key"]
    hooks = ["event.published", "registration.created"]
    for owner in (admin, bearer(seeded.keys[ApiScope.READ_PUBLIC], code)):
        hook = {
            "url": f"https://hooks.example.org/{canary}",
            "events": hooks,
            "description": canary,
        }
        await payload_of(graphql, WEBHOOK_CREATE, hook, **owner)
    expires = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    network = {"network": "198.51.100.0/24", "note": f"School {canary}", "expiresAt": expires}
    await payload_of(graphql, NETWORK_ADD, network, **admin)
    organiser = seeded.values["member:email"][0]
    published = await payload_of(
        graphql, EVENT_CREATE, section_event(world, canary, organiser), **admin
    )
    event_id = published["event"]["id"]
    await payload_of(graphql, EVENT_PUBLISH, {"id": event_id}, **admin)
    await payload_of(graphql, EVENT_CREATE, section_event(world, canary, organiser), **admin)
    host_token = token_for(Role.EVENT_HOST, code, subject=seeded.host_subject)
    await payload_of(
        graphql,
        EVENT_CREATE,
        section_event(world, canary, organiser),
        headers={"authorization": f"Bearer {host_token}"},
        section=code,
    )
    supporter = f"supporter-{uuid.uuid4().hex[:8]}@example.org"
    seeded.add("supporter:email", supporter)
    client = str(uuid.uuid4())
    seeded.add("supporter:client", client)
    registration = {
        "eventId": event_id,
        "name": f"Guest {canary}",
        "email": supporter,
        "clientId": client,
    }
    registered = await payload_of(graphql, EVENT_REGISTER, registration, section=code)
    seeded.add("registration:token", registered["cancellationToken"])
    line = {"caseId": world.first.id, "actionType": "LETTER", "quantity": 3}
    text = {"title": f"Title {canary}", "summary": f"Summary {canary}"}
    translation = {"caseId": world.first.id, "language": TRANSLATED, "text": text}
    await payload_of(graphql, TRANSLATION_UPSERT, translation, **admin)
    action = {
        "campaign": world.year,
        "caseId": world.first.id,
        "actionType": "LETTER",
        "idempotencyKey": str(uuid.uuid4()),
        "clientId": client,
    }
    await payload_of(graphql, ACTION_RECORD, action, section=code)
    await payload_of(
        graphql, ACTION_RECORD, {**action, "idempotencyKey": str(uuid.uuid4())}, **admin
    )
    signature = {
        "campaign": world.year,
        "caseId": world.first.id,
        "email": supporter,
        "name": f"Signer {canary}",
        "country": "GB",
        "consents": [{"purpose": "CAMPAIGN_UPDATES", "wordingVersion": "v1"}],
        "idempotencyKey": str(uuid.uuid4()),
        "clientId": client,
    }
    await payload_of(graphql, PETITION_SIGN, signature, section=code)
    tally = {
        "campaign": world.year,
        "lines": [line],
        "idempotencyKey": str(uuid.uuid4()),
        "clientId": client,
        "reporterName": f"Reporter {canary}",
        "reporterEmail": supporter,
        "note": f"Note {canary}",
    }
    await payload_of(graphql, TALLY_REPORT, tally, section=code)
    return seeded


def bearer(key: str, code: str) -> dict[str, Any]:
    return {"headers": {"authorization": f"Bearer {key}"}, "section": code}


# --- B's rows, as the database owner -------------------------------------------------------


async def section_tables(engine: AsyncEngine) -> dict[str, bool]:
    """Every table with a ``section_id``, and whether it has an ``id`` of its own."""
    async with engine.connect() as connection:
        result = await connection.execute(
            sql(
                "select c.table_name, bool_or(c.column_name = 'id') "
                "from information_schema.columns c "
                "where c.table_schema = 'public' "
                "and c.table_name in (select table_name from information_schema.columns "
                "  where table_schema = 'public' and column_name = 'section_id') "
                "group by c.table_name order by 1"
            )
        )
        return {str(name): bool(has_id) for name, has_id in result}


async def row_ids(engine: AsyncEngine, section_id: str) -> dict[str, list[str]]:
    """The ids of the section's rows, by table (the section's own row under ``sections``)."""
    found: dict[str, list[str]] = {"sections": [section_id]}
    tables = await section_tables(engine)
    async with engine.connect() as connection:
        for table, has_id in tables.items():
            if not has_id:
                continue
            result = await connection.execute(
                sql(f'select id::text from "{table}" where section_id = :s order by 1'),
                {"s": section_id},
            )
            ids = [each for (each,) in result]
            if ids:
                found[table] = ids
    return found


async def digest(engine: AsyncEngine, section_id: str) -> dict[str, str]:
    """A hash of every row of the section, by table (and of the section's own row)."""
    tables = ["sections", *await section_tables(engine)]
    digests = {}
    async with engine.connect() as connection:
        for table in tables:
            column = "id" if table == "sections" else "section_id"
            result = await connection.execute(
                sql(
                    f"select count(*), md5(coalesce(string_agg(t::text, chr(10) order by t::text), '')) "  # noqa: E501
                    f'from "{table}" t where {column} = :s'
                ),
                {"s": section_id},
            )
            count, hashed = result.one()
            digests[table] = f"{count}:{hashed}"
    return digests


# --- callers -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Caller:
    """Who probes, from which endpoint; ``role`` and ``scopes`` are what the matrix sees."""

    label: str
    section: str | None
    authorization: str | None
    role: Role
    scopes: frozenset[str] | None = None
    own_section: str | None = None
    """The section the caller's credentials name: its code is no secret to it."""
    refused_with_status: int | None = None
    """Forged and expired tokens (401) and B's staff at A (403): every request is refused
    before it is read."""

    @property
    def is_international_secretariat(self) -> bool:
        return self.role in {Role.IS_ANALYST, Role.IS_ADMIN}

    @property
    def manages_every_section(self) -> bool:
        """IS admins change any section itself (``sectionUpdate``, ``sectionHostAdd``)."""
        return self.role is Role.IS_ADMIN

    def refused_by_matrix(self, coordinate: str) -> bool:
        """Whether the matrix refuses this caller ``coordinate`` before any resolver runs."""
        rule = MATRIX[coordinate]
        return (
            self.refused_with_status is not None
            or self.role not in rule.roles
            or (
                self.scopes is not None
                and (rule.api_scope is None or rule.api_scope not in self.scopes)
            )
        )

    def unreadable_fields(self) -> frozenset[str]:
        """Fields of objects the matrix refuses this caller wherever it asks: left out of
        selections, so that a refusal never nulls a parent that could show a leak."""
        return frozenset(
            coordinate
            for coordinate, rule in MATRIX.items()
            if not coordinate.startswith(ROOT_TYPES)
            and (
                self.role not in rule.roles
                or (
                    self.scopes is not None
                    and (rule.api_scope is None or rule.api_scope not in self.scopes)
                )
            )
        )


CALLER_LABELS: Final = [
    "anonymous at the IS endpoint",
    "anonymous at A",
    "event-host of A",
    "section-editor of A",
    "section-admin of A",
    "partner app of A",
    *(f"API key of A with {scope.value}" for scope in ApiScope),
    "section-admin of B at A",
    "event-host of B at A",
    "is-analyst at A",
    "is-admin at A",
    "token signed with another key",
    "token with alg none",
    "token with tampered claims",
    "expired token",
]


def caller_named(label: str, a: Seeded, b: Seeded, token_for: Callable[..., str]) -> Caller:
    def token(role: Role, section: str | None = None, **options: Any) -> str:
        return "Bearer " + token_for(role, section, **options)

    def unauthenticated(role: Role, authorization: str) -> Caller:
        """A caller whose token claims ``role`` but is refused (401)."""
        return Caller(label, a.code, authorization, role, refused_with_status=401)

    if label.startswith("API key of A with "):
        scope = ApiScope(label.removeprefix("API key of A with "))
        return Caller(
            label, a.code, f"Bearer {a.keys[scope]}", Role.PARTNER_APP, frozenset({scope})
        )
    editor = token_for(Role.SECTION_EDITOR, a.code)
    claims = json.loads(base64.urlsafe_b64decode(editor.split(".")[1] + "=="))
    named: dict[str, Callable[[], Caller]] = {
        "anonymous at the IS endpoint": lambda: Caller(label, None, None, Role.ANONYMOUS),
        "anonymous at A": lambda: Caller(label, a.code, None, Role.ANONYMOUS),
        "event-host of A": lambda: Caller(
            label, a.code, token(Role.EVENT_HOST, a.code, subject=a.host_subject), Role.EVENT_HOST
        ),
        "section-editor of A": lambda: Caller(
            label, a.code, token(Role.SECTION_EDITOR, a.code), Role.SECTION_EDITOR
        ),
        "section-admin of A": lambda: Caller(
            label, a.code, token(Role.SECTION_ADMIN, a.code), Role.SECTION_ADMIN
        ),
        "partner app of A": lambda: Caller(
            label, a.code, token(Role.PARTNER_APP, a.code), Role.PARTNER_APP
        ),
        "section-admin of B at A": lambda: Caller(
            label,
            a.code,
            token(Role.SECTION_ADMIN, b.code),
            Role.SECTION_ADMIN,
            own_section=b.code,
            refused_with_status=403,
        ),
        "event-host of B at A": lambda: Caller(
            label,
            a.code,
            token(Role.EVENT_HOST, b.code, subject=b.host_subject),
            Role.EVENT_HOST,
            own_section=b.code,
            refused_with_status=403,
        ),
        "is-analyst at A": lambda: Caller(label, a.code, token(Role.IS_ANALYST), Role.IS_ANALYST),
        "is-admin at A": lambda: Caller(label, a.code, token(Role.IS_ADMIN), Role.IS_ADMIN),
        "token signed with another key": lambda: unauthenticated(
            Role.IS_ADMIN, "Bearer " + other_issuer().issue(Role.IS_ADMIN)
        ),
        "token with alg none": lambda: unauthenticated(
            Role.IS_ADMIN,
            "Bearer " + raw({"alg": "none", "typ": "JWT"}, {**claims, "w4r_role": "is-admin"}, b""),
        ),
        "token with tampered claims": lambda: unauthenticated(
            Role.SECTION_ADMIN,
            "Bearer "
            + with_payload(editor, {**claims, "w4r_role": "section-admin", "w4r_section": b.code}),
        ),
        "expired token": lambda: unauthenticated(
            Role.SECTION_ADMIN,
            token(Role.SECTION_ADMIN, a.code, ttl_seconds=60, now=int(time.time()) - 3600),
        ),
    }
    return named[label]()


def other_issuer() -> TokenIssuer:
    """An issuer of the right name and audience whose key the deployment does not trust."""
    return TokenIssuer(generate_signing_key(), issuer="w4r-local", audience="w4r")


# --- running probes ------------------------------------------------------------------------


@dataclass
class Findings:
    """What one caller's probes found."""

    leaks: list[str] = field(default_factory=list)
    unexecuted: list[str] = field(default_factory=list)
    """Probes a limit refused before they ran (a generator fault, never expected)."""
    crashes: list[str] = field(default_factory=list)
    """Probes the app failed on with an exception instead of an answer."""
    probed: set[str] = field(default_factory=set)
    """Root fields and slots that ran (``Query.event``, ``EventUpdateInput.id``)."""
    requests: int = 0
    refused_below: set[str] = field(default_factory=set)
    """Fields below a root a resolver refused this caller."""


@dataclass
class Secrets:
    """What of B a caller must never be shown."""

    strings: frozenset[str]

    @classmethod
    def of(cls, b: Seeded, caller: Caller) -> Secrets:
        values = {b.canary, *b.row_ids}
        if not caller.is_international_secretariat:
            values |= {b.marker}
            if caller.own_section != b.code:
                values.add(b.code)
        else:
            # IS staff read every section itself (``sections``, ``_entities``): its row,
            # code and name are not B's secrets for them.
            values.discard(b.id)
        return cls(frozenset(values))

    def found_in(self, value: object, echoed: frozenset[str] = frozenset()) -> list[str]:
        text = json.dumps(value, sort_keys=True)
        return sorted(each for each in self.strings - echoed if each in text)


def split_user_errors(value: Any) -> tuple[Any, list[Any]]:
    """``value`` without its ``UserError`` objects, and those objects (errors in data).

    An audit entry's ``targetIds`` are left out too: A's log lists the ids A's own callers
    sent (B's, in earlier probes) as the targets they tried, an echo of an earlier request.
    B's own entries would still show their ids and B's section id."""
    if isinstance(value, dict):
        if value.get("__typename") == "UserError":
            return None, [value]
        if value.get("__typename") == "AuditEntry":
            value = {key: inner for key, inner in value.items() if key != "targetIds"}
        kept: dict[str, Any] = {}
        errors: list[Any] = []
        for key, inner in value.items():
            kept[key], found = split_user_errors(inner)
            errors.extend(found)
        return kept, errors
    if isinstance(value, list):
        pairs = [split_user_errors(inner) for inner in value]
        return [kept for kept, _ in pairs], [error for _, found in pairs for error in found]
    return value, []


def examine(
    body: dict[str, Any], probes: Sequence[Probe], secrets: Secrets, findings: Findings
) -> None:
    """Record every secret in ``body``, allowing a probe's own values in its errors."""
    by_alias = {f"p{index}": probe for index, probe in enumerate(probes)}
    every_sent = frozenset().union(*(probe.sent for probe in probes))
    for alias, value in (body.get("data") or {}).items():
        probe = by_alias.get(alias)
        label = f"{probe.coordinate} [{probe.what}]" if probe else alias
        kept, user_errors = split_user_errors(value)
        for secret in secrets.found_in(kept):
            findings.leaks.append(f"{label}: data holds {secret}")
        for secret in secrets.found_in(user_errors, probe.sent if probe else frozenset()):
            findings.leaks.append(f"{label}: a UserError holds {secret}")
    for error in body.get("errors") or ():
        path = error.get("path") or []
        probe = by_alias.get(path[0]) if path else None
        echoed = probe.sent if probe else every_sent
        label = f"{probe.coordinate} [{probe.what}]" if probe else "the document"
        for secret in secrets.found_in(error, echoed):
            findings.leaks.append(f"{label}: an error holds {secret}: {error.get('message')}")
    for secret in secrets.found_in(body.get("extensions")):
        findings.leaks.append(f"extensions hold {secret}")


@dataclass
class Prober:
    """Sends probes as one caller, in documents of up to ``max_aliases`` probes."""

    http: httpx.AsyncClient
    schema: strawberry.Schema
    caller: Caller
    secrets: Secrets
    max_aliases: int
    max_tokens: int
    findings: Findings = field(default_factory=Findings)
    skip: frozenset[str] = frozenset()
    """Fields left out of selections: those the matrix refuses the caller, and those that
    a resolver refused it once (e.g. a host's ``Event.registrations`` of another's event),
    so that a refusal never nulls a parent whose fields could show a leak."""

    refused_with: dict[str, list[Probe]] = field(default_factory=dict)
    """The probes a refused mutation's one probe stands for."""

    def __post_init__(self) -> None:
        self.skip = self.caller.unreadable_fields()

    async def post(self, query: str, variables: dict[str, Any] | None = None) -> httpx.Response:
        headers = {"accept": "application/graphql-response+json"}
        if self.caller.authorization is not None:
            headers["authorization"] = self.caller.authorization
        path = "/graphql" if self.caller.section is None else f"/s/{self.caller.section}/graphql"
        body: dict[str, Any] = {"query": query}
        if variables is not None:
            body["variables"] = variables
        self.findings.requests += 1
        return await self.http.post(path, json=body, headers=headers)

    async def run(self, probes: Sequence[Probe]) -> None:
        """Every probe; of a mutation the matrix refuses the caller, one only (a refused
        mutation ends the document's serial execution, and the matrix refuses it before
        any argument is read: tests/schema/test_permission_matrix.py): its slots count as
        probed once it was refused."""
        chosen: list[Probe] = []
        stand_ins: dict[str, Probe] = {}
        for probe in probes:
            if (
                probe.kind == "mutation"
                and self.caller.refused_with_status is None
                and self.caller.refused_by_matrix(probe.coordinate)
            ):
                if probe.coordinate in stand_ins:
                    self.refused_with[probe.coordinate].append(probe)
                    continue
                stand_ins[probe.coordinate] = probe
                self.refused_with[probe.coordinate] = []
            chosen.append(probe)
        for probe in stand_ins.values():
            await self.batch([probe])
        chosen = [probe for probe in chosen if probe not in stand_ins.values()]
        for kind in ("query", "mutation"):
            of_kind = [probe for probe in chosen if probe.kind == kind]
            while of_kind:
                size = self.largest_fit(of_kind)
                await self.batch(of_kind[:size])
                of_kind = of_kind[size:]

    def largest_fit(self, probes: Sequence[Probe]) -> int:
        """How many of ``probes``, from the first, one document holds (at least one)."""
        low, high = 1, min(len(probes), self.max_aliases)
        while low < high:
            middle = (low + high + 1) // 2
            if self.fits(probes[:middle]):
                low = middle
            else:
                high = middle - 1
        return low

    def fits(self, probes: Sequence[Probe]) -> bool:
        """Within the limits of aliases and tokens (a bigger document is refused unread)."""
        query, _, _ = document(self.schema, probes, self.skip)
        try:
            parsed = parse(query, max_tokens=self.max_tokens)
        except GraphQLError:
            return False
        fragments = {
            each.name.value: each
            for each in parsed.definitions
            if isinstance(each, FragmentDefinitionNode)
        }
        aliases = sum(
            count_fields_with_alias(each, fragments)
            for each in parsed.definitions
            if isinstance(each, OperationDefinitionNode)
        )
        return aliases <= self.max_aliases

    async def batch(self, probes: Sequence[Probe]) -> None:
        query, variables, _ = document(self.schema, probes, self.skip)
        try:
            response = await self.post(query, variables)
        except (Exception, asyncio.CancelledError) as error:
            # The app raised instead of answering: a fault, isolated down to one probe.
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise  # this test itself is being cancelled
            if len(probes) > 1:
                await self.split(probes)
            else:
                self.findings.crashes.append(
                    f"{probes[0].coordinate} [{probes[0].what}]: {error!r}"
                )
            return
        body = response.json()
        examine(body, probes, self.secrets, self.findings)
        if self.caller.refused_with_status is not None:
            assert response.status_code == self.caller.refused_with_status, body
            self.seen(probes)
            return
        if "data" not in body:
            # A limit refused the document before it ran: split it, down to one probe.
            if len(probes) > 1:
                await self.split(probes)
            else:
                self.findings.unexecuted.append(
                    f"{probes[0].coordinate} [{probes[0].what}]: {body}"
                )
            return
        if body["data"] is not None:
            self.seen(probes)
            return
        # An error nulled the whole answer (a null in a non-null position propagates up to
        # the data). Probes whose root field failed are answered (null). A refusal deeper
        # down leaves that field out of this caller's selections from now on. The others
        # run again.
        failed: set[str] = set()
        refused: set[str | None] = set()
        by_alias = {f"p{index}": probe for index, probe in enumerate(probes)}
        for located in body.get("errors") or ():
            path = located.get("path") or []
            if len(path) == 1:
                failed.add(path[0])
            elif path and path[0] in by_alias:
                refused.add(coordinate_at(self.schema, by_alias[path[0]], path))
        # A probe sent twice fails twice: only the first failure is reported, as a root
        # field's error ends the operation.
        failing = [by_alias[alias] for alias in failed if alias in by_alias]
        answered = [probe for probe in probes if probe in failing]
        rest = [probe for probe in probes if probe not in failing]
        self.seen(answered)
        if refused - {None} - self.skip:
            self.skip |= {each for each in refused if each is not None}
            self.findings.refused_below |= {each for each in refused if each is not None}
        elif not answered:
            # Nothing to leave out or drop: the answers are as seen.
            self.seen(rest)
            return
        if rest:
            await self.batch(rest)

    async def split(self, probes: Sequence[Probe]) -> None:
        half = len(probes) // 2
        await self.batch(probes[:half])
        await self.batch(probes[half:])

    def seen(self, probes: Sequence[Probe]) -> None:
        for probe in probes:
            self.findings.probed.add(probe.coordinate)
            for each in (probe, *self.refused_with.get(probe.coordinate, ())):
                if each.slot:
                    self.findings.probed.add(each.slot)


# --- the probes ----------------------------------------------------------------------------


WRONG_KIND_SHARE: Final = 6
"""A slot gets one id of every sixth other kind per caller (rotating with the caller, so
that the callers together try every kind): a probe whose root field fails ends the whole
operation (null propagation, and a mutation's serial execution), so each costs a request."""


def fills(slot: Slot, b: Seeded, share: int | None = None) -> Iterator[tuple[str, str]]:
    """``(what, value)``: B's values of the slot's kind, then one id of every other kind
    (of the ``share``-th sixth of them, when given)."""
    kind = slot.kind
    assert kind is not None, slot
    if kind == NOT_AN_IDENTIFIER:
        return
    if kind in b.values:
        for value in b.values[kind]:
            yield f"{slot.coordinate} = B's {kind}", value
    elif kind in b.rows:
        for value in b.rows[kind][:2]:
            yield f"{slot.coordinate} = B's {kind}", value
    if slot.scalar in {"UUID", "ID"}:
        others = [(table, ids) for table, ids in sorted(b.rows.items()) if table != kind]
        for position, (table, ids) in enumerate(others):
            if share is None or position % WRONG_KIND_SHARE == share % WRONG_KIND_SHARE:
                yield f"{slot.coordinate} = B's {table} (wrong kind)", ids[0]
    elif kind != "section:code":
        yield f"{slot.coordinate} = B's code (wrong kind)", b.code


def sent_of(arguments: Mapping[str, Any], b: Seeded) -> frozenset[str]:
    """B's values and ids among ``arguments``: an error about them may echo them."""
    text = json.dumps(arguments)
    every = {b.code, *b.row_ids, *(each for values in b.values.values() for each in values)}
    return frozenset(each for each in every if each in text)


def id_swaps(
    schema: strawberry.Schema, realistic: Realistic, b: Seeded, share: int = 0
) -> list[Probe]:
    """Every root field once as it is, and once for each of B's values in each of its slots
    (of the wrong kind: B's ids of the ``share``-th sixth of the other tables)."""
    probes = []
    for kind, name, root_field in root_fields(schema):
        if kind == "subscription":
            continue  # over graphql-transport-ws: test_a_subscription_at_a_...
        coordinate = f"{kind.capitalize()}.{name}"
        base = realistic.arguments(root_field)
        probes.append(Probe(coordinate, kind, name, base, "as generated", sent_of(base, b)))
        for slot in field_slots(kind.capitalize(), name, root_field):
            for what, value in fills(slot, b, share):
                arguments = placed(base, slot, value)
                probes.append(
                    Probe(
                        coordinate,
                        kind,
                        name,
                        arguments,
                        what,
                        sent_of(arguments, b),
                        slot.coordinate,
                    )
                )
    return probes


def type_swaps(b: Seeded) -> list[Probe]:
    """``_entities`` with each of B's ids and B's code under every entity type and key."""
    probes = []
    for entity in ENTITIES.values():
        for key in entity.keys:
            if key == "id":
                values = [ids[0] for ids in b.rows.values()]
            elif key in {"code", "slug"}:
                values = [b.code, b.canary]
            else:
                continue  # a campaign's year: global, nothing of a section
            for value in values:
                representation = {"__typename": entity.name, key: value}
                probes.append(
                    Probe(
                        "Query._entities",
                        "query",
                        "_entities",
                        {"representations": [representation]},
                        f"{entity.name}.{key} = {value}",
                        frozenset({value}),
                        f"_Entity.{entity.name}.{key}",
                    )
                )
    return probes


async def probe_all(
    prober: Prober, probes: Sequence[Probe], engine: AsyncEngine, b: Seeded
) -> list[str]:
    """Runs the probes; the tables of B whose rows changed (for an IS admin, who manages
    every section, not counting B's own row in ``sections``)."""
    before = await digest(engine, b.id)
    await prober.run(probes)
    after = await digest(engine, b.id)
    if prober.caller.manages_every_section:
        del before["sections"]
    return [table for table in before if before[table] != after.get(table)]


# --- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def world(module_graphql: GraphQLClient) -> World:
    return await open_campaign(module_graphql, featured=2)


@pytest.fixture(scope="module")
async def sections(
    module_graphql: GraphQLClient,
    token_for: Callable[..., str],
    world: World,
    owner_engine: AsyncEngine,
) -> tuple[Seeded, Seeded]:
    a = await seed(module_graphql, token_for, world, "a")
    b = await seed(module_graphql, token_for, world, "b")
    for seeded in (a, b):
        seeded.rows = await row_ids(owner_engine, seeded.id)
    return a, b


@pytest.fixture(scope="module")
def schema(settings: Settings) -> strawberry.Schema:
    return build_schema(settings)


@pytest.fixture(scope="module")
def realistic(world: World, sections: tuple[Seeded, Seeded]) -> Realistic:
    return Realistic(
        year=world.year,
        case_id=world.first.id,
        case_slug=world.first.slug,
        code=sections[1].code,
        language=TRANSLATED,
        event_input=event_input(world.year, caseIds=[world.first.id]),
        unique=(str(uuid.uuid4()) for _ in itertools.count()),
    )


@pytest.fixture(scope="module")
async def http(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


def prober_for(
    http: httpx.AsyncClient,
    schema: strawberry.Schema,
    settings: Settings,
    caller: Caller,
    b: Seeded,
) -> Prober:
    return Prober(
        http, schema, caller, Secrets.of(b, caller), settings.max_aliases, settings.max_tokens
    )


# --- tests ---------------------------------------------------------------------------------


@pytest.mark.parametrize("label", CALLER_LABELS)
async def test_no_probe_reaches_the_other_sections_objects(
    http: httpx.AsyncClient,
    schema: strawberry.Schema,
    settings: Settings,
    sections: tuple[Seeded, Seeded],
    realistic: Realistic,
    token_for: Callable[..., str],
    owner_engine: AsyncEngine,
    label: str,
) -> None:
    # given a caller acting as or at A, and every probe of B's values
    a, b = sections
    caller = caller_named(label, a, b, token_for)
    prober = prober_for(http, schema, settings, caller, b)
    probes = id_swaps(schema, realistic, b, CALLER_LABELS.index(label)) + type_swaps(b)

    # when it sends them all
    changed = await probe_all(prober, probes, owner_engine, b)

    # then no response shows anything of B, nothing of B changed, and every probe ran
    assert prober.findings.leaks == []
    assert changed == []
    assert prober.findings.crashes == []
    assert prober.findings.unexecuted == []
    assert prober.findings.probed == {probe.coordinate for probe in probes} | {
        probe.slot for probe in probes if probe.slot
    }


# --- forged cursors ------------------------------------------------------------------------

NESTED_PAGES: Final[Mapping[str, str]] = {
    "Section.members": "query ($after: String) { p0: section { members(first: 5, after: $after) "
    "{ edges { cursor node { id email displayName } } pageInfo { endCursor } } } }",
}
"""Paged fields below the root, with the document that reaches them at A's endpoint."""

CURSOR_CALLERS: Final = ["section-admin of A", "is-admin at A"]
"""Who pages with forged cursors: the section's staff, who read every list of it, and IS
staff, who read every section (the public reads few lists: the id swaps page them)."""


def encode(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def decode(cursor: str) -> list[Any]:
    decoded: list[Any] = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    return decoded


async def end_cursor(
    http: httpx.AsyncClient,
    schema: strawberry.Schema,
    path: str,
    authorization: str,
    coordinate: str,
    arguments: Mapping[str, Any],
) -> str | None:
    """The first page's end cursor of a paged field, as a caller who may read it."""
    if coordinate in NESTED_PAGES:
        query, variables = NESTED_PAGES[coordinate], {"after": None}
    else:
        name = coordinate.removeprefix("Query.")
        root_field = declared(schema, Probe(coordinate, "query", name, {}, ""))
        arguments = {**arguments, "first": 1}
        declarations = ", ".join(f"${each}: {root_field.args[each].type}" for each in arguments)
        passed = ", ".join(f"{each}: ${each}" for each in arguments)
        query = f"query ({declarations}) {{ p0: {name}({passed}) {{ pageInfo {{ endCursor }} }} }}"
        variables = dict(arguments)
    response = await http.post(
        path,
        json={"query": query, "variables": variables},
        headers={"authorization": authorization, "accept": "application/graphql-response+json"},
    )
    body = response.json()
    assert "errors" not in body, body
    page = body["data"]["p0"]
    page = page["members"] if coordinate in NESTED_PAGES else page
    cursor: str | None = page["pageInfo"]["endCursor"]
    return cursor


def forged_cursors(
    own: str | None, other: str | None, kinds: Sequence[str], b: Seeded
) -> Iterator[tuple[str, str]]:
    """``(what, cursor)``: B's real cursor, A's altered in every key part and kind, junk."""
    if other is not None:
        yield "B's own cursor (B's keyset)", other
    if own is not None:
        kind, *key = decode(own)
        replacements = [b.id]
        for index in range(len(key)):
            for value in replacements:
                altered = list(key)
                altered[index] = value
                yield f"key part {index} = {value}", encode([kind, *altered])
        # Another list's kind over A's keyset.
        others = [each for each in kinds if each != kind]
        for other_list in others[:1]:
            yield f"kind {other_list}", encode([other_list, *key])
        yield "one part too many", encode([kind, *key, b.id])
        yield "a number part", encode([kind, *(10**30 for _ in key)])
    yield from (
        ("not base64", "!!!"),
        ("an object", encode({"kind": b.id})),
        ("nested lists", encode([[b.id]])),
    )


@pytest.fixture(scope="module")
async def cursors(
    http: httpx.AsyncClient,
    schema: strawberry.Schema,
    sections: tuple[Seeded, Seeded],
    token_for: Callable[..., str],
) -> dict[str, tuple[str | None, str | None]]:
    """A's and B's real end cursor of every paged field (None where the list is empty)."""
    a, b = sections
    found: dict[str, tuple[str | None, str | None]] = {}
    for coordinate in paged_fields(schema):
        pair = []
        for seeded in (a, b):
            role = Role.IS_ADMIN if coordinate == "Query.sections" else Role.SECTION_ADMIN
            section = None if role is Role.IS_ADMIN else seeded.code
            authorization = "Bearer " + token_for(role, section)
            arguments: dict[str, Any] = {}
            if coordinate == "Query.webhookDeliveries":
                arguments["webhookId"] = seeded.rows["webhook_subscriptions"][0]
            path = f"/s/{seeded.code}/graphql"
            pair.append(await end_cursor(http, schema, path, authorization, coordinate, arguments))
        found[coordinate] = (pair[0], pair[1])
    return found


@pytest.mark.parametrize("label", CURSOR_CALLERS)
async def test_no_forged_cursor_reaches_the_other_sections_rows(
    http: httpx.AsyncClient,
    schema: strawberry.Schema,
    settings: Settings,
    sections: tuple[Seeded, Seeded],
    realistic: Realistic,
    cursors: dict[str, tuple[str | None, str | None]],
    token_for: Callable[..., str],
    owner_engine: AsyncEngine,
    label: str,
) -> None:
    # given a caller at A, and for every paged field cursors forged from A's and B's
    a, b = sections
    caller = caller_named(label, a, b, token_for)
    prober = prober_for(http, schema, settings, caller, b)
    kinds = sorted({decode(cursor)[0] for pair in cursors.values() for cursor in pair if cursor})
    probes = []
    nested = []
    for coordinate, (own, other) in cursors.items():
        for what, cursor in forged_cursors(own, other, kinds, b):
            if coordinate in NESTED_PAGES:
                nested.append((coordinate, what, cursor))
                continue
            name = coordinate.removeprefix("Query.")
            arguments = realistic.arguments(
                declared(schema, Probe(coordinate, "query", name, {}, ""))
            )
            if "webhookId" in arguments:
                arguments["webhookId"] = a.rows["webhook_subscriptions"][0]
            arguments["after"] = cursor
            probes.append(
                Probe(coordinate, "query", name, arguments, what, sent_of(arguments, b) | {cursor})
            )

    # when it pages with each of them
    changed = await probe_all(prober, probes, owner_engine, b)
    for coordinate, what, cursor in nested:
        response = await prober.post(NESTED_PAGES[coordinate], {"after": cursor})
        probe = Probe(coordinate, "query", "section", {}, what, frozenset({cursor}))
        examine(response.json(), [probe], prober.secrets, prober.findings)
        prober.findings.probed.add(coordinate)

    # then no page shows anything of B, and every paged field was probed
    assert prober.findings.leaks == []
    assert changed == []
    assert prober.findings.crashes == []
    assert prober.findings.unexecuted == []
    assert set(cursors) <= prober.findings.probed


# --- alias batches and fragments -----------------------------------------------------------

BATCH_CALLERS: Final = ["anonymous at A", "section-admin of A", "is-admin at A"]


@pytest.mark.parametrize("label", BATCH_CALLERS)
async def test_a_probe_repeated_to_the_alias_limit_reaches_nothing_of_the_other_section(
    http: httpx.AsyncClient,
    schema: strawberry.Schema,
    settings: Settings,
    sections: tuple[Seeded, Seeded],
    realistic: Realistic,
    token_for: Callable[..., str],
    owner_engine: AsyncEngine,
    label: str,
) -> None:
    # given every query probe of B's values of the right kind, each as its own document
    # of as many aliased copies of it as the limits allow
    a, b = sections
    caller = caller_named(label, a, b, token_for)
    prober = prober_for(http, schema, settings, caller, b)
    swaps = [
        probe
        for probe in id_swaps(schema, realistic, b) + type_swaps(b)
        if probe.kind == "query" and probe.slot and "wrong kind" not in probe.what
    ]
    chosen = list({probe.slot: probe for probe in swaps}.values())

    # when each is sent repeated to the alias limit
    before = await digest(owner_engine, b.id)
    copies = []
    for probe in chosen:
        size = prober.largest_fit([probe] * settings.max_aliases)
        copies.append(size)
        await prober.batch([probe] * size)

    # then no copy shows anything of B, and each went out in a batch
    assert prober.findings.leaks == []
    assert prober.findings.crashes == []
    assert prober.findings.unexecuted == []
    assert await digest(owner_engine, b.id) == before
    assert min(copies) > 1


FRAGMENT_DOCUMENTS: Final[Mapping[str, str]] = {
    "circular fragments": """
        query ($id: UUID!) { event(id: $id) { ...First } }
        fragment First on Event { id ...Second }
        fragment Second on Event { organiserName ...First }
    """,
    "a fragment spread on the wrong type": """
        query ($id: UUID!) { event(id: $id) { ...Members } }
        fragment Members on Section { id members(first: 5) { nodes { email displayName } } }
    """,
    "an inline fragment on the wrong type": """
        query ($id: UUID!) { event(id: $id) { ... on Section { id name } } }
    """,
    "B's event under every member of _entities": """
        query ($representations: [_Any!]!) {
          _entities(representations: $representations) {
            ... on Section { id name members(first: 5) { nodes { email displayName } } }
            ... on Event { id organiserName organiserEmail registrations { name email } }
            ... on Case { id translations { title summary } }
            ... on Campaign { id participation { featuredCases { id } } }
          }
        }
    """,
    "a fragment on the union, nested in itself": """
        query ($representations: [_Any!]!) {
          _entities(representations: $representations) { ...Any }
        }
        fragment Any on _Entity { ... on Event { id ...Any } }
    """,
}


VALID_FRAGMENT_DOCUMENTS: Final = frozenset({"B's event under every member of _entities"})


@pytest.mark.parametrize("label", BATCH_CALLERS)
@pytest.mark.parametrize("name", sorted(FRAGMENT_DOCUMENTS))
async def test_fragments_circular_or_on_the_wrong_type_reach_nothing_of_the_other_section(
    http: httpx.AsyncClient,
    schema: strawberry.Schema,
    settings: Settings,
    sections: tuple[Seeded, Seeded],
    token_for: Callable[..., str],
    label: str,
    name: str,
) -> None:
    # given B's event, and a document of fragments that are circular or on the wrong type
    a, b = sections
    prober = prober_for(http, schema, settings, caller_named(label, a, b, token_for), b)
    event_id = b.rows["events"][0]
    variables = {
        "id": event_id,
        "representations": [
            {"__typename": entity, "id": each}
            for entity in ("Event", "Section")
            for each in (event_id, b.id)
        ],
    }

    # when it is sent
    response = await prober.post(FRAGMENT_DOCUMENTS[name], variables)

    # then it is refused unread (400) or answers nothing of B (beyond its own ids echoed
    # in errors); the valid one runs
    body = response.json()
    probe = Probe("Query.event", "query", "event", variables, name, sent_of(variables, b))
    examine(body, [probe], prober.secrets, prober.findings)
    assert prober.findings.leaks == []
    assert response.status_code == (200 if name in VALID_FRAGMENT_DOCUMENTS else 400), body


# --- a subscription ------------------------------------------------------------------------

TOTALS_UPDATED: Final = """
subscription ($campaign: Int!, $case: UUID) {
  totalsUpdated(campaign: $campaign, case: $case) {
    campaignYear caseId totals { quantity verified selfReported }
  }
}
"""


@pytest.fixture(scope="module")
async def server(
    settings: Settings, database_target: DatabaseTarget
) -> AsyncIterator[RunningServer]:
    async with serving(settings, database_target) as running:
        yield running


async def test_a_subscription_at_a_to_what_the_other_sections_ids_name_shows_nothing_of_it(
    server: RunningServer,
    http: httpx.AsyncClient,
    sections: tuple[Seeded, Seeded],
    world: World,
    token_for: Callable[..., str],
) -> None:
    # given a connection at A's endpoint, as A's section admin
    a, b = sections
    secrets = Secrets.of(b, caller_named("section-admin of A", a, b, token_for))
    targets = {"the campaign": None, "a case": world.first.id}
    targets |= {f"B's {table}": ids[0] for table, ids in sorted(b.rows.items())}
    answers: dict[str, dict[str, Any]] = {}
    async with opened(server, a.code) as socket:
        await initialise(
            socket, {"authorization": f"Bearer {token_for(Role.SECTION_ADMIN, a.code)}"}
        )
        assert await receive(socket) == {"type": "connection_ack"}

        # when it subscribes to the totals of what each of B's ids names
        for what, case in targets.items():
            variables = {"campaign": world.year, "case": case}
            message = {
                "id": what,
                "type": "subscribe",
                "payload": {"query": TOTALS_UPDATED, "variables": variables},
            }
            await socket.send(json.dumps(message))
            answers[what] = await receive(socket)

        # and B records an action, so that the subscriptions get an update
        action = {
            "campaign": world.year,
            "caseId": world.first.id,
            "actionType": "LETTER",
            "idempotencyKey": str(uuid.uuid4()),
        }
        recorded = await http.post(
            f"/s/{b.code}/graphql",
            json={"query": ACTION_RECORD, "variables": {"input": action}},
            headers={"authorization": f"Bearer {token_for(Role.SECTION_ADMIN, b.code)}"},
        )
        assert recorded.json()["data"]["actionRecord"]["errors"] == []
        update = await receive(socket)

    # then each answer is public totals (B's id echoed as the case asked for, at most)
    for what, answer in answers.items():
        sent = targets[what]
        assert answer["type"] in {"next", "error"}, answer
        if answer["type"] == "next":
            assert answer["payload"]["data"]["totalsUpdated"]["caseId"] == sent
        assert secrets.found_in(answer, frozenset({sent} if sent else ())) == [], what
    assert update["type"] == "next"
    assert secrets.found_in(update, frozenset(each for each in targets.values() if each)) == []


# --- the generator covers the schema -------------------------------------------------------


def test_every_identifying_slot_of_the_schema_has_a_kind(schema: strawberry.Schema) -> None:
    # given every slot found by walking the root fields' arguments
    found = {
        slot.coordinate
        for kind, name, root_field in root_fields(schema)
        for slot in field_slots(kind.capitalize(), name, root_field)
    }

    # then each has a kind in ID_KINDS (a new one must be added there), and none is stale
    missing = sorted(found - set(ID_KINDS))
    assert missing == [], (
        f"new arguments or input fields that name an object: {missing}; add each to "
        "ID_KINDS in tests/reliability/cross_section.py with the kind of object it names"
    )
    assert sorted(set(ID_KINDS) - found) == []


def test_every_root_field_entity_slot_and_page_gets_probes(
    schema: strawberry.Schema,
) -> None:
    # given B's rows of every kind the slots name, and a cursor of every paged field
    b = Seeded("zz-b", "00000000-0000-4000-8000-00000000000b", "cnry", "mark", "host")
    tables = {kind for kind in ID_KINDS.values() if ":" not in kind and kind != NOT_AN_IDENTIFIER}
    b.rows = {table: [str(uuid.uuid4())] for table in tables | {"sections"}}
    b.values = {
        kind: ["value"] for kind in ID_KINDS.values() if ":" in kind and kind != GLOBAL_CASE
    }
    realistic = Realistic(2030, str(uuid.uuid4()), "case", "zz-b", "cy", {}, iter(str, None))

    # when the probes are generated
    probes = id_swaps(schema, realistic, b) + type_swaps(b)

    # then every root field (subscriptions over the socket), every entity type's keys and
    # every identifying slot has one, and every paged field is reachable
    roots_probed = {probe.coordinate for probe in probes}
    every_root = {f"{kind.capitalize()}.{name}" for kind, name, _ in root_fields(schema)}
    assert every_root - roots_probed == {
        f"Subscription.{name}" for kind, name, _ in root_fields(schema) if kind == "subscription"
    }
    slots_probed = {probe.slot for probe in probes if probe.slot}
    entity_keys = {
        f"_Entity.{entity.name}.{key}" for entity in ENTITIES.values() for key in entity.keys
    }
    assert entity_keys - slots_probed == {"_Entity.Campaign.year"}, "a global key, no section's"
    identifying = {coordinate for coordinate, kind in ID_KINDS.items() if kind != NOT_AN_IDENTIFIER}
    unprobed = (
        identifying
        - slots_probed
        - {coordinate for coordinate in identifying if coordinate.startswith("Subscription.")}
    )
    assert unprobed == set(), f"slots the generator cannot fill: {sorted(unprobed)}"
    pages = paged_fields(schema)
    unreachable = [
        page for page in pages if not page.startswith("Query.") and page not in NESTED_PAGES
    ]
    assert unreachable == [], (
        f"paged fields below the root: add each to NESTED_PAGES: {unreachable}"
    )


# --- a fault the probes found --------------------------------------------------------------


async def test_a_field_refused_beside_loading_siblings_answers_instead_of_failing(
    http: httpx.AsyncClient, sections: tuple[Seeded, Seeded], token_for: Callable[..., str]
) -> None:
    # given A's events, one of them its host's own, listed by that host with what a host
    # reads of its own events only (the others' registrations are refused), beside the
    # same events' seats, loaded once for both lists through the request's DataLoader
    a, _ = sections
    token = token_for(Role.EVENT_HOST, a.code, subject=a.host_subject)
    query = """
    query {
      events(first: 5) {
        edges { node { id registeredCount } }
        nodes { id registeredCount registrations { id } }
      }
    }
    """

    # when the host asks, several times over one pool of connections
    for _ in range(3):
        response = await http.post(
            f"/s/{a.code}/graphql",
            json={"query": query},
            headers={"authorization": f"Bearer {token}", "accept": "application/json"},
        )

        # then each time it is an answer: the refusal at its path, not a failed request
        body = response.json()
        assert response.status_code == 200, body
        assert {error["extensions"]["code"] for error in body["errors"]} == {"FORBIDDEN"}
        assert all(error["path"][-1] == "registrations" for error in body["errors"])
