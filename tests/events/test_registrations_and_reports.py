"""Event registrations (capacity, waitlist, who sees attendees) and event reports (how they
feed the action ledger) through the GraphQL API at a section's endpoint (HTTP, real
database).

Campaign years and cases are global and other tests share the database: every campaign made
here gets a random free test year (tests/campaigns), and every test its own sections and
events. The ledger tests each make their own campaign and cases, so the worldwide case
totals they read change only through them.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.actions.test_ledger_api import (
    NOTHING,
    Case,
    World,
    amounts,
    at,
    case_totals,
    cell,
    counted,
    join,
    no_drift,
    open_campaign,
    report,
    staff,
)
from tests.campaigns.test_campaigns_api import problems, top_level_codes
from tests.conftest import SECTION_CREATE, GraphQLClient, section_input, unique_code
from w4r.platform.auth import Role

NewSection = Callable[..., Awaitable[dict[str, Any]]]

EVENT_CREATE = """
mutation ($input: EventInput!) {
  eventCreate(input: $input) { event { id status } errors { field code message } }
}
"""
EVENT_PUBLISH = """
mutation ($input: EventDecisionInput!) {
  eventPublish(input: $input) { event { id status } errors { field code message } }
}
"""
EVENT_APPROVE = """
mutation ($input: EventDecisionInput!) {
  eventApprove(input: $input) { event { id status } errors { field code message } }
}
"""
EVENT_CANCEL = """
mutation ($input: EventDecisionInput!) {
  eventCancel(input: $input) { event { id status } errors { field code message } }
}
"""
EVENT_REGISTER = """
mutation ($input: EventRegisterInput!) {
  eventRegister(input: $input) {
    status registrationId cancellationToken
    event { id registeredCount spotsLeft }
    errors { field code message }
  }
}
"""
EVENT_REGISTRATION_CANCEL = """
mutation ($input: EventRegistrationCancelInput!) {
  eventRegistrationCancel(input: $input) { registrationId errors { field code message } }
}
"""
EVENT_REPORT = """
mutation ($input: EventReportInput!) {
  eventReport(input: $input) { revision attendance errors { field code message } }
}
"""
EVENT_SEATS = """
query ($id: UUID!) {
  event(id: $id) { id status capacity registeredCount spotsLeft }
}
"""
EVENT_REGISTRATIONS = """
query ($id: UUID!) {
  event(id: $id) { id registrations { email guests status createdAt } }
}
"""

CAPACITY = 10
CONCURRENT_REGISTRATIONS = 30
CANCELLED_SEATS = 3
# The order of concurrent registrations is up to the scheduler: a wrong order shows in some
# bursts only (about one in four), so the ordering test sends 12 of them.
CROWDS = 12
CROWDS_AT_ONCE = 6


# --- helpers -----------------------------------------------------------------------------


def event_input(
    year: int, *, capacity: int | None = None, case_ids: tuple[str, ...] = ()
) -> dict[str, Any]:
    """A valid ``EventInput``: an online event in an hour, for two hours."""
    starts_at = datetime.now(UTC) + timedelta(hours=1)
    return {
        "campaign": year,
        "format": "ONLINE",
        "language": "en",
        "texts": [{"language": "en", "title": "Letters night"}],
        "startsAt": at(starts_at),
        "endsAt": at(starts_at + timedelta(hours=2)),
        "timeZone": "Europe/London",
        "organiserName": "Camden group",
        "onlineUrl": "https://meet.example/w4r-letters",
        "capacity": capacity,
        "caseIds": list(case_ids),
    }


def host_headers(graphql: GraphQLClient, code: str, subject: str) -> dict[str, str]:
    """Headers of an event host of section ``code`` whose token subject is ``subject``."""
    token = graphql.token_for(Role.EVENT_HOST, code, subject=subject)
    return {"authorization": f"Bearer {token}"}


async def decide(
    graphql: GraphQLClient, document: str, name: str, code: str, event_id: str
) -> dict[str, Any]:
    """The event of a staff decision (publish, approve, cancel) that must succeed."""
    data = await graphql.data(document, {"input": {"id": event_id}}, **staff(code))
    payload = data[name]
    assert payload["errors"] == [], payload
    event: dict[str, Any] = payload["event"]
    return event


async def create_event(
    graphql: GraphQLClient,
    code: str,
    values: dict[str, Any],
    *,
    publish: bool = True,
) -> str:
    """An event created by the section's admin (a draft), published unless told; its id."""
    data = await graphql.data(EVENT_CREATE, {"input": values}, **staff(code))
    payload = data["eventCreate"]
    assert payload["errors"] == [], payload
    assert payload["event"]["status"] == "DRAFT"
    event_id: str = payload["event"]["id"]
    if publish:
        published = await decide(graphql, EVENT_PUBLISH, "eventPublish", code, event_id)
        assert published["status"] == "PUBLISHED"
    return event_id


