"""Whole-response caching of public queries over published data (docs/caching.md).

A query is answered from memory when all of these hold:

- the caller is public: anonymous, a partner app's token, or an API key with
  ``cases:read``, and every root field of the operation is in
  :data:`CACHEABLE_ROOT_FIELDS`, public data whose every table notifies the cache on
  change (a new root field is not cached until listed);
- or the caller is IS staff in the global scope and every root field is in
  :data:`IS_CACHEABLE_ROOT_FIELDS`: the totals report, aggregates only (other staff
  answers can hold drafts and personal data: never cached);
- the answer had no error, read no personal data and reported nothing but its cost.

The key (:meth:`ResponseCache.key_of`) holds everything that can change an answer: the
request as sent (a POST's body, a GET's query string: the document or its id, the operation
name, the variables, the extensions), the section (its id and default language), the
request's Accept-Language tags, normalised, and the caller's scope (role, bound section,
API key scopes). Taking the request's bytes as they are costs a hit no parsing; two
spellings of one request only take two entries.

An answer is unservable after any change to what it could contain: a committed mutation
that is not in :data:`CACHE_NEUTRAL_MUTATIONS` invalidates this replica's store before
its response is sent, and the triggers of migration 0011 notify every replica
(:mod:`w4r.platform.response_cache`). Answers that contain totals live at most
``W4R_RESPONSE_CACHE_TOTALS_SECONDS``: recording actions never flushes the cache.

A hit authenticates the caller, resolves the section and spends the operation's cost from
the caller's budget as a miss does (429 over budget), then answers the stored ``data``
bytes with a fresh ``extensions.cost``, with no database session and no GraphQL execution.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import hashlib
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Any, Final

import orjson
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    get_named_type,
    parse,
    visit,
)
from starlette.requests import Request
from starlette.responses import Response
from strawberry.types import ExecutionResult

from w4r.abuse.documents import document_hash
from w4r.platform.auth import ApiScope, Principal, Role
from w4r.platform.logging import bind_operation
from w4r.platform.metrics import RESPONSE_CACHE_HITS, RESPONSE_CACHE_MISSES
from w4r.platform.negotiation import accepted_languages
from w4r.platform.response_cache import ResponseStore, StoredAnswer
from w4r.schema.abuse import DocumentRequestError, requested_document_id
from w4r.schema.context import Context, GraphQLServices
from w4r.schema.cost import OperationCost, Payer, cost_report, rate_limited
from w4r.schema.telemetry import ExecutedOperation
from w4r.settings import Settings
from w4r.tenants.registry import SectionRef
from w4r.tenants.resolution import SECTION_HEADER

CACHEABLE_ROOT_FIELDS: Final = frozenset(
    {"cases", "case", "campaign", "campaigns", "historicTotals", "__typename"}
)
"""Root query fields whose answers are public, published data, the same for every caller
of one scope, and read only tables that notify the cache on change (migration 0011)."""

IS_CACHEABLE_ROOT_FIELDS: Final = frozenset({"totals", "__typename"})
"""Root query fields cached for IS staff in the global scope: the grouped totals report
holds aggregates only (cells under the minimum size withheld) and every figure in it may be
``W4R_RESPONSE_CACHE_TOTALS_SECONDS`` old, as the public totals may."""

IS_ROLES: Final = frozenset({Role.IS_ANALYST, Role.IS_ADMIN})

TOTALS_TYPES: Final = frozenset({"PublicTotals", "CampaignTotals", "TotalsReport", "TotalsCell"})
"""Types whose values come from the action ledger: an answer selecting one of them lives at
most ``W4R_RESPONSE_CACHE_TOTALS_SECONDS``. A field that reads the ledger must return one of
them (a bare count would be cached until the next editorial change)."""

CACHE_NEUTRAL_MUTATIONS: Final = frozenset(
    {
        "actionRecord",
        "actionsImport",
        "tallyReport",
        "tallyApprove",
        "tallyReject",
        "eventCreate",
        "eventUpdate",
        "eventReport",
        "eventPublish",
        "eventCancel",
        "eventApprove",
        "eventReject",
        "eventRegister",
        "eventRegistrationCancel",
        "apiKeyCreate",
        "apiKeyRevoke",
        "allowedNetworkAdd",
        "allowedNetworkRemove",
        "petitionSign",
        "signatureConfirm",
        "consentGive",
        "consentWithdraw",
        "supporterErase",
        "webhookCreate",
        "webhookUpdate",
        "webhookDelete",
        "webhookRedeliver",
        "sectionMemberAdd",
        "sectionMemberRemove",
        "__typename",
    }
)
"""Mutations that write nothing a cacheable answer contains (actions only change totals,
which age out). Any other committed mutation invalidates the replica's cached answers
before its response is sent: a new mutation is safe by default."""

PUBLIC_ROLES: Final = frozenset({Role.ANONYMOUS, Role.PARTNER_APP})
CACHE_HEADER: Final = "x-cache"
VARY: Final = f"Accept, Accept-Language, Authorization, {SECTION_HEADER}"
NO_STORE: Final = "no-store"
MAX_VERDICTS: Final = 1024
MAX_LANGUAGE_HEADERS: Final = 1024
FOLLOW_SECONDS: Final = 10.0
"""How long a miss waits for the same answer being computed by another request of this
replica before computing it itself (see :meth:`ResponseCache.answer`)."""


class Audience(enum.Enum):
    """Who an answer may be served to again (with the caller's scope in the key)."""

    PUBLIC = "public"
    INTERNATIONAL_SECRETARIAT = "international-secretariat"


def may_be_cached(principal: Principal) -> bool:
    """Whether a caller can be in an audience at all (before the section is known)."""
    return principal.role in IS_ROLES or is_public_caller(principal)


def audience_of(principal: Principal, section: SectionRef | None) -> Audience | None:
    """The cache's audience a caller belongs to at an endpoint; None: never cached."""
    if is_public_caller(principal):
        return Audience.PUBLIC
    if principal.role in IS_ROLES and section is None:
        return Audience.INTERNATIONAL_SECRETARIAT
    return None


def is_public_caller(principal: Principal) -> bool:
    """Callers that see only published, non-personal data: anonymous callers, partner
    apps, and API keys that may read public data (their other scopes only write)."""
    if principal.role not in PUBLIC_ROLES:
        return False
    return principal.scopes is None or ApiScope.READ_PUBLIC in principal.scopes


@dataclass(frozen=True, slots=True)
class Verdict:
    """What one operation of one document is, for the cache."""

    operation_type: OperationType | None
    root_fields: frozenset[str]
    has_totals: bool

    def is_cacheable_for(self, audience: Audience) -> bool:
        allowed = CACHEABLE_ROOT_FIELDS if audience is Audience.PUBLIC else IS_CACHEABLE_ROOT_FIELDS
        return (
            self.operation_type is OperationType.QUERY
            and bool(self.root_fields)
            and (self.root_fields <= allowed)
        )

    @property
    def invalidates(self) -> bool:
        """A committed mutation that may have changed cached data."""
        return self.operation_type is OperationType.MUTATION and not (
            self.root_fields <= CACHE_NEUTRAL_MUTATIONS
        )


def _operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    operations = [
        definition
        for definition in document.definitions
        if isinstance(definition, OperationDefinitionNode)
    ]
    if name is None:
        return operations[0] if len(operations) == 1 else None
    return next((op for op in operations if op.name is not None and op.name.value == name), None)


def _root_fields(
    selection_set: SelectionSetNode, fragments: dict[str, FragmentDefinitionNode]
) -> set[str]:
    """Every root field an operation may select, through fragments and whatever
    ``@skip``/``@include`` say (an upper bound)."""
    found: set[str] = set()
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            found.add(selection.name.value)
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is not None:
                found |= _root_fields(fragment.selection_set, fragments)
        elif isinstance(selection, InlineFragmentNode):
            found |= _root_fields(selection.selection_set, fragments)
    return found


class _TotalsFinder(Visitor):
    def __init__(self, type_info: TypeInfo) -> None:
        super().__init__()
        self.type_info = type_info
        self.found = False

    def enter_field(self, *_: Any) -> None:
        field_type = self.type_info.get_type()
        if field_type is not None and get_named_type(field_type).name in TOTALS_TYPES:
            self.found = True


def judge(schema: GraphQLSchema, document: DocumentNode, operation_name: str | None) -> Verdict:
    """The verdict on the operation ``operation_name`` of a validated ``document``."""
    operation = _operation(document, operation_name)
    if operation is None:
        return Verdict(None, frozenset(), has_totals=False)
    fragments = {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }
    type_info = TypeInfo(schema)
    finder = _TotalsFinder(type_info)
    # The whole document: the operation's fragments too (an upper bound).
    visit(document, TypeInfoVisitor(type_info, finder))
    return Verdict(
        operation.operation,
        frozenset(_root_fields(operation.selection_set, fragments)),
        has_totals=finder.found,
    )


class CacheListError(ValueError):
    """A listed root field or totals type is not in the schema (renamed?): the lists would
    silently stop protecting what they name."""


def check_names(schema: GraphQLSchema) -> None:
    """Refuse to build a cache whose lists name what the schema does not have."""
    query = schema.query_type
    fields = set() if query is None else set(query.fields)
    missing = sorted((CACHEABLE_ROOT_FIELDS | IS_CACHEABLE_ROOT_FIELDS) - fields - {"__typename"})
    missing += sorted(name for name in TOTALS_TYPES if name not in schema.type_map)
    if missing:
        raise CacheListError(
            f"The response cache lists {', '.join(missing)}, which the schema lacks; update "
            "CACHEABLE_ROOT_FIELDS, IS_CACHEABLE_ROOT_FIELDS or TOTALS_TYPES in "
            "w4r/schema/response_cache.py."
        )


@dataclass(frozen=True, slots=True)
class Lookup:
    """A cacheable-looking request the store had nothing fresh for, computed once."""

    key: bytes
    document_id: str
    operation_name: str | None
    generation: int
    """The store's generation before execution started: a change meanwhile wins."""
    is_persisted_get: bool
    audience: Audience
    stored: StoredAnswer | None = None
    leads: bool = False
    """Whether this request computes the answer for others that wait (see
    :meth:`ResponseCache.release`)."""


@dataclass(frozen=True, slots=True)
class RequestedOperation:
    """The parts of a GraphQL request that name what runs."""

    query: str | None
    document_id: str
    operation_name: str | None
    is_persisted_get: bool


def _json_object(raw: str | None) -> dict[str, Any] | None:
    """A GET parameter's JSON object; None when absent; raises ValueError when malformed."""
    if raw is None or raw == "":
        return None
    parsed = orjson.loads(raw)
    if not isinstance(parsed, dict):
        raise ValueError(raw)
    return parsed


def requested_operation(request: Request, body: bytes | None) -> RequestedOperation | None:
    """What the request asks to run, or None when it is not a plain single request (the
    ordinary path then answers it, errors included)."""
    try:
        if request.method == "GET":
            params = request.query_params
            query = params.get("query")
            variables = _json_object(params.get("variables"))
            extensions = _json_object(params.get("extensions"))
            operation_name = params.get("operationName")
            named = params.get("documentId")
        else:
            if body is None:
                return None
            parsed = orjson.loads(body)
            if not isinstance(parsed, dict):
                return None
            query = parsed.get("query")
            variables = parsed.get("variables")
            extensions = parsed.get("extensions")
            operation_name = parsed.get("operationName")
            named = parsed.get("documentId")
        document_id = requested_document_id(named, extensions)
    except (ValueError, DocumentRequestError):
        return None
    if not isinstance(query, str | None) or not isinstance(operation_name, str | None):
        return None
    if not isinstance(variables, dict | None):
        return None
    if query is not None:
        own = document_hash(query)
        if document_id is not None and document_id != own:
            return None
        document_id = own
    if document_id is None:
        return None
    return RequestedOperation(
        query=query,
        document_id=document_id,
        operation_name=operation_name or None,
        is_persisted_get=request.method == "GET" and query is None,
    )


def _weak_etag(data: bytes) -> str:
    return f'W/"{hashlib.blake2b(data, digest_size=16).hexdigest()}"'


def _matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 weak comparison of ``If-None-Match`` against ``etag``."""
    if if_none_match is None:
        return False
    if if_none_match.strip() == "*":
        return True
    bare = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == bare for tag in if_none_match.split(","))


class ResponseCache:
    """One replica's cache of public answers (see the module docstring)."""

    def __init__(self, settings: Settings, store: ResponseStore, schema: GraphQLSchema) -> None:
        check_names(schema)
        self.store = store
        self.schema = schema
        self.totals_seconds = settings.response_cache_totals_seconds
        self.max_age_seconds = settings.response_cache_max_age_seconds
        self.http_max_age_seconds = settings.response_cache_http_max_age_seconds
        self.max_query_cost = settings.max_query_cost
        self._verdicts: OrderedDict[tuple[str, str | None], Verdict] = OrderedDict()
        self._languages: dict[str | None, str] = {}
        self._computing: dict[bytes, asyncio.Event] = {}
        """Keys whose answer a request of this replica is computing now, set when it ends."""

    # --- verdicts, memoised per document -------------------------------------------------

    def verdict(self, document_id: str, text: str, operation_name: str | None) -> Verdict:
        key = (document_id, operation_name)
        known = self._verdicts.get(key)
        if known is not None:
            self._verdicts.move_to_end(key)
            return known
        try:
            found = judge(self.schema, parse(text), operation_name)
        except GraphQLError:
            found = Verdict(None, frozenset(), has_totals=False)
        self._verdicts[key] = found
        if len(self._verdicts) > MAX_VERDICTS:
            self._verdicts.popitem(last=False)
        return found

    def known_uncacheable(
        self, document_id: str, operation_name: str | None, audience: Audience
    ) -> bool:
        known = self._verdicts.get((document_id, operation_name))
        return known is not None and not known.is_cacheable_for(audience)

    # --- the key -------------------------------------------------------------------------

    def key_of(
        self,
        request: Request,
        raw: bytes,
        principal: Principal,
        section: SectionRef | None,
    ) -> bytes:
        """Everything that can change the answer: the request as sent (the body of a POST,
        the query string of a GET: document, variables, operation name), its section (id
        and default language), its Accept-Language tags (normalised) and the caller's
        scope (role, bound section, API key scopes). No part holds a ``|`` but the last."""
        header = request.headers.get("accept-language")
        languages = self._languages.get(header)
        if languages is None:
            languages = ",".join(accepted_languages(header))
            if len(self._languages) >= MAX_LANGUAGE_HEADERS:
                self._languages.clear()
            self._languages[header] = languages
        scopes = "-" if principal.scopes is None else ",".join(sorted(principal.scopes))
        prefix = "|".join(
            (
                request.method,
                "" if section is None else f"{section.id}",
                "" if section is None else section.default_language,
                languages,
                principal.role.value,
                principal.section_code or "",
                scopes,
                "",
            )
        )
        return prefix.encode() + raw

    # --- serving -------------------------------------------------------------------------

    async def answer(
        self,
        request: Request,
        principal: Principal,
        section: SectionRef | None,
        services: GraphQLServices,
        body: bytes | None,
        media_type: str,
    ) -> Response | None:
        """The response from the cache, or None to execute (then :meth:`keep` may store
        the answer). Sets ``request.state.response_cache`` on a miss.

        Misses are coalesced: while one request computes an answer, the others asking for
        it wait for it (up to :data:`FOLLOW_SECONDS`) instead of computing it too. When a
        popular answer expires (every few seconds when it holds totals), hundreds of
        requests a second would otherwise all run the same query at once, and each waits
        for all the others' CPU: the queue that builds up costs seconds of latency."""
        audience = audience_of(principal, section)
        if not self.store.is_available or audience is None:
            return None
        raw = body if request.method == "POST" else request.scope["query_string"]
        if raw is None:
            return None
        key = self.key_of(request, raw, principal, section)
        entry = self.store.get(key)
        if entry is None:
            requested = requested_operation(request, body)
            if requested is None:
                return None
            if requested.query is not None:
                # Judged at first sight (once per document): a request that cannot be
                # cached is not even looked up again.
                judged = self.verdict(
                    requested.document_id, requested.query, requested.operation_name
                )
                if not judged.is_cacheable_for(audience):
                    return None
            elif self.known_uncacheable(requested.document_id, requested.operation_name, audience):
                return None
            computing = self._computing.get(key)
            if computing is not None:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(FOLLOW_SECONDS):
                        await computing.wait()
                entry = self.store.get(key)
            if entry is None:
                RESPONSE_CACHE_MISSES.inc()
                leads = key not in self._computing
                if leads:
                    self._computing[key] = asyncio.Event()
                request.state.response_cache = Lookup(
                    key,
                    requested.document_id,
                    requested.operation_name,
                    self.store.generation,
                    requested.is_persisted_get,
                    audience,
                    leads=leads,
                )
                return None
        payer = Payer.of_caller(principal, request, services.settings)
        if entry.cost > min(self.max_query_cost, payer.allowance.amount):
            return None  # the ordinary path refuses it as too costly
        RESPONSE_CACHE_HITS.inc()
        request.state.operation = ExecutedOperation(OperationType.QUERY.value, entry.operation_name)
        bind_operation(entry.operation_name)
        verdict = await OperationCost.spend(services.budgets, payer, entry.cost)
        report = cost_report(entry.cost, payer, verdict)
        if verdict is not None and not verdict.allowed:
            refusal = rate_limited(verdict, entry.cost)
            error = {"message": refusal.message, "extensions": refusal.extensions}
            return Response(
                orjson.dumps({"errors": [error], "extensions": {"cost": report}}),
                429,
                headers={
                    "retry-after": str(verdict.retry_after_seconds),
                    CACHE_HEADER: "HIT",
                    "cache-control": NO_STORE,
                },
                media_type=media_type,
            )
        is_persisted_get = request.method == "GET" and "query" not in request.query_params
        headers = {CACHE_HEADER: "HIT", **self._caching_headers(principal, entry, is_persisted_get)}
        if is_persisted_get and _matches(request.headers.get("if-none-match"), entry.etag):
            return Response(None, 304, headers=headers)
        content = b'{"data":%b,"extensions":%b}' % (
            entry.data,
            orjson.dumps({"cost": report}),
        )
        return Response(content, 200, headers=headers, media_type=media_type)

    def keep(
        self, request: Request, context: Context, result: ExecutionResult, query: str | None
    ) -> orjson.Fragment | None:
        """After a miss executed (``query`` is the text that ran): store its answer when it
        may be served again, and return its ``data`` as serialised (never serialised
        twice). Call it only for a result about to be committed and answered."""
        lookup: Lookup | None = getattr(request.state, "response_cache", None)
        if (
            lookup is None
            or query is None
            or result.errors
            or result.data is None
            or set(result.extensions or {}) != {"cost"}
            or context.audit.has_personal_data
        ):
            return None
        verdict = self.verdict(lookup.document_id, query, lookup.operation_name)
        if not verdict.is_cacheable_for(lookup.audience) or (
            verdict.has_totals and self.totals_seconds <= 0
        ):
            return None
        cost = result.extensions["cost"].get("requested")  # type: ignore[index]
        if not isinstance(cost, int):
            return None
        data = orjson.dumps(result.data)
        lifetime = self.totals_seconds if verdict.has_totals else self.max_age_seconds
        operation: ExecutedOperation | None = getattr(request.state, "operation", None)
        entry = StoredAnswer(
            data=data,
            etag=_weak_etag(data),
            generation=lookup.generation,
            expires_at=self.store.clock() + lifetime,
            http_max_age_seconds=int(self.totals_seconds)
            if verdict.has_totals
            else self.http_max_age_seconds,
            cost=cost,
            operation_name=None if operation is None else operation.name,
        )
        if self.store.put(lookup.key, entry):
            request.state.response_cache = replace(lookup, stored=entry)
        return orjson.Fragment(data)

    def after_commit(self, request: Request, query: str | None, operation_name: str | None) -> None:
        """A request committed: a mutation that may have changed cached data invalidates
        this replica's answers now, before its response is sent (read-your-writes)."""
        operation: ExecutedOperation | None = getattr(request.state, "operation", None)
        if operation is None or operation.operation_type != OperationType.MUTATION.value:
            return  # a query, or nothing ran: it changed nothing
        verdict = (
            None if query is None else self.verdict(document_hash(query), query, operation_name)
        )
        if verdict is None or verdict.invalidates or verdict.operation_type is None:
            self.store.invalidate()

    def release(self, request: Request) -> None:
        """A request that missed has ended, answered, failed or cancelled: the requests
        waiting for the answer it computed look again (and compute it themselves when it
        was not kept). Call it once the request's answer is stored or abandoned."""
        lookup: Lookup | None = getattr(request.state, "response_cache", None)
        if lookup is not None and lookup.leads:
            computing = self._computing.pop(lookup.key, None)
            if computing is not None:
                computing.set()

    def finish(self, request: Request, context: Context, response: Response) -> None:
        """The caching headers of an executed answer: ``X-Cache: MISS`` for a cacheable
        looking request, validators for a stored persisted GET, else ``no-store``."""
        lookup: Lookup | None = getattr(request.state, "response_cache", None)
        if lookup is None:
            response.headers["cache-control"] = NO_STORE
            return
        response.headers[CACHE_HEADER] = "MISS"
        if lookup.stored is None or not lookup.is_persisted_get or response.status_code != 200:
            response.headers["cache-control"] = NO_STORE
            return
        for name, value in self._caching_headers(context.principal, lookup.stored, True).items():
            response.headers[name] = value

    def _caching_headers(
        self, principal: Principal, entry: StoredAnswer, is_persisted_get: bool
    ) -> dict[str, str]:
        if not is_persisted_get:
            return {"cache-control": NO_STORE}
        visibility = "public" if principal.is_anonymous else "private"
        return {
            "cache-control": f"{visibility}, max-age={entry.http_max_age_seconds}",
            "etag": entry.etag,
            "vary": VARY,
        }
