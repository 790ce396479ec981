"""API keys through the GraphQL API (HTTP, real database): creating, listing and revoking
them, who may, and a key used end to end as a partner app's credentials.

Every test makes its own sections; IS-owned keys are shared by the whole database, so tests
that list them compare ids rather than whole lists.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette

from tests.actions.test_ledger_api import (
    ACTION_RECORD,
    ACTIONS_IMPORT,
    NOTHING,
    World,
    action_input,
    counted,
    import_row,
    open_campaign,
    own_totals,
    record,
    section_in,
)
from tests.conftest import GraphQLClient
from w4r.apikeys import keys
from w4r.platform.auth import Role

NewSection = Callable[..., Awaitable[dict[str, Any]]]

API_KEY_FIELDS = """
  id name displayPrefix scopes sectionCode createdAt createdBy lastUsedAt expiresAt
  revokedAt revokedBy isActive
"""
API_KEY_CREATE = f"""
mutation ($input: ApiKeyCreateInput!) {{
  apiKeyCreate(input: $input) {{
    key
    apiKey {{ {API_KEY_FIELDS} }}
    errors {{ field code message }}
  }}
}}
"""
API_KEY_REVOKE = f"""
mutation ($input: ApiKeyRevokeInput!) {{
  apiKeyRevoke(input: $input) {{
    apiKey {{ {API_KEY_FIELDS} }}
    errors {{ field code message }}
  }}
}}
"""
API_KEYS = f"""
query ($first: Int, $after: String) {{
  apiKeys(first: $first, after: $after) {{
    edges {{ cursor node {{ {API_KEY_FIELDS} }} }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}
"""
VIEWER = "{ viewer { role subject sectionCode } }"
CASES = "{ cases(first: 1) { edges { node { id } } } }"

UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"


# --- helpers ---------------------------------------------------------------------------------


def admin_of(code: str, role: Role = Role.SECTION_ADMIN) -> dict[str, Any]:
    """``GraphQLClient`` options: ``role`` of section ``code`` at its endpoint."""
    return {"role": role, "token_section": code, "section": code}


def is_admin(section: str | None = None) -> dict[str, Any]:
    """An IS admin, in the global scope or at ``section``'s endpoint."""
    return {"role": Role.IS_ADMIN, "section": section}


def bearer(key: str, section: str | None = None) -> dict[str, Any]:
    """``GraphQLClient`` options: the API key as the bearer token, at ``section``'s endpoint."""
    return {"headers": {"authorization": f"Bearer {key}"}, "section": section}


def key_input(**overrides: Any) -> dict[str, Any]:
    return {"name": "Petition site", "scopes": ["cases:read"], **overrides}


def problems(payload: dict[str, Any]) -> list[tuple[str | None, str]]:
    return sorted(
        ((error["field"], error["code"]) for error in payload["errors"]),
        key=lambda pair: (pair[0] or "", pair[1]),
    )


def top_level_codes(response: httpx.Response) -> list[str]:
    return [error["extensions"]["code"] for error in response.json()["errors"]]


async def create(graphql: GraphQLClient, caller: dict[str, Any], **overrides: Any) -> Any:
    """The ``apiKeyCreate`` payload."""
    data = await graphql.data(API_KEY_CREATE, {"input": key_input(**overrides)}, **caller)
    return data["apiKeyCreate"]


async def created(
    graphql: GraphQLClient, caller: dict[str, Any], **overrides: Any
) -> tuple[str, dict[str, Any]]:
    """A new key (the secret and its node), which must be created without errors."""
    payload = await create(graphql, caller, **overrides)
    assert payload["errors"] == [], payload
    return payload["key"], payload["apiKey"]


async def revoke(graphql: GraphQLClient, caller: dict[str, Any], key_id: str) -> Any:
    data = await graphql.data(API_KEY_REVOKE, {"input": {"id": key_id}}, **caller)
    return data["apiKeyRevoke"]


async def listed(graphql: GraphQLClient, caller: dict[str, Any]) -> list[dict[str, Any]]:
    """Every key ``caller`` lists in its scope (all pages)."""
    nodes: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        data = await graphql.data(API_KEYS, {"first": 100, "after": after}, **caller)
        page = data["apiKeys"]
        nodes.extend(edge["node"] for edge in page["edges"])
        if not page["pageInfo"]["hasNextPage"]:
            return nodes
        after = page["pageInfo"]["endCursor"]


async def listed_ids(graphql: GraphQLClient, caller: dict[str, Any]) -> set[str]:
    return {node["id"] for node in await listed(graphql, caller)}


def as_key(key: str) -> dict[str, Any]:
    """Options for helpers that choose the endpoint themselves: only the key's header."""
    return {"headers": {"authorization": f"Bearer {key}"}}


def in_the_future(**delta: float) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).isoformat()


@pytest.fixture(scope="module")
async def world(module_graphql: GraphQLClient) -> World:
    """An open campaign with published cases, shared by this module's recording tests."""
    return await open_campaign(module_graphql, featured=1)


# --- creating and listing --------------------------------------------------------------------


async def test_a_section_admin_creates_a_key_that_is_shown_once(
    graphql: GraphQLClient, new_section: NewSection
) -> None:
    # given a section
    code = (await new_section())["code"]

    # when its admin creates a key (scopes in any order, one repeated)
    key, node = await created(
        graphql,
        admin_of(code),
        name="  Letters app  ",
        scopes=["cases:read", "actions:record", "cases:read"],
    )

    # then the payload carries the key, well-formed, and the key's record
    assert keys.is_well_formed(key)
    assert node["name"] == "Letters app"
    assert node["displayPrefix"] == key[:12]
    assert node["scopes"] == ["actions:record", "cases:read"]
    assert node["sectionCode"] == code
    assert node["createdBy"] == "local:section-admin"
    assert (node["lastUsedAt"], node["expiresAt"], node["revokedAt"], node["revokedBy"]) == (
        None,
        None,
        None,
        None,
    )
    assert node["isActive"] is True
    # and the list shows the same record, never the key itself
    response = await graphql.post(API_KEYS, {"first": 10}, **admin_of(code))
    assert [edge["node"] for edge in response.json()["data"]["apiKeys"]["edges"]] == [node]
    assert key[len(keys.PREFIX) :] not in response.text


async def test_the_key_is_stored_only_as_its_hash(
    graphql: GraphQLClient, new_section: NewSection, owner_engine: AsyncEngine
) -> None:
    # given a new key
    code = (await new_section())["code"]
    key, node = await created(graphql, admin_of(code))
    secret = key[len(keys.PREFIX) : -keys.CHECKSUM_LENGTH]

    # when every column of its row is read as text
    async with owner_engine.connect() as connection:
        columns = (
            (
                await connection.execute(
                    text("select to_jsonb(k) from api_keys k where id = :id"), {"id": node["id"]}
                )
            )
            .scalar_one()
            .items()
        )
        stored_hash = await connection.scalar(
            text("select key_hash from api_keys where id = :id"), {"id": node["id"]}
        )

    # then neither the key nor its secret part is in any of them (only the display prefix)
    leaks = [name for name, value in columns if secret[keys.DISPLAY_LENGTH :] in str(value)]
    assert leaks == []
    assert [name for name, value in columns if key in str(value)] == []
    # and what is stored is the key's SHA-256
    assert stored_hash == keys.key_hash(key)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"scopes": []}, [("scopes", "REQUIRED")]),
        ({"scopes": ["cases:write"]}, [("scopes", "UNKNOWN_SCOPE")]),
        ({"scopes": ["cases:read", "CASES:READ"]}, [("scopes", "UNKNOWN_SCOPE")]),
        ({"name": "x" * 101}, [("name", "TOO_LONG")]),
        ({"name": "   "}, [("name", "REQUIRED")]),
        ({"name": "a\u0000b"}, [("name", "INVALID")]),
        ({"expiresAt": "2020-01-01T00:00:00+00:00"}, [("expiresAt", "IN_THE_PAST")]),
        ({"expiresAt": "2999-01-01T00:00:00"}, [("expiresAt", "INVALID")]),
        (
            {"name": "", "scopes": [], "expiresAt": "2020-01-01T00:00:00Z"},
            [("expiresAt", "IN_THE_PAST"), ("name", "REQUIRED"), ("scopes", "REQUIRED")],
        ),
    ],
)
async def test_bad_input_is_refused_and_creates_nothing(
    graphql: GraphQLClient,
    new_section: NewSection,
    overrides: dict[str, Any],
    expected: list[tuple[str, str]],
) -> None:
    # given a section with no keys
    code = (await new_section())["code"]

    # when its admin sends a bad input
    payload = await create(graphql, admin_of(code), **overrides)

    # then every problem is named, no key is returned, and none was created
    assert problems(payload) == expected
    assert (payload["key"], payload["apiKey"]) == (None, None)
    assert await listed(graphql, admin_of(code)) == []


