"""GraphQL over HTTP: content negotiation, credentials, the section, and the unit of work.

One request runs as: negotiate the response media type (406 if none fits), bound the body
size (413), authenticate the bearer token (401), resolve the section (404/400/403), then
execute with a unit of work bound to that section, committed only when the operation has no
top-level error. The GraphQL-over-HTTP rules hold (the graphql-http audit passes in full,
docs/protocol.md): request errors (parse, validation, variables) are 400 under
``application/graphql-response+json``; ``application/json``, also chosen for ``*/*`` and
without an ``Accept`` header, gets 200 for every well-formed request; mutations are refused
over GET with 405; batching is off. An operation over the caller's cost budget is refused
unexecuted with 429 and ``Retry-After`` (see :mod:`w4r.schema.cost`).

Subscriptions run over graphql-transport-ws on the same paths, subscriptions only; the
caller authenticates in ``connection_init`` with the same code path as HTTP, and a refused
credential closes the connection with 4403.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, cast

import orjson
import strawberry
from cross_web import HTTPException
from graphql import GraphQLError
from starlette.requests import HTTPConnection, Request
from starlette.responses import HTMLResponse, Response
from starlette.websockets import WebSocket, WebSocketDisconnect
from strawberry.asgi import ASGIWebSocketAdapter, GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.schema import BaseSchema
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType
from strawberry.types.unset import UnsetType

from w4r.apikeys.keys import looks_like_api_key
from w4r.audit.recorder import REQUEST_ID_HEADER, AuditRecorder, RequestOrigin
from w4r.platform.auth import (
    ANONYMOUS,
    MalformedCredentialsError,
    Principal,
    TokenError,
    bearer_token,
)
from w4r.platform.database import TenantBinding, is_database_unavailable
from w4r.platform.errors import SectionResolutionError, W4RError
from w4r.platform.logging import bind_section, request_log_context
from w4r.platform.metrics import (
    SUBSCRIPTION_CLIENTS,
    UNKNOWN,
    error_code_label,
    observe_graphql_request,
    observe_pool,
    operation_name_label,
)
from w4r.platform.negotiation import parse_quality_list
from w4r.schema.abuse import (
    DocumentCache,
    DocumentRequestError,
    requested_document_id,
    untrusted_write_refusal,
    with_trusted_document,
)
from w4r.schema.context import Context, GraphQLServices
from w4r.schema.errors import DATABASE_UNAVAILABLE, DATABASE_UNAVAILABLE_MESSAGE
from w4r.schema.response_cache import CACHE_HEADER, NO_STORE, ResponseCache, may_be_cached
from w4r.schema.telemetry import ExecutedOperation
from w4r.tenants.registry import SectionRef
from w4r.tenants.resolution import SECTION_HEADER, RequestHints, host_name, resolve_section
from w4r.web.graphiql import GraphiQLPage

logger = logging.getLogger(__name__)

GRAPHQL_RESPONSE_JSON: Final = "application/graphql-response+json"
JSON: Final = "application/json"
_ACCEPTABLE: Final = {
    GRAPHQL_RESPONSE_JSON: GRAPHQL_RESPONSE_JSON,
    JSON: JSON,
    # A client that names no GraphQL media type may not know the status code rules of
    # application/graphql-response+json: it gets application/json, which every client reads.
    "application/*": JSON,
    "*/*": JSON,
}


class NotAcceptableError(Exception):
    pass


class OperationNeedsPostError(HTTPException):
    """A mutation sent with GET: only POST may carry it."""


def negotiate_media_type(accept: str | None) -> str:
    """The response media type for an ``Accept`` header (q-values honoured; on a tie the
    type the client listed first). Without one, ``application/json``: what the
    graphql-http audit and the legacy clients the spec's default protects expect."""
    if accept is None or not accept.strip():
        return JSON
    for media_range, _ in parse_quality_list(accept):
        chosen = _ACCEPTABLE.get(media_range.lower())
        if chosen is not None:
            return chosen
    raise NotAcceptableError(accept)


def error_body(message: str, code: str) -> dict[str, Any]:
    return {"errors": [{"message": message, "extensions": {"code": code}}]}


def json_response(
    body: dict[str, Any], status_code: int, media_type: str, headers: dict[str, str] | None = None
) -> Response:
    return Response(orjson.dumps(body), status_code, headers=headers, media_type=media_type)