async def host_event(graphql: GraphQLClient, code: str, year: int, subject: str) -> str:
    """An event submitted by the host ``subject`` and approved by the section's admin."""
    data = await graphql.data(
        EVENT_CREATE,
        {"input": event_input(year, capacity=20)},
        section=code,
        headers=host_headers(graphql, code, subject),
    )
    payload = data["eventCreate"]
    assert payload["errors"] == [], payload
    assert payload["event"]["status"] == "PENDING_APPROVAL"
    event_id: str = payload["event"]["id"]
    approved = await decide(graphql, EVENT_APPROVE, "eventApprove", code, event_id)
    assert approved["status"] == "PUBLISHED"
    return event_id


def registration_input(
    event_id: str, email: str, client_id: str, **overrides: Any
) -> dict[str, Any]:
    return {
        "eventId": event_id,
        "name": "Ada Lovelace",
        "email": email,
        "clientId": client_id,
        "guests": 0,
        **overrides,
    }


async def register(graphql: GraphQLClient, code: str, values: dict[str, Any]) -> dict[str, Any]:
    """The ``eventRegister`` payload of an anonymous visitor at ``code``'s endpoint."""
    data = await graphql.data(EVENT_REGISTER, {"input": values}, section=code)
    payload: dict[str, Any] = data["eventRegister"]
    return payload


async def registered(graphql: GraphQLClient, code: str, values: dict[str, Any]) -> dict[str, Any]:
    """A registration that must be accepted (confirmed or waitlisted)."""
    payload = await register(graphql, code, values)
    assert payload["errors"] == [], payload
    return payload


async def cancel_registration(graphql: GraphQLClient, code: str, token: str) -> dict[str, Any]:
    data = await graphql.data(
        EVENT_REGISTRATION_CANCEL, {"input": {"cancellationToken": token}}, section=code
    )
    payload: dict[str, Any] = data["eventRegistrationCancel"]
    return payload


async def seats(graphql: GraphQLClient, code: str, event_id: str) -> tuple[int, int | None]:
    """(registeredCount, spotsLeft) as the public sees them."""
    data = await graphql.data(EVENT_SEATS, {"id": event_id}, section=code)
    event = data["event"]
    assert event is not None
    return event["registeredCount"], event["spotsLeft"]


async def attendees(graphql: GraphQLClient, code: str, event_id: str) -> list[dict[str, Any]]:
    """The event's registrations as the section's admin sees them."""
    data = await graphql.data(EVENT_REGISTRATIONS, {"id": event_id}, **staff(code))
    rows: list[dict[str, Any]] = data["event"]["registrations"]
    return rows


def statuses(rows: list[dict[str, Any]]) -> dict[str, str]:
    return {row["email"]: row["status"] for row in rows}


def emails_with(rows: list[dict[str, Any]], status: str) -> list[str]:
    return [row["email"] for row in rows if row["status"] == status]


def occupied(rows: list[dict[str, Any]]) -> int:
    """Confirmed people (guests included) of a registrations list."""
    return sum(1 + row["guests"] for row in rows if row["status"] == "CONFIRMED")


# --- the world of this module's registration tests ---------------------------------------


@pytest.fixture(scope="module")
async def world(module_graphql: GraphQLClient) -> World:
    """An open campaign (its window holds today) for the registration tests' events."""
    return await open_campaign(module_graphql, featured=2)


# --- registering -------------------------------------------------------------------------


async def test_a_registration_is_confirmed_and_counts_its_guests(
    graphql: GraphQLClient, new_section: NewSection, world: World
) -> None:
    # given a published event with 5 places
    code = (await new_section())["code"]
    event_id = await create_event(graphql, code, event_input(world.year, capacity=5))
    assert await seats(graphql, code, event_id) == (0, 5)

    # when an anonymous visitor registers with 2 guests
    payload = await registered(
        graphql,
        code,
        registration_input(event_id, "ada@example.org", "device-1", guests=2),
    )

    # then the seat is confirmed for 3 people, with a token to cancel it
    assert payload["status"] == "CONFIRMED"
    assert isinstance(payload["registrationId"], str)
    assert isinstance(payload["cancellationToken"], str)
    assert len(payload["cancellationToken"]) >= 32
    assert payload["event"] == {"id": event_id, "registeredCount": 3, "spotsLeft": 2}
    assert await seats(graphql, code, event_id) == (3, 2)
    rows = await attendees(graphql, code, event_id)
    assert [(row["email"], row["guests"], row["status"]) for row in rows] == [
        ("ada@example.org", 2, "CONFIRMED")
    ]


