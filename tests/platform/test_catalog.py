"""The database catalog proves the isolation design holds for every table, present and future.

Each check reads PostgreSQL's catalog, so a later migration that forgets RLS, gives the app
role ownership, or adds a key that does not lead with section_id fails here.
"""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

from w4r.platform.database import APP_ROLE, OWNER_ROLE
from w4r.platform.migrations import target_metadata, upgrade_sql
from w4r.platform.models import TenantOwned
from w4r.platform.tenancy import AGGREGATE_TABLES, AUDIT_TABLES, GLOBAL_TABLES_WITH_SECTION_ID

TABLES_WITH_SECTION_ID = """
select c.relname
from pg_class c
join pg_namespace n on n.oid = c.relnamespace
join pg_attribute a on a.attrelid = c.oid and a.attname = 'section_id' and not a.attisdropped
where n.nspname = 'public' and c.relkind in ('r', 'p')
order by 1
"""

RLS_FLAGS = """
select c.relname, c.relrowsecurity, c.relforcerowsecurity,
       (select count(*) from pg_policy p where p.polrelid = c.oid) as policies
from pg_class c join pg_namespace n on n.oid = c.relnamespace
where n.nspname = 'public' and c.relname = any(:tables)
order by 1
"""

POLICY_EXPRESSIONS = """
select c.relname, p.polcmd::text, p.polpermissive, pg_get_expr(p.polqual, p.polrelid),
       pg_get_expr(p.polwithcheck, p.polrelid)
from pg_policy p join pg_class c on c.oid = p.polrelid
where c.relname = any(:tables)
order by 1
"""

KEY_COLUMNS = """
select c.relname, con.conname, con.contype::text,
       (select a.attname from pg_attribute a
         where a.attrelid = con.conrelid and a.attnum = con.conkey[1]) as first_column,
       coalesce(referenced.relname, '') as referenced_table
from pg_constraint con
join pg_class c on c.oid = con.conrelid
left join pg_class referenced on referenced.oid = con.confrelid
where c.relname = any(:tables) and con.contype in ('p', 'u', 'f')
"""

UNIQUE_INDEX_COLUMNS = """
select c.relname, i.relname, (select a.attname from pg_attribute a
        where a.attrelid = x.indrelid and a.attnum = x.indkey[0]) as first_column
from pg_index x
join pg_class c on c.oid = x.indrelid
join pg_class i on i.oid = x.indexrelid
where c.relname = any(:tables) and x.indisunique
"""

ROLE_ATTRIBUTES = """
select rolsuper, rolbypassrls, rolcreaterole, rolcreatedb, rolcanlogin
from pg_roles where rolname = :role
"""

OWNED_BY_APP = """
select 'relation' as kind, c.relname as name from pg_class c
  join pg_roles r on r.oid = c.relowner where r.rolname = :role
union all
select 'function', p.proname from pg_proc p
  join pg_roles r on r.oid = p.proowner where r.rolname = :role
union all
select 'type', t.typname from pg_type t
  join pg_roles r on r.oid = t.typowner where r.rolname = :role
union all
select 'schema', n.nspname from pg_namespace n
  join pg_roles r on r.oid = n.nspowner where r.rolname = :role
"""

VIEWS = """
select c.relname, coalesce(c.reloptions, '{}') as options
from pg_class c join pg_namespace n on n.oid = c.relnamespace
where n.nspname = 'public' and c.relkind in ('v', 'm')
"""

target_metadata()  # imports every model module, so every TenantOwned subclass is known
TENANT_TABLES = sorted(
    mapper.class_.__tablename__
    for mapper in TenantOwned.registry.mappers
    if issubclass(mapper.class_, TenantOwned)
)


async def rows(engine: AsyncEngine, sql: str, **parameters: Any) -> list[tuple[Any, ...]]:
    async with engine.connect() as connection:
        result = await connection.execute(text(sql), parameters)
        return [tuple(row) for row in result]


def test_there_is_at_least_one_tenant_owned_table() -> None:
    assert "section_members" in TENANT_TABLES


async def test_every_table_with_a_section_id_is_tenant_owned_or_declared_global(
    owner_engine: AsyncEngine,
) -> None:
    tables = {name for (name,) in await rows(owner_engine, TABLES_WITH_SECTION_ID)}
    assert tables == set(TENANT_TABLES) | GLOBAL_TABLES_WITH_SECTION_ID | AUDIT_TABLES


async def test_every_tenant_table_has_row_level_security_enabled_and_forced(
    owner_engine: AsyncEngine,
) -> None:
    flags = await rows(owner_engine, RLS_FLAGS, tables=TENANT_TABLES)
    assert flags == [
        (table, True, True, 2 if table in AGGREGATE_TABLES else 1) for table in TENANT_TABLES
    ]


async def test_every_tenant_policy_compares_section_id_with_the_transaction_setting(
    owner_engine: AsyncEngine,
) -> None:
    policies = await rows(owner_engine, POLICY_EXPRESSIONS, tables=TENANT_TABLES)
    expected = (
        "(section_id = (NULLIF(current_setting('w4r.section_id'::text, true), ''::text))::uuid)"
    )
    global_read = "(current_setting('w4r.scope'::text, true) = 'global'::text)"
    # '*' = every command; permissive; the same predicate for reading and for writing. Only
    # the declared aggregate tables (counts, no personal data) add a read-only policy for the
    # global scope ('r' = SELECT).
    wanted: list[tuple[str, str, bool, str, str | None]] = []
    for table in TENANT_TABLES:
        wanted.append((table, "*", True, expected, expected))
        if table in AGGREGATE_TABLES:
            wanted.append((table, "r", True, global_read, None))
    assert sorted(policies, key=str) == sorted(wanted, key=str)