def _error_code(error: GraphQLError) -> str | None:
    original = error.original_error
    code = getattr(original, "code", None) if isinstance(original, W4RError) else None
    if isinstance(code, str):
        return code
    if error.path is None and (original is None or isinstance(original, GraphQLError)):
        # Request errors: the document or its variables, before execution started.
        if error.message.startswith("Syntax Error"):
            return "GRAPHQL_PARSE_FAILED"
        if error.message.startswith("Variable "):
            return "BAD_USER_INPUT"
        return "GRAPHQL_VALIDATION_FAILED"
    if error.message == "Unexpected error.":
        return "INTERNAL_SERVER_ERROR"
    return None


def format_error(error: GraphQLError) -> dict[str, Any]:
    formatted: dict[str, Any] = dict(error.formatted)
    code = _error_code(error)
    if code is not None and "code" not in formatted.get("extensions", {}):
        formatted["extensions"] = {**formatted.get("extensions", {}), "code": code}
    return formatted


def is_request_error(result: ExecutionResult) -> bool:
    """Parse, validation and variable errors: the operation never started executing."""
    return (
        result.data is None
        and bool(result.errors)
        and all(error.path is None for error in result.errors or ())
    )


@dataclass
class ConnectionContext(Context):
    """The context of one graphql-transport-ws connection, for all its subscriptions.

    Built at the upgrade for an anonymous caller, so that a section the path, host or
    header names is checked before the socket is accepted; ``connection_init`` then
    authenticates the caller and rebinds it (:meth:`GraphQLView.on_ws_connect`).
    """

    connection_params: dict[str, object] = field(default_factory=dict)
    """The ``connection_init`` payload (strawberry sets it)."""

    async def become(self, authenticated: Context) -> None:
        """Serve the rest of the connection as ``authenticated``: its caller, section,
        unit of work and audit recorder (nothing has used this context's own yet)."""
        await self.unit_of_work.close()
        self.principal = authenticated.principal
        self.section = authenticated.section
        self.unit_of_work = authenticated.unit_of_work
        self.audit = authenticated.audit


class SubscriptionsOnlySchema:
    """The schema as the websocket handler sees it: ``stream`` serves subscriptions only.

    A query or mutation sent over the socket gets an ``error`` message ("queries are not
    allowed") instead of running: the connection has no request boundary that would
    commit a mutation's writes, so it would answer success and then roll them back.
    """

    def __init__(self, schema: strawberry.Schema) -> None:
        self._schema = schema

    async def stream(self, query: str | None, **options: Any) -> AsyncIterator[Any]:
        return await self._schema.stream(
            query, allowed_operation_types=(OperationType.SUBSCRIPTION,), **options
        )


class SubscriptionHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """strawberry's graphql-transport-ws handler, running subscriptions only."""

    def __init__(self, *, schema: BaseSchema, **options: Any) -> None:
        assert isinstance(schema, strawberry.Schema)
        super().__init__(schema=cast("BaseSchema", SubscriptionsOnlySchema(schema)), **options)


class TextFrameWebSocketAdapter(ASGIWebSocketAdapter):
    """Sends each graphql-transport-ws message as a text frame.

    The protocol's messages are JSON text. strawberry sends whatever ``encode_json``
    returns, and orjson returns bytes, which would go out as binary frames: the
    ``graphql-ws`` client rejects those ("Message is missing the 'type' property")."""

    async def send_json(self, message: Mapping[str, object]) -> None:
        try:
            await self.ws.send_text(orjson.dumps(message).decode())
        except WebSocketDisconnect as error:
            raise WebSocketDisconnected from error


