"""The SQL of tenant isolation, written once and used by every migration.

A tenant-owned table gets ENABLE and FORCE ROW LEVEL SECURITY (FORCE so that even the
owning role is bound) and one policy for every command that compares ``section_id`` with the
transaction-local ``w4r.section_id``. ``NULLIF(…, '')`` turns an unset or empty setting into
NULL, the comparison into NULL, and so the policy fails closed: no rows visible, no rows
insertable.
"""

from __future__ import annotations

from typing import Final

CURRENT_SECTION_SQL: Final = "NULLIF(current_setting('w4r.section_id', true), '')::uuid"

GLOBAL_TABLES_WITH_SECTION_ID: Final = frozenset({"section_hosts"})
"""Tables that carry a ``section_id`` yet are global configuration, readable before a request
is bound to a section: the host registry is how a request finds its section."""


AGGREGATE_TABLES: Final = frozenset({"action_rollups"})
"""Tenant-owned tables of counts only (no personal data) that the global (IS) scope may read:
the one exception to "the IS sees no tenant rows". A table with personal data never joins."""

GLOBAL_SCOPE_SQL: Final = "current_setting('w4r.scope', true) = 'global'"


def aggregate_isolation_ddl(table: str) -> list[str]:
    """Tenant isolation plus a read-only policy for the global scope (aggregate tables)."""
    return [
        *tenant_isolation_ddl(table),
        f"CREATE POLICY global_read ON {table} FOR SELECT USING ({GLOBAL_SCOPE_SQL})",
    ]


def tenant_isolation_ddl(table: str) -> list[str]:
    """Statements that put ``table`` under section isolation. Stable: migrations call it."""
    predicate = f"section_id = {CURRENT_SECTION_SQL}"
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"CREATE POLICY section_isolation ON {table} USING ({predicate}) WITH CHECK ({predicate})",
    ]
