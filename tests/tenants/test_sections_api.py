"""Sections, their hosts and their members through the GraphQL API (HTTP, real database)."""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from tests.conftest import GraphQLClient, section_input, unique_code
from w4r.platform.auth import Role

NewSection = Callable[..., Awaitable[dict[str, Any]]]

SECTION_CREATE = """
mutation ($input: SectionCreateInput!) {
  sectionCreate(input: $input) {
    section { code name country languages defaultLanguage timeZone hosts }
    errors { field code message }
  }
}
"""
SECTION_UPDATE = """
mutation ($input: SectionUpdateInput!) {
  sectionUpdate(input: $input) {
    section { code name country languages defaultLanguage timeZone }
    errors { field code message }
  }
}
"""
SECTION_HOST_ADD = """
mutation ($input: SectionHostAddInput!) {
  sectionHostAdd(input: $input) {
    section { code hosts }
    errors { field code message }
  }
}
"""
CURRENT_SECTION = "{ section { code name country languages defaultLanguage timeZone hosts } }"
CURRENT_SECTION_CODE = "{ section { code } }"
SECTIONS_PAGE = """
query ($first: Int, $after: String) {
  sections(first: $first, after: $after) {
    edges { cursor node { code } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
SECTION_WITH_MEMBERS_AFTER = """
query ($after: String) {
  sections(first: 1, after: $after) {
    edges { node { code members(first: 20) { edges { node { email } } } } }
  }
}
"""
MEMBER_ADD = """
mutation ($input: SectionMemberAddInput!) {
  sectionMemberAdd(input: $input) {
    member { id email displayName role }
    errors { field code message }
  }
}
"""
MEMBER_REMOVE = """
mutation ($input: SectionMemberRemoveInput!) {
  sectionMemberRemove(input: $input) {
    removedMemberId
    errors { field code message }
  }
}
"""
MEMBERS_PAGE = """
query ($first: Int, $after: String) {
  section {
    members(first: $first, after: $after) {
      edges { cursor node { id email displayName role } }
      pageInfo { hasNextPage endCursor }
    }
  }
}
"""

UNKNOWN_MEMBER_ID = "00000000-0000-4000-8000-000000000000"


# --- helpers -----------------------------------------------------------------------------


def forge(value: object) -> str:
    """A cursor the server never gave: ``value`` as JSON in base64url, like real ones."""
    raw = json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def host_for(code: str, label: str = "w4r") -> str:
    return f"{label}.{code}.example.org"


def problems(payload: dict[str, Any]) -> list[tuple[str | None, str]]:
    """A payload's ``errors`` as sorted (field, code) pairs."""
    return sorted(
        ((error["field"], error["code"]) for error in payload["errors"]),
        key=lambda pair: (pair[0] or "", pair[1]),
    )


def top_level_codes(response: httpx.Response) -> list[str]:
    body = response.json()
    return [error["extensions"]["code"] for error in body["errors"]]


async def current_section(graphql: GraphQLClient, code: str) -> dict[str, Any] | None:
    """The section at /s/<code>/graphql, or None when no section has that code (404)."""
    response = await graphql.post(CURRENT_SECTION, section=code)
    if response.status_code == 404:
        assert top_level_codes(response) == ["SECTION_NOT_FOUND"]
        return None
    assert response.status_code == 200, response.json()
    section: dict[str, Any] = response.json()["data"]["section"]
    return section


async def section_code_for_host(graphql: GraphQLClient, host: str) -> str | None:
    """The code of the section a request with ``Host: host`` resolves to (None: global)."""
    data = await graphql.data(CURRENT_SECTION_CODE, headers={"host": host})
    section = data["section"]
    return None if section is None else str(section["code"])


async def create(graphql: GraphQLClient, values: dict[str, Any], **options: Any) -> dict[str, Any]:
    """The ``sectionCreate`` payload for ``values`` as an IS admin (unless told otherwise)."""
    options.setdefault("role", Role.IS_ADMIN)
    data = await graphql.data(SECTION_CREATE, {"input": values}, **options)
    payload: dict[str, Any] = data["sectionCreate"]
    return payload


async def all_section_edges(graphql: GraphQLClient, first: int) -> list[dict[str, Any]]:
    """Every section edge, paging ``first`` at a time as an IS admin."""
    edges: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        data = await graphql.data(
            SECTIONS_PAGE, {"first": first, "after": after}, role=Role.IS_ADMIN
        )
        page = data["sections"]
        assert len(page["edges"]) <= first
        edges.extend(page["edges"])
        if not page["pageInfo"]["hasNextPage"]:
            assert page["pageInfo"]["endCursor"] == (
                page["edges"][-1]["cursor"] if page["edges"] else None
            )
            return edges
        assert len(page["edges"]) == first
        after = page["pageInfo"]["endCursor"]
        assert after == page["edges"][-1]["cursor"]


async def cursor_before(graphql: GraphQLClient, code: str) -> str | None:
    """The cursor after which ``sections`` starts with ``code`` (None: it is the first)."""
    edges = await all_section_edges(graphql, 100)
    codes = [edge["node"]["code"] for edge in edges]
    position = codes.index(code)
    return None if position == 0 else str(edges[position - 1]["cursor"])


async def add_member(
    graphql: GraphQLClient,
    code: str,
    email: str,
    display_name: str = "Ada Member",
    role: str = "SECTION_EDITOR",
) -> dict[str, Any]:
    """``sectionMemberAdd`` as the section's own admin, at its path."""
    data = await graphql.data(
        MEMBER_ADD,
        {"input": {"email": email, "displayName": display_name, "role": role}},
        role=Role.SECTION_ADMIN,
        token_section=code,
        section=code,
    )
    payload: dict[str, Any] = data["sectionMemberAdd"]
    return payload