async def test_a_name_of_exactly_the_limit_is_accepted(
    graphql: GraphQLClient, new_section: NewSection
) -> None:
    code = (await new_section())["code"]
    _, node = await created(graphql, admin_of(code), name="n" * 100)
    assert node["name"] == "n" * 100


async def test_keys_are_listed_oldest_first_a_page_at_a_time(
    graphql: GraphQLClient, new_section: NewSection
) -> None:
    # given three keys of a section
    code = (await new_section())["code"]
    ids = [(await created(graphql, admin_of(code), name=f"key {n}"))[1]["id"] for n in range(3)]

    # when they are read two at a time
    first = (await graphql.data(API_KEYS, {"first": 2}, **admin_of(code)))["apiKeys"]
    after = first["pageInfo"]["endCursor"]
    second = (await graphql.data(API_KEYS, {"first": 2, "after": after}, **admin_of(code)))[
        "apiKeys"
    ]

    # then the pages hold them in creation order
    assert [edge["node"]["id"] for edge in first["edges"]] == ids[:2]
    assert first["pageInfo"]["hasNextPage"] is True
    assert [edge["node"]["id"] for edge in second["edges"]] == ids[2:]
    assert second["pageInfo"]["hasNextPage"] is False


async def test_a_cursor_of_another_list_is_a_bad_user_input(
    graphql: GraphQLClient, new_section: NewSection
) -> None:
    code = (await new_section())["code"]
    sections = await graphql.data(
        "{ sections(first: 1) { pageInfo { endCursor } } }", role=Role.IS_ADMIN
    )
    foreign = sections["sections"]["pageInfo"]["endCursor"]

    response = await graphql.post(API_KEYS, {"first": 1, "after": foreign}, **admin_of(code))

    assert top_level_codes(response) == ["BAD_USER_INPUT"]


