"""The action ledger, idempotency keys, imports, tallies, rollups and historic totals.

The ledger is append-only for the app: it may INSERT and SELECT actions, never UPDATE or
DELETE them. ``action_rollups`` is an aggregate table (counts only) that the global scope may
read; ``case_rollups``, ``historic_totals`` and ``case_historic_totals`` are global.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 11:25:28.187189
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from w4r.platform.database import APP_ROLE
from w4r.platform.tenancy import aggregate_isolation_ddl, tenant_isolation_ddl

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "historic_totals",
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column(
            "qualifier",
            sa.Enum(
                "exact",
                "about",
                "more-than",
                "at-least",
                "nearly",
                "almost",
                name="qualifier",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("counted", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("quantity >= 0", name=op.f("ck_historic_totals_quantity_positive")),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_historic_totals")),
    )
    op.create_table(
        "action_import_batches",
        sa.Column(
            "section_id",
            sa.Uuid(),
            server_default=sa.text("NULLIF(current_setting('w4r.section_id', true), '')::uuid"),
            nullable=False,
        ),
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("client_id", sa.Text(), nullable=False),
        sa.Column("reporter_ref", sa.Text(), nullable=True),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("quantity_total", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["section_id"],
            ["sections.id"],
            name=op.f("fk_action_import_batches_section_id_sections"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("section_id", "id", name=op.f("pk_action_import_batches")),
    )
    op.create_table(
        "action_rollups",
        sa.Column(
            "section_id",
            sa.Uuid(),
            server_default=sa.text("NULLIF(current_setting('w4r.section_id', true), '')::uuid"),
            nullable=False,
        ),
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column(
            "action_type",
            sa.Enum(
                "letter",
                "solidarity",
                "email",
                "petition-signature",
                "social-media-post",
                "sms",
                "fax",
                "phone-call",
                "other",
                name="action_type",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "channel",
            sa.Enum(
                "online",
                "event",
                "offline-report",
                "import",
                "partner-app",
                name="action_channel",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "verification",
            sa.Enum(
                "verified",
                "self-reported",
                name="verification",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("slot", sa.SmallInteger(), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("slot between 0 and 7", name=op.f("ck_action_rollups_slot_range")),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_action_rollups_campaign_id_campaigns"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_action_rollups_case_id_cases"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["section_id"],
            ["sections.id"],
            name=op.f("fk_action_rollups_section_id_sections"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint(
            "section_id",
            "campaign_id",
            "case_id",
            "action_type",
            "channel",
            "verification",
            "day",
            "slot",
            name=op.f("pk_action_rollups"),
        ),
    )
    op.create_table(
        "action_tallies",
        sa.Column(
            "section_id",
            sa.Uuid(),
            server_default=sa.text("NULLIF(current_setting('w4r.section_id', true), '')::uuid"),
            nullable=False,
        ),
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column(
            "reporter_kind",
            sa.Enum(
                "supporter",
                "event-host",
                "section-staff",
                "partner-app",
                "import-batch",
                name="reporter_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("reporter_name", sa.Text(), nullable=True),
        sa.Column("reporter_email", sa.Text(), nullable=True),
        sa.Column("reporter_ref", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column(
            "state",
            sa.Enum(
                "pending",
                "approved",
                "rejected",
                name="tally_state",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("reviewed_by", sa.Text(), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("review_note", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "(state = 'pending') = (reviewed_at is null)",
            name=op.f("ck_action_tallies_reviewed_when_decided"),
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_action_tallies_campaign_id_campaigns"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["section_id"],
            ["sections.id"],
            name=op.f("fk_action_tallies_section_id_sections"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("section_id", "id", name=op.f("pk_action_tallies")),
    )
    op.create_table(
        "actions",
        sa.Column(
            "section_id",
            sa.Uuid(),
            server_default=sa.text("NULLIF(current_setting('w4r.section_id', true), '')::uuid"),
            nullable=False,
        ),
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column(
            "action_type",
            sa.Enum(
                "letter",
                "solidarity",
                "email",
                "petition-signature",
                "social-media-post",
                "sms",
                "fax",
                "phone-call",
                "other",
                name="action_type",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "channel",
            sa.Enum(
                "online",
                "event",
                "offline-report",
                "import",
                "partner-app",
                name="action_channel",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("counted_on", sa.Date(), nullable=False),
        sa.Column(
            "recorded_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "verification",
            sa.Enum(
                "verified",
                "self-reported",
                name="verification",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "reporter_kind",
            sa.Enum(
                "supporter",
                "event-host",
                "section-staff",
                "partner-app",
                "import-batch",
                name="reporter_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("reporter_ref", sa.Text(), nullable=True),
        sa.Column("method", sa.Text(), nullable=False),
        sa.Column("client_id", sa.Text(), nullable=True),
        sa.Column("import_batch_id", sa.Uuid(), nullable=True),
        sa.Column("tally_id", sa.Uuid(), nullable=True),
        sa.CheckConstraint("quantity between 1 and 100000", name=op.f("ck_actions_quantity_range")),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_actions_campaign_id_campaigns"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_actions_case_id_cases"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["section_id"],
            ["sections.id"],
            name=op.f("fk_actions_section_id_sections"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("section_id", "id", name=op.f("pk_actions")),
    )
    op.create_index(
        "ix_actions_section_id_campaign_id_case_id",
        "actions",
        ["section_id", "campaign_id", "case_id"],
        unique=False,
    )
    op.create_table(
        "case_historic_totals",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("campaign_year", sa.Integer(), nullable=True),
        sa.Column("country", sa.Text(), nullable=True),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column(
            "qualifier",
            sa.Enum(
                "exact",
                "about",
                "more-than",
                "at-least",
                "nearly",
                "almost",
                name="qualifier",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("counted", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("quantity >= 0", name=op.f("ck_case_historic_totals_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_case_historic_totals_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_historic_totals")),
    )
    op.create_index(
        op.f("ix_case_historic_totals_case_id"), "case_historic_totals", ["case_id"], unique=False
    )
    op.create_table(
        "case_rollups",
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column(
            "action_type",
            sa.Enum(
                "letter",
                "solidarity",
                "email",
                "petition-signature",
                "social-media-post",
                "sms",
                "fax",
                "phone-call",
                "other",
                name="action_type",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "channel",
            sa.Enum(
                "online",
                "event",
                "offline-report",
                "import",
                "partner-app",
                name="action_channel",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "verification",
            sa.Enum(
                "verified",
                "self-reported",
                name="verification",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("slot", sa.SmallInteger(), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("slot between 0 and 7", name=op.f("ck_case_rollups_slot_range")),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_case_rollups_campaign_id_campaigns"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_case_rollups_case_id_cases"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint(
            "campaign_id",
            "case_id",
            "action_type",
            "channel",
            "verification",
            "day",
            "slot",
            name=op.f("pk_case_rollups"),
        ),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column(
            "section_id",
            sa.Uuid(),
            server_default=sa.text("NULLIF(current_setting('w4r.section_id', true), '')::uuid"),
            nullable=False,
        ),
        sa.Column("client_id", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("operation", sa.Text(), nullable=False),
        sa.Column("request_hash", sa.Text(), nullable=False),
        sa.Column("result_id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "length(client_id) between 1 and 200", name=op.f("ck_idempotency_keys_client_id_length")
        ),
        sa.CheckConstraint(
            "length(key) between 1 and 200", name=op.f("ck_idempotency_keys_key_length")
        ),
        sa.ForeignKeyConstraint(
            ["section_id"],
            ["sections.id"],
            name=op.f("fk_idempotency_keys_section_id_sections"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("section_id", "client_id", "key", name=op.f("pk_idempotency_keys")),
    )
    op.create_table(
        "action_tally_lines",
        sa.Column(
            "section_id",
            sa.Uuid(),
            server_default=sa.text("NULLIF(current_setting('w4r.section_id', true), '')::uuid"),
            nullable=False,
        ),
        sa.Column("tally_id", sa.Uuid(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column(
            "action_type",
            sa.Enum(
                "letter",
                "solidarity",
                "email",
                "petition-signature",
                "social-media-post",
                "sms",
                "fax",
                "phone-call",
                "other",
                name="action_type",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "quantity between 1 and 100000", name=op.f("ck_action_tally_lines_quantity_range")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_action_tally_lines_case_id_cases"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["section_id", "tally_id"],
            ["action_tallies.section_id", "action_tallies.id"],
            name=op.f("fk_action_tally_lines_section_id_tally_id_action_tallies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["section_id"],
            ["sections.id"],
            name=op.f("fk_action_tally_lines_section_id_sections"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint(
            "section_id", "tally_id", "line", name=op.f("pk_action_tally_lines")
        ),
    )
    op.alter_column(
        "section_campaigns",
        "section_id",
        existing_type=sa.UUID(),
        server_default=sa.text("NULLIF(current_setting('w4r.section_id', true), '')::uuid"),
        existing_nullable=False,
    )
    op.alter_column(
        "section_case_translations",
        "section_id",
        existing_type=sa.UUID(),
        server_default=sa.text("NULLIF(current_setting('w4r.section_id', true), '')::uuid"),
        existing_nullable=False,
    )
    op.alter_column(
        "section_featured_cases",
        "section_id",
        existing_type=sa.UUID(),
        server_default=sa.text("NULLIF(current_setting('w4r.section_id', true), '')::uuid"),
        existing_nullable=False,
    )
    op.alter_column(
        "section_members",
        "section_id",
        existing_type=sa.UUID(),
        server_default=sa.text("NULLIF(current_setting('w4r.section_id', true), '')::uuid"),
        existing_nullable=False,
    )
    for table in (
        "actions",
        "idempotency_keys",
        "action_import_batches",
        "action_tallies",
        "action_tally_lines",
    ):
        for statement in tenant_isolation_ddl(table):
            op.execute(statement)
    for statement in aggregate_isolation_ddl("action_rollups"):
        op.execute(statement)
    grants = {
        "actions": "SELECT, INSERT",
        "idempotency_keys": "SELECT, INSERT",
        "action_import_batches": "SELECT, INSERT",
        "action_tallies": "SELECT, INSERT, UPDATE",
        "action_tally_lines": "SELECT, INSERT",
        "action_rollups": "SELECT, INSERT, UPDATE",
        "case_rollups": "SELECT, INSERT, UPDATE",
        "historic_totals": "SELECT, INSERT, UPDATE",
        "case_historic_totals": "SELECT, INSERT",
    }
    for table, privileges in grants.items():
        op.execute(f"GRANT {privileges} ON {table} TO {APP_ROLE}")


def downgrade() -> None:
    op.alter_column(
        "section_members",
        "section_id",
        existing_type=sa.UUID(),
        server_default=sa.text(
            "(NULLIF(current_setting('w4r.section_id'::text, true), ''::text))::uuid"
        ),
        existing_nullable=False,
    )
    op.alter_column(
        "section_featured_cases",
        "section_id",
        existing_type=sa.UUID(),
        server_default=sa.text(
            "(NULLIF(current_setting('w4r.section_id'::text, true), ''::text))::uuid"
        ),
        existing_nullable=False,
    )
    op.alter_column(
        "section_case_translations",
        "section_id",
        existing_type=sa.UUID(),
        server_default=sa.text(
            "(NULLIF(current_setting('w4r.section_id'::text, true), ''::text))::uuid"
        ),
        existing_nullable=False,
    )
    op.alter_column(
        "section_campaigns",
        "section_id",
        existing_type=sa.UUID(),
        server_default=sa.text(
            "(NULLIF(current_setting('w4r.section_id'::text, true), ''::text))::uuid"
        ),
        existing_nullable=False,
    )
    op.drop_table("action_tally_lines")
    op.drop_table("idempotency_keys")
    op.drop_table("case_rollups")
    op.drop_index(op.f("ix_case_historic_totals_case_id"), table_name="case_historic_totals")
    op.drop_table("case_historic_totals")
    op.drop_index("ix_actions_section_id_campaign_id_case_id", table_name="actions")
    op.drop_table("actions")
    op.drop_table("action_tallies")
    op.drop_table("action_rollups")
    op.drop_table("action_import_batches")
    op.drop_table("historic_totals")