async def member_emails(graphql: GraphQLClient, code: str) -> list[str]:
    """Every member email of section ``code``, as its own admin sees them (all pages)."""
    emails: list[str] = []
    after: str | None = None
    while True:
        data = await graphql.data(
            MEMBERS_PAGE,
            {"first": 100, "after": after},
            role=Role.SECTION_ADMIN,
            token_section=code,
            section=code,
        )
        members = data["section"]["members"]
        emails.extend(edge["node"]["email"] for edge in members["edges"])
        if not members["pageInfo"]["hasNextPage"]:
            return emails
        after = members["pageInfo"]["endCursor"]


# --- sectionCreate -----------------------------------------------------------------------


async def test_section_create_returns_normalized_values(graphql: GraphQLClient) -> None:
    # given an IS admin's input in loose but valid forms
    code = unique_code()
    values = {
        "code": f"  {code.upper()} ",
        "name": "  Amnesty   International\tTest ",
        "country": " ca ",
        "languages": ["fr_ca", "EN"],
        "timeZone": "America/Toronto",
        "hosts": [f"W4R.{code.upper()}.Example.ORG.", host_for(code, "second")],
    }

    # when it creates the section
    payload = await create(graphql, values)

    # then the section is returned normalized; the default language is the first one
    expected = {
        "code": code,
        "name": "Amnesty International Test",
        "country": "CA",
        "languages": ["fr-CA", "en"],
        "defaultLanguage": "fr-CA",
        "timeZone": "America/Toronto",
        "hosts": [host_for(code, "second"), host_for(code)],
    }
    assert payload == {"section": expected, "errors": []}
    # and the section's own endpoint answers with it
    assert await current_section(graphql, code) == expected


