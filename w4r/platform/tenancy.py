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

SECTION_OR_GLOBAL_TABLES: Final = frozenset({"api_keys"})
"""Global tables whose rows belong to one section or, with a null ``section_id``, to the IS.
They are read before a request is bound to a section (authentication), so they are not
tenant-owned; :func:`section_or_global_isolation_ddl` lets a section's scope see and write
only its own rows and the global scope all of them."""

GLOBAL_TABLES_WITH_SECTION_ID: Final = frozenset({"section_hosts", *SECTION_OR_GLOBAL_TABLES})
"""Tables that carry a ``section_id`` yet are global configuration, readable before a request
is bound to a section: the host registry is how a request finds its section, and the
:data:`SECTION_OR_GLOBAL_TABLES` (under their own policy) how it finds its caller."""


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


SECTION_OR_GLOBAL_PREDICATE: Final = f"section_id = {CURRENT_SECTION_SQL} OR {GLOBAL_SCOPE_SQL}"
SECTION_OR_GLOBAL_INSERT_PREDICATE: Final = (
    f"section_id = {CURRENT_SECTION_SQL} OR (section_id IS NULL AND {GLOBAL_SCOPE_SQL})"
)


def section_or_global_isolation_ddl(table: str) -> list[str]:
    """Row-level security for a :data:`SECTION_OR_GLOBAL_TABLES` table. Reading and updating:
    a section's scope its own rows only (never the IS's, whose ``section_id`` is null), the
    global scope every row. Inserting: a row of the bound section, or in the global scope a
    row of the IS. No policy allows DELETE; unbound, nothing is visible or writable.
    Stable: migrations call it."""
    predicate = SECTION_OR_GLOBAL_PREDICATE
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"CREATE POLICY section_or_global_read ON {table} FOR SELECT USING ({predicate})",
        f"CREATE POLICY section_or_global_update ON {table} FOR UPDATE "
        f"USING ({predicate}) WITH CHECK ({predicate})",
        f"CREATE POLICY section_or_global_insert ON {table} FOR INSERT "
        f"WITH CHECK ({SECTION_OR_GLOBAL_INSERT_PREDICATE})",
    ]


def tenant_isolation_ddl(table: str) -> list[str]:
    """Statements that put ``table`` under section isolation. Stable: migrations call it."""
    predicate = f"section_id = {CURRENT_SECTION_SQL}"
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"CREATE POLICY section_isolation ON {table} USING ({predicate}) WITH CHECK ({predicate})",
    ]


AUDIT_TABLES: Final = frozenset({"audit_log"})
"""Append-only logs whose rows belong to a section or, with a null ``section_id``, to the
global (IS) scope: a section reads its own rows, the global scope reads every row."""


def audit_isolation_ddl(table: str) -> list[str]:
    """Row-level security of an audit table (see :data:`AUDIT_TABLES`). Reading: the bound
    section's rows, or every row in the global scope. Appending: a row of the bound section,
    or a row of no section in the global scope. No policy allows UPDATE or DELETE (nor do
    the grants): the log is append-only. Unbound, nothing is visible or insertable."""
    own_section = f"section_id = {CURRENT_SECTION_SQL}"
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"CREATE POLICY audit_read ON {table} FOR SELECT "
        f"USING ({own_section} OR {GLOBAL_SCOPE_SQL})",
        f"CREATE POLICY audit_append ON {table} FOR INSERT "
        f"WITH CHECK ({own_section} OR (section_id IS NULL AND {GLOBAL_SCOPE_SQL}))",
    ]