# --- the IS's keys and a section's keys ------------------------------------------------------


async def test_an_is_admin_creates_read_only_keys_of_the_is_in_the_global_scope(
    graphql: GraphQLClient,
) -> None:
    # when an IS admin creates a key in the global scope
    key, node = await created(graphql, is_admin(), name="Newsroom widget")

    # then the IS owns it, and the IS's list has it
    assert node["sectionCode"] is None
    assert node["scopes"] == ["cases:read"]
    assert node["createdBy"] == "local:is-admin"
    assert node["id"] in await listed_ids(graphql, is_admin())
    # and the key is a partner app of no section
    viewer = (await graphql.data(VIEWER, **bearer(key)))["viewer"]
    assert viewer == {
        "role": "PARTNER_APP",
        "subject": f"api-key:{node['id']}",
        "sectionCode": None,
    }


@pytest.mark.parametrize("scope", ["actions:record", "actions:import"])
async def test_a_key_of_the_is_may_not_record_or_import(graphql: GraphQLClient, scope: str) -> None:
    # given the IS's keys
    before = await listed_ids(graphql, is_admin())

    # when an IS admin asks for a global key that records or imports
    payload = await create(graphql, is_admin(), scopes=["cases:read", scope])

    # then it is refused: actions count for one section
    assert problems(payload) == [("scopes", "NOT_ALLOWED")]
    assert payload["key"] is None
    assert await listed_ids(graphql, is_admin()) == before


