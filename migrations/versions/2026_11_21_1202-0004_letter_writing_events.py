"""Letter-writing events: texts, featured cases, registrations and reports.

Everything here is tenant-owned and isolated by row-level security; registrations hold
personal data and are never readable in the global scope. Actions gain the event they were
reported for; a negative quantity is allowed only there, for a report that corrects an
earlier one (the ledger stays append-only).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21 12:02:32.344736
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from w4r.platform.database import APP_ROLE
from w4r.platform.tenancy import tenant_isolation_ddl

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column(
            "section_id",
            sa.Uuid(),
            server_default=sa.text("NULLIF(current_setting('w4r.section_id', true), '')::uuid"),
            nullable=False,
        ),
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "pending-approval",
                "published",
                "cancelled",
                "finished",
                name="event_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "format",
            sa.Enum(
                "in-person",
                "online",
                "hybrid",
                name="event_format",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("language", sa.Text(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("time_zone", sa.Text(), nullable=False),
        sa.Column("venue_name", sa.Text(), nullable=True),
        sa.Column("street_address", sa.Text(), nullable=True),
        sa.Column("city", sa.Text(), nullable=True),
        sa.Column("country", sa.Text(), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("online_url", sa.Text(), nullable=True),
        sa.Column("capacity", sa.Integer(), nullable=True),
        sa.Column(
            "address_visibility",
            sa.Enum(
                "public",
                "registered",
                name="address_visibility",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("organiser_name", sa.Text(), nullable=False),
        sa.Column("organiser_email", sa.Text(), nullable=True),
        sa.Column("host_subject", sa.Text(), nullable=True),
        sa.Column("review_note", sa.Text(), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
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
            "format = 'in-person' or online_url is not null",
            name=op.f("ck_events_online_has_a_link"),
        ),
        sa.CheckConstraint(
            "format = 'online' or latitude is not null",
            name=op.f("ck_events_in_person_has_a_place"),
        ),
        sa.CheckConstraint(
            "(latitude is null) = (longitude is null)", name=op.f("ck_events_point_whole")
        ),
        sa.CheckConstraint(
            "capacity is null or capacity between 1 and 100000",
            name=op.f("ck_events_capacity_range"),
        ),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_events_ends_after_start")),
        sa.CheckConstraint(
            "latitude is null or latitude between -90 and 90", name=op.f("ck_events_latitude_range")
        ),
        sa.CheckConstraint(
            "longitude is null or longitude between -180 and 180",
            name=op.f("ck_events_longitude_range"),
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_events_campaign_id_campaigns"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["section_id"],
            ["sections.id"],
            name=op.f("fk_events_section_id_sections"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("section_id", "id", name=op.f("pk_events")),
    )
    op.create_index(
        "ix_events_section_id_latitude_longitude",
        "events",
        ["section_id", "latitude", "longitude"],
        unique=False,
    )
    op.create_index(
        "ix_events_section_id_starts_at", "events", ["section_id", "starts_at"], unique=False
    )
    op.create_table(
        "event_cases",
        sa.Column(
            "section_id",
            sa.Uuid(),
            server_default=sa.text("NULLIF(current_setting('w4r.section_id', true), '')::uuid"),
            nullable=False,
        ),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_event_cases_case_id_cases"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["section_id", "event_id"],
            ["events.section_id", "events.id"],
            name=op.f("fk_event_cases_section_id_event_id_events"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["section_id"],
            ["sections.id"],
            name=op.f("fk_event_cases_section_id_sections"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("section_id", "event_id", "case_id", name=op.f("pk_event_cases")),
    )
    op.create_table(
        "event_registrations",
        sa.Column(
            "section_id",
            sa.Uuid(),
            server_default=sa.text("NULLIF(current_setting('w4r.section_id', true), '')::uuid"),
            nullable=False,
        ),
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("guests", sa.Integer(), nullable=False),
        sa.Column("may_contact", sa.Boolean(), nullable=False),
        sa.Column("language", sa.Text(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "confirmed",
                "waitlisted",
                "cancelled",
                name="registration_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("cancellation_token_hash", sa.Text(), nullable=False),
        sa.Column("client_id", sa.Text(), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "guests between 0 and 10", name=op.f("ck_event_registrations_guests_range")
        ),
        sa.ForeignKeyConstraint(
            ["section_id", "event_id"],
            ["events.section_id", "events.id"],
            name=op.f("fk_event_registrations_section_id_event_id_events"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["section_id"],
            ["sections.id"],
            name=op.f("fk_event_registrations_section_id_sections"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("section_id", "id", name=op.f("pk_event_registrations")),
    )
    op.create_index(
        "ix_event_registrations_section_id_event_id_status",
        "event_registrations",
        ["section_id", "event_id", "status", "created_at"],
        unique=False,
    )
    op.create_index(
        "uq_event_registrations_section_id_event_id_email",
        "event_registrations",
        ["section_id", "event_id", sa.literal_column("lower(email)")],
        unique=True,
        postgresql_where=sa.text("status <> 'cancelled'"),
    )
    op.create_index(
        "uq_event_registrations_section_id_token_hash",
        "event_registrations",
        ["section_id", "cancellation_token_hash"],
        unique=True,
    )
    op.create_table(
        "event_reports",
        sa.Column(
            "section_id",
            sa.Uuid(),
            server_default=sa.text("NULLIF(current_setting('w4r.section_id', true), '')::uuid"),
            nullable=False,
        ),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("attendance", sa.Integer(), nullable=False),
        sa.Column("reported_by", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("attendance >= 0", name=op.f("ck_event_reports_attendance_positive")),
        sa.ForeignKeyConstraint(
            ["section_id", "event_id"],
            ["events.section_id", "events.id"],
            name=op.f("fk_event_reports_section_id_event_id_events"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["section_id"],
            ["sections.id"],
            name=op.f("fk_event_reports_section_id_sections"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint(
            "section_id", "event_id", "revision", name=op.f("pk_event_reports")
        ),
    )
    op.create_table(
        "event_texts",
        sa.Column(
            "section_id",
            sa.Uuid(),
            server_default=sa.text("NULLIF(current_setting('w4r.section_id', true), '')::uuid"),
            nullable=False,
        ),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("language", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["section_id", "event_id"],
            ["events.section_id", "events.id"],
            name=op.f("fk_event_texts_section_id_event_id_events"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["section_id"],
            ["sections.id"],
            name=op.f("fk_event_texts_section_id_sections"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("section_id", "event_id", "language", name=op.f("pk_event_texts")),
    )
    op.create_table(
        "event_report_lines",
        sa.Column(
            "section_id",
            sa.Uuid(),
            server_default=sa.text("NULLIF(current_setting('w4r.section_id', true), '')::uuid"),
            nullable=False,
        ),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
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
        sa.CheckConstraint("quantity >= 0", name=op.f("ck_event_report_lines_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_event_report_lines_case_id_cases"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["section_id", "event_id", "revision"],
            ["event_reports.section_id", "event_reports.event_id", "event_reports.revision"],
            name=op.f("fk_event_report_lines_section_id_event_id_revision_event_reports"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["section_id"],
            ["sections.id"],
            name=op.f("fk_event_report_lines_section_id_sections"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint(
            "section_id",
            "event_id",
            "revision",
            "case_id",
            "action_type",
            name=op.f("pk_event_report_lines"),
        ),
    )
    op.alter_column(
        "action_import_batches",
        "section_id",
        existing_type=sa.UUID(),
        server_default=sa.text("NULLIF(current_setting('w4r.section_id', true), '')::uuid"),
        existing_nullable=False,
    )
    op.alter_column(
        "action_rollups",
        "section_id",
        existing_type=sa.UUID(),
        server_default=sa.text("NULLIF(current_setting('w4r.section_id', true), '')::uuid"),
        existing_nullable=False,
    )
    op.alter_column(
        "action_tallies",
        "section_id",
        existing_type=sa.UUID(),
        server_default=sa.text("NULLIF(current_setting('w4r.section_id', true), '')::uuid"),
        existing_nullable=False,
    )
    op.alter_column(
        "action_tally_lines",
        "section_id",
        existing_type=sa.UUID(),
        server_default=sa.text("NULLIF(current_setting('w4r.section_id', true), '')::uuid"),
        existing_nullable=False,
    )
    op.add_column("actions", sa.Column("event_id", sa.Uuid(), nullable=True))
    op.alter_column(
        "actions",
        "section_id",
        existing_type=sa.UUID(),
        server_default=sa.text("NULLIF(current_setting('w4r.section_id', true), '')::uuid"),
        existing_nullable=False,
    )
    op.alter_column(
        "idempotency_keys",
        "section_id",
        existing_type=sa.UUID(),
        server_default=sa.text("NULLIF(current_setting('w4r.section_id', true), '')::uuid"),
        existing_nullable=False,
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
    op.drop_constraint(op.f("ck_actions_quantity_range"), "actions", type_="check")
    op.create_check_constraint(
        op.f("ck_actions_quantity_range"),
        "actions",
        "quantity between -100000 and 100000 and quantity <> 0 "
        "and (quantity > 0 or event_id is not null)",
    )
    for table in (
        "events",
        "event_texts",
        "event_cases",
        "event_registrations",
        "event_reports",
        "event_report_lines",
    ):
        for statement in tenant_isolation_ddl(table):
            op.execute(statement)
    grants = {
        "events": "SELECT, INSERT, UPDATE",
        "event_texts": "SELECT, INSERT, UPDATE, DELETE",
        "event_cases": "SELECT, INSERT, DELETE",
        "event_registrations": "SELECT, INSERT, UPDATE",
        "event_reports": "SELECT, INSERT",
        "event_report_lines": "SELECT, INSERT",
    }
    for table, privileges in grants.items():
        op.execute(f"GRANT {privileges} ON {table} TO {APP_ROLE}")


def downgrade() -> None:
    op.drop_constraint(op.f("ck_actions_quantity_range"), "actions", type_="check")
    op.create_check_constraint(
        op.f("ck_actions_quantity_range"), "actions", "quantity between 1 and 100000"
    )
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
    op.alter_column(
        "idempotency_keys",
        "section_id",
        existing_type=sa.UUID(),
        server_default=sa.text(
            "(NULLIF(current_setting('w4r.section_id'::text, true), ''::text))::uuid"
        ),
        existing_nullable=False,
    )
    op.alter_column(
        "actions",
        "section_id",
        existing_type=sa.UUID(),
        server_default=sa.text(
            "(NULLIF(current_setting('w4r.section_id'::text, true), ''::text))::uuid"
        ),
        existing_nullable=False,
    )
    op.drop_column("actions", "event_id")
    op.alter_column(
        "action_tally_lines",
        "section_id",
        existing_type=sa.UUID(),
        server_default=sa.text(
            "(NULLIF(current_setting('w4r.section_id'::text, true), ''::text))::uuid"
        ),
        existing_nullable=False,
    )
    op.alter_column(
        "action_tallies",
        "section_id",
        existing_type=sa.UUID(),
        server_default=sa.text(
            "(NULLIF(current_setting('w4r.section_id'::text, true), ''::text))::uuid"
        ),
        existing_nullable=False,
    )
    op.alter_column(
        "action_rollups",
        "section_id",
        existing_type=sa.UUID(),
        server_default=sa.text(
            "(NULLIF(current_setting('w4r.section_id'::text, true), ''::text))::uuid"
        ),
        existing_nullable=False,
    )
    op.alter_column(
        "action_import_batches",
        "section_id",
        existing_type=sa.UUID(),
        server_default=sa.text(
            "(NULLIF(current_setting('w4r.section_id'::text, true), ''::text))::uuid"
        ),
        existing_nullable=False,
    )
    op.drop_table("event_report_lines")
    op.drop_table("event_texts")
    op.drop_table("event_reports")
    op.drop_index("uq_event_registrations_section_id_token_hash", table_name="event_registrations")
    op.drop_index(
        "uq_event_registrations_section_id_event_id_email",
        table_name="event_registrations",
        postgresql_where=sa.text("status <> 'cancelled'"),
    )
    op.drop_index(
        "ix_event_registrations_section_id_event_id_status", table_name="event_registrations"
    )
    op.drop_table("event_registrations")
    op.drop_table("event_cases")
    op.drop_index("ix_events_section_id_starts_at", table_name="events")
    op.drop_index("ix_events_section_id_latitude_longitude", table_name="events")
    op.drop_table("events")
