"""The transactional outbox of mail (tenant-owned).

A mail is written in the transaction of the change that needs it (a signature waiting for
its confirmation), so it exists exactly when that change was committed. The sender claims
rows with ``FOR UPDATE SKIP LOCKED``, one section at a time, so several replicas never
send one mail twice at once.
"""

from __future__ import annotations

import enum
from datetime import datetime
from uuid import UUID

from sqlalchemy import CheckConstraint, Index, Integer, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column

from w4r.platform.enums import value_enum
from w4r.platform.models import TenantOwned, Timestamped


class MailKind(enum.StrEnum):
    SIGNATURE_CONFIRMATION = "signature-confirmation"
    CONSENT_CONFIRMATION = "consent-confirmation"
    CONSENT_WITHDRAWAL = "consent-withdrawal"


class MailStatus(enum.StrEnum):
    PENDING = "pending"
    """Waiting for its first or next attempt (``next_attempt_at``)."""
    SENT = "sent"
    """Accepted by the SMTP server; its body is cleared (it held a secret link)."""
    FAILED = "failed"
    """Refused for good, or out of attempts; its body is cleared too."""


class OutboxMail(Timestamped, TenantOwned):
    __tablename__ = "mail_outbox"
    __table_args__ = (
        CheckConstraint("attempts >= 0", name="attempts_positive"),
        CheckConstraint("(status = 'pending') = (body is not null)", name="body_until_done"),
        Index(
            "ix_mail_outbox_section_id_status_next_attempt_at",
            "section_id",
            "status",
            "next_attempt_at",
        ),
        Index("ix_mail_outbox_section_id_supporter_id", "section_id", "supporter_id"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, server_default=text("gen_random_uuid()"))
    supporter_id: Mapped[UUID | None]
    """Whose mail it is (no foreign key: erasure deletes the rows itself, by this id and by
    recipient)."""
    kind: Mapped[MailKind] = mapped_column(value_enum(MailKind, "mail_kind"))
    recipient: Mapped[str] = mapped_column(Text)
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str | None] = mapped_column(Text)
    status: Mapped[MailStatus] = mapped_column(value_enum(MailStatus, "mail_status"))
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    next_attempt_at: Mapped[datetime] = mapped_column(server_default=func.now())
    last_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    """What went wrong last (SMTP code and error class only: never an address)."""
    sent_at: Mapped[datetime | None]
