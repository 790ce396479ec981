"""Webhook subscriptions, the delivery outbox, its attempt log, and totals milestones.

Subscriptions, deliveries and attempts are tenant-owned: a section's subscriptions, and the
deliveries written for them, are invisible to every other section and to the global scope.
A delivery is written in the transaction of the change it reports, so it exists exactly when
that change was committed (the transactional outbox); the dispatcher claims due deliveries
with ``FOR UPDATE SKIP LOCKED``, one section at a time.

Milestones: every ledger write leaves a mark (``webhook_milestone_checks``) in its own
transaction; the dispatcher turns marks into checks of the totals and records each
threshold once (``webhook_section_milestones``, tenant-owned; ``webhook_case_milestones``,
global and public like the worldwide case totals). See docs/webhooks.md.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any, Final
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from w4r.platform.enums import value_enum
from w4r.platform.models import Base, TenantOwned, Timestamped

MAX_URL_LENGTH: Final = 2000
MAX_DESCRIPTION_LENGTH: Final = 300
MAX_RESPONSE_EXCERPT: Final = 200
MILESTONE_CHECK_SLOTS: Final = 8
"""A ledger write marks one of these slots at random, so concurrent writes for one case do
not queue on one row (the same reason the rollups have slots)."""


class EventKind(enum.StrEnum):
    """What a subscription may listen to. Values are API and stored: never rename one."""

    CASE_PUBLISHED = "case.published"
    CASE_OUTCOME_ADDED = "case.outcome_added"
    TOTALS_MILESTONE_REACHED = "totals.milestone_reached"
    EVENT_PUBLISHED = "event.published"
    EVENT_CANCELLED = "event.cancelled"
    REGISTRATION_CREATED = "registration.created"


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    """Waiting for its first or next attempt (``next_attempt_at``)."""
    DELIVERED = "delivered"
    """The receiver answered 2xx."""
    FAILED = "failed"
    """Out of attempts, or refused for good; ``webhookRedeliver`` queues it again."""


class AttemptOutcome(enum.StrEnum):
    DELIVERED = "delivered"
    RETRYING = "retrying"
    FAILED = "failed"


def _text_array(values: list[str]) -> str:
    return "ARRAY[" + ", ".join(f"'{value}'" for value in sorted(values)) + "]::text[]"


class WebhookSubscription(Timestamped, TenantOwned):
    """A URL that receives some kinds of event of its section.

    Owned by the section (``api_key_id`` null: managed by its admins) or by one of its API
    keys (managed by that key, which receives public data only). ``secret_ciphertext`` is
    the signing secret encrypted with the deployment's webhook key (AES-256-GCM, the
    subscription's id as associated data); the secret itself is shown once, at creation.
    """

    __tablename__ = "webhook_subscriptions"
    __table_args__ = (
        CheckConstraint(f"length(url) between 1 and {MAX_URL_LENGTH}", name="url_length"),
        CheckConstraint("url like 'http%://%'", name="url_absolute"),
        CheckConstraint("cardinality(events) >= 1", name="has_event"),
        CheckConstraint(
            f"events <@ {_text_array([kind.value for kind in EventKind])}", name="known_events"
        ),
        CheckConstraint(
            f"description is null or length(description) <= {MAX_DESCRIPTION_LENGTH}",
            name="description_length",
        ),
        Index(
            "ix_webhook_subscriptions_section_id_created_at_id", "section_id", "created_at", "id"
        ),
        Index("ix_webhook_subscriptions_section_id_api_key_id", "section_id", "api_key_id"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, server_default=text("gen_random_uuid()"))
    api_key_id: Mapped[UUID | None]
    """The API key that owns it; null when the section (its admins) owns it. No foreign
    key: ``api_keys`` is a global table under its own policy (the service checks the key)."""
    url: Mapped[str] = mapped_column(Text)
    events: Mapped[list[str]] = mapped_column(ARRAY(Text))
    description: Mapped[str | None] = mapped_column(Text)
    secret_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    is_enabled: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    created_by: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())


class WebhookDelivery(Timestamped, TenantOwned):
    """One event for one subscription: the outbox row, and the ``W4R-Webhook-Id``."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        ForeignKeyConstraint(
            ["section_id", "subscription_id"],
            ["webhook_subscriptions.section_id", "webhook_subscriptions.id"],
            ondelete="CASCADE",
            # The conventional name would pass PostgreSQL's 63 characters.
            name="fk_webhook_deliveries_section_id_subscription_id",
        ),
        CheckConstraint("attempts >= 0", name="attempts_positive"),
        CheckConstraint(
            "(status = 'delivered') = (delivered_at is not null)", name="delivered_at_set"
        ),
        Index(
            "ix_webhook_deliveries_section_id_status_next_attempt_at",
            "section_id",
            "status",
            "next_attempt_at",
        ),
        Index(
            "ix_webhook_deliveries_section_id_subscription_id_created_at",
            "section_id",
            "subscription_id",
            "created_at",
            "id",
        ),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, server_default=text("gen_random_uuid()"))
    subscription_id: Mapped[UUID]
    event: Mapped[EventKind] = mapped_column(value_enum(EventKind, "webhook_event_kind"))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    """The event's ``data``: public data and counts only, never personal data."""
    status: Mapped[DeliveryStatus] = mapped_column(
        value_enum(DeliveryStatus, "webhook_delivery_status"),
        server_default=text("'pending'"),
    )
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    """Attempts since it was (re)queued: the retry budget counts these."""
    next_attempt_at: Mapped[datetime] = mapped_column(server_default=func.now())
    last_attempt_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]