async def test_registration_refusals_write_nothing(
    graphql: GraphQLClient, new_section: NewSection, world: World
) -> None:
    # given a published event with 10 places and three registrations from one device
    code = (await new_section())["code"]
    event_id = await create_event(graphql, code, event_input(world.year, capacity=10))
    for email in ("ada@example.org", "bob@example.org", "cy@example.org"):
        accepted = await registered(graphql, code, registration_input(event_id, email, "device-1"))
        assert accepted["status"] == "CONFIRMED"
    before = await attendees(graphql, code, event_id)
    assert await seats(graphql, code, event_id) == (3, 7)

    refusals: list[tuple[dict[str, Any], list[tuple[str | None, str]]]] = [
        # the same email again, in any case
        (
            registration_input(event_id, "ADA@Example.ORG", "device-2"),
            [("email", "ALREADY_EXISTS")],
        ),
        # a fourth registration from the same device
        (
            registration_input(event_id, "dee@example.org", "device-1"),
            [("clientId", "NOT_ALLOWED")],
        ),
        # too many guests
        (
            registration_input(event_id, "eve@example.org", "device-3", guests=11),
            [("guests", "INVALID")],
        ),
        # an invalid email
        (registration_input(event_id, "not-an-email", "device-3"), [("email", "INVALID")]),
    ]
    for values, expected in refusals:
        # when such a registration is sent
        payload = await register(graphql, code, values)

        # then it is refused with its problem and nothing else in the payload
        assert problems(payload) == expected, values
        assert payload["status"] is None
        assert payload["registrationId"] is None
        assert payload["cancellationToken"] is None
        assert payload["event"] is None

    # and nothing was written
    assert await seats(graphql, code, event_id) == (3, 7)
    assert await attendees(graphql, code, event_id) == before


async def test_only_a_published_event_takes_registrations(
    graphql: GraphQLClient, new_section: NewSection, world: World
) -> None:
    # given a draft event, a cancelled event and an id of no event
    code = (await new_section())["code"]
    draft = await create_event(graphql, code, event_input(world.year, capacity=10), publish=False)
    cancelled = await create_event(graphql, code, event_input(world.year, capacity=10))
    assert (await decide(graphql, EVENT_CANCEL, "eventCancel", code, cancelled))[
        "status"
    ] == "CANCELLED"
    unknown = str(uuid.uuid4())

    for event_id in (draft, cancelled, unknown):
        # when a visitor registers for it
        payload = await register(
            graphql, code, registration_input(event_id, "ada@example.org", "device-1")
        )

        # then it is not found
        assert problems(payload) == [("eventId", "NOT_FOUND")]
        assert payload["cancellationToken"] is None

    # and nothing was written
    for event_id in (draft, cancelled):
        assert await attendees(graphql, code, event_id) == []


# --- capacity and the waitlist -----------------------------------------------------------


@dataclass(frozen=True)
class Crowd:
    code: str
    event_id: str
    tokens: dict[str, str]
    """Each registrant's email -> cancellation token."""
    answers: dict[str, str]
    """Each registrant's email -> the status eventRegister answered."""


async def crowd(graphql: GraphQLClient, new_section: NewSection, world: World) -> Crowd:
    """An event of CAPACITY places and CONCURRENT_REGISTRATIONS concurrent registrations."""
    code = (await new_section())["code"]
    event_id = await create_event(graphql, code, event_input(world.year, capacity=CAPACITY))
    emails = [f"person-{index:02d}@example.org" for index in range(CONCURRENT_REGISTRATIONS)]
    payloads = await asyncio.gather(
        *(
            register(graphql, code, registration_input(event_id, email, f"device-{email}"))
            for email in emails
        )
    )
    for payload in payloads:
        assert payload["errors"] == [], payload
    return Crowd(
        code=code,
        event_id=event_id,
        tokens={
            email: payload["cancellationToken"]
            for email, payload in zip(emails, payloads, strict=True)
        },
        answers={email: payload["status"] for email, payload in zip(emails, payloads, strict=True)},
    )


