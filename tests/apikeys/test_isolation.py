"""Row-level security of api_keys as the app role: a section's scope sees and changes its
own keys only, the global scope (the IS, and authentication) every key, an unbound
transaction none; and the grants leave the app no way to delete a key or change what it
grants."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from w4r.apikeys import keys
from w4r.apikeys.repository import ApiKeyRepository
from w4r.apikeys.service import ApiKeyDraft, ApiKeyService
from w4r.platform.auth import Principal, Role
from w4r.platform.database import APP_ROLE, TenantBinding
from w4r.platform.tenancy import SECTION_OR_GLOBAL_TABLES
from w4r.tenants.service import SectionDraft, SectionService

SessionFactory = Callable[[TenantBinding], AsyncSession]

IS_ADMIN = Principal(role=Role.IS_ADMIN, subject="is-admin@example.org")
SECTION_ADMIN = Principal(role=Role.SECTION_ADMIN, subject="admin@example.org")


async def create_section(factory: SessionFactory) -> uuid.UUID:
    session = factory(TenantBinding.global_scope())
    code = "zz-" + uuid.uuid4().hex[:6]
    section = await SectionService(session).create(
        SectionDraft(code=code, name=code, country="GB", languages=["en"], time_zone="UTC")
    )
    await session.commit()
    return section.id


async def create_key(factory: SessionFactory, binding: TenantBinding, actor: Principal) -> str:
    """A key created by ``actor`` in ``binding``'s scope; returns its name (unique)."""
    session = factory(binding)
    name = "key " + uuid.uuid4().hex[:8]
    await ApiKeyService(session, binding, actor).create(
        ApiKeyDraft(name=name, scopes=["cases:read"])
    )
    await session.commit()
    return name


async def names(session: AsyncSession, names_of: set[str]) -> set[str]:
    """Which of ``names_of`` the session sees, reading the table with no filter."""
    result = await session.execute(text("select name from api_keys"))
    return {name for (name,) in result} & names_of


async def test_each_scope_sees_exactly_its_keys(app_session_factory: SessionFactory) -> None:
    # given two sections with a key each, and a key of the IS
    first, second = (
        await create_section(app_session_factory),
        await create_section(app_session_factory),
    )
    first_key = await create_key(
        app_session_factory, TenantBinding.for_section(first), SECTION_ADMIN
    )
    second_key = await create_key(
        app_session_factory, TenantBinding.for_section(second), SECTION_ADMIN
    )
    global_key = await create_key(app_session_factory, TenantBinding.global_scope(), IS_ADMIN)
    every = {first_key, second_key, global_key}

    # then a section's scope sees only its own, never the IS's; the global scope all three
    first_session = app_session_factory(TenantBinding.for_section(first))
    assert await names(first_session, every) == {first_key}
    assert await names(app_session_factory(TenantBinding.for_section(second)), every) == {
        second_key
    }
    assert await names(app_session_factory(TenantBinding.global_scope()), every) == every


async def test_a_section_cannot_revoke_or_create_another_sections_keys(
    app_session_factory: SessionFactory,
) -> None:
    # given two sections and a key of the second
    first, second = (
        await create_section(app_session_factory),
        await create_section(app_session_factory),
    )
    second_key = await create_key(
        app_session_factory, TenantBinding.for_section(second), SECTION_ADMIN
    )
    session = app_session_factory(TenantBinding.for_section(first))

    # when the first section's scope revokes every key it can reach
    revoked = await session.execute(
        text("update api_keys set revoked_at = now(), revoked_by = 'x' returning name")
    )

    # then it reached none of the second's
    assert list(revoked) == []
    # and inserting a key for the second section, or for the IS, is refused by the policy
    for owner in (second, None):
        with pytest.raises(DBAPIError, match="row-level security"):
            async with session.begin_nested():
                await session.execute(
                    text(
                        "insert into api_keys (section_id, name, display_prefix, key_hash, "
                        "scopes, created_by) values (:owner, 'forged', 'w4r_', "
                        "sha256('x'), array['cases:read'], 'x')"
                    ),
                    {"owner": owner},
                )
    global_session = app_session_factory(TenantBinding.global_scope())
    row = await global_session.execute(
        text("select revoked_at from api_keys where name = :name"), {"name": second_key}
    )
    assert row.scalar_one() is None


async def test_the_global_scope_inserts_keys_of_the_is_only(
    app_session_factory: SessionFactory,
) -> None:
    # given a section
    section = await create_section(app_session_factory)
    session = app_session_factory(TenantBinding.global_scope())

    # then the global scope cannot insert a key for it (keys of a section are made there)
    with pytest.raises(DBAPIError, match="row-level security"):
        async with session.begin_nested():
            await session.execute(
                text(
                    "insert into api_keys (section_id, name, display_prefix, key_hash, "
                    "scopes, created_by) values (:owner, 'forged', 'w4r_', "
                    "sha256('x'), array['cases:read'], 'x')"
                ),
                {"owner": section},
            )


