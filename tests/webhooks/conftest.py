"""Fixtures of the webhook tests: a real HTTP receiver on loopback that records what it
gets, an app of their own that accepts loopback URLs, and dispatchers the tests drain.

The receiver answers each path from a script (a status, or a pause longer than the
dispatcher's timeout), so every test uses paths of its own and never sees another's
requests. No dispatcher runs in the background: a test drains the outbox when it wants to.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import threading
import time
import uuid
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson
import pytest
from sqlalchemy import text
from starlette.applications import Starlette

from tests.conftest import GraphQLClient
from w4r.app import create_app, webhook_secret_box
from w4r.platform.auth import Role
from w4r.platform.bootstrap import DatabaseTarget
from w4r.platform.database import TenantBinding
from w4r.platform.outbox import RetryPolicy
from w4r.settings import Settings
from w4r.webhooks.dispatcher import DispatchPolicy, WebhookDispatcher

TIMEOUT_SECONDS = 0.5
SLOW = "slow"
"""A scripted answer: wait longer than the dispatcher's timeout, then answer 200."""
REPLAY_WINDOW_SECONDS = 300


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return orjson.loads(self.body)

    def header(self, name: str) -> str:
        return self.headers[name.lower()]


@dataclass
class Receiver:
    """Records every request; answers each path from its script, then with 200."""

    port: int = 0
    requests: list[Received] = field(default_factory=list)
    scripts: dict[str, deque[int | str]] = field(default_factory=lambda: defaultdict(deque))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def new_path(self) -> str:
        return f"/hooks/{uuid.uuid4().hex}"

    def script(self, path: str, *answers: int | str) -> None:
        with self.lock:
            self.scripts[path].extend(answers)

    def next_answer(self, path: str) -> int | str:
        with self.lock:
            queue = self.scripts.get(path)
            return queue.popleft() if queue else 200

    def at(self, path: str) -> list[Received]:
        with self.lock:
            return [request for request in self.requests if request.path == path]


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length)
            headers = {name.lower(): value for name, value in self.headers.items()}
            with receiver.lock:
                receiver.requests.append(Received(self.path, headers, body))
            answer = receiver.next_answer(self.path)
            if answer == SLOW:
                time.sleep(TIMEOUT_SECONDS * 3)
                answer = 200
            status = int(answer)
            reply = b"ok" if status < 300 else b"receiver failed: " + b"x" * 5000
            # A client that timed out has gone: its answer has nowhere to go.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.send_response(status)
                self.send_header("content-length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            """Quiet: the tests read the recorded requests instead."""

    return Handler


@pytest.fixture(scope="package")
def receiver() -> Iterator[Receiver]:
    """A real HTTP server on 127.0.0.1 at a port the system chose."""
    recorded = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(recorded))
    server.daemon_threads = True
    recorded.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, name="webhook-receiver", daemon=True)
    thread.start()
    try:
        yield recorded
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="package")
def webhook_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"webhook_allow_loopback": True, "webhook_dispatcher": False})


@pytest.fixture(scope="package")
async def app(
    webhook_settings: Settings, database_target: DatabaseTarget
) -> AsyncIterator[Starlette]:
    """The app of this package's tests (it replaces the session's app here)."""
    application = create_app(webhook_settings, target=database_target)
    async with application.router.lifespan_context(application):
        yield application


MakeDispatcher = Callable[..., WebhookDispatcher]


@pytest.fixture
async def make_dispatcher(
    app: Starlette, webhook_settings: Settings
) -> AsyncIterator[MakeDispatcher]:
    """Dispatchers on the app's database and key: fast retries, a short timeout."""
    made: list[WebhookDispatcher] = []

    def make(
        *, max_attempts: int = 5, base_seconds: float = 0.05, milestones: tuple[int, ...] = ()
    ) -> WebhookDispatcher:
        dispatcher = WebhookDispatcher(
            app.state.database,
            webhook_secret_box(webhook_settings),
            DispatchPolicy(
                retry=RetryPolicy(
                    max_attempts=max_attempts,
                    base_seconds=base_seconds,
                    max_seconds=10 * base_seconds,
                    jitter=0.2,
                ),
                timeout_seconds=TIMEOUT_SECONDS,
                batch_size=20,
                milestones=milestones,
                allow_loopback=True,
            ),
        )
        made.append(dispatcher)
        return dispatcher

    yield make
    for dispatcher in made:
        await dispatcher.aclose()


# --- the receiver's side, written from docs/webhooks.md --------------------------------------


def verify(secret: str, request: Received, *, now: float | None = None) -> bool:
    """The documented recipe: HMAC-SHA256 of "<timestamp>.<raw body>" keyed with the secret,
    compared in constant time with each v1 entry of the signature header; the timestamp
    within five minutes of now."""
    timestamp = request.header("W4R-Webhook-Timestamp")
    if abs((time.time() if now is None else now) - int(timestamp)) > REPLAY_WINDOW_SECONDS:
        return False
    expected = hmac.new(
        secret.encode(), timestamp.encode() + b"." + request.body, hashlib.sha256
    ).hexdigest()
    signatures = [
        entry.removeprefix("v1=")
        for entry in request.header("W4R-Webhook-Signature").split()
        if entry.startswith("v1=")
    ]
    return any(hmac.compare_digest(expected, signature) for signature in signatures)