class GraphQLView(GraphQL[Context, None]):
    """strawberry's ASGI view with w4r's transaction boundary and HTTP semantics."""

    graphql_transport_ws_handler_class = SubscriptionHandler
    websocket_adapter_class = TextFrameWebSocketAdapter
    graphql_ide_page: GraphiQLPage | None = None
    """The GraphiQL page served instead of strawberry's (w4r.web.graphiql: no CDN)."""

    async def render_graphql_ide(self, request: Request) -> Response:
        page = self.graphql_ide_page
        if page is None:  # unreachable: strawberry asks only when graphql_ide is set
            return Response(status_code=404)
        return HTMLResponse(page.html, headers=page.headers(request.headers.get("host")))

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    def parse_json(self, data: str | bytes) -> Any:
        """JSON of a body or of a GET parameter: valid UTF-8 JSON, an object (or a list,
        which the batching check then refuses), else 400."""
        try:
            parsed = orjson.loads(data)
        except orjson.JSONDecodeError as error:
            raise HTTPException(400, "Unable to parse the request as UTF-8 JSON.") from error
        if not isinstance(parsed, dict | list):
            raise HTTPException(400, "Expected a JSON object with a `query`.")
        return parsed

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        context: Context = request.state.context
        request.state.is_request_error = is_request_error(result)
        cached_data = None
        if result.errors:
            await context.unit_of_work.rollback()
            context.audit.request_rolled_back()
        else:
            try:
                await context.audit.append_to(context.session)
                await context.unit_of_work.commit()
                context.audit.stored()
            except Exception:
                logger.exception("commit failed")
                await context.unit_of_work.rollback()
                context.audit.request_rolled_back()
                failed = error_body(
                    "The request's changes could not be committed: send it again (with the "
                    "same idempotency key, so that nothing is done twice).",
                    "COMMIT_FAILED",
                )
                request.state.error_codes = ["COMMIT_FAILED"]
                return cast("GraphQLHTTPResponse", {"data": None, **failed})
            if self.response_cache is not None:
                # Committed: invalidate what the writes changed before answering, and keep
                # a cacheable answer.
                query, operation_name = getattr(request.state, "executed", (None, None))
                self.response_cache.after_commit(request, query, operation_name)
                cached_data = self.response_cache.keep(request, context, result, query)
        body: dict[str, Any] = {}
        if not request.state.is_request_error:
            body["data"] = result.data if cached_data is None else cached_data
        request.state.error_codes = []
        if result.errors:
            body["errors"] = [format_error(error) for error in result.errors]
            request.state.error_codes = error_codes(body)
        if result.extensions:
            body["extensions"] = result.extensions
        return cast("GraphQLHTTPResponse", body)

    documents: DocumentCache = DocumentCache(0)
    """Trusted documents this replica has read (set by :func:`build_view`)."""
    response_cache: ResponseCache | None = None
    """Answers to public queries (set by :func:`build_view`; None when switched off)."""

    async def _trusted_request_data(
        self, request: Request, request_data: GraphQLRequestData
    ) -> tuple[GraphQLRequestData, bool]:
        """The request with the trusted document it names resolved (w4r.schema.abuse)."""
        if request.method == "GET":
            document_id: object = request.query_params.get("documentId")
        else:
            body = await request.body()
            # Parse the body a second time only when it can name a document by id.
            parsed = self.parse_json(body) if b'"documentId"' in body else {}
            document_id = parsed.get("documentId") if isinstance(parsed, dict) else None
        named = requested_document_id(document_id, request_data.extensions)
        return await with_trusted_document(
            request_data, named, request.state.context, self.documents
        )

    async def execute_single(self, **kwargs: Any) -> ExecutionResult:  # type: ignore[override]
        request: Request = kwargs["request"]
        request_data, is_trusted = await self._trusted_request_data(request, kwargs["request_data"])
        kwargs["request_data"] = request_data
        request.state.executed = (request_data.query, request_data.operation_name)
        if request.method != "GET":  # a mutation over GET is refused with 405 below
            refusal = untrusted_write_refusal(
                request.state.context, request_data, is_trusted=is_trusted
            )
            if refusal is not None:
                return refusal
        try:
            return await super().execute_single(**kwargs)
        except HTTPException as error:
            if isinstance(error.__cause__, InvalidOperationTypeError) and (
                kwargs["request_adapter"].method == "GET"
            ):
                raise OperationNeedsPostError(405, error.reason) from error
            raise

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """``connection_init``: authenticate the caller as HTTP does and bind the connection
        to its section. A refused credential, or a section the caller may not use, closes
        the socket with 4403 Forbidden; the reason is logged, not sent."""
        assert isinstance(context, ConnectionContext)
        services = context.services
        try:
            authorization = connection_authorization(
                context.request.headers.get("authorization"), context.connection_params
            )
            principal = await authenticate_authorization(authorization, services)
            authenticated = await build_context(context.request, principal, services)
        except (TokenError, SectionResolutionError) as error:
            logger.info("websocket connection refused: %s", error)
            raise ConnectionRejectionError from error
        await context.become(authenticated)
        return UnsetType()  # the singleton UNSET: acknowledge without a payload


HTTP_ERROR_CODES: Final = {405: "METHOD_NOT_ALLOWED", 404: "NOT_FOUND"}