class WebhookAttempt(TenantOwned):
    """One HTTP request of a delivery: its outcome, never the body of the response beyond a
    short excerpt."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (
        ForeignKeyConstraint(
            ["section_id", "delivery_id"],
            ["webhook_deliveries.section_id", "webhook_deliveries.id"],
            ondelete="CASCADE",
        ),
        CheckConstraint("duration_ms >= 0", name="duration_positive"),
        CheckConstraint(
            f"response_excerpt is null or length(response_excerpt) <= {MAX_RESPONSE_EXCERPT}",
            name="response_excerpt_length",
        ),
        Index(
            "ix_webhook_attempts_section_id_delivery_id_attempted_at",
            "section_id",
            "delivery_id",
            "attempted_at",
        ),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, server_default=text("gen_random_uuid()"))
    delivery_id: Mapped[UUID]
    attempted_at: Mapped[datetime] = mapped_column(server_default=func.now())
    duration_ms: Mapped[int] = mapped_column(Integer)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    """The error's class (``ConnectTimeout``, ``HTTPStatus``), never its message."""
    response_excerpt: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[AttemptOutcome] = mapped_column(
        value_enum(AttemptOutcome, "webhook_attempt_outcome")
    )


class MilestoneCheck(TenantOwned):
    """A mark left by a ledger write: this case's totals changed, check the milestones."""

    __tablename__ = "webhook_milestone_checks"

    campaign_id: Mapped[UUID] = mapped_column(
        ForeignKey("campaigns.id", ondelete="RESTRICT"), primary_key=True
    )
    case_id: Mapped[UUID] = mapped_column(
        ForeignKey("cases.id", ondelete="RESTRICT"), primary_key=True
    )
    slot: Mapped[int] = mapped_column(SmallInteger, primary_key=True)


class SectionMilestone(TenantOwned):
    """A threshold a section's campaign total reached: recorded once, its deliveries with it."""

    __tablename__ = "webhook_section_milestones"

    campaign_id: Mapped[UUID] = mapped_column(
        ForeignKey("campaigns.id", ondelete="RESTRICT"), primary_key=True
    )
    threshold: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    quantity: Mapped[int] = mapped_column(BigInteger)
    reached_at: Mapped[datetime] = mapped_column(server_default=func.now())


class CaseMilestone(Base):
    """A threshold a case's worldwide total reached (global and public, as that total is)."""

    __tablename__ = "webhook_case_milestones"

    campaign_id: Mapped[UUID] = mapped_column(
        ForeignKey("campaigns.id", ondelete="RESTRICT"), primary_key=True
    )
    case_id: Mapped[UUID] = mapped_column(
        ForeignKey("cases.id", ondelete="RESTRICT"), primary_key=True
    )
    threshold: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    quantity: Mapped[int] = mapped_column(BigInteger)
    reached_at: Mapped[datetime] = mapped_column(server_default=func.now())
