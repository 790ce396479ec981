"""Campaigns, cases, case texts and each section's translations and participation.

The global case record (campaigns, cases and their targets, recipients, outcomes, IS texts
and source revisions) is IS-owned: the app may read it and write it (IS-only operations are
checked in the API), never delete a campaign. Section participation, featured cases and
section translations are tenant-owned and isolated by row-level security.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 11:02:58.949568
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from w4r.platform.database import APP_ROLE
from w4r.platform.tenancy import tenant_isolation_ddl

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=True),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("action_days_start", sa.Date(), nullable=True),
        sa.Column("action_days_end", sa.Date(), nullable=True),
        sa.Column("reporting_deadline", sa.Date(), nullable=True),
        sa.Column("goal_actions", sa.BigInteger(), nullable=True),
        sa.Column("goal_description", sa.Text(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "open",
                "closed",
                name="campaign_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "(action_days_start is null) = (action_days_end is null) "
            "and (action_days_end is null or action_days_end >= action_days_start)",
            name=op.f("ck_campaigns_action_days_order"),
        ),
        sa.CheckConstraint(
            "(starts_on is null) = (ends_on is null) and (ends_on is null or ends_on >= starts_on)",
            name=op.f("ck_campaigns_window_order"),
        ),
        sa.CheckConstraint(
            "goal_actions is null or goal_actions > 0", name=op.f("ck_campaigns_goal_positive")
        ),
        sa.CheckConstraint("length(name) between 1 and 200", name=op.f("ck_campaigns_name_length")),
        sa.CheckConstraint(
            "reporting_deadline is null or ends_on is null or reporting_deadline >= ends_on",
            name=op.f("ck_campaigns_reporting_after_window"),
        ),
        sa.CheckConstraint("year between 1991 and 2200", name=op.f("ck_campaigns_year_range")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
        sa.UniqueConstraint("year", name=op.f("uq_campaigns_year")),
    )
    op.create_table(
        "cases",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("slug", sa.String(length=80), nullable=False),
        sa.Column(
            "subject_kind",
            sa.Enum(
                "person",
                "group",
                name="subject_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("subject_name", sa.Text(), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("themes", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("source_language", sa.Text(), nullable=False),
        sa.Column("source_revision", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "published",
                name="case_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("image_url", sa.Text(), nullable=True),
        sa.Column("image_credit", sa.Text(), nullable=True),
        sa.Column("internal_notes", sa.Text(), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "(status = 'published') = (published_at is not null)",
            name=op.f("ck_cases_published_at_set"),
        ),
        sa.CheckConstraint("country ~ '^[A-Z]{2}$'", name=op.f("ck_cases_country_format")),
        sa.CheckConstraint(
            "slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' and length(slug) <= 80",
            name=op.f("ck_cases_slug_format"),
        ),
        sa.CheckConstraint(
            "length(subject_name) between 1 and 300", name=op.f("ck_cases_subject_name_length")
        ),
        sa.CheckConstraint("source_revision >= 1", name=op.f("ck_cases_source_revision_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
        sa.UniqueConstraint("slug", name=op.f("uq_cases_slug")),
    )
    op.create_table(
        "case_appeal_targets",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("organisation", sa.Text(), nullable=True),
        sa.Column("postal_address", sa.Text(), nullable=True),
        sa.Column("email", sa.Text(), nullable=True),
        sa.Column("salutation", sa.Text(), nullable=True),
        sa.Column("letter_language", sa.Text(), nullable=True),
        sa.CheckConstraint("position >= 0", name=op.f("ck_case_appeal_targets_position_positive")),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_case_appeal_targets_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("case_id", "position", name=op.f("pk_case_appeal_targets")),
    )
    op.create_table(
        "case_campaigns",
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.CheckConstraint("position >= 0", name=op.f("ck_case_campaigns_position_positive")),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_case_campaigns_campaign_id_campaigns"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_case_campaigns_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("campaign_id", "case_id", name=op.f("pk_case_campaigns")),
    )
    op.create_index("ix_case_campaigns_case_id", "case_campaigns", ["case_id"], unique=False)
    op.create_table(
        "case_outcomes",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column(
            "date_precision",
            sa.Enum(
                "day",
                "month",
                "year",
                name="date_precision",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "kind",
            sa.Enum(
                "released",
                "acquitted",
                "sentence-commuted",
                "charges-dropped",
                "visa-granted",
                "other",
                name="outcome_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "length(description) between 1 and 2000",
            name=op.f("ck_case_outcomes_description_length"),
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_case_outcomes_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_outcomes")),
    )
    op.create_index(
        "ix_case_outcomes_case_id_occurred_on",
        "case_outcomes",
        ["case_id", "occurred_on"],
        unique=False,
    )
    op.create_table(
        "case_solidarity_recipients",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("postal_address", sa.Text(), nullable=True),
        sa.Column("guidance", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "position >= 0", name=op.f("ck_case_solidarity_recipients_position_positive")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_case_solidarity_recipients_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("case_id", "position", name=op.f("pk_case_solidarity_recipients")),
    )
    op.create_table(
        "case_source_revisions",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("fields", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_case_source_revisions_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("case_id", "revision", name=op.f("pk_case_source_revisions")),
    )
    op.create_table(
        "case_texts",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("language", sa.Text(), nullable=False),
        sa.Column("is_source", sa.Boolean(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "published",
                name="text_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("story", sa.Text(), nullable=True),
        sa.Column("demands", sa.Text(), nullable=True),
        sa.Column("letter_guidance", sa.Text(), nullable=True),
        sa.Column("sample_letter", sa.Text(), nullable=True),
        sa.Column("image_alt", sa.Text(), nullable=True),
        sa.Column(
            "is_machine_translated", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
        sa.Column("source_revision", sa.Integer(), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "source_revision >= 1", name=op.f("ck_case_texts_source_revision_positive")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_texts_case_id_cases"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("case_id", "language", name=op.f("pk_case_texts")),
    )
    op.create_index(
        "uq_case_texts_case_id_source",
        "case_texts",
        ["case_id"],
        unique=True,
        postgresql_where=sa.text("is_source"),
    )
    op.create_table(
        "section_campaigns",
        sa.Column(
            "section_id",
            sa.Uuid(),
            server_default=sa.text("NULLIF(current_setting('w4r.section_id', true), '')::uuid"),
            nullable=False,
        ),
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=True),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "starts_on is null or ends_on is null or ends_on >= starts_on",
            name=op.f("ck_section_campaigns_window_order"),
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_section_campaigns_campaign_id_campaigns"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["section_id"],
            ["sections.id"],
            name=op.f("fk_section_campaigns_section_id_sections"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("section_id", "campaign_id", name=op.f("pk_section_campaigns")),
    )
    op.create_table(
        "section_case_translations",
        sa.Column(
            "section_id",
            sa.Uuid(),
            server_default=sa.text("NULLIF(current_setting('w4r.section_id', true), '')::uuid"),
            nullable=False,
        ),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("language", sa.Text(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "published",
                name="text_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("story", sa.Text(), nullable=True),
        sa.Column("demands", sa.Text(), nullable=True),
        sa.Column("letter_guidance", sa.Text(), nullable=True),
        sa.Column("sample_letter", sa.Text(), nullable=True),
        sa.Column("image_alt", sa.Text(), nullable=True),
        sa.Column(
            "is_machine_translated", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
        sa.Column("source_revision", sa.Integer(), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "source_revision >= 1",
            name=op.f("ck_section_case_translations_source_revision_positive"),
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_section_case_translations_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["section_id"],
            ["sections.id"],
            name=op.f("fk_section_case_translations_section_id_sections"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint(
            "section_id", "case_id", "language", name=op.f("pk_section_case_translations")
        ),
    )
    op.create_table(
        "section_featured_cases",
        sa.Column(
            "section_id",
            sa.Uuid(),
            server_default=sa.text("NULLIF(current_setting('w4r.section_id', true), '')::uuid"),
            nullable=False,
        ),
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "position >= 0", name=op.f("ck_section_featured_cases_position_positive")
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id", "case_id"],
            ["case_campaigns.campaign_id", "case_campaigns.case_id"],
            name=op.f("fk_section_featured_cases_campaign_id_case_id_case_campaigns"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["section_id", "campaign_id"],
            ["section_campaigns.section_id", "section_campaigns.campaign_id"],
            name=op.f("fk_section_featured_cases_section_id_campaign_id_section_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["section_id"],
            ["sections.id"],
            name=op.f("fk_section_featured_cases_section_id_sections"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint(
            "section_id", "campaign_id", "case_id", name=op.f("pk_section_featured_cases")
        ),
    )
    op.alter_column(
        "section_members",
        "section_id",
        existing_type=sa.UUID(),
        server_default=sa.text("NULLIF(current_setting('w4r.section_id', true), '')::uuid"),
        existing_nullable=False,
    )
    for table in ("section_campaigns", "section_featured_cases", "section_case_translations"):
        for statement in tenant_isolation_ddl(table):
            op.execute(statement)
    grants = {
        "campaigns": "SELECT, INSERT, UPDATE",
        "cases": "SELECT, INSERT, UPDATE",
        "case_campaigns": "SELECT, INSERT, UPDATE, DELETE",
        "case_appeal_targets": "SELECT, INSERT, UPDATE, DELETE",
        "case_solidarity_recipients": "SELECT, INSERT, UPDATE, DELETE",
        "case_outcomes": "SELECT, INSERT",
        "case_texts": "SELECT, INSERT, UPDATE",
        "case_source_revisions": "SELECT, INSERT",
        "section_campaigns": "SELECT, INSERT, UPDATE",
        "section_featured_cases": "SELECT, INSERT, UPDATE, DELETE",
        "section_case_translations": "SELECT, INSERT, UPDATE",
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
    op.drop_table("section_featured_cases")
    op.drop_table("section_case_translations")
    op.drop_table("section_campaigns")
    op.drop_index(
        "uq_case_texts_case_id_source",
        table_name="case_texts",
        postgresql_where=sa.text("is_source"),
    )
    op.drop_table("case_texts")
    op.drop_table("case_source_revisions")
    op.drop_table("case_solidarity_recipients")
    op.drop_index("ix_case_outcomes_case_id_occurred_on", table_name="case_outcomes")
    op.drop_table("case_outcomes")
    op.drop_index("ix_case_campaigns_case_id", table_name="case_campaigns")
    op.drop_table("case_campaigns")
    op.drop_table("case_appeal_targets")
    op.drop_table("cases")
    op.drop_table("campaigns")
