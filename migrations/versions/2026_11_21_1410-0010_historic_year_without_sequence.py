"""A historic total's year is given, never generated: drop the sequence behind it.

The first ledger migration created ``historic_totals.year`` as an integer primary key,
which PostgreSQL made a ``serial``: an insert without a year would have been given 1, 2, 3…
The year is the campaign's, always stated, so the column keeps no default.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-21 14:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE historic_totals ALTER COLUMN year DROP DEFAULT")
    op.execute("DROP SEQUENCE IF EXISTS historic_totals_year_seq")


def downgrade() -> None:
    op.execute("CREATE SEQUENCE historic_totals_year_seq OWNED BY historic_totals.year")
    op.execute(
        "ALTER TABLE historic_totals ALTER COLUMN year "
        "SET DEFAULT nextval('historic_totals_year_seq'::regclass)"
    )
