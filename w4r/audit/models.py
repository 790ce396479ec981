"""The audit log table: append-only, one row per audited action.

A row names the actor (role, token subject, API key), the action, its outcome, the ids it
touched and where the request came from. It never holds variables, tokens, emails or names
of supporters. ``section_id`` is the section the request was for, null for the global (IS)
scope: a section sees its own rows, the IS every row (see
:func:`w4r.platform.tenancy.audit_isolation_ddl`).
"""

from __future__ import annotations

import enum
from datetime import datetime
from uuid import UUID

from sqlalchemy import CheckConstraint, ForeignKey, Index, Text, Uuid, func, text
from sqlalchemy.dialects.postgresql import ARRAY, INET
from sqlalchemy.orm import Mapped, mapped_column

from w4r.platform.models import Base
from w4r.platform.tenancy import CURRENT_SECTION_SQL

MAX_USER_AGENT = 256
MAX_REQUEST_ID = 128


class AuditOutcome(enum.StrEnum):
    """How an audited action ended. Values are stored: never rename one."""

    OK = "ok"
    USER_ERROR = "user-error"
    """The input was refused with payload errors (their codes are in ``error_codes``)."""
    FORBIDDEN = "forbidden"
    FAILED = "failed"
    """An unexpected error, or the request's writes were rolled back."""


class AuditEntry(Base):
    __tablename__ = "audit_log"
    __table_args__ = (
        CheckConstraint(
            "outcome in ('ok', 'user-error', 'forbidden', 'failed')", name="outcome_known"
        ),
        CheckConstraint(f"length(user_agent) <= {MAX_USER_AGENT}", name="user_agent_length"),
        CheckConstraint(f"length(request_id) <= {MAX_REQUEST_ID}", name="request_id_length"),
        Index("ix_audit_log_section_id_occurred_at_id", "section_id", "occurred_at", "id"),
        Index("ix_audit_log_occurred_at_id", "occurred_at", "id"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, server_default=text("gen_random_uuid()"))
    occurred_at: Mapped[datetime] = mapped_column(server_default=func.now())
    # The bound section by default, null in the global scope: inserts never pass it by hand.
    section_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("sections.id", ondelete="RESTRICT"),
        server_default=text(CURRENT_SECTION_SQL),
    )
    actor_role: Mapped[str] = mapped_column(Text)
    actor_subject: Mapped[str | None] = mapped_column(Text)
    api_key_id: Mapped[UUID | None]
    action: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(Text)
    error_codes: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'::text[]"))
    target_ids: Mapped[list[UUID]] = mapped_column(
        ARRAY(Uuid()),
        server_default=text("'{}'::uuid[]"),
    )
    client_ip: Mapped[str | None] = mapped_column(INET)
    request_id: Mapped[str] = mapped_column(Text)
    user_agent: Mapped[str | None] = mapped_column(Text)