GLOBAL_TABLES = {"sections", "campaigns", "cases", "case_campaigns"}
"""Global tables that tenant tables may reference (Citus reference tables)."""


async def test_every_key_of_a_tenant_table_leads_with_section_id(
    owner_engine: AsyncEngine,
) -> None:
    keys = await rows(owner_engine, KEY_COLUMNS, tables=TENANT_TABLES)
    indexes = await rows(owner_engine, UNIQUE_INDEX_COLUMNS, tables=TENANT_TABLES)
    assert keys, "every tenant table has at least a primary key"
    # A foreign key to a global (reference) table, such as cases, cannot lead with
    # section_id: the global table has none. Every other key must.
    tenant_keys = [key for key in keys if key[2] != "f" or key[4] in TENANT_TABLES]
    assert [key for key in tenant_keys if key[3] != "section_id"] == []
    global_references = {key[4] for key in keys if key[2] == "f" and key[3] != "section_id"}
    assert global_references <= GLOBAL_TABLES
    assert [index for index in indexes if index[2] != "section_id"] == []


async def test_app_role_is_not_superuser_cannot_bypass_rls_and_only_logs_in(
    owner_engine: AsyncEngine,
) -> None:
    assert await rows(owner_engine, ROLE_ATTRIBUTES, role=APP_ROLE) == [
        (False, False, False, False, True)
    ]
    assert await rows(owner_engine, ROLE_ATTRIBUTES, role=OWNER_ROLE) == [
        (False, False, False, False, False)
    ]


async def test_app_role_owns_nothing(owner_engine: AsyncEngine) -> None:
    assert await rows(owner_engine, OWNED_BY_APP, role=APP_ROLE) == []


async def test_the_ledger_is_append_only_for_the_app(owner_engine: AsyncEngine) -> None:
    privileges = await rows(
        owner_engine,
        "select privilege_type from information_schema.role_table_grants "
        "where grantee = :role and table_name = 'actions' order by 1",
        role=APP_ROLE,
    )
    assert privileges == [("INSERT",), ("SELECT",)]


async def test_audit_tables_are_append_only_and_scoped_by_row_level_security(
    owner_engine: AsyncEngine,
) -> None:
    tables = sorted(AUDIT_TABLES)
    assert await rows(owner_engine, RLS_FLAGS, tables=tables) == [
        (table, True, True, 2) for table in tables
    ]
    own = "(section_id = (NULLIF(current_setting('w4r.section_id'::text, true), ''::text))::uuid)"
    is_global = "(current_setting('w4r.scope'::text, true) = 'global'::text)"
    # 'r' = SELECT, 'a' = INSERT: no policy (and no grant) lets the app update or delete.
    assert sorted(await rows(owner_engine, POLICY_EXPRESSIONS, tables=tables), key=str) == sorted(
        [
            (table, kind, True, expression, check)
            for table in tables
            for kind, expression, check in (
                ("r", f"({own} OR {is_global})", None),
                ("a", None, f"({own} OR ((section_id IS NULL) AND {is_global}))"),
            )
        ],
        key=str,
    )
    for table in tables:
        privileges = await rows(
            owner_engine,
            "select privilege_type from information_schema.role_table_grants "
            "where grantee = :role and table_name = :table order by 1",
            role=APP_ROLE,
            table=table,
        )
        assert privileges == [("INSERT",), ("SELECT",)]


async def test_owner_role_owns_every_table(owner_engine: AsyncEngine) -> None:
    owners = await rows(
        owner_engine,
        "select distinct pg_get_userbyid(relowner) from pg_class c "
        "join pg_namespace n on n.oid = c.relnamespace "
        "where n.nspname = 'public' and c.relkind in ('r', 'p', 'v', 'm', 'S')",
    )
    assert owners == [(OWNER_ROLE,)]


async def test_app_role_cannot_create_objects_in_the_schema(owner_engine: AsyncEngine) -> None:
    assert await rows(
        owner_engine,
        "select has_schema_privilege(:role, 'public', 'CREATE')",
        role=APP_ROLE,
    ) == [(False,)]


async def test_no_view_lacks_security_invoker(owner_engine: AsyncEngine) -> None:
    views = await rows(owner_engine, VIEWS)
    assert [name for name, options in views if "security_invoker=true" not in options] == []


async def test_the_app_connects_as_the_app_role(app_engine: AsyncEngine) -> None:
    assert await rows(app_engine, "select current_user") == [(APP_ROLE,)]


def _compare(connection: Connection) -> list[Any]:
    # Alembic compares server defaults by evaluating both sides on the server; the tenant
    # default reads w4r.section_id, so give this connection's transaction a value.
    connection.execute(text("select set_config('w4r.section_id', gen_random_uuid()::text, true)"))
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "compare_server_default": True}
    )
    return list(compare_metadata(context, target_metadata()))


async def test_the_migrations_create_exactly_what_the_models_declare(
    owner_engine: AsyncEngine,
) -> None:
    async with owner_engine.connect() as connection:
        differences = await connection.run_sync(_compare)
    assert differences == []


def test_offline_sql_creates_the_roles_and_isolation() -> None:
    sql = upgrade_sql()
    assert f"CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS" in sql
    assert "ALTER TABLE section_members FORCE ROW LEVEL SECURITY" in sql
    assert f"SET ROLE {OWNER_ROLE}" in sql