def http_error(error: HTTPException, media_type: str) -> Response:
    """A refusal before execution (bad body, method, batch…) as a GraphQL error body."""
    headers = None
    if error.status_code == 405:
        # A mutation over GET may only be POSTed; any other method may use GET or POST.
        allowed = "POST" if isinstance(error, OperationNeedsPostError) else "GET, POST"
        headers = {"Allow": allowed}
    code = HTTP_ERROR_CODES.get(error.status_code, "BAD_REQUEST")
    status_code = error.status_code
    if isinstance(error, DocumentRequestError):
        # A request error like a parse error: 200 under application/json.
        code = error.code
        status_code = 200 if media_type == JSON else error.status_code
    return json_response(error_body(error.reason, code), status_code, media_type, headers)


async def _read_body(request: Request, limit: int) -> bytes | None:
    """The body, or None when it exceeds ``limit`` bytes (checked while streaming)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


async def authenticate(request: Request, services: GraphQLServices) -> Principal:
    return await authenticate_authorization(request.headers.get("authorization"), services)


async def authenticate_authorization(
    authorization: str | None, services: GraphQLServices
) -> Principal:
    """The caller an ``Authorization`` value names: anonymous without one, else the API key's
    partner app or the token's subject (TokenError when refused)."""
    token = bearer_token(authorization)
    if token is None:
        return ANONYMOUS
    if looks_like_api_key(token):
        return await services.api_keys.authenticate(token)
    return await services.verifier.verify(token)


async def request_section(
    connection: HTTPConnection, principal: Principal, services: GraphQLServices
) -> SectionRef | None:
    """The section the request is for (None: the global scope), bound to the log context;
    SectionResolutionError when it has none the caller may use."""
    hints = RequestHints(
        host=host_name(connection.headers.get("host")),
        header=connection.headers.get(SECTION_HEADER),
        path_code=connection.path_params.get("code"),
        token_section=principal.section_code,
    )
    section = resolve_section(await services.registry.snapshot(), hints)
    bind_section(None if section is None else section.code)
    return section


async def build_context(
    connection: HTTPConnection, principal: Principal, services: GraphQLServices
) -> Context:
    """The request's context: its section (SectionResolutionError when it has none it may
    use) and a unit of work bound to that section, or to the global scope."""
    section = await request_section(connection, principal, services)
    return context_for(connection, principal, section, services)


def context_for(
    connection: HTTPConnection,
    principal: Principal,
    section: SectionRef | None,
    services: GraphQLServices,
) -> Context:
    """The context of a request whose section is resolved: a unit of work bound to it."""
    binding = (
        TenantBinding.global_scope() if section is None else TenantBinding.for_section(section.id)
    )
    return Context(
        request=connection,
        principal=principal,
        section=section,
        unit_of_work=services.database.unit_of_work(binding),
        services=services,
        audit=AuditRecorder(
            principal,
            RequestOrigin.of(
                connection.client.host if connection.client is not None else None,
                request_id(connection),
                connection.headers.get("user-agent"),
            ),
            services.database,
            binding,
        ),
    )


CONNECTION_AUTHORIZATION: Final = "authorization"
"""The ``connection_init`` payload key of a websocket's credentials (any letter case)."""


def connection_authorization(header: str | None, params: Mapping[str, object]) -> str | None:
    """The ``Authorization`` value of a websocket connection: ``Bearer <token or API key>``
    in the ``connection_init`` payload (browsers cannot set headers on a websocket) or in
    the upgrade request's header. Both may be given only when they are the same."""
    given = [value for key, value in params.items() if key.lower() == CONNECTION_AUTHORIZATION]
    if len(given) > 1:
        raise MalformedCredentialsError("Send one `authorization` in the connection_init payload.")
    if not given:
        return header
    (payload,) = given
    if not isinstance(payload, str):
        raise MalformedCredentialsError(
            "The connection_init `authorization` must be a string: 'Bearer <token>'."
        )
    if header is not None and header.strip() != payload.strip():
        raise MalformedCredentialsError(
            "The Authorization header and the connection_init payload name different "
            "credentials; send one of them."
        )
    return payload


async def connection_context(websocket: WebSocket, services: GraphQLServices) -> ConnectionContext:
    """A websocket's context until ``connection_init``: anonymous, in the section its path,
    host or header names (SectionResolutionError when that is unknown or conflicting)."""
    anonymous = await build_context(websocket, ANONYMOUS, services)
    return ConnectionContext(
        request=anonymous.request,
        principal=anonymous.principal,
        section=anonymous.section,
        unit_of_work=anonymous.unit_of_work,
        services=anonymous.services,
        audit=anonymous.audit,
    )