async def test_section_create_keeps_the_given_default_language(graphql: GraphQLClient) -> None:
    # given languages and an explicit default among them (in another spelling)
    code = unique_code()
    values = section_input(code, languages=["en", "cy"], defaultLanguage="CY")

    # when an IS admin creates the section
    payload = await create(graphql, values)

    # then the default is the canonical form of the one given
    assert payload["errors"] == []
    assert payload["section"]["languages"] == ["en", "cy"]
    assert payload["section"]["defaultLanguage"] == "cy"
    assert payload["section"]["hosts"] == []


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        pytest.param({"country": "XX"}, [("country", "UNKNOWN_COUNTRY")], id="unknown-country"),
        pytest.param(
            {"languages": ["en", "xx-notreal"]},
            [("languages", "UNKNOWN_LANGUAGE")],
            id="unknown-language",
        ),
        pytest.param(
            {"timeZone": "Mars/Olympus_Mons"},
            [("timeZone", "UNKNOWN_TIME_ZONE")],
            id="unknown-time-zone",
        ),
        pytest.param(
            {"languages": ["en"], "defaultLanguage": "fr"},
            [("defaultLanguage", "INVALID")],
            id="default-language-not-listed",
        ),
        pytest.param({"name": "  \t "}, [("name", "REQUIRED")], id="empty-name"),
        pytest.param({"name": "x" * 201}, [("name", "TOO_LONG")], id="long-name"),
        pytest.param({"languages": []}, [("languages", "REQUIRED")], id="no-language"),
    ],
)
async def test_section_create_refuses_an_invalid_field(
    graphql: GraphQLClient, overrides: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    # given an input with one invalid field and a valid host
    code = unique_code()
    host = host_for(code)
    values = section_input(code, hosts=[host], **overrides)

    # when an IS admin tries to create the section
    payload = await create(graphql, values)

    # then the payload names the field and its stable code, with a message
    assert payload["section"] is None
    assert problems(payload) == expected
    assert all(error["message"] for error in payload["errors"])
    # and nothing was written: neither the section nor its host
    assert await current_section(graphql, code) is None
    assert await section_code_for_host(graphql, host) is None


async def test_section_create_refuses_a_bad_code_format(graphql: GraphQLClient) -> None:
    # given a code that is no section code (an underscore) and a valid host
    code = unique_code()
    host = host_for(code)
    values = section_input(code.replace("-", "_"), hosts=[host])

    # when an IS admin tries to create the section
    payload = await create(graphql, values)

    # then the code is refused and nothing was written
    assert payload["section"] is None
    assert problems(payload) == [("code", "INVALID")]
    assert await current_section(graphql, code) is None
    assert await section_code_for_host(graphql, host) is None


@pytest.mark.parametrize(
    "bad_host",
    [
        "https://w4r.example.org",
        "w4r.example.org:8443",
        "w4r.example.org/path",
        "under_score.example.org",
        "-dash.example.org",
        "",
    ],
)
async def test_section_create_refuses_a_bad_host(graphql: GraphQLClient, bad_host: str) -> None:
    # given a host that is not a bare DNS name
    code = unique_code()
    values = section_input(code, hosts=[bad_host])

    # when an IS admin tries to create the section
    payload = await create(graphql, values)

    # then the hosts field is refused and the section does not exist
    assert payload["section"] is None
    assert problems(payload) == [("hosts", "INVALID")]
    assert await current_section(graphql, code) is None


async def test_section_create_reports_every_problem_at_once(graphql: GraphQLClient) -> None:
    # given an input where every field but the code is wrong, plus one good host
    code = unique_code()
    good_host = host_for(code)
    values = {
        "code": code,
        "name": "   ",
        "country": "XX",
        "languages": ["en", "xx-notreal"],
        "defaultLanguage": "fr",
        "timeZone": "Mars/Olympus_Mons",
        "hosts": [good_host, "https://bad.example.org:8443/"],
    }

    # when an IS admin tries to create the section
    payload = await create(graphql, values)

    # then every problem is reported in one answer
    assert payload["section"] is None
    assert problems(payload) == [
        ("country", "UNKNOWN_COUNTRY"),
        ("defaultLanguage", "INVALID"),
        ("hosts", "INVALID"),
        ("languages", "UNKNOWN_LANGUAGE"),
        ("name", "REQUIRED"),
        ("timeZone", "UNKNOWN_TIME_ZONE"),
    ]
    # and nothing was written
    assert await current_section(graphql, code) is None
    assert await section_code_for_host(graphql, good_host) is None


async def test_section_create_reports_a_bad_code_with_the_other_problems(
    graphql: GraphQLClient,
) -> None:
    # given a bad code and a bad country
    values = section_input("Not A Code!", country="XX")

    # when an IS admin tries to create the section
    payload = await create(graphql, values)

    # then both are reported
    assert payload["section"] is None
    assert problems(payload) == [("code", "INVALID"), ("country", "UNKNOWN_COUNTRY")]


async def test_section_create_refuses_a_duplicate_code(
    graphql: GraphQLClient, new_section: NewSection
) -> None:
    # given an existing section
    existing = await new_section(name="The first one")
    code = existing["code"]

    # when an IS admin creates another one with the same code in upper case
    payload = await create(graphql, section_input(code.upper(), name="The second one"))

    # then the code already exists and the first section is unchanged
    assert payload["section"] is None
    assert problems(payload) == [("code", "ALREADY_EXISTS")]
    section = await current_section(graphql, code)
    assert section is not None
    assert section["name"] == "The first one"


async def test_section_create_refuses_a_host_of_another_section(
    graphql: GraphQLClient, new_section: NewSection
) -> None:
    # given a section that owns a host
    first_code = unique_code()
    host = host_for(first_code)
    await new_section(code=first_code, hosts=[host])

    # when an IS admin creates another section with that host (spelled differently)
    second_code = unique_code()
    payload = await create(graphql, section_input(second_code, hosts=[host.upper() + "."]))

    # then the host already exists, the second section was not created
    assert payload["section"] is None
    assert problems(payload) == [("hosts", "ALREADY_EXISTS")]
    assert await current_section(graphql, second_code) is None
    # and the host still identifies the first section
    assert await section_code_for_host(graphql, host) == first_code


@pytest.mark.parametrize(
    ("role", "bound"),
    [
        pytest.param(None, False, id="anonymous"),
        pytest.param(Role.SECTION_ADMIN, True, id="section-admin"),
        pytest.param(Role.SECTION_EDITOR, True, id="section-editor"),
        pytest.param(Role.IS_ANALYST, False, id="is-analyst"),
        pytest.param(Role.PARTNER_APP, False, id="partner-app"),
    ],
)
async def test_section_create_is_refused_to_everyone_but_is_admins(
    graphql: GraphQLClient, new_section: NewSection, role: Role | None, bound: bool
) -> None:
    # given a caller who is not an IS admin (section roles bound to an existing section)
    own = await new_section()
    token_section = own["code"] if bound else None
    code = unique_code()
    host = host_for(code)

    # when it calls sectionCreate
    response = await graphql.post(
        SECTION_CREATE,
        {"input": section_input(code, hosts=[host])},
        role=role,
        token_section=token_section,
    )

    # then a top-level FORBIDDEN error, no payload
    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None
    assert top_level_codes(response) == ["FORBIDDEN"]
    assert body["errors"][0]["path"] == ["sectionCreate"]
    # and nothing was written
    assert await current_section(graphql, code) is None
    assert await section_code_for_host(graphql, host) is None


# --- sectionUpdate -----------------------------------------------------------------------


async def test_is_admin_updates_a_section(graphql: GraphQLClient, new_section: NewSection) -> None:
    # given a section in English
    code = (await new_section())["code"]

    # when an IS admin changes its name, languages and time zone
    data = await graphql.data(
        SECTION_UPDATE,
        {
            "input": {
                "code": code,
                "name": " Amnesty  Cymru ",
                "languages": ["en", "cy_gb"],
                "timeZone": "Europe/Dublin",
            }
        },
        role=Role.IS_ADMIN,
    )

    # then the changes are returned normalized; the default (still offered) is kept
    expected = {
        "code": code,
        "name": "Amnesty Cymru",
        "country": "GB",
        "languages": ["en", "cy-GB"],
        "defaultLanguage": "en",
        "timeZone": "Europe/Dublin",
    }
    assert data["sectionUpdate"] == {"section": expected, "errors": []}
    # and they were saved
    section = await current_section(graphql, code)
    assert section == {**expected, "hosts": []}


async def test_section_admin_updates_its_own_section(
    graphql: GraphQLClient, new_section: NewSection
) -> None:
    # given a section and its admin (token bound to it, calling at its path)
    code = (await new_section())["code"]

    # when the admin renames the section
    data = await graphql.data(
        SECTION_UPDATE,
        {"input": {"code": code, "name": "Renamed by its admin"}},
        role=Role.SECTION_ADMIN,
        token_section=code,
        section=code,
    )

    # then the name changed and nothing else
    assert data["sectionUpdate"]["errors"] == []
    assert data["sectionUpdate"]["section"]["name"] == "Renamed by its admin"
    section = await current_section(graphql, code)
    assert section is not None
    assert section["name"] == "Renamed by its admin"
    assert section["languages"] == ["en"]


async def test_section_admin_cannot_update_another_section(
    graphql: GraphQLClient, new_section: NewSection
) -> None:
    # given two sections; the caller administers the second one
    target = (await new_section(name="Untouched"))["code"]
    own = (await new_section())["code"]

    # when the admin of the second tries to rename the first
    response = await graphql.post(
        SECTION_UPDATE,
        {"input": {"code": target, "name": "Hijacked"}},
        role=Role.SECTION_ADMIN,
        token_section=own,
        section=own,
    )

    # then it is refused with a top-level FORBIDDEN error
    assert response.status_code == 200
    assert response.json()["data"] is None
    assert top_level_codes(response) == ["FORBIDDEN"]
    # and the first section is unchanged
    section = await current_section(graphql, target)
    assert section is not None
    assert section["name"] == "Untouched"


@pytest.mark.parametrize("role", [Role.SECTION_EDITOR, Role.IS_ANALYST, Role.PARTNER_APP])
async def test_section_update_is_refused_to_other_roles(
    graphql: GraphQLClient, new_section: NewSection, role: Role
) -> None:
    # given a section and a caller that may not change sections
    code = (await new_section(name="Untouched"))["code"]
    token_section = code if role is Role.SECTION_EDITOR else None

    # when it tries to rename the section
    response = await graphql.post(
        SECTION_UPDATE,
        {"input": {"code": code, "name": "Changed"}},
        role=role,
        token_section=token_section,
        section=code,
    )

    # then it is refused and the section is unchanged
    assert top_level_codes(response) == ["FORBIDDEN"]
    section = await current_section(graphql, code)
    assert section is not None
    assert section["name"] == "Untouched"


async def test_dropping_the_default_language_moves_it_to_the_first(
    graphql: GraphQLClient, new_section: NewSection
) -> None:
    # given a bilingual section whose default is French
    code = (await new_section(languages=["en", "fr"], defaultLanguage="fr"))["code"]

    # when its languages no longer include French
    data = await graphql.data(
        SECTION_UPDATE,
        {"input": {"code": code, "languages": ["de", "en"]}},
        role=Role.IS_ADMIN,
    )

    # then the default becomes the first language
    assert data["sectionUpdate"]["errors"] == []
    assert data["sectionUpdate"]["section"]["languages"] == ["de", "en"]
    assert data["sectionUpdate"]["section"]["defaultLanguage"] == "de"
    section = await current_section(graphql, code)
    assert section is not None
    assert section["defaultLanguage"] == "de"


async def test_section_update_refuses_invalid_changes_and_keeps_the_section(
    graphql: GraphQLClient, new_section: NewSection
) -> None:
    # given a section
    code = (await new_section(name="Before"))["code"]

    # when an IS admin sends several invalid changes with a valid one
    data = await graphql.data(
        SECTION_UPDATE,
        {
            "input": {
                "code": code,
                "name": "After",
                "country": "XX",
                "timeZone": "Nowhere/Town",
                "defaultLanguage": "fr",
            }
        },
        role=Role.IS_ADMIN,
    )

    # then every problem is reported and nothing changed
    payload = data["sectionUpdate"]
    assert payload["section"] is None
    assert problems(payload) == [
        ("country", "UNKNOWN_COUNTRY"),
        ("defaultLanguage", "INVALID"),
        ("timeZone", "UNKNOWN_TIME_ZONE"),
    ]
    section = await current_section(graphql, code)
    assert section is not None
    assert section["name"] == "Before"
    assert section["country"] == "GB"


async def test_section_update_of_an_unknown_code_is_not_found(graphql: GraphQLClient) -> None:
    # given a code no section has
    code = unique_code()

    # when an IS admin updates it
    data = await graphql.data(
        SECTION_UPDATE, {"input": {"code": code, "name": "Ghost"}}, role=Role.IS_ADMIN
    )

    # then a NOT_FOUND payload error on the code, and still no such section
    assert data["sectionUpdate"]["section"] is None
    assert problems(data["sectionUpdate"]) == [("code", "NOT_FOUND")]
    assert await current_section(graphql, code) is None


# --- sectionHostAdd ----------------------------------------------------------------------


async def test_added_host_resolves_requests_to_the_section(
    graphql: GraphQLClient, new_section: NewSection
) -> None:
    # given a section without hosts
    code = (await new_section())["code"]
    host = host_for(code)

    # when an IS admin adds a host (in loose form)
    data = await graphql.data(
        SECTION_HOST_ADD,
        {"input": {"code": code, "host": f" {host.upper()}. "}},
        role=Role.IS_ADMIN,
    )

    # then the section lists it normalized
    assert data["sectionHostAdd"] == {"section": {"code": code, "hosts": [host]}, "errors": []}
    # and a request with that Host (with or without a port) is for the section
    assert await section_code_for_host(graphql, host) == code
    assert await section_code_for_host(graphql, f"{host.upper()}:8443") == code


async def test_host_and_section_header_that_disagree_conflict(
    graphql: GraphQLClient, new_section: NewSection
) -> None:
    # given two sections, the first identified by a host
    first = unique_code()
    host = host_for(first)
    await new_section(code=first, hosts=[host])
    second = (await new_section())["code"]

    # when a request comes for that host with the second section in W4R-Section
    response = await graphql.post(
        CURRENT_SECTION_CODE, headers={"host": host, "W4R-Section": second}
    )

    # then it is refused before execution
    assert response.status_code == 400
    assert top_level_codes(response) == ["SECTION_CONFLICT"]
    assert "data" not in response.json()


async def test_adding_the_same_host_again_is_idempotent(
    graphql: GraphQLClient, new_section: NewSection
) -> None:
    # given a section with a host
    code = unique_code()
    host = host_for(code)
    await new_section(code=code, hosts=[host])

    # when an IS admin adds the same host again
    data = await graphql.data(
        SECTION_HOST_ADD, {"input": {"code": code, "host": host}}, role=Role.IS_ADMIN
    )

    # then there is no error and the host is listed once
    assert data["sectionHostAdd"] == {"section": {"code": code, "hosts": [host]}, "errors": []}
    assert await section_code_for_host(graphql, host) == code


async def test_a_host_of_another_section_cannot_be_added(
    graphql: GraphQLClient, new_section: NewSection
) -> None:
    # given a host owned by one section, and another section
    owner = unique_code()
    host = host_for(owner)
    await new_section(code=owner, hosts=[host])
    other = (await new_section())["code"]

    # when an IS admin adds that host to the other section
    data = await graphql.data(
        SECTION_HOST_ADD, {"input": {"code": other, "host": host}}, role=Role.IS_ADMIN
    )

    # then it already exists and still identifies its owner
    assert data["sectionHostAdd"]["section"] is None
    assert problems(data["sectionHostAdd"]) == [("host", "ALREADY_EXISTS")]
    assert await section_code_for_host(graphql, host) == owner
    other_section = await current_section(graphql, other)
    assert other_section is not None
    assert other_section["hosts"] == []


@pytest.mark.parametrize(
    ("field_values", "expected"),
    [
        pytest.param({"host": "https://x.example.org"}, [("host", "INVALID")], id="bad-host"),
        pytest.param({"code": "zz-nosuch00"}, [("code", "NOT_FOUND")], id="unknown-code"),
    ],
)
async def test_section_host_add_reports_input_problems(
    graphql: GraphQLClient,
    new_section: NewSection,
    field_values: dict[str, str],
    expected: list[tuple[str, str]],
) -> None:
    # given a section
    code = (await new_section())["code"]
    values = {"code": code, "host": host_for(code), **field_values}

    # when an IS admin adds a host with a problem
    data = await graphql.data(SECTION_HOST_ADD, {"input": values}, role=Role.IS_ADMIN)

    # then the problem is reported and the section has no host
    assert data["sectionHostAdd"]["section"] is None
    assert problems(data["sectionHostAdd"]) == expected
    section = await current_section(graphql, code)
    assert section is not None
    assert section["hosts"] == []


async def test_section_admin_cannot_add_a_host(
    graphql: GraphQLClient, new_section: NewSection
) -> None:
    # given a section and its own admin
    code = (await new_section())["code"]
    host = host_for(code)

    # when the admin adds a host to it
    response = await graphql.post(
        SECTION_HOST_ADD,
        {"input": {"code": code, "host": host}},
        role=Role.SECTION_ADMIN,
        token_section=code,
        section=code,
    )

    # then it is refused (hosts are the IS's) and the host identifies nothing
    assert top_level_codes(response) == ["FORBIDDEN"]
    assert await section_code_for_host(graphql, host) is None


# --- sections connection -----------------------------------------------------------------


@pytest.mark.parametrize("first", [1, 2])
async def test_sections_pages_visit_every_section_once_in_code_order(
    graphql: GraphQLClient, new_section: NewSection, first: int
) -> None:
    # given three sections sharing a unique prefix, created out of order
    prefix = unique_code()
    codes = [f"{prefix}aa", f"{prefix}bb", f"{prefix}cc"]
    for code in (codes[2], codes[0], codes[1]):
        await new_section(code=code)

    # when an IS admin pages through every section, `first` at a time
    paged = [edge["node"]["code"] for edge in await all_section_edges(graphql, first)]

    # then each section appears once, in the same order as the largest pages give
    reference = [edge["node"]["code"] for edge in await all_section_edges(graphql, 100)]
    assert paged == reference
    assert len(set(paged)) == len(paged)
    # and the three appear next to each other, in code order
    start = paged.index(codes[0])
    assert paged[start : start + 3] == codes


async def test_is_analyst_lists_sections(graphql: GraphQLClient, new_section: NewSection) -> None:
    # given a section
    code = (await new_section())["code"]

    # when an IS analyst lists the sections from just before it
    after = await cursor_before(graphql, code)
    data = await graphql.data(SECTIONS_PAGE, {"first": 1, "after": after}, role=Role.IS_ANALYST)

    # then the section is there
    assert [edge["node"]["code"] for edge in data["sections"]["edges"]] == [code]


@pytest.mark.parametrize(
    ("role", "bound"),
    [
        pytest.param(None, False, id="anonymous"),
        pytest.param(Role.SECTION_ADMIN, True, id="section-admin"),
        pytest.param(Role.PARTNER_APP, False, id="partner-app"),
    ],
)
async def test_sections_is_refused_outside_the_is(
    graphql: GraphQLClient, new_section: NewSection, role: Role | None, bound: bool
) -> None:
    # given a caller outside the International Secretariat
    own = (await new_section())["code"]

    # when it lists the sections
    response = await graphql.post(
        SECTIONS_PAGE, {"first": 1}, role=role, token_section=own if bound else None
    )

    # then it is refused
    assert response.json()["data"] is None
    assert top_level_codes(response) == ["FORBIDDEN"]


@pytest.mark.parametrize(
    ("first", "code"),
    [(0, "PAGE_SIZE_TOO_SMALL"), (-1, "PAGE_SIZE_TOO_SMALL"), (101, "PAGE_SIZE_TOO_LARGE")],
)
async def test_sections_page_size_out_of_range_is_a_top_level_error(
    graphql: GraphQLClient, first: int, code: str
) -> None:
    # when an IS admin asks for a page size outside 1..100
    response = await graphql.post(SECTIONS_PAGE, {"first": first}, role=Role.IS_ADMIN)

    # then it is refused before execution (the cost rules, docs/limits.md), no data
    assert response.status_code == 400
    assert "data" not in response.json()
    assert top_level_codes(response) == [code]


@pytest.mark.parametrize(
    "cursor",
    [
        pytest.param("not a cursor!", id="garbage"),
        pytest.param("", id="empty"),
        pytest.param(forge(["Section"]), id="no-key"),
        pytest.param(forge(["Section", "gb", "pl"]), id="two-keys"),
        pytest.param(forge(["Section", 42]), id="number-key"),
        pytest.param(forge({"Section": "gb"}), id="object"),
        pytest.param(forge(["Section", "\u0000"]), id="nul-key"),
    ],
)
async def test_a_forged_sections_cursor_is_bad_user_input(
    graphql: GraphQLClient, cursor: str
) -> None:
    # when an IS admin pages after a cursor the server never gave
    response = await graphql.post(SECTIONS_PAGE, {"first": 1, "after": cursor}, role=Role.IS_ADMIN)

    # then a top-level BAD_USER_INPUT error
    assert response.status_code == 200
    assert response.json()["data"] is None
    assert top_level_codes(response) == ["BAD_USER_INPUT"]


async def test_a_member_cursor_is_refused_by_sections(
    graphql: GraphQLClient, new_section: NewSection
) -> None:
    # given a real cursor from a section's member list
    code = (await new_section())["code"]
    await add_member(graphql, code, f"cursor@{code}.example.org")
    data = await graphql.data(
        MEMBERS_PAGE,
        {"first": 1},
        role=Role.SECTION_ADMIN,
        token_section=code,
        section=code,
    )
    member_cursor = data["section"]["members"]["edges"][0]["cursor"]

    # when an IS admin pages the sections after it
    response = await graphql.post(
        SECTIONS_PAGE, {"first": 1, "after": member_cursor}, role=Role.IS_ADMIN
    )

    # then it is refused
    assert response.json()["data"] is None
    assert top_level_codes(response) == ["BAD_USER_INPUT"]


async def test_a_section_cursor_is_refused_by_members(
    graphql: GraphQLClient, new_section: NewSection
) -> None:
    # given a real cursor from the sections list
    code = (await new_section())["code"]
    data = await graphql.data(SECTIONS_PAGE, {"first": 1}, role=Role.IS_ADMIN)
    section_cursor = data["sections"]["edges"][0]["cursor"]

    # when the section's admin pages its members after it
    response = await graphql.post(
        MEMBERS_PAGE,
        {"first": 1, "after": section_cursor},
        role=Role.SECTION_ADMIN,
        token_section=code,
        section=code,
    )

    # then it is refused
    assert top_level_codes(response) == ["BAD_USER_INPUT"]


@pytest.mark.parametrize(
    "cursor",
    [
        pytest.param(forge(["SectionMember", "yesterday", UNKNOWN_MEMBER_ID]), id="bad-date"),
        pytest.param(
            forge(["SectionMember", "2025-01-01T00:00:00+00:00", "not-a-uuid"]), id="bad-uuid"
        ),
        pytest.param(
            forge(["SectionMember", "0001-01-01T00:00:00+10:00", UNKNOWN_MEMBER_ID]),
            id="date-out-of-range",
        ),
        pytest.param(forge(["SectionMember", UNKNOWN_MEMBER_ID]), id="one-key"),
    ],
)
async def test_a_forged_member_cursor_is_bad_user_input(
    graphql: GraphQLClient, new_section: NewSection, cursor: str
) -> None:
    # given a section and its admin
    code = (await new_section())["code"]

    # when the admin pages the members after a forged cursor
    response = await graphql.post(
        MEMBERS_PAGE,
        {"first": 1, "after": cursor},
        role=Role.SECTION_ADMIN,
        token_section=code,
        section=code,
    )

    # then it is refused
    assert top_level_codes(response) == ["BAD_USER_INPUT"]


# --- members -----------------------------------------------------------------------------


async def test_section_admin_adds_and_pages_members(
    graphql: GraphQLClient, new_section: NewSection
) -> None:
    # given a section and its admin
    code = (await new_section())["code"]

    # when the admin adds three members
    added = [
        await add_member(
            graphql, code, f"ada@{code}.example.org", " Ada   Lovelace ", "SECTION_ADMIN"
        ),
        await add_member(graphql, code, f"bob@{code}.example.org", "Bob", "SECTION_EDITOR"),
        await add_member(graphql, code, f"cy@{code}.example.org", "Cy", "EVENT_HOST"),
    ]

    # then each was added (display name collapsed)
    assert [payload["errors"] for payload in added] == [[], [], []]
    assert [payload["member"]["displayName"] for payload in added] == ["Ada Lovelace", "Bob", "Cy"]

    # and the admin pages through them, two at a time, in the order they were added
    first_page = await graphql.data(
        MEMBERS_PAGE,
        {"first": 2},
        role=Role.SECTION_ADMIN,
        token_section=code,
        section=code,
    )
    members = first_page["section"]["members"]
    assert [edge["node"] for edge in members["edges"]] == [
        {
            "id": added[0]["member"]["id"],
            "email": f"ada@{code}.example.org",
            "displayName": "Ada Lovelace",
            "role": "SECTION_ADMIN",
        },
        {
            "id": added[1]["member"]["id"],
            "email": f"bob@{code}.example.org",
            "displayName": "Bob",
            "role": "SECTION_EDITOR",
        },
    ]
    assert members["pageInfo"] == {"hasNextPage": True, "endCursor": members["edges"][1]["cursor"]}
    second_page = await graphql.data(
        MEMBERS_PAGE,
        {"first": 2, "after": members["pageInfo"]["endCursor"]},
        role=Role.SECTION_ADMIN,
        token_section=code,
        section=code,
    )
    rest = second_page["section"]["members"]
    assert [edge["node"]["email"] for edge in rest["edges"]] == [f"cy@{code}.example.org"]
    assert [edge["node"]["role"] for edge in rest["edges"]] == ["EVENT_HOST"]
    assert rest["pageInfo"]["hasNextPage"] is False


async def test_a_section_without_members_has_an_empty_page(
    graphql: GraphQLClient, new_section: NewSection
) -> None:
    # given a fresh section
    code = (await new_section())["code"]

    # when its admin lists the members
    data = await graphql.data(
        MEMBERS_PAGE,
        {"first": 5},
        role=Role.SECTION_ADMIN,
        token_section=code,
        section=code,
    )

    # then an empty page
    assert data["section"]["members"] == {
        "edges": [],
        "pageInfo": {"hasNextPage": False, "endCursor": None},
    }


async def test_a_member_email_is_unique_in_a_section_whatever_its_case(
    graphql: GraphQLClient, new_section: NewSection
) -> None:
    # given a member
    code = (await new_section())["code"]
    assert (await add_member(graphql, code, f"dup@{code}.example.org"))["errors"] == []

    # when the admin adds the same email in other case
    payload = await add_member(graphql, code, f"DUP@{code.upper()}.Example.ORG")

    # then it already exists, and the section still has one member
    assert payload["member"] is None
    assert problems(payload) == [("email", "ALREADY_EXISTS")]
    assert await member_emails(graphql, code) == [f"dup@{code}.example.org"]


async def test_a_member_needs_a_valid_email_and_a_name(
    graphql: GraphQLClient, new_section: NewSection
) -> None:
    # given a section
    code = (await new_section())["code"]

    # when its admin adds a member with an invalid email and a blank name
    payload = await add_member(graphql, code, "not-an-email", "   ")

    # then both problems are reported and no member was added
    assert payload["member"] is None
    assert problems(payload) == [("displayName", "REQUIRED"), ("email", "INVALID")]
    assert await member_emails(graphql, code) == []


async def test_section_admin_removes_a_member(
    graphql: GraphQLClient, new_section: NewSection
) -> None:
    # given two members
    code = (await new_section())["code"]
    leaving = (await add_member(graphql, code, f"leaving@{code}.example.org"))["member"]
    await add_member(graphql, code, f"staying@{code}.example.org")

    # when the admin removes one
    data = await graphql.data(
        MEMBER_REMOVE,
        {"input": {"id": leaving["id"]}},
        role=Role.SECTION_ADMIN,
        token_section=code,
        section=code,
    )

    # then it is gone and the other one stays
    assert data["sectionMemberRemove"] == {"removedMemberId": leaving["id"], "errors": []}
    assert await member_emails(graphql, code) == [f"staying@{code}.example.org"]


async def test_removing_an_unknown_member_is_not_found(
    graphql: GraphQLClient, new_section: NewSection
) -> None:
    # given a section with a member
    code = (await new_section())["code"]
    await add_member(graphql, code, f"kept@{code}.example.org")

    # when the admin removes an id no member has
    data = await graphql.data(
        MEMBER_REMOVE,
        {"input": {"id": UNKNOWN_MEMBER_ID}},
        role=Role.SECTION_ADMIN,
        token_section=code,
        section=code,
    )

    # then NOT_FOUND on the id, and the member is still there
    payload = data["sectionMemberRemove"]
    assert payload["removedMemberId"] is None
    assert problems(payload) == [("id", "NOT_FOUND")]
    assert await member_emails(graphql, code) == [f"kept@{code}.example.org"]


async def test_is_admin_manages_members_at_a_section_path(
    graphql: GraphQLClient, new_section: NewSection
) -> None:
    # given a section
    code = (await new_section())["code"]

    # when an IS admin adds a member at the section's path
    added = await graphql.data(
        MEMBER_ADD,
        {
            "input": {
                "email": f"is@{code}.example.org",
                "displayName": "Added by the IS",
                "role": "SECTION_ADMIN",
            }
        },
        role=Role.IS_ADMIN,
        section=code,
    )

    # then the member is there, and the IS admin sees it too
    member = added["sectionMemberAdd"]["member"]
    assert added["sectionMemberAdd"]["errors"] == []
    assert await member_emails(graphql, code) == [f"is@{code}.example.org"]
    listed = await graphql.data(MEMBERS_PAGE, {"first": 5}, role=Role.IS_ADMIN, section=code)
    assert [edge["node"]["id"] for edge in listed["section"]["members"]["edges"]] == [member["id"]]

    # and the IS admin can remove it there
    removed = await graphql.data(
        MEMBER_REMOVE, {"input": {"id": member["id"]}}, role=Role.IS_ADMIN, section=code
    )
    assert removed["sectionMemberRemove"] == {"removedMemberId": member["id"], "errors": []}
    assert await member_emails(graphql, code) == []


async def test_member_mutations_in_the_global_scope_are_out_of_scope(
    graphql: GraphQLClient, new_section: NewSection
) -> None:
    # given an IS admin in the global scope (/graphql, no section)
    email = f"global@{unique_code()}.example.org"

    # when it adds or removes a member there
    added = await graphql.data(
        MEMBER_ADD,
        {"input": {"email": email, "displayName": "Nobody", "role": "SECTION_EDITOR"}},
        role=Role.IS_ADMIN,
    )
    removed = await graphql.data(
        MEMBER_REMOVE, {"input": {"id": UNKNOWN_MEMBER_ID}}, role=Role.IS_ADMIN
    )

    # then both are OUT_OF_SCOPE payload errors
    assert added["sectionMemberAdd"]["member"] is None
    assert problems(added["sectionMemberAdd"]) == [(None, "OUT_OF_SCOPE")]
    assert removed["sectionMemberRemove"]["removedMemberId"] is None
    assert problems(removed["sectionMemberRemove"]) == [(None, "OUT_OF_SCOPE")]


@pytest.mark.parametrize("role", [Role.SECTION_EDITOR, Role.PARTNER_APP, None])
async def test_member_add_is_refused_to_other_roles(
    graphql: GraphQLClient, new_section: NewSection, role: Role | None
) -> None:
    # given a section and a caller that may not manage its members
    code = (await new_section())["code"]
    token_section = code if role is Role.SECTION_EDITOR else None

    # when it adds a member at the section's path
    response = await graphql.post(
        MEMBER_ADD,
        {
            "input": {
                "email": f"intruder@{code}.example.org",
                "displayName": "Intruder",
                "role": "SECTION_ADMIN",
            }
        },
        role=role,
        token_section=token_section,
        section=code,
    )

    # then it is refused and the section has no member
    assert top_level_codes(response) == ["FORBIDDEN"]
    assert await member_emails(graphql, code) == []


async def test_members_are_isolated_between_sections(
    graphql: GraphQLClient, new_section: NewSection
) -> None:
    # given members in section A and one in section B
    section_a = (await new_section())["code"]
    section_b = (await new_section())["code"]
    a_emails = [f"one@{section_a}.example.org", f"two@{section_a}.example.org"]
    a_members = [(await add_member(graphql, section_a, email))["member"] for email in a_emails]
    await add_member(graphql, section_b, f"own@{section_b}.example.org")

    # when B's admin lists B's members
    b_emails = await member_emails(graphql, section_b)

    # then none of A's members is visible
    assert b_emails == [f"own@{section_b}.example.org"]

    # when B's admin tries to remove one of A's members (at B's path)
    data = await graphql.data(
        MEMBER_REMOVE,
        {"input": {"id": a_members[0]["id"]}},
        role=Role.SECTION_ADMIN,
        token_section=section_b,
        section=section_b,
    )

    # then it is NOT_FOUND, and A's member still exists
    assert problems(data["sectionMemberRemove"]) == [("id", "NOT_FOUND")]
    assert await member_emails(graphql, section_a) == a_emails

    # and B's admin cannot even address A's endpoint
    response = await graphql.post(
        MEMBERS_PAGE,
        {"first": 5},
        role=Role.SECTION_ADMIN,
        token_section=section_b,
        section=section_a,
    )
    assert response.status_code == 403
    assert top_level_codes(response) == ["SECTION_FORBIDDEN"]


async def test_same_email_may_be_a_member_of_two_sections(
    graphql: GraphQLClient, new_section: NewSection
) -> None:
    # given a member of section A
    section_a = (await new_section())["code"]
    section_b = (await new_section())["code"]
    email = f"both@{unique_code()}.example.org"
    assert (await add_member(graphql, section_a, email))["errors"] == []

    # when B's admin adds the same person to B
    payload = await add_member(graphql, section_b, email)

    # then it works: uniqueness is per section
    assert payload["errors"] == []
    assert await member_emails(graphql, section_a) == [email]
    assert await member_emails(graphql, section_b) == [email]


async def test_members_of_another_section_are_a_top_level_error(
    graphql: GraphQLClient, new_section: NewSection
) -> None:
    # given sections A and B, B with a member
    section_a = (await new_section())["code"]
    section_b = (await new_section())["code"]
    await add_member(graphql, section_b, f"secret@{section_b}.example.org")
    after = await cursor_before(graphql, section_b)

    # when an IS admin at A's path reads B's members through the sections list
    response = await graphql.post(
        SECTION_WITH_MEMBERS_AFTER, {"after": after}, role=Role.IS_ADMIN, section=section_a
    )

    # then it is a top-level FORBIDDEN error, and no member leaks
    body = response.json()
    assert body["data"] is None
    assert top_level_codes(response) == ["FORBIDDEN"]
    assert body["errors"][0]["path"] == ["sections", "edges", 0, "node", "members"]
    assert "secret@" not in response.text


async def test_members_in_the_global_scope_are_a_top_level_error(
    graphql: GraphQLClient, new_section: NewSection
) -> None:
    # given a section with a member
    code = (await new_section())["code"]
    await add_member(graphql, code, f"hidden@{code}.example.org")
    after = await cursor_before(graphql, code)

    # when an IS admin reads its members in the global scope
    response = await graphql.post(SECTION_WITH_MEMBERS_AFTER, {"after": after}, role=Role.IS_ADMIN)

    # then it is refused and nothing leaks
    assert response.json()["data"] is None
    assert top_level_codes(response) == ["FORBIDDEN"]
    assert "hidden@" not in response.text
