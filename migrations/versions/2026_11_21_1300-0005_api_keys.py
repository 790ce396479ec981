"""Partner and integration API keys (global table, hashes only).

A key belongs to a section or, with a null section, to the IS. Authentication reads keys
before a request is bound to a section, so the table is global, under a policy that shows a
section's scope its own keys only and the global scope all of them. The app role may insert
and read keys and update only the columns of use and revocation; it may never delete one.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from w4r.platform.database import APP_ROLE
from w4r.platform.tenancy import section_or_global_isolation_ddl

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column(
            "section_id",
            sa.Uuid(),
            server_default=sa.text("NULLIF(current_setting('w4r.section_id', true), '')::uuid"),
            nullable=True,
        ),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("display_prefix", sa.Text(), nullable=False),
        sa.Column("key_hash", sa.LargeBinary(), nullable=False),
        sa.Column("scopes", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("length(name) between 1 and 100", name=op.f("ck_api_keys_name_length")),
        sa.CheckConstraint("octet_length(key_hash) = 32", name=op.f("ck_api_keys_key_hash_sha256")),
        sa.CheckConstraint("cardinality(scopes) >= 1", name=op.f("ck_api_keys_has_scope")),
        sa.CheckConstraint(
            "scopes <@ ARRAY['actions:import', 'actions:record', 'cases:read']::text[]",
            name=op.f("ck_api_keys_known_scopes"),
        ),
        sa.CheckConstraint(
            "section_id is not null or scopes <@ ARRAY['cases:read']::text[]",
            name=op.f("ck_api_keys_global_keys_read_only"),
        ),
        sa.CheckConstraint(
            "(revoked_at is null) = (revoked_by is null)",
            name=op.f("ck_api_keys_revocation_whole"),
        ),
        sa.ForeignKeyConstraint(
            ["section_id"],
            ["sections.id"],
            name=op.f("fk_api_keys_section_id_sections"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    op.create_index(
        "ix_api_keys_section_id_created_at_id",
        "api_keys",
        ["section_id", "created_at", "id"],
        unique=False,
    )
    for statement in section_or_global_isolation_ddl("api_keys"):
        op.execute(statement)
    op.execute(f"GRANT SELECT, INSERT ON api_keys TO {APP_ROLE}")
    op.execute(f"GRANT UPDATE (last_used_at, revoked_at, revoked_by) ON api_keys TO {APP_ROLE}")


def downgrade() -> None:
    op.drop_index("ix_api_keys_section_id_created_at_id", table_name="api_keys")
    op.drop_table("api_keys")