def make_websocket_endpoint(view: GraphQLView) -> Any:
    """Subscriptions over graphql-transport-ws. The section comes from the path, host or
    header as for HTTP (an unknown or conflicting one closes the socket before it is
    accepted); the caller authenticates in ``connection_init`` (GraphQLView.on_ws_connect)."""

    async def graphql_websocket(websocket: WebSocket) -> None:
        services: GraphQLServices = websocket.app.state.graphql_services
        try:
            context = await connection_context(websocket, services)
        except SectionResolutionError:
            await websocket.close(code=4404)
            return
        SUBSCRIPTION_CLIENTS.inc()
        try:
            await view.run(websocket, context=context)
        finally:
            SUBSCRIPTION_CLIENTS.dec()
            await context.unit_of_work.close()
            await context.audit.write()

    return in_log_context(graphql_websocket)


def make_endpoint(view: GraphQLView) -> Any:
    """The Starlette endpoint; it finds its services on ``app.state.graphql_services``."""

    async def graphql_endpoint(request: Request) -> Response:
        services: GraphQLServices = request.app.state.graphql_services
        try:
            media_type = negotiate_media_type(request.headers.get("accept"))
        except NotAcceptableError:
            if view.graphql_ide and view.should_render_graphql_ide(
                view.request_adapter_class(request)
            ):
                return await view.render_graphql_ide(request)
            return json_response(
                error_body(f"Accept {GRAPHQL_RESPONSE_JSON} or {JSON}.", "NOT_ACCEPTABLE"),
                406,
                JSON,
            )
        request.state.media_type = media_type

        body = None
        if request.method == "POST":
            body = await _read_body(request, services.settings.max_request_bytes)
            if body is None:
                return json_response(
                    error_body(
                        f"The request body exceeds {services.settings.max_request_bytes} bytes.",
                        "PAYLOAD_TOO_LARGE",
                    ),
                    413,
                    media_type,
                )
            request._body = body  # starlette serves request.body() from here

        try:
            principal = await authenticate(request, services)
            section = await request_section(request, principal, services)
        except TokenError as error:
            return json_response(
                error_body(str(error), "UNAUTHENTICATED"),
                400 if isinstance(error, MalformedCredentialsError) else 401,
                media_type,
                headers={"WWW-Authenticate": f'Bearer error="{error.oauth_error}"'},
            )
        except SectionResolutionError as error:
            return json_response(error_body(str(error), error.code), error.status_code, media_type)
        except Exception as error:
            if not is_database_unavailable(error):
                raise
            # The caller's key or the section registry could not be read: PostgreSQL is down,
            # restarting or out of connections. Nothing ran, so the request may be sent again
            # as it is; without this it was a bare 500 that no GraphQL client can read.
            logger.warning("the database is unavailable: %r", error)
            return json_response(
                error_body(DATABASE_UNAVAILABLE_MESSAGE, DATABASE_UNAVAILABLE),
                503,
                media_type,
                headers={"retry-after": "1"},
            )
        cache = view.response_cache
        if cache is not None and may_be_cached(principal):
            # A hit needs the caller and the section only: no unit of work, no audit record.
            cached = await cache.answer(request, principal, section, services, body, media_type)
            if cached is not None:
                return cached
        try:
            request.state.context = context_for(request, principal, section, services)
            unit_of_work = request.state.context.unit_of_work
            audit: AuditRecorder = request.state.context.audit
            try:
                response = await view.run(request, context=request.state.context)
            except HTTPException as error:
                return http_error(error, media_type)
            finally:
                await unit_of_work.close()
                # After the unit of work ended, in a transaction of its own: kept even when
                # the request's writes were rolled back.
                read_personal_data = audit.has_personal_data
                audit_written = await audit.write()
        finally:
            if cache is not None:
                # Whatever happened, requests waiting for this one's answer go on.
                cache.release(request)
        if read_personal_data and not audit_written:
            # Personal data never leaves unrecorded.
            return json_response(
                error_body(
                    "The request read personal data and its audit record could not be "
                    "written, so the answer is withheld; retry it.",
                    "AUDIT_UNAVAILABLE",
                ),
                503,
                media_type,
            )
        response.headers["x-request-id"] = audit.origin.request_id
        if response.media_type != JSON:
            return response  # the GraphiQL page
        # strawberry answers application/json; the negotiated type and its status rules win.
        response.headers["content-type"] = media_type
        retry_after = getattr(request.state, "retry_after_seconds", None)
        if retry_after is not None:
            # Over its cost budget (w4r.schema.cost): refused unexecuted, whatever the type.
            response.status_code = 429
            response.headers["retry-after"] = str(retry_after)
        elif media_type == GRAPHQL_RESPONSE_JSON and getattr(
            request.state, "is_request_error", False
        ):
            response.status_code = 400
        if cache is None:
            response.headers["cache-control"] = NO_STORE
        else:
            cache.finish(request, request.state.context, response)
        return response

    return observed(graphql_endpoint)


