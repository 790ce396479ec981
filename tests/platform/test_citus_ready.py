"""The schema can be distributed with Citus by ``section_id`` as it stands.

The plan (docs/scaling.md): every tenant-owned table (row-level security on a NOT NULL
``section_id``) becomes a distributed table on ``section_id``, all of them in one colocation
group; every other table becomes a reference table (a copy on every node). These checks read
the migrated catalog and hold it to the rules Citus enforces when the tables are created:

- a distributed table's primary key, unique constraints, unique indexes and exclusion
  constraints must contain the distribution column (ours: lead with it);
- a foreign key between two distributed tables must contain the distribution column at the
  same position on both sides, and the tables must be colocated (one column type);
- a foreign key from a distributed table to a reference table is allowed; one from a
  reference table to a distributed table is not;
- a foreign key that contains the distribution column may not ``ON DELETE SET NULL / SET
  DEFAULT`` nor ``ON UPDATE SET NULL / SET DEFAULT / CASCADE``;
- the distribution column can hold no NULL (an insert with NULL there is refused), so a
  table whose ``section_id`` may be null stays a reference table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from w4r.platform.migrations import target_metadata
from w4r.platform.models import TenantOwned
from w4r.platform.tenancy import AUDIT_TABLES, SECTION_OR_GLOBAL_TABLES

DISTRIBUTION_COLUMN = "section_id"

TABLES = """
select c.relname,
       c.relrowsecurity,
       coalesce(a.attnotnull, false) as section_id_not_null,
       coalesce(format_type(a.atttypid, a.atttypmod), '') as section_id_type
from pg_class c
join pg_namespace n on n.oid = c.relnamespace
left join pg_attribute a
  on a.attrelid = c.oid and a.attname = 'section_id' and not a.attisdropped
where n.nspname = 'public' and c.relkind in ('r', 'p')
order by 1
"""

CONSTRAINTS = """
select c.relname,
       con.conname,
       con.contype::text,
       array(select a.attname from unnest(con.conkey) with ordinality as k(attnum, position)
             join pg_attribute a on a.attrelid = con.conrelid and a.attnum = k.attnum
             order by k.position)::text[] as columns,
       coalesce(referenced.relname, '') as referenced_table,
       array(select a.attname from unnest(con.confkey) with ordinality as k(attnum, position)
             join pg_attribute a on a.attrelid = con.confrelid and a.attnum = k.attnum
             order by k.position)::text[] as referenced_columns,
       con.confupdtype::text as on_update,
       con.confdeltype::text as on_delete
from pg_constraint con
join pg_class c on c.oid = con.conrelid
join pg_namespace n on n.oid = c.relnamespace
left join pg_class referenced on referenced.oid = con.confrelid
where n.nspname = 'public' and con.contype in ('p', 'u', 'f', 'x')
order by 1, 2
"""

UNIQUE_INDEXES = """
select c.relname, i.relname,
       coalesce((select a.attname from pg_attribute a
                  where a.attrelid = x.indrelid and a.attnum = x.indkey[0]), '') as first_column