async def test_an_is_admin_manages_a_sections_keys_at_its_endpoint(
    graphql: GraphQLClient, new_section: NewSection
) -> None:
    # given a section
    code = (await new_section())["code"]

    # when an IS admin creates a key at the section's endpoint
    _, node = await created(
        graphql, is_admin(code), scopes=["actions:import", "actions:record", "cases:read"]
    )

    # then the section owns it: its admin lists it, the IS's own list does not
    assert node["sectionCode"] == code
    assert node["scopes"] == ["actions:import", "actions:record", "cases:read"]
    assert await listed_ids(graphql, admin_of(code)) == {node["id"]}
    assert await listed_ids(graphql, is_admin(code)) == {node["id"]}
    assert node["id"] not in await listed_ids(graphql, is_admin())
    # and the IS admin may revoke it there, but not from the global scope
    refused = await revoke(graphql, is_admin(), node["id"])
    assert problems(refused) == [("id", "NOT_FOUND")]
    revoked = await revoke(graphql, is_admin(code), node["id"])
    assert revoked["errors"] == []
    assert revoked["apiKey"]["revokedBy"] == "local:is-admin"


async def test_section_admins_never_see_or_revoke_another_sections_keys(
    graphql: GraphQLClient, new_section: NewSection
) -> None:
    # given two sections with a key each
    first = (await new_section())["code"]
    second = (await new_section())["code"]
    _, first_key = await created(graphql, admin_of(first))
    second_secret, second_key = await created(graphql, admin_of(second))

    # then each admin lists only their own section's key
    assert await listed_ids(graphql, admin_of(first)) == {first_key["id"]}
    assert await listed_ids(graphql, admin_of(second)) == {second_key["id"]}
    # and the first admin cannot revoke the second section's key: it is not found there
    refused = await revoke(graphql, admin_of(first), second_key["id"])
    assert problems(refused) == [("id", "NOT_FOUND")]
    assert refused["apiKey"] is None
    # nor reach the second section's endpoint at all
    elsewhere = {"role": Role.SECTION_ADMIN, "token_section": first, "section": second}
    response = await graphql.post(API_KEYS, {"first": 10}, **elsewhere)
    assert response.status_code == 403
    assert top_level_codes(response) == ["SECTION_FORBIDDEN"]
    # and the second section's key is untouched and still works
    assert [node["revokedAt"] for node in await listed(graphql, admin_of(second))] == [None]
    assert (await graphql.data(VIEWER, **bearer(second_secret)))["viewer"]["sectionCode"] == (
        second
    )


# --- revocation ------------------------------------------------------------------------------


async def test_a_revoked_key_is_refused_at_once_on_this_replica(
    graphql: GraphQLClient, new_section: NewSection
) -> None:
    # given a key that was just used (so this replica remembers it)
    code = (await new_section())["code"]
    key, node = await created(graphql, admin_of(code))
    assert (await graphql.data(VIEWER, **bearer(key)))["viewer"]["role"] == "PARTNER_APP"

    # when the section's admin revokes it
    payload = await revoke(graphql, admin_of(code), node["id"])

    # then the answer records who revoked it and when
    assert payload["errors"] == []
    revoked = payload["apiKey"]
    assert revoked["revokedBy"] == "local:section-admin"
    assert revoked["revokedAt"] is not None
    assert revoked["isActive"] is False
    # and the very next request with it is refused (HTTP 401, RFC 6750 invalid_token)
    response = await graphql.post(VIEWER, **bearer(key))
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert top_level_codes(response) == ["UNAUTHENTICATED"]
    assert "revoked" in response.json()["errors"][0]["message"]


async def test_revoking_twice_or_an_unknown_key_is_refused_and_changes_nothing(
    graphql: GraphQLClient, new_section: NewSection
) -> None:
    # given a revoked key
    code = (await new_section())["code"]
    _, node = await created(graphql, admin_of(code))
    first = (await revoke(graphql, admin_of(code), node["id"]))["apiKey"]

    # when it is revoked again, and an unknown id is revoked
    again = await revoke(graphql, admin_of(code), node["id"])
    unknown = await revoke(graphql, admin_of(code), UNKNOWN_ID)

    # then both are refused and the first revocation stands as it was
    assert problems(again) == [("id", "ALREADY_REVOKED")]
    assert problems(unknown) == [("id", "NOT_FOUND")]
    assert await listed(graphql, admin_of(code)) == [first]


# --- who may manage keys ---------------------------------------------------------------------


def caller_as(role: Role | None, code: str) -> dict[str, Any]:
    if role is None:
        return {"section": code}
    if role is Role.IS_ANALYST:  # IS staff belong to no section
        return {"role": role, "section": code}
    return admin_of(code, role)


