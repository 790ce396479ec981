"""Abuse protection in the API: screening anonymous public writes, the section's
allowlisted networks, and what staff see of the writes that were held back.

A public write that fails screening is still recorded, flagged, and never counted; the
caller gets the same answer as for a counted write, so a bot cannot tell it was caught.
Only anonymous callers are screened: staff, event hosts and API keys are accountable.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from uuid import UUID

import strawberry
from cross_web import HTTPException
from graphql import GraphQLError, OperationDefinitionNode, OperationType, parse
from strawberry.http import GraphQLRequestData
from strawberry.types import ExecutionResult

from w4r.abuse.allowlist import AllowlistDraft, AllowlistService
from w4r.abuse.documents import DocumentCache, document_hash, parse_document_id
from w4r.abuse.models import AllowedNetwork, WriteFlag
from w4r.abuse.screening import PublicWriteKind, WriteAllowances, screen
from w4r.actions.repository import LedgerRepository
from w4r.platform.ratelimit import Allowance
from w4r.schema.actions.types import ActionNode
from w4r.schema.context import Context, Info
from w4r.schema.errors import UserError, run_mutation
from w4r.schema.pagination import (
    Connection,
    build_connection,
    decode_cursor,
    invalid_cursor,
    page_size,
)
from w4r.settings import Settings

__all__ = [
    "AbuseMutations",
    "AbuseQueries",
    "DocumentCache",
    "DocumentRequestError",
    "PublicWriteKind",
    "requested_document_id",
    "screen_public_write",
    "untrusted_write_refusal",
    "with_trusted_document",
]

FLAGGED_ACTION_CURSOR = "FlaggedAction"


def allowances(settings: Settings, kind: PublicWriteKind) -> WriteAllowances:
    """The configured allowances of one kind of public write."""
    window = settings.public_write_window_seconds
    per_address, per_section = {
        PublicWriteKind.ACTION: (
            settings.public_actions_per_ip,
            settings.public_actions_per_section,
        ),
        PublicWriteKind.SIGNATURE: (
            settings.public_signatures_per_ip,
            settings.public_signatures_per_section,
        ),
        PublicWriteKind.REGISTRATION: (
            settings.public_registrations_per_ip,
            settings.public_registrations_per_section,
        ),
    }[kind]
    return WriteAllowances(
        per_address=Allowance(per_address, window),
        per_allowlisted_address=Allowance(settings.public_writes_per_allowlisted_ip, window),
        per_section=Allowance(per_section, window),
    )


async def public_write_flag(info: Info, kind: PublicWriteKind) -> WriteFlag | None:
    """Spend this public write from its budgets; the flag to record it with, or None when
    it counts. Call it once per write, just before storing it (not for a replay)."""
    context = info.context
    if not context.principal.is_anonymous or context.section is None:
        return None
    client = context.request.client
    return await screen(
        context.services.budgets,
        kind,
        section_id=context.section.id,
        # The peer address as the ASGI server reports it: behind a proxy the server must
        # be told which proxies to trust (uvicorn --forwarded-allow-ips), see docs/limits.md.
        host=None if client is None else client.host,
        allowances=allowances(context.services.settings, kind),
        is_allowlisted=AllowlistService(context.session).covers,
    )


async def screen_public_write(info: Info, kind: PublicWriteKind) -> bool:
    """True when this write must be recorded as flagged and never counted."""
    return await public_write_flag(info, kind) is not None


# --- trusted documents over HTTP ---------------------------------------------------------

TRUSTED_DOCUMENT_REQUIRED = "TRUSTED_DOCUMENT_REQUIRED"
PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
PERSISTED_QUERY_HASH_MISMATCH = "PERSISTED_QUERY_HASH_MISMATCH"
PERSISTED_QUERY_INVALID = "PERSISTED_QUERY_INVALID"


class DocumentRequestError(HTTPException):
    """A reference to a trusted document that cannot be served: refused before execution
    with ``code`` (400, or 200 under ``application/json`` like every request error)."""

    def __init__(self, reason: str, code: str) -> None:
        super().__init__(400, reason)
        self.code = code


def requested_document_id(document_id: object, extensions: object) -> str | None:
    """The hex SHA-256 a request names, through ``documentId`` (``sha256:<hex>``) or the
    ``persistedQuery`` extension (version 1); None when it names none."""
    named: set[str] = set()
    if document_id is not None:
        parsed = parse_document_id(document_id) if isinstance(document_id, str) else None
        if parsed is None:
            raise DocumentRequestError(
                "`documentId` is 'sha256:' followed by 64 hexadecimal digits.",
                PERSISTED_QUERY_INVALID,
            )
        named.add(parsed)
    persisted = extensions.get("persistedQuery") if isinstance(extensions, dict) else None
    if persisted is not None:
        digest = persisted.get("sha256Hash") if isinstance(persisted, dict) else None
        parsed = parse_document_id(digest) if isinstance(digest, str) else None
        if not isinstance(persisted, dict) or persisted.get("version") != 1 or parsed is None:
            raise DocumentRequestError(
                '`extensions.persistedQuery` is {"version": 1, "sha256Hash": "<64 hex>"}.',
                PERSISTED_QUERY_INVALID,
            )
        named.add(parsed)
    if len(named) > 1:
        raise DocumentRequestError(
            "`documentId` and `extensions.persistedQuery` name different documents; send one.",
            PERSISTED_QUERY_HASH_MISMATCH,
        )
    return next(iter(named), None)


async def with_trusted_document(
    request_data: GraphQLRequestData,
    document_id: str | None,
    context: Context,
    cache: DocumentCache,
) -> tuple[GraphQLRequestData, bool]:
    """The request with the text of the trusted document it names, and whether what will
    run is a trusted document. A query sent with its own hash runs as sent: trusted when
    that hash is stored, an ordinary document otherwise (Automatic Persisted Queries)."""
    if document_id is None:
        return request_data, False
    if request_data.query is not None and document_hash(request_data.query) != document_id:
        raise DocumentRequestError(
            "The query's SHA-256 is not the hash the request names; send the hash alone, or "
            "the query with its own hash.",
            PERSISTED_QUERY_HASH_MISMATCH,
        )
    text = await cache.text_of(context.session, document_id)
    if text is None:
        if request_data.query is not None:
            return request_data, False
        raise DocumentRequestError(
            f"No trusted document has the id sha256:{document_id}; store it with "
            "`w4r documents add <file.graphql>` or send the query itself.",
            PERSISTED_QUERY_NOT_FOUND,
        )
    return replace(request_data, query=text), True


def _has_mutation(query: str) -> bool:
    try:
        document = parse(query)
    except GraphQLError:
        return False  # execution reports the syntax error
    return any(
        isinstance(definition, OperationDefinitionNode)
        and definition.operation is OperationType.MUTATION
        for definition in document.definitions
    )


def untrusted_write_refusal(
    context: Context, request_data: GraphQLRequestData, *, is_trusted: bool
) -> ExecutionResult | None:
    """The refusal of an anonymous write that is not a trusted document at a section that
    requires them, or None when the request may run."""
    section = context.section
    if (
        is_trusted
        or section is None
        or not section.require_trusted_documents
        or not context.principal.is_anonymous
        or request_data.query is None
        or not _has_mutation(request_data.query)
    ):
        return None
    error = GraphQLError(
        f"Section {section.code!r} accepts anonymous writes only as trusted documents: send "
        '{"documentId": "sha256:<hash>"} of a document stored with `w4r documents add`.',
        extensions={"code": TRUSTED_DOCUMENT_REQUIRED},
    )
    return ExecutionResult(data=None, errors=[error])


# --- allowlisted networks ----------------------------------------------------------------


@strawberry.type(
    name="AllowedNetwork",
    description="A network whose addresses may send more public writes (section admins).",
)
class AllowedNetworkNode:
    id: UUID
    network: str = strawberry.field(description="CIDR notation, e.g. 203.0.113.0/24.")
    note: str
    expires_at: datetime
    created_by: str | None
    created_at: datetime

    @classmethod
    def from_model(cls, entry: AllowedNetwork) -> AllowedNetworkNode:
        return cls(
            id=entry.id,
            network=str(entry.network),
            note=entry.note,
            expires_at=entry.expires_at,
            created_by=entry.created_by,
            created_at=entry.created_at,
        )

    @strawberry.field(description="Not yet expired: its addresses get the raised allowance.")
    def is_active(self) -> bool:
        return self.expires_at > datetime.now(self.expires_at.tzinfo)


@strawberry.input
class AllowedNetworkAddInput:
    network: str = strawberry.field(
        description="CIDR (at most a /16 in IPv4, a /48 in IPv6), or a single address."
    )
    note: str = strawberry.field(description="Why, e.g. 'St Mary's school, 12 Dec event'.")
    expires_at: datetime = strawberry.field(description="Within a year from now.")


@strawberry.input
class AllowedNetworkRemoveInput:
    id: UUID


@strawberry.type
class AllowedNetworkAddPayload:
    allowed_network: AllowedNetworkNode | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class AllowedNetworkRemovePayload:
    removed_id: UUID | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


def _allowlist(info: Info) -> AllowlistService:
    info.context.require_section("Allowlisted networks belong to a section")
    return AllowlistService(info.context.session)


@strawberry.type
class AbuseQueries:
    @strawberry.field(
        description="This section's allowlisted networks, newest first, expired ones "
        "included (section admins).",
    )
    async def allowed_networks(self, info: Info) -> list[AllowedNetworkNode]:
        entries = await _allowlist(info).entries()
        return [AllowedNetworkNode.from_model(entry) for entry in entries]

    @strawberry.field(
        description="This section's actions that abuse protection held back, newest first: "
        "kept for review, never counted (section staff).",
    )
    async def flagged_actions(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[ActionNode]:
        info.context.require_section("Flagged actions belong to a section")
        limit = page_size(first)
        before = None
        if after is not None:
            recorded_at, action_id = decode_cursor(FLAGGED_ACTION_CURSOR, after, 2)
            try:
                before = (datetime.fromisoformat(recorded_at), UUID(action_id))
            except ValueError as error:
                raise invalid_cursor() from error
        actions = await LedgerRepository(info.context.session).flagged_actions(
            limit=limit + 1, before=before
        )
        return build_connection(
            actions,
            limit,
            kind=FLAGGED_ACTION_CURSOR,
            key=lambda action: (action.recorded_at.isoformat(), str(action.id)),
            node=ActionNode.from_model,
        )


@strawberry.type
class AbuseMutations:
    @strawberry.mutation(
        description="Allowlist a network until a date: its addresses get the raised "
        "per-address allowance of public writes (section admins).",
    )
    async def allowed_network_add(
        self,
        info: Info,
        input: AllowedNetworkAddInput,  # noqa: A002
    ) -> AllowedNetworkAddPayload:
        async def work() -> AllowedNetwork:
            return await _allowlist(info).add(
                AllowlistDraft(network=input.network, note=input.note, expires_at=input.expires_at),
                created_by=info.context.principal.subject,
            )

        outcome = await run_mutation(info, work)
        if isinstance(outcome, list):
            return AllowedNetworkAddPayload(errors=outcome)
        return AllowedNetworkAddPayload(allowed_network=AllowedNetworkNode.from_model(outcome))

    @strawberry.mutation(
        description="Remove an allowlisted network (section admins).",
    )
    async def allowed_network_remove(
        self,
        info: Info,
        input: AllowedNetworkRemoveInput,  # noqa: A002
    ) -> AllowedNetworkRemovePayload:
        async def work() -> AllowedNetwork:
            return await _allowlist(info).remove(input.id)

        outcome = await run_mutation(info, work)
        if isinstance(outcome, list):
            return AllowedNetworkRemovePayload(errors=outcome)
        return AllowedNetworkRemovePayload(removed_id=outcome.id)