def request_id(connection: HTTPConnection) -> str:
    """The request's id, one for its audit record, its log lines and its ``x-request-id``
    answer: the caller's header when it is a plain token, else a new one."""
    known: str | None = getattr(connection.state, "request_id", None)
    if known is None:
        given = connection.headers.get(REQUEST_ID_HEADER)
        known = RequestOrigin.of(None, given, None).request_id
        connection.state.request_id = known
    return known


def error_codes(body: Mapping[str, Any]) -> list[str]:
    """The metric label of each error's ``extensions.code`` in a response body."""
    errors = body.get("errors")
    if not isinstance(errors, list):
        return []
    return [
        error_code_label((error.get("extensions") or {}).get("code"))
        if isinstance(error, dict)
        else error_code_label(None)
        for error in errors
    ]


def is_graphql_answer(response: Response) -> bool:
    """A GraphQL response body (not the GraphiQL page)."""
    return response.headers.get("content-type", "").startswith((GRAPHQL_RESPONSE_JSON, JSON))


def _answered_error_codes(request: Request, response: Response) -> list[str]:
    """Codes of a response: recorded by process_result for an executed request (a 200,
    possibly large), read back from the small error body of any refusal."""
    if response.status_code == 200:
        recorded: list[str] = getattr(request.state, "error_codes", [])
        return recorded
    try:
        body = orjson.loads(response.body)
    except orjson.JSONDecodeError:
        return [error_code_label(None)]
    return error_codes(body) if isinstance(body, dict) else []


def observed(endpoint: Callable[[Request], Awaitable[Response]]) -> Any:
    """``endpoint`` measured (w4r.platform.metrics) and logged in the request's context
    (request id, then section and operation as they become known)."""

    async def observed_endpoint(request: Request) -> Response:
        started = time.perf_counter()
        with request_log_context(request_id(request)):
            response = await endpoint(request)
            seconds = time.perf_counter() - started
            response.headers.setdefault("x-request-id", request.state.request_id)
            if is_graphql_answer(response):
                codes = _answered_error_codes(request, response)
                operation: ExecutedOperation | None = getattr(request.state, "operation", None)
                observe_graphql_request(
                    UNKNOWN if operation is None else operation.operation_type,
                    UNKNOWN if operation is None else operation_name_label(operation.name),
                    seconds,
                    codes,
                )
                logger.debug(
                    "answered %d in %.1f ms, errors: %s",
                    response.status_code,
                    seconds * 1000,
                    ", ".join(codes) or "none",
                )
            if response.headers.get(CACHE_HEADER) != "HIT":  # a hit used no connection
                observe_pool(request.app.state.graphql_services.database.engine.pool)
        return response

    return observed_endpoint


def in_log_context(handler: Callable[[WebSocket], Awaitable[None]]) -> Any:
    """A websocket handler whose log lines carry the connection's request id and section."""

    async def handler_in_log_context(websocket: WebSocket) -> None:
        with request_log_context(request_id(websocket)):
            await handler(websocket)

    return handler_in_log_context


def build_view(
    schema: strawberry.Schema,
    *,
    graphql_ide_page: GraphiQLPage | None,
    trusted_document_cache_size: int = 1024,
    response_cache: ResponseCache | None = None,
) -> GraphQLView:
    view = GraphQLView(
        schema,
        graphql_ide="graphiql" if graphql_ide_page is not None else None,
        allow_queries_via_get=True,
        multipart_uploads_enabled=False,
        # Not the legacy subscriptions-transport-ws: it cannot refuse a credential with
        # 4403, and nothing of ours speaks it.
        subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
    )
    if graphql_ide_page is not None:
        view.graphql_ide_page = graphql_ide_page
    view.documents = DocumentCache(trusted_document_cache_size)
    view.response_cache = response_cache
    return view