@pytest.mark.parametrize(
    "role", [None, Role.PARTNER_APP, Role.EVENT_HOST, Role.SECTION_EDITOR, Role.IS_ANALYST]
)
async def test_roles_that_may_not_manage_keys_are_refused(
    graphql: GraphQLClient, new_section: NewSection, role: Role | None
) -> None:
    # given a section with a key
    code = (await new_section())["code"]
    _, node = await created(graphql, admin_of(code))
    caller = caller_as(role, code)

    # when another kind of caller lists, creates or revokes keys there
    responses = [
        await graphql.post(API_KEYS, {"first": 10}, **caller),
        await graphql.post(API_KEY_CREATE, {"input": key_input()}, **caller),
        await graphql.post(API_KEY_REVOKE, {"input": {"id": node["id"]}}, **caller),
    ]

    # then each is a top-level FORBIDDEN and nothing changed
    assert [top_level_codes(response) for response in responses] == [["FORBIDDEN"]] * 3
    assert [response.json()["data"] for response in responses] == [None] * 3
    assert await listed(graphql, admin_of(code)) == [node]


async def test_an_api_key_cannot_manage_keys(
    graphql: GraphQLClient, new_section: NewSection
) -> None:
    # given a section's key with every scope
    code = (await new_section())["code"]
    key, node = await created(
        graphql, admin_of(code), scopes=["actions:import", "actions:record", "cases:read"]
    )

    # when the key itself lists, creates or revokes keys
    responses = [
        await graphql.post(API_KEYS, {"first": 10}, **bearer(key, code)),
        await graphql.post(API_KEY_CREATE, {"input": key_input()}, **bearer(key, code)),
        await graphql.post(API_KEY_REVOKE, {"input": {"id": node["id"]}}, **bearer(key, code)),
    ]

    # then each is refused and the key is as it was
    assert [top_level_codes(response) for response in responses] == [["FORBIDDEN"]] * 3
    assert [item["id"] for item in await listed(graphql, admin_of(code))] == [node["id"]]
    assert (await listed(graphql, admin_of(code)))[0]["revokedAt"] is None


# --- a key as a partner app's credentials ----------------------------------------------------


async def test_a_key_reads_and_records_for_its_own_section_only(
    graphql: GraphQLClient, new_section: NewSection, world: World
) -> None:
    # given two sections taking part in the campaign, and a key of the first
    code = await section_in(graphql, new_section, world)
    other = await section_in(graphql, new_section, world)
    key, node = await created(graphql, admin_of(code), scopes=["cases:read", "actions:record"])

    # when the key calls the global endpoint, it is the first section's partner app
    viewer = (await graphql.data(VIEWER, **bearer(key)))["viewer"]
    assert viewer == {
        "role": "PARTNER_APP",
        "subject": f"api-key:{node['id']}",
        "sectionCode": code,
    }
    assert (await graphql.data(CASES, **bearer(key, code)))["cases"]["edges"] != []

    # when it records an action at its section's endpoint
    payload = await record(
        graphql, code, action_input(world, world.first, client=None), **as_key(key)
    )

    # then the action is the section's, recorded through the partner app channel
    assert payload["errors"] == [], payload
    assert payload["action"]["channel"] == "PARTNER_APP"
    assert await own_totals(graphql, code, world.year) == counted(1)
    # and the key is refused at the other section's endpoint, which counts nothing
    response = await graphql.post(
        ACTION_RECORD,
        {"input": action_input(world, world.first, client=None)},
        **bearer(key, other),
    )
    assert response.status_code == 403
    assert top_level_codes(response) == ["SECTION_FORBIDDEN"]
    assert await own_totals(graphql, other, world.year) == NOTHING


