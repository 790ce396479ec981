"""A small pool, many concurrent requests alternating between sections, some failing half
way through their transaction: no response ever shows another section's rows, and nothing a
failed request wrote survives."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import text
from starlette.applications import Starlette

from tests.conftest import GraphQLClient, unique_code
from w4r.platform.auth import Role

MEMBER_ADD = """
mutation ($input: SectionMemberAddInput!) {
  sectionMemberAdd(input: $input) { member { email } errors { code } }
}
"""

MEMBERS = "{ section { code members(first: 100) { nodes { email } } } }"

# The first mutation writes a member; the second is refused, so the whole request rolls back.
WRITE_THEN_FAIL = """
mutation ($member: SectionMemberAddInput!, $section: SectionCreateInput!) {
  written: sectionMemberAdd(input: $member) { member { email } errors { code } }
  refused: sectionCreate(input: $section) { section { code } errors { code } }
}
"""

SECTIONS = 4
REQUESTS = 240
CONCURRENCY = 24


def canary(code: str) -> str:
    return f"canary-{code}@example.org"


async def test_no_request_sees_another_sections_rows_on_a_small_shared_pool(
    app: Starlette,
    graphql: GraphQLClient,
    new_section: Callable[..., Awaitable[dict[str, Any]]],
) -> None:
    # Given four sections, each with one canary member
    codes = [(await new_section())["code"] for _ in range(SECTIONS)]
    for code in codes:
        data = await graphql.data(
            MEMBER_ADD,
            {"input": {"email": canary(code), "displayName": "Canary", "role": "SECTION_EDITOR"}},
            role=Role.SECTION_ADMIN,
            token_section=code,
            section=code,
        )
        assert data["sectionMemberAdd"]["errors"] == []

    # When many requests run at once on a pool of four connections, alternating sections,
    # one in three writing a member and then failing
    semaphore = asyncio.Semaphore(CONCURRENCY)
    leaks: list[str] = []

    async def read(code: str) -> None:
        data = await graphql.data(
            MEMBERS, role=Role.SECTION_ADMIN, token_section=code, section=code
        )
        seen = {node["email"] for node in data["section"]["members"]["nodes"]}
        if data["section"]["code"] != code or seen != {canary(code)}:
            leaks.append(f"{code} saw {sorted(seen)}")

    async def write_then_fail(code: str, number: int) -> None:
        response = await graphql.post(
            WRITE_THEN_FAIL,
            {
                "member": {
                    "email": f"ghost-{number}@example.org",
                    "displayName": "Ghost",
                    "role": "SECTION_EDITOR",
                },
                "section": {
                    "code": unique_code(),
                    "name": "Never",
                    "country": "GB",
                    "languages": ["en"],
                    "timeZone": "Europe/London",
                },
            },
            role=Role.SECTION_ADMIN,
            token_section=code,
            section=code,
        )
        body = response.json()
        # The refused payload is non-null, so its error nulls the whole data.
        assert body["data"] is None
        assert [(error["path"], error["extensions"]["code"]) for error in body["errors"]] == [
            (["refused"], "FORBIDDEN")
        ]

    async def one(number: int, code: str) -> None:
        async with semaphore:
            if number % 3 == 0:
                await write_then_fail(code, number)
            else:
                await read(code)

    await asyncio.gather(
        *(
            one(number, code)
            for number, code in zip(range(REQUESTS), itertools.cycle(codes), strict=False)
        )
    )

    # Then nobody saw another section's canary, and no failed write (ghost) survived
    assert leaks == []
    for code in codes:
        data = await graphql.data(
            MEMBERS, role=Role.SECTION_ADMIN, token_section=code, section=code
        )
        assert [node["email"] for node in data["section"]["members"]["nodes"]] == [canary(code)]

    # And no pooled connection keeps a section binding
    engine = app.state.database.engine
    connections = [await engine.connect() for _ in range(engine.pool.size())]
    try:
        for connection in connections:
            setting = await connection.execute(
                text("select coalesce(current_setting('w4r.section_id', true), '')")
            )
            assert setting.scalar_one() == ""
    finally:
        for connection in connections:
            await connection.close()
