"""The per-request audit recorder: collects what a request did, writes it afterwards.

Resolvers call :meth:`AuditRecorder.personal_data` when they read personal data and
:meth:`AuditRecorder.export` when they export it; the GraphQL layer calls
:meth:`AuditRecorder.mutation` for every mutation of a staff caller. Nothing is written
while the request runs. A request that commits appends its rows in its own transaction,
just before the commit (:meth:`AuditRecorder.append_to`); otherwise the HTTP boundary calls
:meth:`AuditRecorder.write` once the request's unit of work has ended, so the rows are kept,
in a transaction of their own, even for refused and failed requests. A request that records
nothing (every anonymous public read) costs no database work.

Rows hold ids, codes and request metadata only: never variables, tokens, emails or names.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from w4r.audit.models import MAX_REQUEST_ID, MAX_USER_AGENT, AuditOutcome
from w4r.audit.repository import AuditRepository
from w4r.platform.auth import Principal, Role
from w4r.platform.database import Database, TenantBinding

logger = logging.getLogger(__name__)

AUDITED_STAFF_ROLES: Final = frozenset(
    {Role.SECTION_ADMIN, Role.SECTION_EDITOR, Role.EVENT_HOST, Role.IS_ADMIN, Role.IS_ANALYST}
)
"""Callers whose every mutation is audited, whatever its outcome."""

REQUEST_ID_HEADER: Final = "x-request-id"
_REQUEST_ID: Final = re.compile(rf"^[A-Za-z0-9._:-]{{1,{MAX_REQUEST_ID}}}$")


@dataclass(frozen=True, slots=True)
class RequestOrigin:
    """Where a request came from, as far as the audit log keeps it."""

    client_ip: str | None
    request_id: str
    user_agent: str | None

    @classmethod
    def of(
        cls, client_host: str | None, request_id: str | None, user_agent: str | None
    ) -> RequestOrigin:
        """From raw request values: an IP only if it is one, the caller's request id only
        if it is a plain token (else a new one), the user agent printable and truncated."""
        return cls(
            client_ip=_ip(client_host),
            request_id=request_id
            if request_id is not None and _REQUEST_ID.match(request_id)
            else uuid.uuid4().hex,
            user_agent=_user_agent(user_agent),
        )


def _ip(host: str | None) -> str | None:
    if host is None:
        return None
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return None


def _user_agent(value: str | None) -> str | None:
    if value is None:
        return None
    printable = "".join(character for character in value if character.isprintable()).strip()
    return printable[:MAX_USER_AGENT] or None


@dataclass
class _Entry:
    action: str
    outcome: AuditOutcome
    occurred_at: datetime
    error_codes: tuple[str, ...] = ()
    target_ids: dict[UUID, None] = field(default_factory=dict)
    """An ordered set: each id once, in the order first seen."""
    is_personal_data: bool = False


class AuditRecorder:
    """What one request did that the audit log keeps (see the module docstring)."""

    def __init__(
        self,
        principal: Principal,
        origin: RequestOrigin,
        database: Database,
        binding: TenantBinding,
    ) -> None:
        self.principal = principal
        self.origin = origin
        self._database = database
        self._binding = binding
        self._entries: list[_Entry] = []
        self._reads: dict[str, _Entry] = {}

    @property
    def audits_mutations(self) -> bool:
        """Whether this caller's mutations are audited (staff, not the public or apps)."""
        return self.principal.role in AUDITED_STAFF_ROLES

    @property
    def has_personal_data(self) -> bool:
        """Whether the request read or exported personal data."""
        return bool(self._reads)

    def personal_data(self, resource: str, ids: Iterable[UUID]) -> None:
        """Record a read of personal data: ``resource`` is its schema coordinate
        (``"Section.members"``), ``ids`` the rows read. Reads of one resource in a request
        make one row with every id."""
        self._read(f"read:{resource}", ids)

    def export(self, kind: str, ids: Iterable[UUID]) -> None:
        """Record an export of personal data (``kind`` e.g. ``"supporter"``) and its ids."""
        self._read(f"export:{kind}", ids)

    def _read(self, action: str, ids: Iterable[UUID]) -> None:
        entry = self._reads.get(action)
        if entry is None:
            entry = _Entry(
                action=action,
                outcome=AuditOutcome.OK,
                occurred_at=datetime.now(UTC),
                is_personal_data=True,
            )
            self._reads[action] = entry
            self._entries.append(entry)
        entry.target_ids.update(dict.fromkeys(ids))

    def mutation(
        self,
        operation: str,
        outcome: AuditOutcome,
        *,
        error_codes: Iterable[str] = (),
        target_ids: Iterable[UUID] = (),
    ) -> None:
        """Record one mutation (``operation`` is its GraphQL name) and how it ended."""
        self._entries.append(
            _Entry(
                action=f"mutation:{operation}",
                outcome=outcome,
                occurred_at=datetime.now(UTC),
                error_codes=tuple(sorted(set(error_codes))),
                target_ids=dict.fromkeys(target_ids),
            )
        )

    def request_rolled_back(self) -> None:
        """The request's writes were not kept: its mutations that succeeded did not last."""
        for entry in self._entries:
            if not entry.is_personal_data and entry.outcome is AuditOutcome.OK:
                entry.outcome = AuditOutcome.FAILED

    def rows(self) -> list[dict[str, Any]]:
        """The recorded entries as audit_log column values."""
        principal, origin = self.principal, self.origin
        return [
            {
                "occurred_at": entry.occurred_at,
                "actor_role": principal.role.value,
                "actor_subject": principal.subject,
                "api_key_id": principal.api_key_id,
                "action": entry.action,
                "outcome": entry.outcome.value,
                "error_codes": list(entry.error_codes),
                "target_ids": list(entry.target_ids),
                "client_ip": origin.client_ip,
                "request_id": origin.request_id,
                "user_agent": origin.user_agent,
            }
            for entry in self._entries
        ]

    async def append_to(self, session: AsyncSession) -> None:
        """Append the recorded rows in the request's own transaction, just before it
        commits: one transaction fewer for a request that succeeds. Call :meth:`stored`
        once that commit succeeded; until then :meth:`write` still writes them itself."""
        if self._entries:
            await AuditRepository(session).append(self.rows())

    def stored(self) -> None:
        """The rows given to :meth:`append_to` were committed with the request."""
        self._entries.clear()
        self._reads.clear()

    async def write(self) -> bool:
        """Append the recorded rows in a transaction of their own, bound to the request's
        scope. True when they are stored (or there were none); False, logged, when the
        database refused them."""
        if not self._entries:
            return True
        rows = self.rows()
        try:
            async with self._database.session(self._binding) as session, session.begin():
                await AuditRepository(session).append(rows)
        except Exception:
            logger.exception("%d audit log rows could not be written", len(rows))
            return False
        self.stored()
        return True