from pg_index x
join pg_class c on c.oid = x.indrelid
join pg_class i on i.oid = x.indexrelid
join pg_namespace n on n.oid = c.relnamespace
where n.nspname = 'public' and x.indisunique
order by 1, 2
"""
"""Every unique index, including those behind constraints; an expression in the first
position (``lower(email)``) has no column name and so does not lead with section_id."""

# pg_constraint action codes: a = no action, r = restrict, c = cascade, n = set null,
# d = set default.
FORBIDDEN_ON_DELETE = {"n", "d"}
FORBIDDEN_ON_UPDATE = {"n", "d", "c"}


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    has_row_level_security: bool
    section_id_not_null: bool
    section_id_type: str

    @property
    def has_section_id(self) -> bool:
        return bool(self.section_id_type)


@dataclass(frozen=True, slots=True)
class Constraint:
    table: str
    name: str
    kind: str
    columns: list[str]
    referenced_table: str
    referenced_columns: list[str]
    on_update: str
    on_delete: str


async def rows(engine: AsyncEngine, sql: str) -> list[tuple[Any, ...]]:
    async with engine.connect() as connection:
        return [tuple(row) for row in await connection.execute(text(sql))]


async def tables(engine: AsyncEngine) -> list[Table]:
    return [Table(*row) for row in await rows(engine, TABLES)]


async def distributed_tables(engine: AsyncEngine) -> set[str]:
    """Tenant-owned tables: row-level security on a section_id that is never NULL."""
    return {
        table.name
        for table in await tables(engine)
        if table.has_row_level_security and table.section_id_not_null
    }


async def constraints(engine: AsyncEngine) -> list[Constraint]:
    return [Constraint(*row) for row in await rows(engine, CONSTRAINTS)]


target_metadata()  # imports every model module, so every TenantOwned subclass is known
TENANT_OWNED_MODELS = {
    mapper.class_.__tablename__
    for mapper in TenantOwned.registry.mappers
    if issubclass(mapper.class_, TenantOwned)
}


async def test_the_distributed_tables_are_exactly_the_tenant_owned_models(
    owner_engine: AsyncEngine,
) -> None:
    # The tables with RLS and a nullable section_id (a row of the IS has none) cannot be
    # distributed on it: they are the declared section-or-global and audit tables.
    catalog = await tables(owner_engine)
    assert await distributed_tables(owner_engine) == TENANT_OWNED_MODELS
    assert {
        table.name
        for table in catalog
        if table.has_row_level_security and not table.section_id_not_null
    } == SECTION_OR_GLOBAL_TABLES | AUDIT_TABLES


async def test_every_tenant_table_can_be_colocated_on_one_distribution_column(
    owner_engine: AsyncEngine,
) -> None:
    distributed = await distributed_tables(owner_engine)
    types = {
        table.name: (table.section_id_type, table.section_id_not_null)
        for table in await tables(owner_engine)
        if table.name in distributed
    }
    assert types == dict.fromkeys(distributed, ("uuid", True))


async def test_every_tenant_table_has_a_primary_key_leading_with_section_id(
    owner_engine: AsyncEngine,
) -> None:
    distributed = await distributed_tables(owner_engine)
    primary_keys = {
        constraint.table: constraint.columns
        for constraint in await constraints(owner_engine)
        if constraint.kind == "p" and constraint.table in distributed
    }
    assert sorted(primary_keys) == sorted(distributed)
    assert {
        table: columns
        for table, columns in primary_keys.items()
        if columns[0] != DISTRIBUTION_COLUMN
    } == {}


async def test_every_unique_key_of_a_tenant_table_leads_with_section_id(
    owner_engine: AsyncEngine,
) -> None:
    distributed = await distributed_tables(owner_engine)
    unique_constraints = [
        (constraint.table, constraint.name, constraint.columns)
        for constraint in await constraints(owner_engine)
        if constraint.kind in {"p", "u", "x"} and constraint.table in distributed
    ]
    unique_indexes = [
        (table, index, first_column)
        for table, index, first_column in await rows(owner_engine, UNIQUE_INDEXES)
        if table in distributed
    ]
    assert unique_indexes, "the tenant tables have unique indexes (at least their keys)"
    assert [key for key in unique_constraints if key[2][0] != DISTRIBUTION_COLUMN] == []
    assert [index for index in unique_indexes if index[2] != DISTRIBUTION_COLUMN] == []


async def test_foreign_keys_between_tenant_tables_pair_section_id_in_the_same_position(
    owner_engine: AsyncEngine,
) -> None:
    distributed = await distributed_tables(owner_engine)
    between_tenant_tables = [
        constraint
        for constraint in await constraints(owner_engine)
        if constraint.kind == "f"
        and constraint.table in distributed
        and constraint.referenced_table in distributed
    ]
    assert between_tenant_tables, "tenant tables reference each other (e.g. event_texts)"
    assert [
        (key.table, key.name, key.columns, key.referenced_columns)
        for key in between_tenant_tables
        if key.columns[0] != DISTRIBUTION_COLUMN or key.referenced_columns[0] != DISTRIBUTION_COLUMN
    ] == []


async def test_no_foreign_key_on_section_id_sets_null_or_default_or_cascades_updates(
    owner_engine: AsyncEngine,
) -> None:
    distributed = await distributed_tables(owner_engine)
    on_the_distribution_column = [
        constraint
        for constraint in await constraints(owner_engine)
        if constraint.kind == "f"
        and constraint.table in distributed
        and DISTRIBUTION_COLUMN in constraint.columns
    ]
    assert on_the_distribution_column
    assert [
        (key.table, key.name, key.on_update, key.on_delete)
        for key in on_the_distribution_column
        if key.on_delete in FORBIDDEN_ON_DELETE or key.on_update in FORBIDDEN_ON_UPDATE
    ] == []


async def test_no_global_table_references_a_tenant_table(owner_engine: AsyncEngine) -> None:
    # Global tables become reference tables (or stay local, as alembic_version does), and
    # Citus refuses a foreign key from a reference table to a distributed one.
    distributed = await distributed_tables(owner_engine)
    assert [
        (key.table, key.name, key.referenced_table)
        for key in await constraints(owner_engine)
        if key.kind == "f" and key.table not in distributed and key.referenced_table in distributed
    ] == []
