"""Webhook subscriptions and their transactional delivery outbox.

Subscriptions, deliveries and the attempt log are tenant-owned and isolated by row-level
security; none opens to the global scope. A subscription's signing secret is stored only
encrypted. Totals milestones: the marks ledger writes leave for the dispatcher and each
section's reached thresholds are tenant-owned; the thresholds a case's worldwide total
reached are global and public, like that total. The app role may delete subscriptions (their
deliveries and attempts go with them) and the marks it has checked; the attempt log and the
milestones are append-only. ``webhook_enqueue_everywhere`` writes one global event's
deliveries in every section, in one statement of the caller's transaction.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-21 14:00:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from w4r.platform.database import APP_ROLE
from w4r.platform.tenancy import tenant_isolation_ddl

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT_TABLES = (
    "webhook_subscriptions",
    "webhook_deliveries",
    "webhook_attempts",
    "webhook_milestone_checks",
    "webhook_section_milestones",
)
GRANTS = {
    "webhook_subscriptions": "SELECT, INSERT, UPDATE, DELETE",
    "webhook_deliveries": "SELECT, INSERT, UPDATE",
    "webhook_attempts": "SELECT, INSERT",
    "webhook_milestone_checks": "SELECT, INSERT, UPDATE, DELETE",
    "webhook_section_milestones": "SELECT, INSERT",
    "webhook_case_milestones": "SELECT, INSERT",
}
EVENT_KINDS = (
    "case.published",
    "case.outcome_added",
    "totals.milestone_reached",
    "event.published",
    "event.cancelled",
    "registration.created",
)


FAN_OUT_FUNCTION = "webhook_enqueue_everywhere(text, jsonb)"
FAN_OUT = """
CREATE FUNCTION webhook_enqueue_everywhere(kind text, data jsonb) RETURNS integer
LANGUAGE plpgsql SECURITY INVOKER AS $$
-- One delivery of a global event for every enabled subscription, of every section, that
-- listens to it and whose API key (if any) is active. The transaction is bound to each
-- section in turn, so row-level security lets each insert write that section's rows only;
-- the caller's binding is restored before returning. The caller's role and policies apply
-- throughout (SECURITY INVOKER): the app role can do nothing here it could not do itself.
DECLARE
  bound_section text := current_setting('w4r.section_id', true);
  bound_scope text := current_setting('w4r.scope', true);
  each_section uuid;
  inserted integer;
  total integer := 0;
BEGIN
  FOR each_section IN SELECT id FROM public.sections ORDER BY id LOOP
    PERFORM set_config('w4r.section_id', each_section::text, true),
            set_config('w4r.scope', 'section', true);
    INSERT INTO public.webhook_deliveries (subscription_id, event, payload)
    SELECT s.id, kind, data
    FROM public.webhook_subscriptions s
    WHERE s.is_enabled
      AND s.events @> ARRAY[kind]
      AND (s.api_key_id IS NULL OR EXISTS (
        SELECT 1 FROM public.api_keys k
        WHERE k.id = s.api_key_id AND k.revoked_at IS NULL
          AND (k.expires_at IS NULL OR k.expires_at > now())));
    GET DIAGNOSTICS inserted = ROW_COUNT;
    total := total + inserted;
  END LOOP;
  PERFORM set_config('w4r.section_id', coalesce(bound_section, ''), true),
          set_config('w4r.scope', coalesce(bound_scope, ''), true);
  RETURN total;
