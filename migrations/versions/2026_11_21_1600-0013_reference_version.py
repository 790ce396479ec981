"""A version of the data every public write checks, so each process can keep it in memory.

Every ``actionRecord`` used to read the campaign rules (the campaign, the section's window
and featured cases) and the section's allowlisted networks: two statements and a quarter
of an action's CPU, for data that changes a few times a campaign. The single row of
``reference_version`` now holds a fresh random version whenever any of those tables
changes: a statement-level trigger sets it in the writing transaction, so the new version
becomes visible exactly when the change does. Every transaction reads it together with its
tenant binding (w4r.platform.database), and a process serves what it keeps only while the
version it was read at is still the current one (w4r.platform.reference). A random version
rather than a counter: two databases (or a copy of one) never share a version unless they
share the data too.

The app role may read the row, never write it: the function runs as its owner.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-21 16:00:00
"""

from collections.abc import Sequence

from alembic import op

from w4r.platform.database import APP_ROLE

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FUNCTION = "w4r_reference_changed"
TRIGGER = "reference_changed"
REFERENCE_TABLES = ("campaigns", "section_campaigns", "section_featured_cases", "allowed_networks")


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE reference_version (
            id boolean NOT NULL DEFAULT true,
            version uuid NOT NULL DEFAULT gen_random_uuid(),
            CONSTRAINT pk_reference_version PRIMARY KEY (id),
            CONSTRAINT ck_reference_version_single CHECK (id)
        )
        """
    )
    op.execute("INSERT INTO reference_version DEFAULT VALUES")
    op.execute(f"GRANT SELECT ON reference_version TO {APP_ROLE}")
    op.execute(
        f"""
        CREATE FUNCTION {FUNCTION}() RETURNS trigger
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
        BEGIN
            UPDATE public.reference_version SET version = gen_random_uuid();
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(f"REVOKE ALL ON FUNCTION {FUNCTION}() FROM PUBLIC")
    for table in REFERENCE_TABLES:
        op.execute(
            f"CREATE TRIGGER {TRIGGER} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
            f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}()"
        )


def downgrade() -> None:
    for table in REFERENCE_TABLES:
        op.execute(f"DROP TRIGGER {TRIGGER} ON {table}")
    op.execute(f"DROP FUNCTION {FUNCTION}()")
    op.execute("DROP TABLE reference_version")
