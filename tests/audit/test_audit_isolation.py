"""The audit log as the app role: append-only, a section sees its rows, the IS every row."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from tests.platform.test_tenant_binding import create_section
from w4r.audit.repository import AuditFilterSpec, AuditRepository
from w4r.platform.database import TenantBinding

SessionFactory = Callable[[TenantBinding], AsyncSession]


def entry(action: str, **values: Any) -> dict[str, Any]:
    return {
        "actor_role": "section-admin",
        "actor_subject": "someone",
        "action": action,
        "outcome": "ok",
        "request_id": uuid.uuid4().hex,
        **values,
    }


async def append(factory: SessionFactory, binding: TenantBinding, action: str) -> None:
    session = factory(binding)
    await AuditRepository(session).append([entry(action)])
    await session.commit()


async def visible(factory: SessionFactory, binding: TenantBinding, marker: str) -> list[str]:
    """The actions carrying ``marker`` that a session bound to ``binding`` sees."""
    rows = await AuditRepository(factory(binding)).page(AuditFilterSpec(), before=None, limit=100)
    return sorted(row.action for row in rows if marker in row.action)


async def test_a_section_sees_its_rows_and_the_global_scope_sees_every_row(
    app_session_factory: SessionFactory,
) -> None:
    # given rows of two sections and one of the IS
    first = await create_section(app_session_factory)
    second = await create_section(app_session_factory)
    marker = uuid.uuid4().hex[:8]
    await append(app_session_factory, TenantBinding.for_section(first), f"first-{marker}")
    await append(app_session_factory, TenantBinding.for_section(second), f"second-{marker}")
    await append(app_session_factory, TenantBinding.global_scope(), f"global-{marker}")

    # then each section sees its own, the IS all, an unbound session nothing
    assert await visible(app_session_factory, TenantBinding.for_section(first), marker) == [
        f"first-{marker}"
    ]
    assert await visible(app_session_factory, TenantBinding.for_section(second), marker) == [
        f"second-{marker}"
    ]
    assert await visible(app_session_factory, TenantBinding.global_scope(), marker) == [
        f"first-{marker}",
        f"global-{marker}",
        f"second-{marker}",
    ]
    unbound = app_session_factory(TenantBinding.global_scope())
    unbound.info.pop("tenant")
    count = (await unbound.execute(text("select count(*) from audit_log"))).scalar_one()
    assert count == 0


async def test_rows_take_the_bound_section_and_no_other(
    app_session_factory: SessionFactory,
) -> None:
    first = await create_section(app_session_factory)
    second = await create_section(app_session_factory)
    marker = uuid.uuid4().hex[:8]
    await append(app_session_factory, TenantBinding.for_section(first), f"mine-{marker}")
    await append(app_session_factory, TenantBinding.global_scope(), f"is-{marker}")

    global_session = app_session_factory(TenantBinding.global_scope())
    result = await global_session.execute(
        text("select action, section_id from audit_log where action like :m"),
        {"m": f"%{marker}"},
    )
    sections: dict[str, uuid.UUID | None] = {row.action: row.section_id for row in result}
    assert sections == {f"mine-{marker}": first, f"is-{marker}": None}

    # a section cannot write a row of another section, nor of the IS
    session = app_session_factory(TenantBinding.for_section(first))
    for other in (second, None):
        with pytest.raises(DBAPIError, match="row-level security"):
            async with session.begin_nested():
                await session.execute(
                    text(
                        "insert into audit_log (section_id, actor_role, action, outcome, "
                        "request_id) values (:section, 'x', 'forged', 'ok', 'r')"
                    ),
                    {"section": other},
                )


@pytest.mark.parametrize(
    "statement",
    ["update audit_log set outcome = 'ok'", "delete from audit_log", "truncate audit_log"],
)
async def test_the_app_can_neither_change_nor_remove_a_row(
    app_session_factory: SessionFactory, statement: str
) -> None:
    session = app_session_factory(TenantBinding.global_scope())
    with pytest.raises(DBAPIError, match="permission denied"):
        async with session.begin_nested():
            await session.execute(text(statement))
