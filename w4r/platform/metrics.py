"""The platform's Prometheus metrics, defined once; served at ``/metrics``.

Every metric lives in one registry of the process (``REGISTRY``). Labels carry only
bounded, non-personal values: operation names, error codes, action types and channels,
webhook event kinds and outcomes. Never an id, a section-provided string, a token or an
email (a label's every value is a new time series, and a metrics endpoint is no place for
personal data). Values a caller chooses (operation names, error codes) pass through
:class:`BoundedLabels`, so no caller can grow the number of series without limit.

With several worker processes (``uvicorn --workers``) each process counts on its own;
prometheus_client's multiprocess mode adds them up when the environment variable
``PROMETHEUS_MULTIPROC_DIR`` names an empty directory shared by the workers *before they
start* (prometheus_client decides at import time where values live; the setting of the same
name hands it to :func:`exposition`, which then reads every worker's files).
"""

from __future__ import annotations

import hmac
import os
import re
import threading
from collections import Counter as Tally
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.pool import Pool, QueuePool

REGISTRY: Final = CollectorRegistry(auto_describe=True)

LATENCY_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

GRAPHQL_REQUESTS: Final = Counter(
    "w4r_graphql_requests",
    "GraphQL operations served, by operation type and name.",
    ["operation_type", "operation_name"],
    registry=REGISTRY,
)
GRAPHQL_LATENCY: Final = Histogram(
    "w4r_graphql_request_duration_seconds",
    "Time to answer a GraphQL operation, by operation type and name.",
    ["operation_type", "operation_name"],
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
GRAPHQL_ERRORS: Final = Counter(
    "w4r_graphql_errors",
    "Errors in GraphQL responses, by their extensions.code.",
    ["code"],
    registry=REGISTRY,
)
DB_POOL_CONNECTIONS: Final = Gauge(
    "w4r_db_pool_connections",
    "Connections of the app's database pool, by state (checked_out, idle, overflow, size).",
    ["state"],
    registry=REGISTRY,
    multiprocess_mode="livesum",
)
ACTIONS_RECORDED: Final = Counter(
    "w4r_actions_recorded",
    "Actions written to the ledger and counted (the sum of their quantities), by type and channel.",
    ["action_type", "channel"],
    registry=REGISTRY,
)
ACTIONS_WITHDRAWN: Final = Counter(
    "w4r_actions_withdrawn",
    "Quantities taken back by ledger corrections (an event report that says less than the "
    "previous one), by type and channel: counted actions are recorded minus withdrawn.",
    ["action_type", "channel"],
    registry=REGISTRY,
)
WEBHOOK_DELIVERIES: Final = Counter(
    "w4r_webhook_deliveries",
    "Webhook delivery attempts, by event kind and outcome (delivered, retrying, failed).",
    ["event", "outcome"],
    registry=REGISTRY,
)
SUBSCRIPTION_CLIENTS: Final = Gauge(
    "w4r_subscription_clients",
    "GraphQL subscription (WebSocket) connections open on this process.",
    registry=REGISTRY,
    multiprocess_mode="livesum",
)
RESPONSE_CACHE_HITS: Final = Counter(
    "w4r_response_cache_hits",
    "Public queries answered from the response cache (docs/caching.md).",
    registry=REGISTRY,
)
RESPONSE_CACHE_MISSES: Final = Counter(
    "w4r_response_cache_misses",
    "Cacheable-looking public queries the response cache had no fresh answer for.",
    registry=REGISTRY,
)
RESPONSE_CACHE_EVICTIONS: Final = Counter(
    "w4r_response_cache_evictions",
    "Cached answers dropped to stay within W4R_RESPONSE_CACHE_MAX_BYTES.",
    registry=REGISTRY,
)
RESPONSE_CACHE_INVALIDATIONS: Final = Counter(
    "w4r_response_cache_invalidations",
    "Times every cached answer became unservable: a change to cached data, or the loss "
    "or return of the change listener's connection.",
    registry=REGISTRY,
)
RESPONSE_CACHE_BYTES: Final = Gauge(
    "w4r_response_cache_bytes",
    "Memory the cached answers take (bytes, as the cache counts them).",
    registry=REGISTRY,
    multiprocess_mode="livesum",
)

# --- bounded label values --------------------------------------------------------------------

UNKNOWN: Final = "unknown"
"""Operation type and name of a request refused before a valid operation was known."""
ANONYMOUS: Final = "anonymous"
OTHER: Final = "other"
MAX_OPERATION_NAMES: Final = 200
MAX_ERROR_CODES: Final = 100
_ERROR_CODE: Final = re.compile(r"^[A-Z][A-Z0-9_]{0,63}$")
UNSPECIFIED_CODE: Final = "UNSPECIFIED"
OTHER_CODE: Final = "OTHER"


class BoundedLabels:
    """Label values admitted first come, first served, up to ``limit`` distinct ones; any
    later newcomer is reported as ``overflow``. Thread-safe (a scrape may run elsewhere)."""

    def __init__(self, limit: int, overflow: str) -> None:
        self._limit = limit
        self._overflow = overflow
        self._known: set[str] = set()
        self._lock = threading.Lock()

    def label(self, value: str) -> str:
        if value in self._known:
            return value
        with self._lock:
            if len(self._known) < self._limit:
                self._known.add(value)
                return value
        return self._overflow


_OPERATION_NAMES: Final = BoundedLabels(MAX_OPERATION_NAMES, OTHER)
_ERROR_CODES: Final = BoundedLabels(MAX_ERROR_CODES, OTHER_CODE)


def operation_name_label(name: str | None) -> str:
    """The label of a validated operation's name: "anonymous" without one, "other" once
    :data:`MAX_OPERATION_NAMES` distinct names have been seen by this process."""
    return ANONYMOUS if name is None else _OPERATION_NAMES.label(name)


def error_code_label(code: object) -> str:
    """The label of an ``extensions.code``: an upper-case code as it is, "UNSPECIFIED"
    without one, "OTHER" for anything else or past :data:`MAX_ERROR_CODES` codes."""
    if code is None:
        return UNSPECIFIED_CODE
    if not isinstance(code, str) or not _ERROR_CODE.match(code):
        return OTHER_CODE
    return _ERROR_CODES.label(code)


def observe_graphql_request(
    operation_type: str, operation_name: str, seconds: float, error_codes: list[str]
) -> None:
    """One answered GraphQL request; the labels must already be bounded (see above)."""
    GRAPHQL_REQUESTS.labels(operation_type, operation_name).inc()
    GRAPHQL_LATENCY.labels(operation_type, operation_name).observe(seconds)
    for code in error_codes:
        GRAPHQL_ERRORS.labels(code).inc()


# --- the database pool ----------------------------------------------------------------------


def observe_pool(pool: Pool) -> None:
    """Copy the pool's state into :data:`DB_POOL_CONNECTIONS` (at scrape time, and after
    each request so that every worker's value is fresh in multiprocess mode)."""
    if not isinstance(pool, QueuePool):
        return  # NullPool/StaticPool (tools, tests): no pool worth a gauge
    DB_POOL_CONNECTIONS.labels("checked_out").set(pool.checkedout())
    DB_POOL_CONNECTIONS.labels("idle").set(pool.checkedin())
    # QueuePool counts overflow from -size upwards: negative means "room left in the pool".
    DB_POOL_CONNECTIONS.labels("overflow").set(max(pool.overflow(), 0))
    DB_POOL_CONNECTIONS.labels("size").set(pool.size())


# --- actions, counted once their transaction is committed ------------------------------------

_PENDING_ACTIONS: Final = "w4r.metrics.pending_actions"
ActionCounts = Mapping[tuple[str, str], int]


def count_actions_on_commit(session: AsyncSession, counts: ActionCounts) -> None:
    """Add ``counts`` (quantity by action type and channel) to :data:`ACTIONS_RECORDED` (or,
    negative, to :data:`ACTIONS_WITHDRAWN`) when the session's outermost transaction
    commits, and never when the transaction, or the savepoint they were written in (a
    mutation's payload errors), rolls back."""
    sync_session = session.sync_session
    transaction = sync_session.get_nested_transaction() or sync_session.get_transaction()
    if transaction is None or not counts:
        return
    pending: dict[SessionTransaction, Tally[tuple[str, str]]] | None = sync_session.info.get(
        _PENDING_ACTIONS
    )
    if pending is None:
        pending = sync_session.info[_PENDING_ACTIONS] = {}
        event.listen(sync_session, "after_commit", _committed)
        event.listen(sync_session, "after_transaction_end", _ended)
    pending.setdefault(transaction, Tally()).update(counts)


def _boundary(transaction: SessionTransaction | None) -> SessionTransaction | None:
    """The savepoint or outermost transaction that decides the fate of ``transaction``."""
    while transaction is not None and not transaction.nested and transaction.parent is not None:
        transaction = transaction.parent
    return transaction


def _committed(session: Session) -> None:
    """A savepoint's counts move to the enclosing transaction; the outermost's are counted.
    (SQLAlchemy fires ``after_commit`` for both, while the committing one is current.)"""
    pending: dict[SessionTransaction, Tally[tuple[str, str]]] = session.info[_PENDING_ACTIONS]
    nested = session.get_nested_transaction()
    if nested is not None:
        counts = pending.pop(nested, None)
        enclosing = _boundary(nested.parent)
        if counts and enclosing is not None:
            pending.setdefault(enclosing, Tally()).update(counts)
        return
    root = session.get_transaction()
    counts = pending.pop(root, None) if root is not None else None
    for (action_type, channel), quantity in (counts or {}).items():
        if quantity > 0:
            ACTIONS_RECORDED.labels(action_type, channel).inc(quantity)
        elif quantity < 0:
            ACTIONS_WITHDRAWN.labels(action_type, channel).inc(-quantity)


def _ended(session: Session, transaction: SessionTransaction) -> None:
    """Whatever a transaction still holds when it ends was never committed: dropped."""
    pending: dict[SessionTransaction, Tally[tuple[str, str]]] = session.info[_PENDING_ACTIONS]
    pending.pop(transaction, None)


# --- exposition ------------------------------------------------------------------------------


def exposition(accept: str | None, directory: Path | None) -> tuple[bytes, str]:
    """The metrics in the text format the scraper accepts (Prometheus or OpenMetrics) and
    its content type; with ``directory`` the sum over every worker process."""
    encoder, content_type = choose_encoder(accept or "")
    if directory is None:
        return encoder(REGISTRY), content_type
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(directory))  # type: ignore[no-untyped-call]
    return encoder(registry), content_type


def forget_process(directory: Path | None) -> None:
    """At a worker's exit: its gauges leave the live sums (multiprocess mode only)."""
    if directory is not None:
        mark_process_dead(os.getpid(), str(directory))  # type: ignore[no-untyped-call]


def is_authorized(authorization: str | None, token: str | None) -> bool:
    """Whether a scrape may read the metrics: always without a configured token, else only
    with ``Authorization: Bearer <token>`` (compared in constant time)."""
    if token is None:
        return True
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), token.encode())
