"""Which section a request is for: by host, header, path or token, and refusals."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import GraphQLClient
from w4r.platform.auth import Role
from w4r.platform.errors import (
    SectionConflictError,
    SectionForbiddenError,
    SectionNotFoundError,
)
from w4r.tenants.registry import RegistrySnapshot, SectionRegistry
from w4r.tenants.repository import RegistryRow
from w4r.tenants.resolution import RequestHints, host_name, resolve_section

GB = RegistryRow(id=uuid.uuid4(), code="gb", hosts=("w4r.amnesty.org.uk",))
PL = RegistryRow(id=uuid.uuid4(), code="pl", hosts=("w4r.amnesty.org.pl", "pisz.amnesty.pl"))
SNAPSHOT = RegistrySnapshot.from_rows([GB, PL])

CURRENT_SECTION = "{ section { code } }"
SECTION_HOST_ADD = """
mutation ($input: SectionHostAddInput!) {
  sectionHostAdd(input: $input) { section { code hosts } errors { code message } }
}
"""


def code_of(hints: RequestHints) -> str | None:
    section = resolve_section(SNAPSHOT, hints)
    return None if section is None else section.code


@pytest.mark.parametrize(
    ("hints", "expected"),
    [
        (RequestHints(), None),
        (RequestHints(host="api.example.org"), None),
        (RequestHints(host="pisz.amnesty.pl"), "pl"),
        (RequestHints(header="gb"), "gb"),
        (RequestHints(header=" GB "), "gb"),
        (RequestHints(path_code="pl"), "pl"),
        (RequestHints(token_section="gb"), "gb"),
        (RequestHints(host="w4r.amnesty.org.uk", header="gb", path_code="gb"), "gb"),
        (RequestHints(path_code="pl", token_section="pl"), "pl"),
        (RequestHints(host="w4r.amnesty.org.pl", token_section="pl"), "pl"),
    ],
)
def test_the_section_comes_from_whichever_sources_name_it(
    hints: RequestHints, expected: str | None
) -> None:
    assert code_of(hints) == expected


@pytest.mark.parametrize(
    "hints",
    [
        RequestHints(host="w4r.amnesty.org.uk", header="pl"),
        RequestHints(header="gb", path_code="pl"),
        RequestHints(host="w4r.amnesty.org.pl", path_code="gb"),
    ],
)
def test_sources_that_disagree_are_refused(hints: RequestHints) -> None:
    with pytest.raises(SectionConflictError, match="more than one section"):
        resolve_section(SNAPSHOT, hints)


@pytest.mark.parametrize(
    "hints",
    [RequestHints(header="xx"), RequestHints(path_code="zz"), RequestHints(token_section="no")],
)
def test_an_unknown_section_is_refused(hints: RequestHints) -> None:
    with pytest.raises(SectionNotFoundError):
        resolve_section(SNAPSHOT, hints)


@pytest.mark.parametrize(
    "hints",
    [
        RequestHints(path_code="pl", token_section="gb"),
        RequestHints(host="w4r.amnesty.org.pl", token_section="gb"),
        RequestHints(header="pl", token_section="gb"),
    ],
)
def test_a_token_bound_to_another_section_is_refused(hints: RequestHints) -> None:
    with pytest.raises(SectionForbiddenError, match="belongs to section 'gb'"):
        resolve_section(SNAPSHOT, hints)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("W4R.Amnesty.org.uk", "w4r.amnesty.org.uk"),
        ("w4r.amnesty.org.uk:8443", "w4r.amnesty.org.uk"),
        ("w4r.amnesty.org.uk.", "w4r.amnesty.org.uk"),
        ("[::1]:8000", "[::1]"),
        ("127.0.0.1:8000", "127.0.0.1"),
    ],
)
def test_host_names_lose_port_case_and_trailing_dot(
    header: str | None, expected: str | None
) -> None:
    assert host_name(header) == expected


hint_values = st.one_of(st.none(), st.sampled_from(["gb", "pl", "xx", "GB", " pl"]))
host_values = st.one_of(
    st.none(), st.sampled_from(["w4r.amnesty.org.uk", "pisz.amnesty.pl", "other.example"])
)


@given(host=host_values, header=hint_values, path=hint_values, token=hint_values)
def test_resolution_never_returns_a_section_that_a_source_contradicts(
    host: str | None, header: str | None, path: str | None, token: str | None
) -> None:
    hints = RequestHints(host=host, header=header, path_code=path, token_section=token)
    try:
        section = resolve_section(SNAPSHOT, hints)
    except (SectionConflictError, SectionNotFoundError, SectionForbiddenError):
        return
    named = [value.strip().lower() for value in (header, path) if value is not None]
    if host is not None and host in SNAPSHOT.by_host:
        named.append(SNAPSHOT.by_host[host].code)
    if token is not None:
        named.append(token)
    if section is None:
        assert named == []
    else:
        assert set(named) == {section.code}


async def test_the_registry_reloads_after_its_ttl_or_when_invalidated() -> None:
    loads: list[int] = []
    rows = [GB]

    async def load() -> list[RegistryRow]:
        loads.append(1)
        return list(rows)

    registry = SectionRegistry(load, ttl_seconds=3600)
    assert set((await registry.snapshot()).by_code) == {"gb"}
    rows.append(PL)
    assert set((await registry.snapshot()).by_code) == {"gb"}  # cached
    registry.invalidate()
    assert set((await registry.snapshot()).by_code) == {"gb", "pl"}
    assert len(loads) == 2

    uncached = SectionRegistry(load, ttl_seconds=0)
    await uncached.snapshot()
    await uncached.snapshot()
    assert len(loads) == 4


# --- through HTTP -----------------------------------------------------------------------


async def test_http_section_by_path_header_and_host(
    graphql: GraphQLClient, new_section: Callable[..., Awaitable[dict[str, Any]]]
) -> None:
    # Given a section with a host name
    code = (await new_section())["code"]
    host = f"{code}.w4r.example"
    added = await graphql.data(
        SECTION_HOST_ADD, {"input": {"code": code, "host": host}}, role=Role.IS_ADMIN
    )
    assert added["sectionHostAdd"] == {"section": {"code": code, "hosts": [host]}, "errors": []}

    # Then each source on its own selects it
    assert await graphql.data(CURRENT_SECTION, section=code) == {"section": {"code": code}}
    assert await graphql.data(CURRENT_SECTION, headers={"W4R-Section": code}) == {
        "section": {"code": code}
    }
    assert await graphql.data(CURRENT_SECTION, headers={"host": f"{host}:8000"}) == {
        "section": {"code": code}
    }
    # And no source means the global scope
    assert await graphql.data(CURRENT_SECTION) == {"section": None}


async def test_http_conflicting_sources_are_400(
    graphql: GraphQLClient, new_section: Callable[..., Awaitable[dict[str, Any]]]
) -> None:
    first, second = (await new_section())["code"], (await new_section())["code"]
    response = await graphql.post(CURRENT_SECTION, section=first, headers={"W4R-Section": second})
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "SECTION_CONFLICT"


async def test_http_unknown_section_is_404(graphql: GraphQLClient) -> None:
    response = await graphql.post(CURRENT_SECTION, section="zz-nosuch")
    assert response.status_code == 404
    body = response.json()
    assert body["errors"][0]["extensions"]["code"] == "SECTION_NOT_FOUND"
    assert "zz-nosuch" in body["errors"][0]["message"]


async def test_http_a_token_bound_to_another_section_is_403(
    graphql: GraphQLClient, new_section: Callable[..., Awaitable[dict[str, Any]]]
) -> None:
    first, second = (await new_section())["code"], (await new_section())["code"]
    response = await graphql.post(
        CURRENT_SECTION, role=Role.SECTION_ADMIN, token_section=first, section=second
    )
    assert response.status_code == 403
    body = response.json()
    assert body == {
        "errors": [
            {
                "message": f"This token belongs to section {first!r} and cannot be used for "
                f"section {second!r}.",
                "extensions": {"code": "SECTION_FORBIDDEN"},
            }
        ]
    }


async def test_http_a_section_token_alone_selects_its_section(
    graphql: GraphQLClient, new_section: Callable[..., Awaitable[dict[str, Any]]]
) -> None:
    code = (await new_section())["code"]
    data = await graphql.data(CURRENT_SECTION, role=Role.SECTION_EDITOR, token_section=code)
    assert data == {"section": {"code": code}}


async def test_http_is_staff_may_work_in_any_section(
    graphql: GraphQLClient, new_section: Callable[..., Awaitable[dict[str, Any]]]
) -> None:
    code = (await new_section())["code"]
    data = await graphql.data(CURRENT_SECTION, role=Role.IS_ANALYST, section=code)
    assert data == {"section": {"code": code}}
