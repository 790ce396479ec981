"""The audit log of staff mutations and personal-data access.

One append-only table: the app role may INSERT and SELECT, never UPDATE or DELETE. Its rows
belong to the section a request was for, or (null ``section_id``) to the global scope; row
level security shows a section its own rows and the global (IS) scope every row.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21 13:01:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from w4r.platform.database import APP_ROLE
from w4r.platform.tenancy import audit_isolation_ddl

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column(
            "occurred_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "section_id",
            sa.Uuid(),
            server_default=sa.text("NULLIF(current_setting('w4r.section_id', true), '')::uuid"),
            nullable=True,
        ),
        sa.Column("actor_role", sa.Text(), nullable=False),
        sa.Column("actor_subject", sa.Text(), nullable=True),
        sa.Column("api_key_id", sa.Uuid(), nullable=True),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column(
            "error_codes",
            postgresql.ARRAY(sa.Text()),
            server_default=sa.text("'{}'::text[]"),
            nullable=False,
        ),
        sa.Column(
            "target_ids",
            postgresql.ARRAY(sa.Uuid()),
            server_default=sa.text("'{}'::uuid[]"),
            nullable=False,
        ),
        sa.Column("client_ip", postgresql.INET(), nullable=True),
        sa.Column("request_id", sa.Text(), nullable=False),
        sa.Column("user_agent", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "outcome in ('ok', 'user-error', 'forbidden', 'failed')",
            name=op.f("ck_audit_log_outcome_known"),
        ),
        sa.CheckConstraint(
            "length(user_agent) <= 256", name=op.f("ck_audit_log_user_agent_length")
        ),
        sa.CheckConstraint(
            "length(request_id) <= 128", name=op.f("ck_audit_log_request_id_length")
        ),
        sa.ForeignKeyConstraint(
            ["section_id"],
            ["sections.id"],
            name=op.f("fk_audit_log_section_id_sections"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(
        "ix_audit_log_section_id_occurred_at_id",
        "audit_log",
        ["section_id", "occurred_at", "id"],
        unique=False,
    )
    op.create_index("ix_audit_log_occurred_at_id", "audit_log", ["occurred_at", "id"], unique=False)
    for statement in audit_isolation_ddl("audit_log"):
        op.execute(statement)
    op.execute(f"GRANT SELECT, INSERT ON audit_log TO {APP_ROLE}")


def downgrade() -> None:
    op.drop_index("ix_audit_log_occurred_at_id", table_name="audit_log")
    op.drop_index("ix_audit_log_section_id_occurred_at_id", table_name="audit_log")
    op.drop_table("audit_log")