async def test_management_in_the_global_scope_reaches_only_the_iss_keys(
    app_session_factory: SessionFactory,
) -> None:
    # given a section's key and a key of the IS
    section = await create_section(app_session_factory)
    await create_key(app_session_factory, TenantBinding.for_section(section), SECTION_ADMIN)
    await create_key(app_session_factory, TenantBinding.global_scope(), IS_ADMIN)

    # when the global scope's repository lists keys
    session = app_session_factory(TenantBinding.global_scope())
    listed = await ApiKeyRepository(session, TenantBinding.global_scope()).page(
        after=None, limit=10_000
    )

    # then every one of them is the IS's
    assert listed != []
    assert {key.section_id for key in listed} == {None}


async def test_an_unbound_transaction_sees_no_key(
    app_connection: AsyncConnection, app_session_factory: SessionFactory
) -> None:
    # given a key of the IS, and a transaction bound to nothing
    await create_key(app_session_factory, TenantBinding.global_scope(), IS_ADMIN)
    await app_connection.execute(
        text("select set_config('w4r.section_id', '', true), set_config('w4r.scope', '', true)")
    )

    # then it sees no key at all
    assert await app_connection.scalar(text("select count(*) from api_keys")) == 0


async def test_the_app_can_neither_delete_a_key_nor_change_what_it_grants(
    app_session_factory: SessionFactory,
) -> None:
    # given a key of the IS
    await create_key(app_session_factory, TenantBinding.global_scope(), IS_ADMIN)
    session = app_session_factory(TenantBinding.global_scope())

    # then deleting it, or changing its hash, scopes or owner, is not permitted
    for statement in (
        "delete from api_keys",
        "update api_keys set key_hash = sha256('x')",
        "update api_keys set scopes = array['cases:read']",
        "update api_keys set section_id = null",
        "update api_keys set expires_at = null",
    ):
        with pytest.raises(DBAPIError, match="permission denied"):
            async with session.begin_nested():
                await session.execute(text(statement))


async def test_the_database_refuses_a_key_of_the_is_that_records(
    app_session_factory: SessionFactory,
) -> None:
    session = app_session_factory(TenantBinding.global_scope())
    with pytest.raises(DBAPIError, match="ck_api_keys_global_keys_read_only"):
        async with session.begin_nested():
            await ApiKeyRepository(session, TenantBinding.global_scope()).insert(
                name="forged",
                display_prefix="w4r_",
                key_hash=keys.key_hash(keys.generate()),
                scopes=["actions:record"],
                created_by="x",
            )


# --- the catalog ---------------------------------------------------------------------------


async def test_every_section_or_global_table_has_its_policy_forced(
    owner_engine: AsyncEngine,
) -> None:
    async with owner_engine.connect() as connection:
        result = await connection.execute(
            text(
                "select c.relname, c.relrowsecurity, c.relforcerowsecurity, p.polname, "
                "p.polcmd::text, pg_get_expr(p.polqual, p.polrelid), "
                "pg_get_expr(p.polwithcheck, p.polrelid) "
                "from pg_class c join pg_policy p on p.polrelid = c.oid "
                "where c.relname = any(:tables) order by 1"
            ),
            {"tables": sorted(SECTION_OR_GLOBAL_TABLES)},
        )
        policies = [tuple(row) for row in result]
    own = "(section_id = (NULLIF(current_setting('w4r.section_id'::text, true), ''::text))::uuid)"
    is_global = "(current_setting('w4r.scope'::text, true) = 'global'::text)"
    either = f"({own} OR {is_global})"
    # r = SELECT, w = UPDATE, a = INSERT; no policy for DELETE (d) or every command (*)
    assert sorted(policies, key=str) == sorted(
        [
            row
            for table in sorted(SECTION_OR_GLOBAL_TABLES)
            for row in (
                (table, True, True, "section_or_global_read", "r", either, None),
                (table, True, True, "section_or_global_update", "w", either, either),
                (
                    table,
                    True,
                    True,
                    "section_or_global_insert",
                    "a",
                    None,
                    f"({own} OR ((section_id IS NULL) AND {is_global}))",
                ),
            )
        ],
        key=str,
    )


async def test_the_app_role_may_read_insert_and_update_only_use_and_revocation(
    owner_engine: AsyncEngine,
) -> None:
    async with owner_engine.connect() as connection:
        table_privileges = await connection.execute(
            text(
                "select privilege_type from information_schema.role_table_grants "
                "where grantee = :role and table_name = 'api_keys' order by 1"
            ),
            {"role": APP_ROLE},
        )
        updatable = await connection.execute(
            text(
                "select column_name from information_schema.column_privileges "
                "where grantee = :role and table_name = 'api_keys' "
                "and privilege_type = 'UPDATE' order by 1"
            ),
            {"role": APP_ROLE},
        )
        assert [row for (row,) in table_privileges] == ["INSERT", "SELECT"]
        assert [row for (row,) in updatable] == ["last_used_at", "revoked_at", "revoked_by"]
