"""Roles, sections, section hosts and section members.

Creates the two database roles (the owner that migrations run as; the app role that owns
nothing, is not a superuser and has no BYPASSRLS), then, as the owner, the section registry
(global) and the first tenant-owned table, section_members, under row-level security.

Revision ID: 0001
Revises:
Create Date: 2026-11-21 11:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from w4r.platform.database import APP_ROLE, OWNER_ROLE
from w4r.platform.tenancy import CURRENT_SECTION_SQL, tenant_isolation_ddl

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SECTION_CODE_PATTERN = r"^[a-z]{2,3}(-[a-z0-9]{2,8})?$"
HOST_PATTERN = (
    r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$"
)

CREATE_ROLES = f"""
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{OWNER_ROLE}') THEN
        CREATE ROLE {OWNER_ROLE} NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
        CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
    END IF;
    IF EXISTS (
        SELECT FROM pg_roles
        WHERE rolname IN ('{OWNER_ROLE}', '{APP_ROLE}') AND (rolsuper OR rolbypassrls)
    ) THEN
        RAISE EXCEPTION 'roles {OWNER_ROLE}/{APP_ROLE} must not be superusers or BYPASSRLS';
    END IF;
    IF current_user <> '{OWNER_ROLE}' AND NOT pg_has_role(current_user, '{OWNER_ROLE}', 'MEMBER')
    THEN
        EXECUTE format('GRANT {OWNER_ROLE} TO %I', current_user);
    END IF;
END
$$
"""


def upgrade() -> None:
    op.execute(CREATE_ROLES)
    op.execute(f"GRANT USAGE, CREATE ON SCHEMA public TO {OWNER_ROLE}")
    op.execute(f"GRANT USAGE ON SCHEMA public TO {APP_ROLE}")
    # Before PostgreSQL 15 every role may create objects in public; the app role must not.
    op.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    op.execute(f"ALTER TABLE alembic_version OWNER TO {OWNER_ROLE}")
    op.execute(f"GRANT SELECT ON alembic_version TO {APP_ROLE}")
    op.execute(f"SET ROLE {OWNER_ROLE}")

    op.create_table(
        "sections",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("languages", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("default_language", sa.Text(), nullable=False),
        sa.Column("time_zone", sa.Text(), nullable=False),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(
            f"code ~ '{SECTION_CODE_PATTERN}'", name=op.f("ck_sections_code_format")
        ),
        sa.CheckConstraint("country ~ '^[A-Z]{2}$'", name=op.f("ck_sections_country_format")),
        sa.CheckConstraint("cardinality(languages) >= 1", name=op.f("ck_sections_has_language")),
        sa.CheckConstraint(
            "default_language = ANY (languages)", name=op.f("ck_sections_default_language_listed")
        ),
        sa.CheckConstraint("length(name) between 1 and 200", name=op.f("ck_sections_name_length")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sections")),
        sa.UniqueConstraint("code", name=op.f("uq_sections_code")),
    )
    op.create_table(
        "section_hosts",
        sa.Column("host", sa.Text(), nullable=False),
        sa.Column("section_id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(f"host ~ '{HOST_PATTERN}'", name=op.f("ck_section_hosts_host_format")),
        sa.ForeignKeyConstraint(
            ["section_id"],
            ["sections.id"],
            name=op.f("fk_section_hosts_section_id_sections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("host", name=op.f("pk_section_hosts")),
    )
    op.create_index(op.f("ix_section_hosts_section_id"), "section_hosts", ["section_id"])
    op.create_table(
        "section_members",
        sa.Column(
            "section_id", sa.Uuid(), server_default=sa.text(CURRENT_SECTION_SQL), nullable=False
        ),
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("display_name", sa.Text(), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(
            "length(display_name) between 1 and 200",
            name=op.f("ck_section_members_display_name_length"),
        ),
        sa.CheckConstraint(
            "role IN ('section-admin', 'section-editor', 'event-host')",
            name=op.f("ck_section_members_member_role"),
        ),
        sa.ForeignKeyConstraint(
            ["section_id"],
            ["sections.id"],
            name=op.f("fk_section_members_section_id_sections"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("section_id", "id", name=op.f("pk_section_members")),
    )
    op.create_index(
        "uq_section_members_section_id_email",
        "section_members",
        ["section_id", sa.text("lower(email)")],
        unique=True,
    )
    for statement in tenant_isolation_ddl("section_members"):
        op.execute(statement)

    op.execute(f"GRANT SELECT, INSERT, UPDATE ON sections TO {APP_ROLE}")
    op.execute(f"GRANT SELECT, INSERT, DELETE ON section_hosts TO {APP_ROLE}")
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON section_members TO {APP_ROLE}")


def downgrade() -> None:
    op.drop_table("section_members")
    op.drop_table("section_hosts")
    op.drop_table("sections")
    # The roles are cluster-wide and may serve other databases: they are left in place.
