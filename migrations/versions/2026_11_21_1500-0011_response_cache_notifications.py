"""Every change to data that public answers contain notifies the response caches.

A statement-level trigger on each table the cacheable queries read sends
``NOTIFY w4r_response_cache, '<table>'`` in the writing transaction, so the notice goes out
only if the change commits, whoever made it: the API, the CLI or plain SQL. Each replica's
listener then stops serving the answers it keeps (docs/caching.md). The action ledger is not
among the tables: totals in cached answers age out instead.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-21 15:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FUNCTION = "w4r_response_cache_changed"
TRIGGER = "response_cache_changed"
CACHED_TABLES = (
    "sections",
    "section_hosts",
    "campaigns",
    "section_campaigns",
    "section_featured_cases",
    "cases",
    "case_campaigns",
    "case_texts",
    "case_source_revisions",
    "section_case_translations",
    "case_appeal_targets",
    "case_solidarity_recipients",
    "case_outcomes",
    "case_historic_totals",
    "historic_totals",
    "trusted_documents",
)


def upgrade() -> None:
    op.execute(
        f"""
        CREATE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('w4r_response_cache', TG_TABLE_NAME);
            RETURN NULL;
        END
        $$
        """
    )
    for table in CACHED_TABLES:
        op.execute(
            f"CREATE TRIGGER {TRIGGER} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
            f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}()"
        )


def downgrade() -> None:
    for table in CACHED_TABLES:
        op.execute(f"DROP TRIGGER {TRIGGER} ON {table}")
    op.execute(f"DROP FUNCTION {FUNCTION}()")