# --- GraphQL -------------------------------------------------------------------------------

WEBHOOK_FIELDS = "id url events description isEnabled apiKeyId createdAt createdBy updatedAt"
WEBHOOK_CREATE = f"""
mutation ($input: WebhookCreateInput!) {{
  webhookCreate(input: $input) {{
    secret webhook {{ {WEBHOOK_FIELDS} }} errors {{ field code message }}
  }}
}}
"""
WEBHOOK_UPDATE = f"""
mutation ($input: WebhookUpdateInput!) {{
  webhookUpdate(input: $input) {{ webhook {{ {WEBHOOK_FIELDS} }} errors {{ field code message }} }}
}}
"""
WEBHOOK_DELETE = """
mutation ($input: WebhookDeleteInput!) {
  webhookDelete(input: $input) { deletedId errors { field code message } }
}
"""
WEBHOOKS = f"""
query ($first: Int, $after: String) {{
  webhooks(first: $first, after: $after) {{
    edges {{ cursor node {{ {WEBHOOK_FIELDS} }} }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}
"""
DELIVERY_FIELDS = """
id event status attempts createdAt nextAttemptAt lastAttemptAt deliveredAt payload
attemptLog { attemptedAt outcome statusCode durationMs error responseExcerpt }
"""
WEBHOOK_DELIVERIES = f"""
query ($id: UUID!, $first: Int, $after: String) {{
  webhookDeliveries(webhookId: $id, first: $first, after: $after) {{
    edges {{ cursor node {{ {DELIVERY_FIELDS} }} }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}
"""
WEBHOOK_REDELIVER = f"""
mutation ($input: WebhookRedeliverInput!) {{
  webhookRedeliver(input: $input) {{
    delivery {{ {DELIVERY_FIELDS} }} errors {{ field code message }}
  }}
}}
"""


def admin(code: str, role: Role = Role.SECTION_ADMIN) -> dict[str, Any]:
    """``GraphQLClient`` options: ``role`` of section ``code`` at its endpoint."""
    return {"role": role, "token_section": code, "section": code}


def bearer(key: str, code: str) -> dict[str, Any]:
    """``GraphQLClient`` options: an API key at section ``code``'s endpoint."""
    return {"headers": {"authorization": f"Bearer {key}"}, "section": code}


@dataclass(frozen=True)
class Hook:
    id: str
    secret: str
    path: str


async def subscribe(
    graphql: GraphQLClient,
    receiver: Receiver,
    caller: dict[str, Any],
    events: list[str],
) -> Hook:
    """A webhook at a fresh path of the receiver, created by ``caller``."""
    path = receiver.new_path()
    values = {"url": receiver.url(path), "events": events, "description": "test receiver"}
    data = await graphql.data(WEBHOOK_CREATE, {"input": values}, **caller)
    payload = data["webhookCreate"]
    assert payload["errors"] == [], payload
    return Hook(id=payload["webhook"]["id"], secret=payload["secret"], path=path)


async def deliveries(
    graphql: GraphQLClient, caller: dict[str, Any], hook_id: str
) -> list[dict[str, Any]]:
    """The webhook's deliveries, newest first (one page is enough for a test)."""
    data = await graphql.data(WEBHOOK_DELIVERIES, {"id": hook_id, "first": 100}, **caller)
    return [edge["node"] for edge in data["webhookDeliveries"]["edges"]]


SETTLE_SECONDS = 20.0

_UNSETTLED = text(
    "select (select count(*) from webhook_deliveries d join webhook_subscriptions s "
    "on s.section_id = d.section_id and s.id = d.subscription_id "
    "where d.status = 'pending' and s.is_enabled) "
    "+ (select count(*) from webhook_milestone_checks)"
)


async def _unsettled(dispatcher: WebhookDispatcher, section_id: uuid.UUID) -> int:
    async with dispatcher.database.session(TenantBinding.for_section(section_id)) as session:
        return int((await session.execute(_UNSETTLED)).scalar_one())


async def drain_until_quiet(dispatcher: WebhookDispatcher, section_ids: list[str]) -> None:
    """Drain the sections until none has a pending delivery of an enabled webhook or a
    milestone mark left, waiting out the (short) backoff between rounds."""
    ids = [uuid.UUID(section_id) for section_id in section_ids]
    deadline = time.monotonic() + SETTLE_SECONDS
    while True:
        await dispatcher.drain(ids)
        if not any([await _unsettled(dispatcher, section_id) for section_id in ids]):
            return
        assert time.monotonic() < deadline, "the outbox did not settle"
        await asyncio.sleep(0.05)
