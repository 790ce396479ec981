"""Abuse protection of anonymous public writes through the API (HTTP, real database):
over-limit actions and registrations are stored flagged and never counted, their answers
look like counted ones, staff see the flags, allowlisted networks get more, and staff are
never screened.

Every test makes its own campaign, cases and sections, and writes from addresses of its
own, so the totals it reads change only through it.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.abuse.conftest import (
    ACTIONS_PER_ADDRESS,
    ALLOWLISTED_PER_ADDRESS,
    REGISTRATIONS_PER_ADDRESS,
    SECTION_FLOOD,
    ClientAt,
    fresh_address,
)
from tests.actions.test_ledger_api import (
    NOTHING,
    NewSection,
    World,
    action_input,
    case_totals,
    counted,
    no_drift,
    open_campaign,
    own_totals,
    record,
    section_in,
    staff,
)
from tests.campaigns.test_campaigns_api import top_level_codes
from tests.conftest import GraphQLClient
from tests.events.test_registrations_and_reports import (
    attendees,
    create_event,
    event_input,
    register,
    registration_input,
    seats,
)
from w4r.cli import main
from w4r.platform.auth import Role

FLAGGED_ACTIONS = """
query ($first: Int, $after: String) {
  flaggedActions(first: $first, after: $after) {
    edges { cursor node { id caseId quantity flag } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
ACTION_RECORD_WITH_FLAG = """
mutation ($input: ActionRecordInput!) {
  actionRecord(input: $input) { action { id flag } errors { field code message } }
}
"""
ALLOWED_NETWORK_ADD = """
mutation ($input: AllowedNetworkAddInput!) {
  allowedNetworkAdd(input: $input) {
    allowedNetwork { id network note expiresAt createdBy isActive }
    errors { field code message }
  }
}
"""
ALLOWED_NETWORK_REMOVE = """
mutation ($input: AllowedNetworkRemoveInput!) {
  allowedNetworkRemove(input: $input) { removedId errors { field code message } }
}
"""
ALLOWED_NETWORKS = """
query { allowedNetworks { id network note isActive } }
"""
EVENT_REGISTRATIONS_WITH_FLAG = """
query ($id: UUID!) {
  event(id: $id) { registrations { email status flag } }
}
"""
EXPIRE_ENTRY = text(
    "UPDATE allowed_networks SET expires_at = now() - interval '1 minute' WHERE id = :id"
)


def without_identity(payload: dict[str, Any]) -> dict[str, Any]:
    """An ``actionRecord`` payload without what differs between any two actions."""
    action = {
        name: value for name, value in payload["action"].items() if name not in {"id", "occurredAt"}
    }
    return {**payload, "action": action}


async def record_many(
    client: GraphQLClient, code: str, world: World, count: int
) -> list[dict[str, Any]]:
    """``count`` anonymous letters for the world's first case; their payloads."""
    payloads = []
    for _ in range(count):
        payload = await record(client, code, action_input(world, world.first))
        assert payload["errors"] == [], payload
        payloads.append(payload)
    return payloads


async def flagged(graphql: GraphQLClient, code: str) -> list[dict[str, Any]]:
    data = await graphql.data(FLAGGED_ACTIONS, {"first": 100}, **staff(code))
    return [edge["node"] for edge in data["flaggedActions"]["edges"]]


async def add_network(
    graphql: GraphQLClient, code: str, network: str, expires_at: datetime, **caller: Any
) -> dict[str, Any]:
    values = {"network": network, "note": "School event", "expiresAt": expires_at.isoformat()}
    data = await graphql.data(ALLOWED_NETWORK_ADD, {"input": values}, **(caller or staff(code)))
    payload: dict[str, Any] = data["allowedNetworkAdd"]
    return payload


def in_a_day() -> datetime:
    return datetime.now(UTC) + timedelta(days=1)


# --- actions -------------------------------------------------------------------------------


@pytest.mark.usefixtures("cli_env")
async def test_over_limit_actions_from_one_address_are_flagged_and_never_counted(
    graphql: GraphQLClient,
    new_section: NewSection,
    client_at: ClientAt,
    app_engine: AsyncEngine,
) -> None:
    # given a section in an open campaign and a supporter's browser at one address
    world = await open_campaign(graphql, featured=1)
    code = await section_in(graphql, new_section, world)
    browser = await client_at(fresh_address())

    # when it records two more letters than its address may
    payloads = await record_many(browser, code, world, ACTIONS_PER_ADDRESS + 2)

    # then every answer looks the same, but only the allowance counts, here and worldwide
    first = without_identity(payloads[0])
    assert all(without_identity(payload) == first for payload in payloads)
    assert first["replayed"] is False
    assert await own_totals(graphql, code, world.year) == counted(ACTIONS_PER_ADDRESS)
    assert await case_totals(graphql, world.first, world.year) == counted(ACTIONS_PER_ADDRESS)
    # and the section's staff see the two that were held back, newest first
    held = await flagged(graphql, code)
    assert [row["id"] for row in held] == [payload["action"]["id"] for payload in payloads[:2:-1]]
    assert {row["flag"] for row in held} == {"rate-limit-ip"}
    # and the rollups still match the ledger, as the reconcile command says too
    await no_drift(app_engine)
    assert await asyncio.to_thread(main, ["totals", "reconcile"]) == 0


async def test_a_replay_of_a_flagged_action_stays_flagged_and_uncounted(
    graphql: GraphQLClient,
    new_section: NewSection,
    client_at: ClientAt,
    app_engine: AsyncEngine,
) -> None:
    # given an address that has used its allowance and one flagged letter
    world = await open_campaign(graphql, featured=1)
    code = await section_in(graphql, new_section, world)
    browser = await client_at(fresh_address())
    await record_many(browser, code, world, ACTIONS_PER_ADDRESS)
    values = action_input(world, world.first)
    first = await record(browser, code, values)

    # when the browser sends it again with the same key
    again = await record(browser, code, values)

    # then it is a replay of the flagged action, which still does not count
    assert again["replayed"] is True
    assert again["action"] == first["action"]
    assert [row["id"] for row in await flagged(graphql, code)] == [first["action"]["id"]]
    assert await own_totals(graphql, code, world.year) == counted(ACTIONS_PER_ADDRESS)
    await no_drift(app_engine)


async def test_the_flag_is_for_section_staff_only(
    graphql: GraphQLClient, new_section: NewSection, client_at: ClientAt
) -> None:
    # given a section in an open campaign
    world = await open_campaign(graphql, featured=1)
    code = await section_in(graphql, new_section, world)
    browser = await client_at(fresh_address())

    # when an anonymous supporter asks for the flag of its action, and for the list
    response = await browser.post(
        ACTION_RECORD_WITH_FLAG, {"input": action_input(world, world.first)}, section=code
    )
    listing = await browser.post(FLAGGED_ACTIONS, {"first": 10}, section=code)

    # then both are refused
    assert top_level_codes(response) == ["FORBIDDEN"]
    assert top_level_codes(listing) == ["FORBIDDEN"]


async def test_a_flood_from_many_addresses_is_flagged_for_the_section(
    graphql: GraphQLClient, new_section: NewSection, client_at: ClientAt
) -> None:
    # given a section, and a neighbouring section in the same campaign
    world = await open_campaign(graphql, featured=1)
    code = await section_in(graphql, new_section, world)
    neighbour = await section_in(graphql, new_section, world)
    browsers = [await client_at(fresh_address()) for _ in range(4)]

    # when four addresses each record their whole allowance there (12 > the threshold, 10)
    for browser in browsers:
        await record_many(browser, code, world, ACTIONS_PER_ADDRESS)
    # and one more address records at the neighbour
    await record_many(await client_at(fresh_address()), neighbour, world, 1)

    # then the section counts up to its threshold and flags the rest as a section flood
    flood = len(browsers) * ACTIONS_PER_ADDRESS - SECTION_FLOOD
    assert await own_totals(graphql, code, world.year) == counted(SECTION_FLOOD)
    assert [row["flag"] for row in await flagged(graphql, code)] == ["rate-limit-section"] * flood
    # and the neighbour is not affected
    assert await own_totals(graphql, neighbour, world.year) == counted(1)
    assert await flagged(graphql, neighbour) == []


async def test_staff_writes_are_never_screened(
    graphql: GraphQLClient, new_section: NewSection, client_at: ClientAt
) -> None:
    # given a section and its admin's office at one address
    world = await open_campaign(graphql, featured=1)
    code = await section_in(graphql, new_section, world)
    office = await client_at(fresh_address())

    # when the admin records twice the anonymous allowance
    for _ in range(2 * ACTIONS_PER_ADDRESS):
        payload = await record(
            office,
            code,
            action_input(world, world.first),
            role=Role.SECTION_ADMIN,
            token_section=code,
        )
        assert payload["errors"] == [], payload

    # then every action counts and none is flagged
    assert await own_totals(graphql, code, world.year) == counted(2 * ACTIONS_PER_ADDRESS)
    assert await flagged(graphql, code) == []


# --- allowlisted networks --------------------------------------------------------------------


async def test_an_allowlisted_network_gets_more_until_it_expires(
    graphql: GraphQLClient,
    new_section: NewSection,
    client_at: ClientAt,
    owner_engine: AsyncEngine,
) -> None:
    # given a school's network allowlisted by the section's admin
    world = await open_campaign(graphql, featured=1)
    code = await section_in(graphql, new_section, world)
    school = fresh_address()
    network = school.rsplit(".", 1)[0] + ".0/24"
    added = await add_network(graphql, code, network, in_a_day())
    assert added["errors"] == [], added
    entry = added["allowedNetwork"]
    assert (entry["network"], entry["isActive"]) == (network, True)

    # when the school records one more than the raised allowance
    await record_many(await client_at(school), code, world, ALLOWLISTED_PER_ADDRESS + 1)

    # then the raised allowance counts, the rest is flagged
    assert await own_totals(graphql, code, world.year) == counted(ALLOWLISTED_PER_ADDRESS)
    assert [row["flag"] for row in await flagged(graphql, code)] == ["rate-limit-ip"]

    # when the entry has expired, another address of the network gets the normal allowance
    async with owner_engine.begin() as connection:
        await connection.execute(EXPIRE_ENTRY, {"id": entry["id"]})
    neighbour = school.rsplit(".", 1)[0] + (".1" if not school.endswith(".1") else ".2")
    await record_many(await client_at(neighbour), code, world, ACTIONS_PER_ADDRESS + 1)

    # then only the normal allowance counted
    total = ALLOWLISTED_PER_ADDRESS + ACTIONS_PER_ADDRESS
    assert await own_totals(graphql, code, world.year) == counted(total)
    listed = await graphql.data(ALLOWED_NETWORKS, **staff(code))
    assert listed["allowedNetworks"] == [
        {"id": entry["id"], "network": network, "note": "School event", "isActive": False}
    ]


async def test_invalid_allowlist_entries_are_refused_and_change_nothing(
    graphql: GraphQLClient, new_section: NewSection
) -> None:
    # given a section
    code = (await new_section())["code"]
    past = datetime.now(UTC) - timedelta(minutes=1)

    # when its admin sends entries that are malformed, too wide, with host bits or expired
    cases = [
        ("10.0.0.300/24", in_a_day(), "INVALID"),
        ("10.0.0.0/8", in_a_day(), "NOT_ALLOWED"),
        ("2001:db8::/32", in_a_day(), "NOT_ALLOWED"),
        ("10.1.2.3/24", in_a_day(), "INVALID"),
        ("10.1.2.0/24", past, "INVALID"),
        ("10.1.2.0/24", datetime.now(UTC) + timedelta(days=400), "INVALID"),
    ]
    outcomes = [
        [
            (error["field"], error["code"])
            for error in (await add_network(graphql, code, *case[:2]))["errors"]
        ]
        for case in cases
    ]

    # then each is refused with its reason and nothing is stored
    assert outcomes == [
        [("network", "INVALID")],
        [("network", "NOT_ALLOWED")],
        [("network", "NOT_ALLOWED")],
        [("network", "INVALID")],
        [("expiresAt", "INVALID")],
        [("expiresAt", "INVALID")],
    ]
    assert (await graphql.data(ALLOWED_NETWORKS, **staff(code)))["allowedNetworks"] == []


async def test_allowlists_are_for_the_sections_own_admins(
    graphql: GraphQLClient, new_section: NewSection
) -> None:
    # given a section with an entry, and another section
    code = (await new_section())["code"]
    other = (await new_section())["code"]
    added = await add_network(graphql, code, "192.0.2.0/24", in_a_day())
    entry_id = added["allowedNetwork"]["id"]

    # when the other section's admin lists and removes, and anonymous and editors ask
    other_list = await graphql.data(ALLOWED_NETWORKS, **staff(other))
    removal = await graphql.data(
        ALLOWED_NETWORK_REMOVE, {"input": {"id": entry_id}}, **staff(other)
    )
    anonymous = await graphql.post(ALLOWED_NETWORKS, section=code)
    editor = await graphql.post(ALLOWED_NETWORKS, **staff(code, Role.SECTION_EDITOR))

    # then the other section sees and removes nothing, and the others are refused
    assert other_list["allowedNetworks"] == []
    assert [error["code"] for error in removal["allowedNetworkRemove"]["errors"]] == ["NOT_FOUND"]
    assert top_level_codes(anonymous) == ["FORBIDDEN"]
    assert top_level_codes(editor) == ["FORBIDDEN"]
    # and the section's own admin removes it
    removed = await graphql.data(ALLOWED_NETWORK_REMOVE, {"input": {"id": entry_id}}, **staff(code))
    assert removed["allowedNetworkRemove"] == {"removedId": entry_id, "errors": []}
    assert (await graphql.data(ALLOWED_NETWORKS, **staff(code)))["allowedNetworks"] == []


# --- registrations -------------------------------------------------------------------------


async def test_a_flagged_registration_takes_no_seat_but_answers_like_one(
    graphql: GraphQLClient, new_section: NewSection, client_at: ClientAt
) -> None:
    # given a published event with 5 seats and a visitor's browser at one address
    world = await open_campaign(graphql, featured=1)
    code = await section_in(graphql, new_section, world)
    event_id = await create_event(graphql, code, event_input(world.year, capacity=5))
    browser = await client_at(fresh_address())

    # when it registers one person more than its address may
    answers = []
    for index in range(REGISTRATIONS_PER_ADDRESS + 1):
        values = registration_input(event_id, f"person{index}@example.org", f"device-{index}")
        answers.append(await register(browser, code, values))

    # then every answer is a confirmed seat, the last one as if it were counted
    assert [answer["errors"] for answer in answers] == [[]] * len(answers)
    assert [answer["status"] for answer in answers] == ["CONFIRMED"] * len(answers)
    assert [
        (answer["event"]["registeredCount"], answer["event"]["spotsLeft"]) for answer in answers
    ] == [(1, 4), (2, 3), (3, 2)]
    # but the flagged one takes no seat: the public counts two and the next person fits
    assert await seats(graphql, code, event_id) == (2, 3)
    newcomer = await client_at(fresh_address())
    values = registration_input(event_id, "late@example.org", "device-late", guests=2)
    assert (await register(newcomer, code, values))["status"] == "CONFIRMED"
    assert await seats(graphql, code, event_id) == (5, 0)
    # and the section's staff see which one was held back
    data = await graphql.data(EVENT_REGISTRATIONS_WITH_FLAG, {"id": event_id}, **staff(code))
    flags = {row["email"]: row["flag"] for row in data["event"]["registrations"]}
    assert flags == {
        "person0@example.org": None,
        "person1@example.org": None,
        "person2@example.org": "rate-limit-ip",
        "late@example.org": None,
    }
    assert len(await attendees(graphql, code, event_id)) == 4


async def test_a_flagged_registration_never_blocks_the_persons_own(
    graphql: GraphQLClient, new_section: NewSection, client_at: ClientAt
) -> None:
    # given a bot that used its address's allowance and then registered someone's email
    world = await open_campaign(graphql, featured=1)
    code = await section_in(graphql, new_section, world)
    event_id = await create_event(graphql, code, event_input(world.year, capacity=5))
    bot = await client_at(fresh_address())
    for index in range(REGISTRATIONS_PER_ADDRESS):
        await register(bot, code, registration_input(event_id, f"bot{index}@example.org", "b"))
    victim = registration_input(event_id, "ada@example.org", "bot-device")
    assert (await register(bot, code, victim))["errors"] == []

    # when the person registers from their own device
    person = await client_at(fresh_address())
    answer = await register(person, code, registration_input(event_id, "ada@example.org", "own"))

    # then they get a counted seat
    assert (answer["errors"], answer["status"]) == ([], "CONFIRMED")
    assert await seats(graphql, code, event_id) == (REGISTRATIONS_PER_ADDRESS + 1, 2)


async def test_no_public_write_is_counted_when_refused(
    graphql: GraphQLClient, new_section: NewSection, client_at: ClientAt
) -> None:
    # given a section in an open campaign
    world = await open_campaign(graphql, featured=1)
    code = await section_in(graphql, new_section, world)
    browser = await client_at(fresh_address())

    # when an anonymous action is refused (a case the section does not feature)
    payload = await record(browser, code, action_input(world, world.unfeatured))

    # then nothing counts and nothing is flagged
    assert [error["code"] for error in payload["errors"]] == ["NOT_ALLOWED"]
    assert await own_totals(graphql, code, world.year) == NOTHING
    assert await flagged(graphql, code) == []