async def test_concurrent_registrations_never_exceed_the_capacity(
    graphql: GraphQLClient, new_section: NewSection, world: World
) -> None:
    # given an event with 10 places
    # when 30 people register at the same time
    registrations = await crowd(graphql, new_section, world)

    # then exactly 10 are confirmed and 20 waitlisted
    answers = list(registrations.answers.values())
    assert answers.count("CONFIRMED") == CAPACITY
    assert answers.count("WAITLISTED") == CONCURRENT_REGISTRATIONS - CAPACITY
    assert await seats(graphql, registrations.code, registrations.event_id) == (CAPACITY, 0)

    # and the staff's list has everyone as they were answered, oldest first
    rows = await attendees(graphql, registrations.code, registrations.event_id)
    assert statuses(rows) == registrations.answers
    assert len(rows) == CONCURRENT_REGISTRATIONS
    created = [datetime.fromisoformat(row["createdAt"]) for row in rows]
    assert created == sorted(created)
    assert occupied(rows) == CAPACITY


async def test_the_list_shows_places_in_the_order_they_were_given(
    graphql: GraphQLClient, new_section: NewSection, world: World
) -> None:
    # given 12 events of 10 places
    # when 30 people register for each at the same time (6 events at once)
    crowds: list[Crowd] = []
    for _ in range(CROWDS // CROWDS_AT_ONCE):
        crowds.extend(
            await asyncio.gather(
                *(crowd(graphql, new_section, world) for _ in range(CROWDS_AT_ONCE))
            )
        )

    for registrations in crowds:
        # then each staff list, oldest first, has the 10 confirmed people before the 20
        # waiting ones: nobody listed before a confirmed person was sent to the waitlist
        # (first come, first served, in the order the list and the promotions use)
        rows = await attendees(graphql, registrations.code, registrations.event_id)
        listed = "".join(row["status"][0] for row in rows)
        assert listed == "C" * CAPACITY + "W" * (CONCURRENT_REGISTRATIONS - CAPACITY), [
            (row["status"], row["createdAt"]) for row in rows
        ]


async def test_cancelling_promotes_the_waitlist_in_order(
    graphql: GraphQLClient, new_section: NewSection, world: World
) -> None:
    # given a full event of 10 places with 20 people on its waitlist
    registrations = await crowd(graphql, new_section, world)
    code, event_id = registrations.code, registrations.event_id
    before = await attendees(graphql, code, event_id)
    waitlist = emails_with(before, "WAITLISTED")
    assert len(waitlist) == CONCURRENT_REGISTRATIONS - CAPACITY
    leaving = emails_with(before, "CONFIRMED")[:CANCELLED_SEATS]

    for email in leaving:
        # when 3 confirmed people cancel with their tokens, one after the other
        payload = await cancel_registration(graphql, code, registrations.tokens[email])
        assert payload["errors"] == [], payload
        assert isinstance(payload["registrationId"], str)

        # then the event stays exactly full, never over
        assert await seats(graphql, code, event_id) == (CAPACITY, 0)

    # and the first 3 of the waitlist, in its order, took their places
    after = await attendees(graphql, code, event_id)
    assert statuses(after) == {
        **statuses(before),
        **dict.fromkeys(leaving, "CANCELLED"),
        **dict.fromkeys(waitlist[:CANCELLED_SEATS], "CONFIRMED"),
    }
    assert emails_with(after, "WAITLISTED") == waitlist[CANCELLED_SEATS:]
    assert occupied(after) == CAPACITY


async def test_a_used_or_wrong_token_cancels_nothing(
    graphql: GraphQLClient, new_section: NewSection, world: World
) -> None:
    # given an event with 1 place: one confirmed registration (cancelled since) and one
    # confirmed after it, and one waiting
    code = (await new_section())["code"]
    event_id = await create_event(graphql, code, event_input(world.year, capacity=1))
    first = await registered(graphql, code, registration_input(event_id, "a@example.org", "d1"))
    second = await registered(graphql, code, registration_input(event_id, "b@example.org", "d2"))
    third = await registered(graphql, code, registration_input(event_id, "c@example.org", "d3"))
    assert (first["status"], second["status"], third["status"]) == (
        "CONFIRMED",
        "WAITLISTED",
        "WAITLISTED",
    )
    cancelled = await cancel_registration(graphql, code, first["cancellationToken"])
    assert cancelled == {"registrationId": first["registrationId"], "errors": []}
    before = await attendees(graphql, code, event_id)
    assert statuses(before) == {
        "a@example.org": "CANCELLED",
        "b@example.org": "CONFIRMED",
        "c@example.org": "WAITLISTED",
    }

    for token in (first["cancellationToken"], "not-a-token-" + uuid.uuid4().hex):
        # when someone cancels with the used token again, or with a wrong one
        payload = await cancel_registration(graphql, code, token)

        # then no registration is found and nothing changes
        assert problems(payload) == [("cancellationToken", "NOT_FOUND")]
        assert payload["registrationId"] is None
        assert await attendees(graphql, code, event_id) == before
        assert await seats(graphql, code, event_id) == (1, 0)


async def test_a_waiting_party_that_does_not_fit_blocks_those_after_it(
    graphql: GraphQLClient, new_section: NewSection, world: World
) -> None:
    # given an event of 3 places, full with a single and a pair; then a party of 3 and a
    # single on the waitlist (behind the party, though one seat would do for them)
    code = (await new_section())["code"]
    event_id = await create_event(graphql, code, event_input(world.year, capacity=3))
    single = await registered(graphql, code, registration_input(event_id, "a@example.org", "d1"))
    pair = await registered(
        graphql, code, registration_input(event_id, "b@example.org", "d2", guests=1)
    )
    party = await registered(
        graphql, code, registration_input(event_id, "c@example.org", "d3", guests=2)
    )
    late = await registered(graphql, code, registration_input(event_id, "d@example.org", "d4"))
    assert [item["status"] for item in (single, pair, party, late)] == [
        "CONFIRMED",
        "CONFIRMED",
        "WAITLISTED",
        "WAITLISTED",
    ]
    assert await seats(graphql, code, event_id) == (3, 0)

    # when the single cancels (1 seat free: not enough for the party of 3)
    assert (await cancel_registration(graphql, code, single["cancellationToken"]))["errors"] == []

    # then nobody overtakes the party: the late single still waits
    assert statuses(await attendees(graphql, code, event_id)) == {
        "a@example.org": "CANCELLED",
        "b@example.org": "CONFIRMED",
        "c@example.org": "WAITLISTED",
        "d@example.org": "WAITLISTED",
    }
    assert await seats(graphql, code, event_id) == (2, 1)

    # when the pair cancels too (3 seats free)
    assert (await cancel_registration(graphql, code, pair["cancellationToken"]))["errors"] == []

    # then the party comes in and fills the event; the late single still waits
    rows = await attendees(graphql, code, event_id)
    assert statuses(rows) == {
        "a@example.org": "CANCELLED",
        "b@example.org": "CANCELLED",
        "c@example.org": "CONFIRMED",
        "d@example.org": "WAITLISTED",
    }
    assert occupied(rows) == 3
    assert await seats(graphql, code, event_id) == (3, 0)


# --- who sees the attendees --------------------------------------------------------------


async def test_attendees_are_for_staff_and_the_events_own_host(
    graphql: GraphQLClient, new_section: NewSection, world: World
) -> None:
    # given an event submitted by a host and approved, with one registration
    code = (await new_section())["code"]
    host = f"host:{uuid.uuid4()}"
    event_id = await host_event(graphql, code, world.year, host)
    await registered(graphql, code, registration_input(event_id, "ada@example.org", "device-1"))
    expected = [{"email": "ada@example.org", "guests": 0, "status": "CONFIRMED"}]

    # when its host and the section's staff read the attendees
    by_host = await graphql.data(
        EVENT_REGISTRATIONS,
        {"id": event_id},
        section=code,
        headers=host_headers(graphql, code, host),
    )
    by_staff = await graphql.data(EVENT_REGISTRATIONS, {"id": event_id}, **staff(code))

    # then both see them
    for data in (by_host, by_staff):
        rows = data["event"]["registrations"]
        assert [{name: row[name] for name in ("email", "guests", "status")} for row in rows] == (
            expected
        )


@pytest.mark.parametrize("caller", ["anonymous", "another host"])
async def test_attendees_are_forbidden_to_others(
    graphql: GraphQLClient, new_section: NewSection, world: World, caller: str
) -> None:
    # given an event of one host with one registration, and another host's event
    code = (await new_section())["code"]
    event_id = await host_event(graphql, code, world.year, f"host:{uuid.uuid4()}")
    other = f"host:{uuid.uuid4()}"
    await host_event(graphql, code, world.year, other)
    await registered(graphql, code, registration_input(event_id, "ada@example.org", "device-1"))
    headers = None if caller == "anonymous" else host_headers(graphql, code, other)

    # when the caller asks for the event's attendees
    response = await graphql.post(
        EVENT_REGISTRATIONS, {"id": event_id}, section=code, headers=headers
    )

    # then it is refused at the top level, on the registrations field
    body = response.json()
    assert response.status_code == 200, body
    assert top_level_codes(response) == ["FORBIDDEN"]
    assert [error["path"] for error in body["errors"]] == [["event", "registrations"]]
    assert "ada@example.org" not in response.text


async def test_another_section_never_sees_the_event_or_its_attendees(
    graphql: GraphQLClient, new_section: NewSection, world: World
) -> None:
    # given an event of section A with one registration, and a section B
    code_a = (await new_section())["code"]
    code_b = (await new_section())["code"]
    event_id = await create_event(graphql, code_a, event_input(world.year, capacity=5))
    await registered(graphql, code_a, registration_input(event_id, "ada@example.org", "d1"))

    # when B's staff (and an anonymous visitor at B) ask for it at B's endpoint
    by_staff = await graphql.data(EVENT_REGISTRATIONS, {"id": event_id}, **staff(code_b))
    anonymous = await graphql.data(EVENT_SEATS, {"id": event_id}, section=code_b)

    # then there is no such event there
    assert by_staff == {"event": None}
    assert anonymous == {"event": None}
    # and registering or cancelling through B's endpoint finds nothing of A's
    payload = await register(graphql, code_b, registration_input(event_id, "bob@example.org", "d2"))
    assert problems(payload) == [("eventId", "NOT_FOUND")]
    assert await seats(graphql, code_a, event_id) == (1, 4)


# --- reports and the ledger --------------------------------------------------------------


@dataclass(frozen=True)
class Reported:
    """A section that features the world's cases, and its published event about them that
    has started."""

    world: World
    code: str
    event_id: str

    @property
    def first(self) -> Case:
        return self.world.first

    @property
    def second(self) -> Case:
        return self.world.second


async def move_into_the_past(owner_engine: AsyncEngine, event_id: str) -> None:
    """Make the event start an hour ago. The API refuses to create an event that starts in
    the past and reports only events that have started; a test may not sleep, so the start
    is moved directly in the database, as the owner (a superuser, past row-level security)."""
    async with owner_engine.begin() as connection:
        result = await connection.execute(
            text(
                "UPDATE events SET starts_at = now() - interval '1 hour', "
                "ends_at = now() + interval '1 hour' WHERE id = :id"
            ),
            {"id": event_id},
        )
        assert result.rowcount == 1


async def latest_revision(owner_engine: AsyncEngine, event_id: str) -> int | None:
    async with owner_engine.connect() as connection:
        revision: int | None = (
            await connection.execute(
                text("SELECT max(revision) FROM event_reports WHERE event_id = :id"),
                {"id": event_id},
            )
        ).scalar_one()
    return revision


async def started_event(
    graphql: GraphQLClient, new_section: NewSection, owner_engine: AsyncEngine
) -> Reported:
    """A new campaign and cases, a section featuring both, and its started event on them."""
    world = await open_campaign(graphql, featured=2)
    code = (await new_section())["code"]
    await join(graphql, code, world)
    event_id = await create_event(
        graphql,
        code,
        event_input(world.year, case_ids=(world.first.id, world.second.id)),
    )
    await move_into_the_past(owner_engine, event_id)
    return Reported(world=world, code=code, event_id=event_id)


def line(case: Case, action_type: str, quantity: int) -> dict[str, Any]:
    return {"caseId": case.id, "actionType": action_type, "quantity": quantity}


async def send_report(
    graphql: GraphQLClient,
    event_id: str,
    lines: list[dict[str, Any]],
    *,
    attendance: int = 12,
    **options: Any,
) -> httpx.Response:
    values = {"eventId": event_id, "attendance": attendance, "lines": lines}
    return await graphql.post(EVENT_REPORT, {"input": values}, **options)


async def event_report(
    graphql: GraphQLClient, reported: Reported, lines: list[dict[str, Any]], attendance: int = 12
) -> dict[str, Any]:
    """The ``eventReport`` payload of the section's admin."""
    data = await graphql.data(
        EVENT_REPORT,
        {"input": {"eventId": reported.event_id, "attendance": attendance, "lines": lines}},
        **staff(reported.code),
    )
    payload: dict[str, Any] = data["eventReport"]
    return payload


async def both_cases(graphql: GraphQLClient, reported: Reported) -> tuple[dict[str, int], ...]:
    """The worldwide totals of the two cases in the campaign."""
    year = reported.world.year
    return (
        await case_totals(graphql, reported.first, year),
        await case_totals(graphql, reported.second, year),
    )


def self_reported(quantity: int) -> dict[str, int]:
    return counted(quantity, verified=0)


async def channels(graphql: GraphQLClient, reported: Reported) -> list[dict[str, Any]]:
    """The section's own totals by channel, as its admin sees them."""
    totals = await report(
        graphql, reported.world.year, group_by=["CHANNEL"], **staff(reported.code)
    )
    cells: list[dict[str, Any]] = totals["cells"]
    return cells


async def test_an_event_is_reported_only_once_it_has_started(
    graphql: GraphQLClient, new_section: NewSection, world: World, owner_engine: AsyncEngine
) -> None:
    # given a published event on featured cases that starts in an hour
    code = (await new_section())["code"]
    await join(graphql, code, world)
    event_id = await create_event(
        graphql, code, event_input(world.year, case_ids=(world.first.id, world.second.id))
    )

    # when the section's admin reports it
    response = await send_report(
        graphql, event_id, [line(world.first, "LETTER", 30)], **staff(code)
    )

    # then it is refused and nothing is written
    body = response.json()
    assert "errors" not in body, body
    payload = body["data"]["eventReport"]
    assert problems(payload) == [("eventId", "NOT_ALLOWED")]
    assert (payload["revision"], payload["attendance"]) == (None, None)
    assert await latest_revision(owner_engine, event_id) is None
    by_channel = await report(graphql, world.year, group_by=["CHANNEL"], **staff(code))
    assert amounts(by_channel) == NOTHING
    assert by_channel["cells"] == []


async def test_reports_feed_the_ledger_and_a_correction_replaces_the_report(
    graphql: GraphQLClient,
    new_section: NewSection,
    owner_engine: AsyncEngine,
    app_engine: AsyncEngine,
) -> None:
    # given a started event on two cases that the section features
    reported = await started_event(graphql, new_section, owner_engine)
    first, second = reported.first, reported.second
    assert await both_cases(graphql, reported) == (NOTHING, NOTHING)

    # when the section's admin reports 12 people, 30 letters for the first case and 5
    # solidarity cards for the second
    payload = await event_report(
        graphql, reported, [line(first, "LETTER", 30), line(second, "SOLIDARITY", 5)]
    )

    # then it is the first revision and the cases count them as self-reported
    assert payload == {"revision": 1, "attendance": 12, "errors": []}
    assert await both_cases(graphql, reported) == (self_reported(30), self_reported(5))
    # and the section's totals show them through the EVENT channel
    assert await channels(graphql, reported) == [cell(channel="EVENT", quantity=35, verified=0)]

    # when a correction says 25 letters for the first case, and 5 cards and 4 letters for
    # the second
    corrected = [
        line(first, "LETTER", 25),
        line(second, "SOLIDARITY", 5),
        line(second, "LETTER", 4),
    ]
    payload = await event_report(graphql, reported, corrected, attendance=14)

    # then it replaces the first report: 30 -> 25 (never 55), and 5 + 4 = 9
    assert payload == {"revision": 2, "attendance": 14, "errors": []}
    assert await both_cases(graphql, reported) == (self_reported(25), self_reported(9))
    assert await channels(graphql, reported) == [cell(channel="EVENT", quantity=34, verified=0)]

    # when the same report is sent again
    payload = await event_report(graphql, reported, corrected, attendance=14)

    # then it is a new revision that changes no count
    assert payload == {"revision": 3, "attendance": 14, "errors": []}
    assert await both_cases(graphql, reported) == (self_reported(25), self_reported(9))

    # when a report gives the second case's cards as 0 and leaves out its letters
    payload = await event_report(
        graphql,
        reported,
        [line(first, "LETTER", 25), line(second, "SOLIDARITY", 0)],
        attendance=14,
    )

    # then the second case counts nothing any more
    assert payload == {"revision": 4, "attendance": 14, "errors": []}
    assert await both_cases(graphql, reported) == (self_reported(25), NOTHING)
    assert await channels(graphql, reported) == [cell(channel="EVENT", quantity=25, verified=0)]
    # and every rollup of every section still matches the ledger
    await no_drift(app_engine)


@pytest.fixture(scope="module")
async def reported_once(module_graphql: GraphQLClient, owner_engine: AsyncEngine) -> Reported:
    """A started event with one report (30 letters, 5 cards): refused reports must leave it
    so (checked before each test that uses it)."""
    graphql = module_graphql
    world = await open_campaign(graphql, featured=2)
    code = unique_code()
    created = await graphql.data(SECTION_CREATE, {"input": section_input(code)}, role=Role.IS_ADMIN)
    assert created["sectionCreate"]["errors"] == [], created
    await join(graphql, code, world)
    event_id = await create_event(
        graphql, code, event_input(world.year, case_ids=(world.first.id, world.second.id))
    )
    await move_into_the_past(owner_engine, event_id)
    reported = Reported(world=world, code=code, event_id=event_id)
    payload = await event_report(
        graphql,
        reported,
        [line(world.first, "LETTER", 30), line(world.second, "SOLIDARITY", 5)],
    )
    assert payload == {"revision": 1, "attendance": 12, "errors": []}
    return reported


async def unchanged(graphql: GraphQLClient, reported: Reported, owner_engine: AsyncEngine) -> None:
    """The module's reported event still has its first report only, and counts it once."""
    assert await latest_revision(owner_engine, reported.event_id) == 1
    assert await both_cases(graphql, reported) == (self_reported(30), self_reported(5))
    assert await channels(graphql, reported) == [cell(channel="EVENT", quantity=35, verified=0)]
    year = reported.world.year
    assert await case_totals(graphql, reported.world.unfeatured, year) == NOTHING


@pytest.mark.parametrize(
    ("bad", "expected"),
    [
        ("unfeatured case", [("lines.1.caseId", "NOT_ALLOWED")]),
        ("negative quantity", [("lines.1.quantity", "INVALID")]),
        ("same case and type twice", [("lines.2", "ALREADY_EXISTS")]),
    ],
)
async def test_a_refused_report_writes_nothing(
    graphql: GraphQLClient,
    reported_once: Reported,
    owner_engine: AsyncEngine,
    bad: str,
    expected: list[tuple[str, str]],
) -> None:
    # given a started event with one report
    reported = reported_once
    await unchanged(graphql, reported, owner_engine)
    first, second = reported.first, reported.second
    lines = {
        "unfeatured case": [
            line(first, "LETTER", 40),
            line(reported.world.unfeatured, "LETTER", 3),
        ],
        "negative quantity": [line(first, "LETTER", 40), line(second, "SOLIDARITY", -1)],
        "same case and type twice": [
            line(first, "LETTER", 40),
            line(second, "SOLIDARITY", 5),
            line(first, "LETTER", 2),
        ],
    }[bad]

    # when its admin sends a report with a bad line
    payload = await event_report(graphql, reported, lines)

    # then it is refused with the line's problem, and nothing is written
    assert problems(payload) == expected
    assert (payload["revision"], payload["attendance"]) == (None, None)
    await unchanged(graphql, reported, owner_engine)


@pytest.mark.parametrize(
    ("caller", "status", "code"),
    [
        ("anonymous", 200, "FORBIDDEN"),
        ("another host", 200, "FORBIDDEN"),
        # a token of another section is refused before the operation runs
        ("host of another section", 403, "SECTION_FORBIDDEN"),
    ],
)
async def test_a_report_is_forbidden_to_others(
    graphql: GraphQLClient,
    new_section: NewSection,
    reported_once: Reported,
    owner_engine: AsyncEngine,
    caller: str,
    status: int,
    code: str,
) -> None:
    # given a started event with one report, and a host of another event of the section
    reported = reported_once
    await unchanged(graphql, reported, owner_engine)
    if caller == "anonymous":
        options: dict[str, Any] = {"section": reported.code}
    elif caller == "another host":
        other = f"host:{uuid.uuid4()}"
        await host_event(graphql, reported.code, reported.world.year, other)
        options = {"section": reported.code, "headers": host_headers(graphql, reported.code, other)}
    else:
        other_code = (await new_section())["code"]
        options = {
            "section": reported.code,
            "headers": host_headers(graphql, other_code, f"host:{uuid.uuid4()}"),
        }

    # when the caller reports the event
    response = await send_report(
        graphql, reported.event_id, [line(reported.first, "LETTER", 99)], **options
    )

    # then it is refused at the top level and nothing is written
    body = response.json()
    assert response.status_code == status, body
    assert top_level_codes(response) == [code], body
    assert body.get("data") in (None, {"eventReport": None})
    await unchanged(graphql, reported, owner_engine)