END
$$
"""


def _section_id() -> sa.Column[Any]:
    return sa.Column(
        "section_id",
        sa.Uuid(),
        server_default=sa.text("NULLIF(current_setting('w4r.section_id', true), '')::uuid"),
        nullable=False,
    )


def _id() -> sa.Column[Any]:
    return sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False)


def _moment(name: str, *, nullable: bool = True, now: bool = False) -> sa.Column[Any]:
    return sa.Column(
        name,
        sa.DateTime(timezone=True),
        server_default=sa.text("now()") if now else None,
        nullable=nullable,
    )


def _enum(name: str, values: Sequence[str]) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


def _section_key(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["section_id"],
        ["sections.id"],
        name=op.f(f"fk_{table}_section_id_sections"),
        ondelete="RESTRICT",
    )


def _global_key(table: str, column: str, referenced: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column],
        [f"{referenced}.id"],
        name=op.f(f"fk_{table}_{column}_{referenced}"),
        ondelete="RESTRICT",
    )


def upgrade() -> None:
    op.create_table(
        "webhook_subscriptions",
        _section_id(),
        _id(),
        sa.Column("api_key_id", sa.Uuid(), nullable=True),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("events", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("secret_ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("is_enabled", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        _moment("updated_at", nullable=False, now=True),
        _moment("created_at", nullable=False, now=True),
        sa.CheckConstraint(
            "events <@ ARRAY[" + ", ".join(f"'{kind}'" for kind in sorted(EVENT_KINDS)) + "]"
            "::text[]",
            name=op.f("ck_webhook_subscriptions_known_events"),
        ),
        sa.CheckConstraint(
            "url like 'http%://%'", name=op.f("ck_webhook_subscriptions_url_absolute")
        ),
        sa.CheckConstraint(
            "cardinality(events) >= 1", name=op.f("ck_webhook_subscriptions_has_event")
        ),
        sa.CheckConstraint(
            "description is null or length(description) <= 300",
            name=op.f("ck_webhook_subscriptions_description_length"),
        ),
        sa.CheckConstraint(
            "length(url) between 1 and 2000", name=op.f("ck_webhook_subscriptions_url_length")
        ),
        _section_key("webhook_subscriptions"),
        sa.PrimaryKeyConstraint("section_id", "id", name=op.f("pk_webhook_subscriptions")),
    )
    op.create_index(
        "ix_webhook_subscriptions_section_id_api_key_id",
        "webhook_subscriptions",
        ["section_id", "api_key_id"],
    )
    op.create_index(
        "ix_webhook_subscriptions_section_id_created_at_id",
        "webhook_subscriptions",
        ["section_id", "created_at", "id"],
    )
    op.create_table(
        "webhook_deliveries",
        _section_id(),
        _id(),
        sa.Column("subscription_id", sa.Uuid(), nullable=False),
        sa.Column("event", _enum("webhook_event_kind", EVENT_KINDS), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "status",
            _enum("webhook_delivery_status", ("pending", "delivered", "failed")),
            server_default=sa.text("'pending'"),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        _moment("next_attempt_at", nullable=False, now=True),
        _moment("last_attempt_at"),
        _moment("delivered_at"),
        _moment("created_at", nullable=False, now=True),
        sa.CheckConstraint(
            "(status = 'delivered') = (delivered_at is not null)",
            name=op.f("ck_webhook_deliveries_delivered_at_set"),
        ),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_webhook_deliveries_attempts_positive")),
        sa.ForeignKeyConstraint(
            ["section_id", "subscription_id"],
            ["webhook_subscriptions.section_id", "webhook_subscriptions.id"],
            name="fk_webhook_deliveries_section_id_subscription_id",
            ondelete="CASCADE",
        ),
        _section_key("webhook_deliveries"),
        sa.PrimaryKeyConstraint("section_id", "id", name=op.f("pk_webhook_deliveries")),
    )
    op.create_index(
        "ix_webhook_deliveries_section_id_status_next_attempt_at",
        "webhook_deliveries",
        ["section_id", "status", "next_attempt_at"],
    )
    op.create_index(
        "ix_webhook_deliveries_section_id_subscription_id_created_at",
        "webhook_deliveries",
        ["section_id", "subscription_id", "created_at", "id"],
    )
    op.create_table(
        "webhook_attempts",
        _section_id(),
        _id(),
        sa.Column("delivery_id", sa.Uuid(), nullable=False),
        _moment("attempted_at", nullable=False, now=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("response_excerpt", sa.Text(), nullable=True),
        sa.Column(
            "outcome",
            _enum("webhook_attempt_outcome", ("delivered", "retrying", "failed")),
            nullable=False,
        ),
        sa.CheckConstraint("duration_ms >= 0", name=op.f("ck_webhook_attempts_duration_positive")),
        sa.CheckConstraint(
            "response_excerpt is null or length(response_excerpt) <= 200",
            name=op.f("ck_webhook_attempts_response_excerpt_length"),
        ),
        sa.ForeignKeyConstraint(
            ["section_id", "delivery_id"],
            ["webhook_deliveries.section_id", "webhook_deliveries.id"],
            name=op.f("fk_webhook_attempts_section_id_delivery_id_webhook_deliveries"),
            ondelete="CASCADE",
        ),
        _section_key("webhook_attempts"),
        sa.PrimaryKeyConstraint("section_id", "id", name=op.f("pk_webhook_attempts")),
    )
    op.create_index(
        "ix_webhook_attempts_section_id_delivery_id_attempted_at",
        "webhook_attempts",
        ["section_id", "delivery_id", "attempted_at"],
    )
    op.create_table(
        "webhook_milestone_checks",
        _section_id(),
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("slot", sa.SmallInteger(), nullable=False),
        _global_key("webhook_milestone_checks", "campaign_id", "campaigns"),
        _global_key("webhook_milestone_checks", "case_id", "cases"),
        _section_key("webhook_milestone_checks"),
        sa.PrimaryKeyConstraint(
            "section_id", "campaign_id", "case_id", "slot", name=op.f("pk_webhook_milestone_checks")
        ),
    )
    op.create_table(
        "webhook_section_milestones",
        _section_id(),
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("threshold", sa.BigInteger(), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        _moment("reached_at", nullable=False, now=True),
        _global_key("webhook_section_milestones", "campaign_id", "campaigns"),
        _section_key("webhook_section_milestones"),
        sa.PrimaryKeyConstraint(
            "section_id", "campaign_id", "threshold", name=op.f("pk_webhook_section_milestones")
        ),
    )
    op.create_table(
        "webhook_case_milestones",
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("threshold", sa.BigInteger(), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        _moment("reached_at", nullable=False, now=True),
        _global_key("webhook_case_milestones", "campaign_id", "campaigns"),
        _global_key("webhook_case_milestones", "case_id", "cases"),
        sa.PrimaryKeyConstraint(
            "campaign_id", "case_id", "threshold", name=op.f("pk_webhook_case_milestones")
        ),
    )
    for table in TENANT_TABLES:
        for statement in tenant_isolation_ddl(table):
            op.execute(statement)
    for table, privileges in GRANTS.items():
        op.execute(f"GRANT {privileges} ON {table} TO {APP_ROLE}")
    op.execute(FAN_OUT)
    op.execute(f"REVOKE ALL ON FUNCTION {FAN_OUT_FUNCTION} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {FAN_OUT_FUNCTION} TO {APP_ROLE}")


def downgrade() -> None:
    op.execute(f"DROP FUNCTION {FAN_OUT_FUNCTION}")
    op.drop_table("webhook_case_milestones")
    for table in reversed(TENANT_TABLES):
        op.drop_table(table)
