"""Row-level security as the app role: what a transaction sees depends only on its binding."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from w4r.platform.database import Database, TenantBinding
from w4r.tenants.models import MemberRole
from w4r.tenants.repository import MemberRepository
from w4r.tenants.service import SectionDraft, SectionService

SessionFactory = Callable[[TenantBinding], AsyncSession]

INSERT_MEMBER_FOR = text(
    "insert into section_members (section_id, email, display_name, role) "
    "values (:section_id, :email, 'Someone', 'section-editor')"
)


async def create_section(factory: SessionFactory) -> uuid.UUID:
    session = factory(TenantBinding.global_scope())
    code = "zz-" + uuid.uuid4().hex[:6]
    section = await SectionService(session).create(
        SectionDraft(
            code=code, name=code, country="GB", languages=["en"], time_zone="Europe/London"
        )
    )
    await session.commit()
    return section.id


async def add_member(factory: SessionFactory, section_id: uuid.UUID, email: str) -> None:
    session = factory(TenantBinding.for_section(section_id))
    await MemberRepository(session).insert(
        email=email, display_name="Canary", role=MemberRole.SECTION_EDITOR
    )
    await session.commit()


async def emails(session: AsyncSession) -> list[str]:
    result = await session.execute(text("select email from section_members order by email"))
    return [email for (email,) in result]


async def test_a_bound_section_sees_only_its_own_rows(app_session_factory: SessionFactory) -> None:
    # Given two sections with one member each
    first, second = (
        await create_section(app_session_factory),
        await create_section(app_session_factory),
    )
    await add_member(app_session_factory, first, "first@example.org")
    await add_member(app_session_factory, second, "second@example.org")

    # When each reads the members table without any filter
    seen_by_first = await emails(app_session_factory(TenantBinding.for_section(first)))
    seen_by_second = await emails(app_session_factory(TenantBinding.for_section(second)))

    # Then each sees only its own
    assert seen_by_first == ["first@example.org"]
    assert seen_by_second == ["second@example.org"]


async def test_the_global_scope_sees_no_tenant_rows_and_cannot_insert(
    app_session_factory: SessionFactory,
) -> None:
    section = await create_section(app_session_factory)
    await add_member(app_session_factory, section, "member@example.org")

    session = app_session_factory(TenantBinding.global_scope())
    assert await emails(session) == []
    with pytest.raises(DBAPIError, match="row-level security"):
        async with session.begin_nested():
            await session.execute(
                INSERT_MEMBER_FOR, {"section_id": section, "email": "x@example.org"}
            )


async def test_with_no_section_bound_tenant_tables_read_empty_and_inserts_fail(
    app_connection: AsyncConnection,
    app_session_factory: SessionFactory,
) -> None:
    # Given a section with a member, and a plain transaction on which nothing was bound
    section = await create_section(app_session_factory)
    await add_member(app_session_factory, section, "member@example.org")
    unbound = await app_connection.execute(
        text("select current_setting('w4r.section_id', true), current_user")
    )
    await app_connection.execute(text("select set_config('w4r.section_id', '', true)"))

    # Then the table reads empty and an insert naming the section is refused
    assert unbound.one()[1] == "w4r_app"
    count = await app_connection.execute(text("select count(*) from section_members"))
    assert count.scalar_one() == 0
    savepoint = await app_connection.begin_nested()
    with pytest.raises(DBAPIError, match="row-level security"):
        await app_connection.execute(
            INSERT_MEMBER_FOR, {"section_id": section, "email": "x@example.org"}
        )
    await savepoint.rollback()


async def test_a_section_cannot_write_rows_for_another_section(
    app_session_factory: SessionFactory,
) -> None:
    first, second = (
        await create_section(app_session_factory),
        await create_section(app_session_factory),
    )
    session = app_session_factory(TenantBinding.for_section(first))
    with pytest.raises(DBAPIError, match="row-level security"):
        async with session.begin_nested():
            await session.execute(
                INSERT_MEMBER_FOR, {"section_id": second, "email": "x@example.org"}
            )
    assert await emails(app_session_factory(TenantBinding.for_section(second))) == []


async def test_a_section_cannot_move_its_rows_to_another_section(
    app_session_factory: SessionFactory,
) -> None:
    first, second = (
        await create_section(app_session_factory),
        await create_section(app_session_factory),
    )
    await add_member(app_session_factory, first, "mover@example.org")
    session = app_session_factory(TenantBinding.for_section(first))
    with pytest.raises(DBAPIError, match="row-level security"):
        async with session.begin_nested():
            await session.execute(
                text("update section_members set section_id = :other"), {"other": second}
            )
    assert await emails(session) == ["mover@example.org"]


async def test_a_garbage_section_setting_fails_closed(app_connection: AsyncConnection) -> None:
    await app_connection.execute(text("select set_config('w4r.section_id', 'gb', true)"))
    savepoint = await app_connection.begin_nested()
    with pytest.raises(DBAPIError, match="invalid input syntax for type uuid"):
        await app_connection.execute(text("select count(*) from section_members"))
    await savepoint.rollback()


async def test_the_binding_is_transaction_local_and_never_outlives_the_request(
    app_engine: AsyncEngine,
) -> None:
    # Given a pool of app connections and a session bound to a section that committed
    database = Database(app_engine)
    section_id = uuid.uuid4()
    async with database.session(TenantBinding.for_section(section_id)) as session:
        inside = await session.execute(text("select current_setting('w4r.section_id', true)"))
        assert inside.scalar_one() == str(section_id)
        await session.commit()
        # A transaction begun after the commit by the same session is bound again
        again = await session.execute(text("select current_setting('w4r.section_id', true)"))
        assert again.scalar_one() == str(section_id)
        await session.rollback()

    # When any pooled connection is used next without a binding
    async with app_engine.connect() as connection:
        leftover = await connection.execute(
            text("select coalesce(current_setting('w4r.section_id', true), '')")
        )
        # Then no section is set on it
        assert leftover.scalar_one() == ""


async def test_every_session_transaction_binds_before_its_first_statement(
    app_engine: AsyncEngine,
) -> None:
    database = Database(app_engine)
    async with database.session(TenantBinding.global_scope()) as session:
        result = await session.execute(
            text(
                "select current_setting('w4r.section_id', true), current_setting('w4r.scope', true)"
            )
        )
        assert result.one() == ("", "global")
