"""The append-only action ledger and what feeds it (all tenant-owned).

The app role may only INSERT and SELECT ledger rows: no UPDATE, no DELETE (grants), so a
recorded action can never be changed or removed by the application.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from uuid import UUID

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    Text,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from w4r.abuse.models import FLAG_CHECK
from w4r.platform.enums import value_enum
from w4r.platform.models import TenantOwned, Timestamped

MAX_QUANTITY = 100_000
"""The most actions one ledger row (an import row or a tally line) may carry."""


class ActionType(enum.StrEnum):
    """What was done. Values are API: never rename one."""

    LETTER = "letter"
    """A letter or card to an authority."""
    SOLIDARITY = "solidarity"
    """A card or letter of solidarity to the person or their family."""
    EMAIL = "email"
    PETITION_SIGNATURE = "petition-signature"
    SOCIAL_MEDIA_POST = "social-media-post"
    SMS = "sms"
    FAX = "fax"
    PHONE_CALL = "phone-call"
    OTHER = "other"


class Channel(enum.StrEnum):
    ONLINE = "online"
    EVENT = "event"
    OFFLINE_REPORT = "offline-report"
    IMPORT = "import"
    PARTNER_APP = "partner-app"


class Verification(enum.StrEnum):
    VERIFIED = "verified"
    """Recorded by a system when it happened (an email sent, a signature stored)."""
    SELF_REPORTED = "self-reported"
    """Reported afterwards by a person (a tally of letters written)."""


class ReporterKind(enum.StrEnum):
    SUPPORTER = "supporter"
    EVENT_HOST = "event-host"
    SECTION_STAFF = "section-staff"
    PARTNER_APP = "partner-app"
    IMPORT_BATCH = "import-batch"


class TallyState(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class Action(TenantOwned):
    """One action, or one reported tally line with its quantity."""

    __tablename__ = "actions"
    __table_args__ = (
        # Negative only in an event report's correction (it replaces an earlier report).
        CheckConstraint(
            f"quantity between -{MAX_QUANTITY} and {MAX_QUANTITY} and quantity <> 0 "
            "and (quantity > 0 or event_id is not null)",
            name="quantity_range",
        ),
        Index("ix_actions_section_id_campaign_id_case_id", "section_id", "campaign_id", "case_id"),
        CheckConstraint(FLAG_CHECK, name="flag_known"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, server_default=text("gen_random_uuid()"))
    campaign_id: Mapped[UUID] = mapped_column(ForeignKey("campaigns.id", ondelete="RESTRICT"))
    case_id: Mapped[UUID] = mapped_column(ForeignKey("cases.id", ondelete="RESTRICT"))
    action_type: Mapped[ActionType] = mapped_column(value_enum(ActionType, "action_type"))
    channel: Mapped[Channel] = mapped_column(value_enum(Channel, "action_channel"))
    quantity: Mapped[int] = mapped_column(Integer)
    occurred_at: Mapped[datetime]
    counted_on: Mapped[date]
    """The day the action counts for: its date in the section's time zone when recorded
    (kept, so a later change of the section's zone never moves counted actions)."""
    recorded_at: Mapped[datetime] = mapped_column(server_default=func.now())
    verification: Mapped[Verification] = mapped_column(value_enum(Verification, "verification"))
    reporter_kind: Mapped[ReporterKind] = mapped_column(value_enum(ReporterKind, "reporter_kind"))
    reporter_ref: Mapped[str | None] = mapped_column(Text)
    method: Mapped[str] = mapped_column(Text)
    client_id: Mapped[str | None] = mapped_column(Text)
    import_batch_id: Mapped[UUID | None]
    tally_id: Mapped[UUID | None]
    event_id: Mapped[UUID | None]
    flag: Mapped[str | None] = mapped_column(Text)
    """Why this anonymous write was held back (a :class:`w4r.abuse.models.WriteFlag`), or
    None. A flagged row is kept for review and never counted: no rollup, no total."""


class IdempotencyKey(TenantOwned):
    """A client's key, claimed by a unique insert in the transaction that did the work."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        CheckConstraint("length(key) between 1 and 200", name="key_length"),
        CheckConstraint("length(client_id) between 1 and 200", name="client_id_length"),
    )

    client_id: Mapped[str] = mapped_column(Text, primary_key=True)
    key: Mapped[str] = mapped_column(Text, primary_key=True)
    operation: Mapped[str] = mapped_column(Text)
    request_hash: Mapped[str] = mapped_column(Text)
    result_id: Mapped[UUID]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class ImportBatch(Timestamped, TenantOwned):
    """One `actionsImport` call: the provenance of its rows."""

    __tablename__ = "action_import_batches"

    id: Mapped[UUID] = mapped_column(primary_key=True, server_default=text("gen_random_uuid()"))
    client_id: Mapped[str] = mapped_column(Text)
    reporter_ref: Mapped[str | None] = mapped_column(Text)
    row_count: Mapped[int] = mapped_column(Integer)
    quantity_total: Mapped[int] = mapped_column(Integer)


class Tally(Timestamped, TenantOwned):
    """A self-reported count ("I wrote 12 letters"), counted only once approved."""

    __tablename__ = "action_tallies"
    __table_args__ = (
        CheckConstraint(
            "(state = 'pending') = (reviewed_at is null)", name="reviewed_when_decided"
        ),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, server_default=text("gen_random_uuid()"))
    campaign_id: Mapped[UUID] = mapped_column(ForeignKey("campaigns.id", ondelete="RESTRICT"))
    reporter_kind: Mapped[ReporterKind] = mapped_column(value_enum(ReporterKind, "reporter_kind"))
    reporter_name: Mapped[str | None] = mapped_column(Text)
    reporter_email: Mapped[str | None] = mapped_column(Text)
    reporter_ref: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    state: Mapped[TallyState] = mapped_column(value_enum(TallyState, "tally_state"))
    reviewed_by: Mapped[str | None] = mapped_column(Text)
    reviewed_at: Mapped[datetime | None]
    review_note: Mapped[str | None] = mapped_column(Text)


class TallyLine(TenantOwned):
    __tablename__ = "action_tally_lines"
    __table_args__ = (
        ForeignKeyConstraint(
            ["section_id", "tally_id"],
            ["action_tallies.section_id", "action_tallies.id"],
            ondelete="CASCADE",
        ),
        CheckConstraint(f"quantity between 1 and {MAX_QUANTITY}", name="quantity_range"),
    )

    tally_id: Mapped[UUID] = mapped_column(primary_key=True)
    line: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[UUID] = mapped_column(ForeignKey("cases.id", ondelete="RESTRICT"))
    action_type: Mapped[ActionType] = mapped_column(value_enum(ActionType, "action_type"))
    quantity: Mapped[int] = mapped_column(Integer)
