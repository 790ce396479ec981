"""Flagged public writes, address allowlists and trusted documents.

Anonymous writes over their allowance are still stored, with a ``flag`` that keeps them out
of every count: ``actions.flag`` (never rolled up) and ``event_registrations.flag`` (no
seat). A flagged registration must never block a real person's, so the one-active-
registration-per-email index covers unflagged rows only. Sections may allowlist networks
(tenant-owned, with row-level security) and require trusted documents for anonymous
writes; the documents themselves are global and insert-only for the app.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-21 13:03:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from w4r.platform.database import APP_ROLE
from w4r.platform.tenancy import tenant_isolation_ddl

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FLAG_CHECK = "flag is null or flag in ('rate-limit-ip', 'rate-limit-section')"
EMAIL_INDEX = "uq_event_registrations_section_id_event_id_email"


def upgrade() -> None:
    for table in ("actions", "event_registrations"):
        op.add_column(table, sa.Column("flag", sa.Text(), nullable=True))
        op.create_check_constraint(op.f(f"ck_{table}_flag_known"), table, FLAG_CHECK)
    op.drop_index(EMAIL_INDEX, table_name="event_registrations")
    op.create_index(
        EMAIL_INDEX,
        "event_registrations",
        ["section_id", "event_id", sa.literal_column("lower(email)")],
        unique=True,
        postgresql_where=sa.text("status <> 'cancelled' AND flag IS NULL"),
    )
    op.add_column(
        "sections",
        sa.Column(
            "require_trusted_documents",
            sa.Boolean(),
            server_default=sa.text("false"),
            nullable=False,
        ),
    )
    op.create_table(
        "allowed_networks",
        sa.Column(
            "section_id",
            sa.Uuid(),
            server_default=sa.text("NULLIF(current_setting('w4r.section_id', true), '')::uuid"),
            nullable=False,
        ),
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("network", postgresql.CIDR(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "length(note) between 1 and 500", name=op.f("ck_allowed_networks_note_length")
        ),
        sa.ForeignKeyConstraint(
            ["section_id"],
            ["sections.id"],
            name=op.f("fk_allowed_networks_section_id_sections"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("section_id", "id", name=op.f("pk_allowed_networks")),
    )
    op.create_index(
        "uq_allowed_networks_section_id_network",
        "allowed_networks",
        ["section_id", "network"],
        unique=True,
    )
    for statement in tenant_isolation_ddl("allowed_networks"):
        op.execute(statement)
    op.execute(f"GRANT SELECT, INSERT, DELETE ON allowed_networks TO {APP_ROLE}")
    op.create_table(
        "trusted_documents",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("id ~ '^[0-9a-f]{64}$'", name=op.f("ck_trusted_documents_id_is_sha256")),
        sa.CheckConstraint(
            "length(name) between 1 and 200", name=op.f("ck_trusted_documents_name_length")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trusted_documents")),
    )
    # Insert-only: a document is named by the hash of its text and never changes.
    op.execute(f"GRANT SELECT, INSERT ON trusted_documents TO {APP_ROLE}")


def downgrade() -> None:
    op.drop_table("trusted_documents")
    op.drop_index("uq_allowed_networks_section_id_network", table_name="allowed_networks")
    op.drop_table("allowed_networks")
    op.drop_column("sections", "require_trusted_documents")
    op.drop_index(EMAIL_INDEX, table_name="event_registrations")
    op.create_index(
        EMAIL_INDEX,
        "event_registrations",
        ["section_id", "event_id", sa.literal_column("lower(email)")],
        unique=True,
        postgresql_where=sa.text("status <> 'cancelled'"),
    )
    for table in ("event_registrations", "actions"):
        op.drop_constraint(op.f(f"ck_{table}_flag_known"), table, type_="check")
        op.drop_column(table, "flag")