async def test_a_key_without_the_scope_may_not_record_or_import(
    graphql: GraphQLClient, new_section: NewSection, world: World
) -> None:
    # given a section's read-only key
    code = await section_in(graphql, new_section, world)
    key, _ = await created(graphql, admin_of(code), scopes=["cases:read"])

    # when it records and imports actions
    recorded = await graphql.post(
        ACTION_RECORD, {"input": action_input(world, world.first, client=None)}, **bearer(key, code)
    )
    imported = await graphql.post(
        ACTIONS_IMPORT,
        {"input": {"actions": [import_row(world, world.first)]}},
        **bearer(key, code),
    )

    # then both are forbidden and nothing counts
    assert top_level_codes(recorded) == ["FORBIDDEN"]
    assert top_level_codes(imported) == ["FORBIDDEN"]
    assert await own_totals(graphql, code, world.year) == NOTHING


async def test_a_key_with_the_import_scope_imports_for_its_section(
    graphql: GraphQLClient, new_section: NewSection, world: World
) -> None:
    # given a section's import key (which may not record one by one)
    code = await section_in(graphql, new_section, world)
    key, _ = await created(graphql, admin_of(code), scopes=["actions:import"])

    # when it imports a row of 3 actions, and then tries to record one
    data = await graphql.data(
        ACTIONS_IMPORT,
        {"input": {"actions": [import_row(world, world.first, quantity=3)]}},
        **bearer(key, code),
    )
    refused = await graphql.post(
        ACTION_RECORD, {"input": action_input(world, world.first, client=None)}, **bearer(key, code)
    )

    # then the import counts for the section and the single action is forbidden
    assert data["actionsImport"]["errors"] == []
    assert data["actionsImport"]["created"] == 1
    assert top_level_codes(refused) == ["FORBIDDEN"]
    assert await own_totals(graphql, code, world.year) == counted(3)


async def test_a_key_of_the_is_reads_at_any_section_but_never_records(
    graphql: GraphQLClient, new_section: NewSection, world: World
) -> None:
    # given a section and a key of the IS
    code = await section_in(graphql, new_section, world)
    key, _ = await created(graphql, is_admin())

    # when the key reads and records at the section's endpoint
    cases = await graphql.data(CASES, **bearer(key, code))
    refused = await graphql.post(
        ACTION_RECORD, {"input": action_input(world, world.first, client=None)}, **bearer(key, code)
    )

    # then it reads, and recording is forbidden (it holds cases:read only)
    assert cases["cases"]["edges"] != []
    assert top_level_codes(refused) == ["FORBIDDEN"]
    assert await own_totals(graphql, code, world.year) == NOTHING


async def test_a_key_records_when_it_was_last_used(
    graphql: GraphQLClient, new_section: NewSection, app: Starlette
) -> None:
    # given a key never used
    code = (await new_section())["code"]
    key, node = await created(graphql, admin_of(code))
    assert node["lastUsedAt"] is None

    # when it is used (and the replica's bookkeeping has finished)
    before = datetime.now(UTC)
    await graphql.data(VIEWER, **bearer(key))
    await app.state.graphql_services.api_keys.settle()

    # then the list says when, to the minute
    [used] = await listed(graphql, admin_of(code))
    last_used = datetime.fromisoformat(used["lastUsedAt"])
    assert before <= last_used <= datetime.now(UTC)


async def test_an_unknown_or_mistyped_key_is_unauthenticated(graphql: GraphQLClient) -> None:
    # given a well-formed key that was never issued, and a real key with a typo
    unknown = keys.generate()
    typo = unknown[:-1] + ("A" if unknown[-1] != "A" else "B")

    # when each is presented
    responses = [await graphql.post(VIEWER, **bearer(credential)) for credential in (unknown, typo)]

    # then both are 401 (never the anonymous caller)
    assert [response.status_code for response in responses] == [401, 401]
    messages = [response.json()["errors"][0]["message"] for response in responses]
    assert "not known" in messages[0]
    assert "malformed" in messages[1]


async def test_a_key_with_an_expiry_works_until_then(
    graphql: GraphQLClient, new_section: NewSection
) -> None:
    # given a key that expires in an hour
    code = (await new_section())["code"]
    expires_at = in_the_future(hours=1)
    key, node = await created(graphql, admin_of(code), expiresAt=expires_at)

    # then it is active and works (expiry itself is checked with a clock in test_authentication)
    assert datetime.fromisoformat(node["expiresAt"]) == datetime.fromisoformat(expires_at)
    assert node["isActive"] is True
    assert (await graphql.data(VIEWER, **bearer(key)))["viewer"]["sectionCode"] == code
