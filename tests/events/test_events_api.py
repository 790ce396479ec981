"""Events through the GraphQL API and the iCalendar feeds (HTTP, real database): organising
by staff and hosts, approval, "near me" searches, filters, time zones, what the public sees
of a registered-only address, isolation between sections, refusals that write nothing, and
text fallback.

Campaign years and cases are global and other tests share the database: the campaign made
here gets a random free test year (tests/campaigns) and every test its own sections, so an
event list only ever holds what that test created.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from icalendar import Calendar
from sqlalchemy import text as sql
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.actions.test_ledger_api import publish_case
from tests.campaigns.test_campaigns_api import create_campaign, problems, top_level_codes
from tests.conftest import GraphQLClient
from w4r.events.geo import great_circle_km
from w4r.platform.auth import Role

NewSection = Callable[..., Awaitable[dict[str, Any]]]
TokenFor = Callable[..., str]

LONDON = (51.5074, -0.1278)
PARIS = (48.8566, 2.3522)
WARSAW = (52.2297, 21.0122)
LONDON_PARIS_KM = 343.5
LONDON_WARSAW_KM = 1447.0
NO_CAMPAIGN_YEAR = 1901

EVENT_FIELDS = """
  id status format language startsAt endsAt timeZone capacity addressVisibility
  organiserName distanceKm onlineUrl
  venue { name streetAddress city country latitude longitude }
  text { language isFallback title description }
  cases { id }
"""
EVENT_CREATE = f"""
mutation ($input: EventInput!) {{
  eventCreate(input: $input) {{
    event {{ {EVENT_FIELDS} }}
    errors {{ field code message }}
  }}
}}
"""
EVENT_UPDATE = f"""
mutation ($input: EventUpdateInput!) {{
  eventUpdate(input: $input) {{
    event {{ {EVENT_FIELDS} }}
    errors {{ field code message }}
  }}
}}
"""
EVENT_PUBLISH = """
mutation ($input: EventDecisionInput!) {
  eventPublish(input: $input) { event { id status } errors { field code message } }
}
"""
EVENT_CANCEL = """
mutation ($input: EventDecisionInput!) {
  eventCancel(input: $input) { event { id status } errors { field code message } }
}
"""
EVENT_APPROVE = """
mutation ($input: EventDecisionInput!) {
  eventApprove(input: $input) { event { id status } errors { field code message } }
}
"""
EVENT_REJECT = """
mutation ($input: EventDecisionInput!) {
  eventReject(input: $input) { event { id status } errors { field code message } }
}
"""
EVENT_REGISTER = f"""
mutation ($input: EventRegisterInput!) {{
  eventRegister(input: $input) {{
    status
    event {{ {EVENT_FIELDS} }}
    errors {{ field code message }}
  }}
}}
"""
EVENT = f"""
query ($id: UUID!) {{
  event(id: $id) {{ {EVENT_FIELDS} }}
}}
"""
EVENT_REVIEW_NOTE = """
query ($id: UUID!) {
  event(id: $id) { id status reviewNote }
}
"""
EVENT_TEXT = """
query ($id: UUID!, $language: String) {
  event(id: $id) { text(language: $language) { language isFallback title } }
}
"""
EVENTS = """
query ($filter: EventFilter, $orderBy: EventOrder! = START, $first: Int, $after: String) {
  events(filter: $filter, orderBy: $orderBy, first: $first, after: $after) {
    edges { cursor node { id status distanceKm } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


# --- the world: an open campaign and published cases, shared by the module ----------------


@dataclass(frozen=True)
class World:
    year: int
    first_case: str
    second_case: str


@pytest.fixture(scope="module")
async def world(module_graphql: GraphQLClient) -> World:
    campaign = await create_campaign(module_graphql)
    year: int = campaign["year"]
    first = await publish_case(module_graphql, [year])
    second = await publish_case(module_graphql, [year])
    return World(year=year, first_case=first.id, second_case=second.id)


# --- helpers -----------------------------------------------------------------------------


def staff(code: str) -> dict[str, Any]:
    """``GraphQLClient`` options: a section admin of ``code`` at its endpoint."""
    return {"role": Role.SECTION_ADMIN, "token_section": code, "section": code}


def host(token_for: TokenFor, code: str, subject: str) -> dict[str, Any]:
    """``GraphQLClient`` options: the event host ``subject`` of ``code`` at its endpoint."""
    token = token_for(Role.EVENT_HOST, code, subject=subject)
    return {"headers": {"authorization": f"Bearer {token}"}, "section": code}


def public(code: str) -> dict[str, Any]:
    """``GraphQLClient`` options: an anonymous caller at the section's endpoint."""
    return {"section": code}


def soon(days: int = 30, hour: int = 18) -> datetime:
    """A whole hour ``days`` from now (UTC)."""
    day = datetime.now(UTC) + timedelta(days=days)
    return day.replace(hour=hour, minute=0, second=0, microsecond=0)


def event_input(year: int, **overrides: Any) -> dict[str, Any]:
    """A valid in-person ``EventInput`` in London, 30 days from now, for two hours."""
    starts = soon()
    return {
        "campaign": year,
        "format": "IN_PERSON",
        "language": "en",
        "texts": [{"language": "en", "title": "Letters night", "description": "Bring pens."}],
        "startsAt": starts.isoformat(),
        "endsAt": (starts + timedelta(hours=2)).isoformat(),
        "timeZone": "Europe/London",
        "organiserName": "Camden group",
        "venueName": "Friends House",
        "streetAddress": "173 Euston Road",
        "city": "London",
        "country": "GB",
        "latitude": LONDON[0],
        "longitude": LONDON[1],
        **overrides,
    }


def at_point(point: tuple[float, float], city: str) -> dict[str, Any]:
    return {"latitude": point[0], "longitude": point[1], "city": city}


async def create_event(
    graphql: GraphQLClient, values: dict[str, Any], **options: Any
) -> dict[str, Any]:
    data = await graphql.data(EVENT_CREATE, {"input": values}, **options)
    payload = data["eventCreate"]
    assert payload["errors"] == [], payload
    event: dict[str, Any] = payload["event"]
    return event


async def decide(
    graphql: GraphQLClient, mutation: str, event_id: str, note: str | None = None, **options: Any
) -> dict[str, Any]:
    """The payload of a decision (publish, cancel, approve, reject)."""
    data = await graphql.data(mutation, {"input": {"id": event_id, "note": note}}, **options)
    payload: dict[str, Any] = next(iter(data.values()))
    return payload


async def published_event(graphql: GraphQLClient, code: str, values: dict[str, Any]) -> str:
    """An event created and published by the section's staff; returns its id."""
    event = await create_event(graphql, values, **staff(code))
    payload = await decide(graphql, EVENT_PUBLISH, event["id"], **staff(code))
    assert payload["errors"] == [], payload
    event_id: str = event["id"]
    return event_id


async def event_as(graphql: GraphQLClient, event_id: str, **options: Any) -> dict[str, Any] | None:
    data = await graphql.data(EVENT, {"id": event_id}, **options)
    event: dict[str, Any] | None = data["event"]
    return event


async def listed(
    graphql: GraphQLClient, variables: dict[str, Any] | None = None, **options: Any
) -> list[dict[str, Any]]:
    """The first page of ``events`` (nodes)."""
    data = await graphql.data(EVENTS, {"first": 100, **(variables or {})}, **options)
    return [edge["node"] for edge in data["events"]["edges"]]


async def listed_ids(
    graphql: GraphQLClient, variables: dict[str, Any] | None = None, **options: Any
) -> list[str]:
    return [node["id"] for node in await listed(graphql, variables, **options)]


def near(point: tuple[float, float], radius_km: float) -> dict[str, Any]:
    return {"near": {"latitude": point[0], "longitude": point[1], "radiusKm": radius_km}}


def moment_of(value: str) -> datetime:
    return datetime.fromisoformat(value)


def parse_calendar(response: httpx.Response) -> Calendar:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    return Calendar.from_ical(response.content)


def uids(calendar: Calendar) -> list[str]:
    return sorted(str(event["UID"]) for event in calendar.events)


# --- organising: drafts, publishing, cancelling, updating -----------------------------------


async def test_a_staff_draft_is_hidden_until_published_then_cancelled(
    graphql: GraphQLClient, new_section: NewSection, world: World
) -> None:
    # given a section and an event its admin has just created
    code = (await new_section())["code"]
    created = await create_event(graphql, event_input(world.year), **staff(code))

    # then it is a draft the public cannot see
    assert created["status"] == "DRAFT"
    assert created["text"] == {
        "language": "en",
        "isFallback": False,
        "title": "Letters night",
        "description": "Bring pens.",
    }
    assert await event_as(graphql, created["id"], **public(code)) is None
    assert await listed_ids(graphql, **public(code)) == []
    assert await listed_ids(graphql, **staff(code)) == [created["id"]]

    # when the admin publishes it
    published = await decide(graphql, EVENT_PUBLISH, created["id"], **staff(code))

    # then everyone sees it
    assert published == {"event": {"id": created["id"], "status": "PUBLISHED"}, "errors": []}
    seen = await event_as(graphql, created["id"], **public(code))
    assert seen is not None
    assert seen["status"] == "PUBLISHED"
    assert await listed_ids(graphql, **public(code)) == [created["id"]]

    # when the admin cancels it
    cancelled = await decide(graphql, EVENT_CANCEL, created["id"], "Venue closed", **staff(code))

    # then it is cancelled, still shown so that people know
    assert cancelled == {"event": {"id": created["id"], "status": "CANCELLED"}, "errors": []}
    assert await listed(graphql, **public(code)) == [
        {"id": created["id"], "status": "CANCELLED", "distanceKm": None}
    ]


async def test_event_update_replaces_the_texts_and_the_cases(
    graphql: GraphQLClient, new_section: NewSection, world: World
) -> None:
    # given an event with texts in English and French and the first case
    code = (await new_section(languages=["en", "fr"]))["code"]
    created = await create_event(
        graphql,
        event_input(
            world.year,
            texts=[
                {"language": "en", "title": "Letters night"},
                {"language": "fr", "title": "Soirée lettres"},
            ],
            caseIds=[world.first_case],
        ),
        **staff(code),
    )
    assert created["cases"] == [{"id": world.first_case}]

    # when the admin replaces it with an English text only and the second case
    values = event_input(
        world.year,
        texts=[{"language": "en", "title": "Letters evening", "description": None}],
        caseIds=[world.second_case],
        capacity=25,
    )
    data = await graphql.data(
        EVENT_UPDATE, {"input": {"id": created["id"], "event": values}}, **staff(code)
    )

    # then the texts and cases are exactly the new ones
    payload = data["eventUpdate"]
    assert payload["errors"] == []
    assert payload["event"]["capacity"] == 25
    assert payload["event"]["cases"] == [{"id": world.second_case}]
    french = await graphql.data(EVENT_TEXT, {"id": created["id"], "language": "fr"}, **staff(code))
    assert french["event"]["text"] == {
        "language": "en",
        "isFallback": True,
        "title": "Letters evening",
    }


# --- approval of a host's event ---------------------------------------------------------


async def test_a_hosts_event_waits_for_approval_and_only_the_host_and_staff_see_it(
    graphql: GraphQLClient, new_section: NewSection, world: World, token_for: TokenFor
) -> None:
    # given an event a host submits
    code = (await new_section())["code"]
    created = await create_event(
        graphql, event_input(world.year), **host(token_for, code, "host-1")
    )

    # then it waits for approval, seen by that host and the staff only
    assert created["status"] == "PENDING_APPROVAL"
    event_id = created["id"]
    for options in (host(token_for, code, "host-1"), staff(code)):
        seen = await event_as(graphql, event_id, **options)
        assert seen is not None
        assert seen["status"] == "PENDING_APPROVAL"
        assert await listed_ids(graphql, **options) == [event_id]
    for options in (public(code), host(token_for, code, "host-2")):
        assert await event_as(graphql, event_id, **options) is None
        assert await listed_ids(graphql, **options) == []

    # when the staff approve it
    approved = await decide(graphql, EVENT_APPROVE, event_id, "Looks good", **staff(code))

    # then it is published for everyone
    assert approved == {"event": {"id": event_id, "status": "PUBLISHED"}, "errors": []}
    assert await listed_ids(graphql, **public(code)) == [event_id]


async def test_a_rejected_event_goes_back_to_the_host_as_a_draft_with_the_note(
    graphql: GraphQLClient,
    new_section: NewSection,
    world: World,
    token_for: TokenFor,
    owner_engine: AsyncEngine,
) -> None:
    # given a host's event waiting for approval
    code = (await new_section())["code"]
    created = await create_event(
        graphql, event_input(world.year), **host(token_for, code, "host-1")
    )

    # when the staff reject it with a note
    rejected = await decide(
        graphql, EVENT_REJECT, created["id"], "Please add the room number.", **staff(code)
    )

    # then it is the host's draft again, still hidden from the public, with the note kept
    assert rejected == {"event": {"id": created["id"], "status": "DRAFT"}, "errors": []}
    seen = await event_as(graphql, created["id"], **host(token_for, code, "host-1"))
    assert seen is not None
    assert seen["status"] == "DRAFT"
    assert await event_as(graphql, created["id"], **public(code)) is None
    async with owner_engine.connect() as connection:
        note = await connection.scalar(
            sql("select review_note from events where id = :id"), {"id": created["id"]}
        )
    assert note == "Please add the room number."


async def test_the_host_reads_the_rejection_note(
    graphql: GraphQLClient, new_section: NewSection, world: World, token_for: TokenFor
) -> None:
    # given a host's event the staff sent back with a note
    code = (await new_section())["code"]
    created = await create_event(
        graphql, event_input(world.year), **host(token_for, code, "host-1")
    )
    await decide(graphql, EVENT_REJECT, created["id"], "Please add the room number.", **staff(code))

    # when the host reads the event
    data = await graphql.data(
        EVENT_REVIEW_NOTE, {"id": created["id"]}, **host(token_for, code, "host-1")
    )

    # then the note tells them what to change
    assert data["event"] == {
        "id": created["id"],
        "status": "DRAFT",
        "reviewNote": "Please add the room number.",
    }


async def test_a_host_cannot_approve_even_their_own_event(
    graphql: GraphQLClient, new_section: NewSection, world: World, token_for: TokenFor
) -> None:
    # given a host's pending event
    code = (await new_section())["code"]
    created = await create_event(
        graphql, event_input(world.year), **host(token_for, code, "host-1")
    )

    # when the host tries to approve it
    response = await graphql.post(
        EVENT_APPROVE, {"input": {"id": created["id"]}}, **host(token_for, code, "host-1")
    )

    # then it is forbidden and the event still waits
    assert top_level_codes(response) == ["FORBIDDEN"]
    assert response.json()["data"] is None
    seen = await event_as(graphql, created["id"], **staff(code))
    assert seen is not None
    assert seen["status"] == "PENDING_APPROVAL"


async def test_a_host_changes_their_pending_event_but_not_a_published_one(
    graphql: GraphQLClient, new_section: NewSection, world: World, token_for: TokenFor
) -> None:
    # given a host's pending event
    code = (await new_section())["code"]
    as_host = host(token_for, code, "host-1")
    created = await create_event(graphql, event_input(world.year), **as_host)
    renamed = event_input(world.year, texts=[{"language": "en", "title": "Letters and tea"}])

    # when the host changes it while it waits
    data = await graphql.data(
        EVENT_UPDATE, {"input": {"id": created["id"], "event": renamed}}, **as_host
    )

    # then the change is kept and it still waits
    assert data["eventUpdate"]["errors"] == []
    assert data["eventUpdate"]["event"]["status"] == "PENDING_APPROVAL"
    assert data["eventUpdate"]["event"]["text"]["title"] == "Letters and tea"

    # when the staff approve it and the host tries to change it again
    await decide(graphql, EVENT_APPROVE, created["id"], **staff(code))
    again = event_input(world.year, texts=[{"language": "en", "title": "Something else"}])
    response = await graphql.post(
        EVENT_UPDATE, {"input": {"id": created["id"], "event": again}}, **as_host
    )

    # then it is forbidden and the published event is unchanged
    assert top_level_codes(response) == ["FORBIDDEN"]
    assert response.json()["data"] is None
    seen = await event_as(graphql, created["id"], **public(code))
    assert seen is not None
    assert (seen["status"], seen["text"]["title"]) == ("PUBLISHED", "Letters and tea")


async def test_another_host_cannot_change_a_hosts_event(
    graphql: GraphQLClient, new_section: NewSection, world: World, token_for: TokenFor
) -> None:
    # given host-1's pending event
    code = (await new_section())["code"]
    created = await create_event(
        graphql, event_input(world.year), **host(token_for, code, "host-1")
    )
    renamed = event_input(world.year, texts=[{"language": "en", "title": "Hijacked"}])

    # when host-2 tries to change it
    data = await graphql.data(
        EVENT_UPDATE,
        {"input": {"id": created["id"], "event": renamed}},
        **host(token_for, code, "host-2"),
    )

    # then host-2 is told there is no such event and nothing changes
    assert problems(data["eventUpdate"]) == [("id", "NOT_FOUND")]
    seen = await event_as(graphql, created["id"], **staff(code))
    assert seen is not None
    assert seen["text"]["title"] == "Letters night"


# --- "near me" -------------------------------------------------------------------------


@dataclass(frozen=True)
class Cities:
    code: str
    london: str
    paris: str
    warsaw: str


@pytest.fixture
async def cities(graphql: GraphQLClient, new_section: NewSection, world: World) -> Cities:
    """A section with published events in London, Paris and Warsaw."""
    code = (await new_section())["code"]
    ids = [
        await published_event(graphql, code, event_input(world.year, **at_point(point, city)))
        for point, city in ((LONDON, "London"), (PARIS, "Paris"), (WARSAW, "Warsaw"))
    ]
    return Cities(code, *ids)


async def test_events_near_a_point_come_nearest_first_with_their_distance(
    graphql: GraphQLClient, cities: Cities
) -> None:
    # when the public searches near London within 2000 km, nearest first
    nodes = await listed(
        graphql, {"filter": near(LONDON, 2000), "orderBy": "DISTANCE"}, **public(cities.code)
    )

    # then London, Paris and Warsaw come in that order with their distances
    assert [node["id"] for node in nodes] == [cities.london, cities.paris, cities.warsaw]
    assert nodes[0]["distanceKm"] == 0.0
    assert nodes[1]["distanceKm"] == pytest.approx(LONDON_PARIS_KM, abs=1.0)
    assert nodes[2]["distanceKm"] == pytest.approx(LONDON_WARSAW_KM, abs=2.0)


async def test_the_radius_leaves_out_events_further_away(
    graphql: GraphQLClient, cities: Cities
) -> None:
    # when the public searches near Paris within 500 km, by start (the default order)
    ids = await listed_ids(graphql, {"filter": near(PARIS, 500)}, **public(cities.code))

    # then Warsaw (about 1370 km away) is left out
    assert sorted(ids) == sorted([cities.london, cities.paris])

    # and within 300 km only Paris itself remains
    assert await listed_ids(graphql, {"filter": near(PARIS, 300)}, **public(cities.code)) == [
        cities.paris
    ]


async def test_a_search_across_the_antimeridian_finds_the_event(
    graphql: GraphQLClient, new_section: NewSection, world: World
) -> None:
    # given an event in Fiji at longitude 179.8
    code = (await new_section(country="FJ", timeZone="Pacific/Fiji"))["code"]
    event_id = await published_event(
        graphql,
        code,
        event_input(
            world.year, timeZone="Pacific/Fiji", country="FJ", **at_point((-17.0, 179.8), "Levuka")
        ),
    )

    # when the public searches from longitude -179.9 within 50 km
    nodes = await listed(
        graphql,
        {"filter": near((-17.0, -179.9), 50), "orderBy": "DISTANCE"},
        **public(code),
    )

    # then the event is found about 32 km away, on the other side of the antimeridian
    assert [node["id"] for node in nodes] == [event_id]
    assert nodes[0]["distanceKm"] == pytest.approx(31.9, abs=0.5)


async def test_a_search_across_the_north_pole_finds_the_event(
    graphql: GraphQLClient, new_section: NewSection, world: World
) -> None:
    # given an event near the North Pole at longitude 10
    code = (await new_section())["code"]
    event_id = await published_event(
        graphql, code, event_input(world.year, **at_point((89.9, 10.0), "North Pole camp"))
    )

    # when the public searches from the other side of the pole (longitude -170) within 50 km
    nodes = await listed(
        graphql, {"filter": near((89.9, -170.0), 50), "orderBy": "DISTANCE"}, **public(code)
    )

    # then the event is found 0.2 degrees (about 22 km) away, across the pole
    assert [node["id"] for node in nodes] == [event_id]
    assert nodes[0]["distanceKm"] == pytest.approx(22.2, abs=0.5)


@pytest.mark.parametrize(
    ("variables", "problem"),
    [
        ({"filter": near((91.0, 0.0), 50)}, "Latitude must be between -90 and 90"),
        ({"filter": near((0.0, 181.0), 50)}, "Longitude must be between -180 and 180"),
        ({"filter": near(LONDON, 0)}, "The radius must be more than 0"),
        ({"filter": near(LONDON, 5000)}, "The radius must be more than 0"),
        ({"orderBy": "DISTANCE"}, "Order by DISTANCE needs `filter.near`."),
    ],
)
async def test_a_bad_search_is_bad_user_input(
    graphql: GraphQLClient, new_section: NewSection, variables: dict[str, Any], problem: str
) -> None:
    # given a section
    code = (await new_section())["code"]

    # when the public searches with an impossible point, radius or order
    response = await graphql.post(EVENTS, {"first": 10, **variables}, **public(code))

    # then it is a top-level BAD_USER_INPUT saying what is wrong
    assert top_level_codes(response) == ["BAD_USER_INPUT"]
    assert response.json()["errors"][0]["message"].startswith(problem)


async def test_pages_by_distance_visit_each_event_once(
    graphql: GraphQLClient, new_section: NewSection, world: World
) -> None:
    # given five events: two at the very same place (a tie in distance) and three further
    code = (await new_section())["code"]
    points = [
        (LONDON, "London"),
        (LONDON, "London"),
        ((51.75, -1.25), "Oxford"),
        (PARIS, "Paris"),
        (WARSAW, "Warsaw"),
    ]
    for point, city in points:
        await published_event(graphql, code, event_input(world.year, **at_point(point, city)))
    everything = await listed(
        graphql, {"filter": near(LONDON, 2000), "orderBy": "DISTANCE"}, **public(code)
    )

    # when the public reads them two at a time
    seen: list[dict[str, Any]] = []
    after: str | None = None
    pages = 0
    while True:
        data = await graphql.data(
            EVENTS,
            {"filter": near(LONDON, 2000), "orderBy": "DISTANCE", "first": 2, "after": after},
            **public(code),
        )
        page = data["events"]
        seen.extend(edge["node"] for edge in page["edges"])
        pages += 1
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]

    # then every event comes exactly once, in distance order, in three pages
    assert pages == 3
    assert len(everything) == 5
    assert seen == everything
    assert len({node["id"] for node in seen}) == 5
    distances = [node["distanceKm"] for node in seen]
    assert distances == sorted(distances)


# --- filters ---------------------------------------------------------------------------


async def test_events_are_filtered_by_time_case_format_and_city(
    graphql: GraphQLClient, new_section: NewSection, world: World
) -> None:
    # given events: London in 10 days with the first case, Paris in 40 days with the second,
    # and an online one in 70 days
    code = (await new_section())["code"]
    in_10, in_40, in_70 = soon(10), soon(40), soon(70)
    london = await published_event(
        graphql,
        code,
        event_input(
            world.year,
            startsAt=in_10.isoformat(),
            endsAt=(in_10 + timedelta(hours=2)).isoformat(),
            caseIds=[world.first_case],
        ),
    )
    paris = await published_event(
        graphql,
        code,
        event_input(
            world.year,
            startsAt=in_40.isoformat(),
            endsAt=(in_40 + timedelta(hours=2)).isoformat(),
            caseIds=[world.second_case],
            **at_point(PARIS, "Paris"),
        ),
    )
    online = await published_event(
        graphql,
        code,
        event_input(
            world.year,
            format="ONLINE",
            onlineUrl="https://meet.example/letters",
            startsAt=in_70.isoformat(),
            endsAt=(in_70 + timedelta(hours=2)).isoformat(),
            latitude=None,
            longitude=None,
            city=None,
        ),
    )

    async def ids(**filter_values: Any) -> list[str]:
        return await listed_ids(graphql, {"filter": filter_values}, **public(code))

    # then each filter keeps exactly its events, by start
    assert await ids() == [london, paris, online]
    assert await ids(**{"from": soon(20).isoformat()}) == [paris, online]
    assert await ids(to=soon(50).isoformat()) == [london, paris]
    assert await ids(**{"from": soon(20).isoformat(), "to": soon(50).isoformat()}) == [paris]
    assert await ids(case=world.first_case) == [london]
    assert await ids(case=world.second_case) == [paris]
    assert await ids(format="ONLINE") == [online]
    assert await ids(format="IN_PERSON") == [london, paris]
    assert await ids(city="pARIS") == [paris]
    assert await ids(city="  london ") == [london]
    assert await ids(city="Lyon") == []


# --- time zones and iCalendar ------------------------------------------------------------

DST_STARTS = datetime(2030, 10, 26, 22, 30, tzinfo=UTC)
"""23:30 BST (UTC+1) on Saturday 26 October 2030, the night British Summer Time ends."""
DST_ENDS = datetime(2030, 10, 27, 2, 30, tzinfo=UTC)
"""02:30 GMT (UTC+0) on Sunday 27 October 2030, after the clocks went back at 02:00 BST."""


async def test_an_event_across_the_end_of_summer_time_keeps_its_instants(
    graphql: GraphQLClient, new_section: NewSection, world: World, client: httpx.AsyncClient
) -> None:
    # given an event in London from 23:30 BST to 02:30 GMT, across the change of the clocks,
    # titled in English and in French
    code = (await new_section(languages=["en", "fr"]))["code"]
    values = event_input(
        world.year,
        startsAt="2030-10-26T23:30:00+01:00",
        endsAt="2030-10-27T02:30:00+00:00",
        texts=[
            {"language": "en", "title": "Night of letters"},
            {"language": "fr", "title": "Nuit des lettres"},
        ],
    )
    created = await create_event(graphql, values, **staff(code))
    await decide(graphql, EVENT_PUBLISH, created["id"], **staff(code))

    # then the API gives the exact UTC instants (four hours apart) and the place's zone
    assert moment_of(created["startsAt"]) == DST_STARTS
    assert moment_of(created["endsAt"]) == DST_ENDS
    assert moment_of(created["startsAt"]).utcoffset() == timedelta(0)
    assert moment_of(created["endsAt"]).utcoffset() == timedelta(0)
    assert created["timeZone"] == "Europe/London"

    # when its calendar file is downloaded in French
    response = await client.get(
        f"/s/{code}/events/{created['id']}.ics", headers={"accept-language": "fr"}
    )

    # then it holds the event in London time, with London's zone, titled in French
    calendar = parse_calendar(response)
    [event] = calendar.events
    start: datetime = event.decoded("DTSTART")
    end: datetime = event.decoded("DTEND")
    assert event["DTSTART"].params["TZID"] == "Europe/London"
    assert event["DTEND"].params["TZID"] == "Europe/London"
    assert start.isoformat() == "2030-10-26T23:30:00+01:00"
    assert end.isoformat() == "2030-10-27T02:30:00+00:00"
    assert start.astimezone(UTC) == DST_STARTS
    assert end.astimezone(UTC) == DST_ENDS
    assert [str(zone["TZID"]) for zone in calendar.timezones] == ["Europe/London"]
    assert str(event["SUMMARY"]) == "Nuit des lettres"
    assert str(event["UID"]) == f"{created['id']}@w4r"

    # and without Accept-Language it is in the section's default language
    english = parse_calendar(await client.get(f"/s/{code}/events/{created['id']}.ics"))
    assert str(english.events[0]["SUMMARY"]) == "Night of letters"


async def test_the_section_feed_lists_published_and_cancelled_events_only(
    graphql: GraphQLClient, new_section: NewSection, world: World, client: httpx.AsyncClient
) -> None:
    # given a published event, a cancelled one and a draft
    code = (await new_section())["code"]
    published = await published_event(graphql, code, event_input(world.year))
    cancelled = await published_event(graphql, code, event_input(world.year))
    await decide(graphql, EVENT_CANCEL, cancelled, "Venue closed", **staff(code))
    draft = await create_event(graphql, event_input(world.year), **staff(code))

    # when the section's feed is read
    calendar = parse_calendar(await client.get(f"/s/{code}/events.ics"))

    # then it has the published and the cancelled event, the latter marked so, not the draft
    by_uid = {str(event["UID"]): event for event in calendar.events}
    assert sorted(by_uid) == sorted([f"{published}@w4r", f"{cancelled}@w4r"])
    assert str(by_uid[f"{published}@w4r"]["STATUS"]) == "CONFIRMED"
    assert str(by_uid[f"{cancelled}@w4r"]["STATUS"]) == "CANCELLED"

    # and a draft or an unknown id has no calendar file
    unknown = "00000000-0000-4000-8000-000000000000"
    for event_id in (draft["id"], unknown, "not-an-id"):
        response = await client.get(f"/s/{code}/events/{event_id}.ics")
        assert response.status_code == 404, event_id


# --- a registered-only address -------------------------------------------------------------

PRIVATE_PLACE: dict[str, Any] = {
    "format": "HYBRID",
    "addressVisibility": "REGISTERED",
    "venueName": "Flat 3",
    "streetAddress": "12 Quiet Street",
    "city": "London",
    "country": "GB",
    "latitude": 51.50739,
    "longitude": -0.12781,
    "onlineUrl": "https://meet.example/private-room",
}
FULL_VENUE: dict[str, Any] = {
    "name": "Flat 3",
    "streetAddress": "12 Quiet Street",
    "city": "London",
    "country": "GB",
    "latitude": 51.50739,
    "longitude": -0.12781,
}
COARSE_VENUE: dict[str, Any] = {
    "city": "London",
    "country": "GB",
    "streetAddress": None,
    "latitude": 51.51,
    "longitude": -0.13,
}


async def test_a_registered_only_address_is_hidden_from_the_public(
    graphql: GraphQLClient, new_section: NewSection, world: World, client: httpx.AsyncClient
) -> None:
    # given a published event whose address and link are for registered people only
    code = (await new_section())["code"]
    event_id = await published_event(graphql, code, event_input(world.year, **PRIVATE_PLACE))

    # then the public sees the city and a point rounded to about a kilometre, no link
    anonymous = await event_as(graphql, event_id, **public(code))
    assert anonymous is not None
    # (the venue's name is left out here: the calendar file withholds it, the API shows it)
    venue = {key: value for key, value in anonymous["venue"].items() if key != "name"}
    assert venue == COARSE_VENUE
    assert anonymous["onlineUrl"] is None
    assert anonymous["addressVisibility"] == "REGISTERED"

    # and the staff see everything
    full = await event_as(graphql, event_id, **staff(code))
    assert full is not None
    assert full["venue"] == FULL_VENUE
    assert full["onlineUrl"] == "https://meet.example/private-room"

    # when someone registers
    data = await graphql.data(
        EVENT_REGISTER,
        {
            "input": {
                "eventId": event_id,
                "name": "Ada",
                "email": "ada@example.org",
                "clientId": "7d0c7f6e-5a8b-4d4a-9b52-0f3b0c1f3a11",
            }
        },
        **public(code),
    )

    # then the registration shows them where to go
    payload = data["eventRegister"]
    assert payload["errors"] == []
    assert payload["status"] == "CONFIRMED"
    assert payload["event"]["venue"] == FULL_VENUE
    assert payload["event"]["onlineUrl"] == "https://meet.example/private-room"

    # and the public calendar file names the city and country only, without the link
    calendar = parse_calendar(await client.get(f"/s/{code}/events/{event_id}.ics"))
    [event] = calendar.events
    assert str(event["LOCATION"]) == "London, GB"
    assert "URL" not in event


async def test_a_distance_search_does_not_reveal_a_registered_only_point(
    graphql: GraphQLClient, new_section: NewSection, world: World
) -> None:
    # given a published event whose exact point is for registered people only
    code = (await new_section())["code"]
    event_id = await published_event(graphql, code, event_input(world.year, **PRIVATE_PLACE))
    exact = (PRIVATE_PLACE["latitude"], PRIVATE_PLACE["longitude"])
    shown = (COARSE_VENUE["latitude"], COARSE_VENUE["longitude"])

    # when the public searches right at the exact point
    nodes = await listed(
        graphql, {"filter": near(exact, 10), "orderBy": "DISTANCE"}, **public(code)
    )

    # then the distance is the one to the rounded point the public sees (about 0.4 km),
    # not a metre-precise one that three searches would turn back into the exact point
    assert [node["id"] for node in nodes] == [event_id]
    assert nodes[0]["distanceKm"] == pytest.approx(great_circle_km(*exact, *shown), abs=0.01)

    # and a 50 m circle round the exact point does not single it out
    assert await listed_ids(graphql, {"filter": near(exact, 0.05)}, **public(code)) == []


# --- isolation between sections ------------------------------------------------------------


async def test_a_section_never_sees_or_decides_another_sections_event(
    graphql: GraphQLClient, new_section: NewSection, world: World
) -> None:
    # given a draft and a published event of section A
    a = (await new_section())["code"]
    b = (await new_section())["code"]
    draft = await create_event(graphql, event_input(world.year), **staff(a))
    published = await published_event(graphql, a, event_input(world.year))

    # then B's endpoint shows neither, to the public or to B's staff
    for options in (public(b), staff(b)):
        assert await event_as(graphql, draft["id"], **options) is None
        assert await event_as(graphql, published, **options) is None
        assert await listed_ids(graphql, **options) == []
        assert (
            await listed_ids(
                graphql, {"filter": near(LONDON, 50), "orderBy": "DISTANCE"}, **options
            )
            == []
        )

    # when B's staff try to publish A's draft, cancel A's published event or change it
    publish = await decide(graphql, EVENT_PUBLISH, draft["id"], **staff(b))
    cancel = await decide(graphql, EVENT_CANCEL, published, **staff(b))
    update = await graphql.data(
        EVENT_UPDATE,
        {"input": {"id": published, "event": event_input(world.year)}},
        **staff(b),
    )

    # then A's events are not found there and stay as they were
    assert publish["event"] is None
    assert problems(publish) == [("id", "NOT_FOUND")]
    assert problems(cancel) == [("id", "NOT_FOUND")]
    assert problems(update["eventUpdate"]) == [("id", "NOT_FOUND")]
    statuses = {node["id"]: node["status"] for node in await listed(graphql, **staff(a))}
    assert statuses == {draft["id"]: "DRAFT", published: "PUBLISHED"}


# --- refusals that write nothing -----------------------------------------------------------


def in_the_past() -> dict[str, Any]:
    starts = datetime.now(UTC) - timedelta(days=1)
    return {"startsAt": starts.isoformat(), "endsAt": (starts + timedelta(hours=2)).isoformat()}


def ending_first() -> dict[str, Any]:
    starts = soon()
    return {"startsAt": starts.isoformat(), "endsAt": (starts - timedelta(hours=1)).isoformat()}


REFUSALS: list[tuple[str, Callable[[World], dict[str, Any]], list[tuple[str | None, str]]]] = [
    ("start in the past", lambda world: in_the_past(), [("startsAt", "INVALID")]),
    ("end before start", lambda world: ending_first(), [("endsAt", "INVALID")]),
    ("latitude 95", lambda world: {"latitude": 95.0}, [("latitude", "INVALID")]),
    (
        "in person without coordinates",
        lambda world: {"latitude": None, "longitude": None},
        [("latitude", "REQUIRED")],
    ),
    (
        "online without a link",
        lambda world: {"format": "ONLINE", "onlineUrl": None},
        [("onlineUrl", "REQUIRED")],
    ),
    (
        "unknown case",
        lambda world: {"caseIds": [world.first_case, "00000000-0000-4000-8000-000000000001"]},
        [("caseIds", "NOT_FOUND")],
    ),
    (
        "text in a language not the section's",
        lambda world: {
            "texts": [
                {"language": "en", "title": "Letters night"},
                {"language": "de", "title": "Briefabend"},
            ]
        },
        [("texts.1.language", "OUT_OF_SCOPE")],
    ),
    (
        "event language not the section's",
        lambda world: {"language": "de"},
        [("language", "OUT_OF_SCOPE"), ("texts", "REQUIRED")],
    ),
    (
        "no title in the event's own language",
        lambda world: {"language": "fr"},
        [("texts", "REQUIRED")],
    ),
    (
        "unknown campaign",
        lambda world: {"campaign": NO_CAMPAIGN_YEAR},
        [("campaign", "NOT_FOUND")],
    ),
]


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [pytest.param(overrides, expected, id=name) for name, overrides, expected in REFUSALS],
)
async def test_an_invalid_event_is_refused_with_clear_errors_and_nothing_written(
    graphql: GraphQLClient,
    new_section: NewSection,
    world: World,
    overrides: Callable[[World], dict[str, Any]],
    expected: list[tuple[str | None, str]],
) -> None:
    # given a section in English and French
    code = (await new_section(languages=["en", "fr"]))["code"]

    # when its admin creates an invalid event
    data = await graphql.data(
        EVENT_CREATE, {"input": event_input(world.year, **overrides(world))}, **staff(code)
    )

    # then the payload names each problem, and no event was written
    payload = data["eventCreate"]
    assert payload["event"] is None
    assert problems(payload) == expected
    assert all(error["message"] for error in payload["errors"])
    assert await listed_ids(graphql, **staff(code)) == []


async def test_anonymous_callers_cannot_create_events(
    graphql: GraphQLClient, new_section: NewSection, world: World
) -> None:
    # given a section
    code = (await new_section())["code"]

    # when an anonymous caller creates an event there
    response = await graphql.post(EVENT_CREATE, {"input": event_input(world.year)}, **public(code))

    # then it is forbidden and nothing is written
    assert top_level_codes(response) == ["FORBIDDEN"]
    assert response.json()["data"] is None
    assert await listed_ids(graphql, **staff(code)) == []


async def test_event_create_at_the_global_endpoint_is_out_of_scope(
    graphql: GraphQLClient, world: World
) -> None:
    # when an IS admin creates an event at /graphql, outside any section
    data = await graphql.data(EVENT_CREATE, {"input": event_input(world.year)}, role=Role.IS_ADMIN)

    # then the payload says events belong to a section
    payload = data["eventCreate"]
    assert payload["event"] is None
    assert problems(payload) == [(None, "OUT_OF_SCOPE")]

    # and the global endpoint answers no event
    assert (await graphql.data(EVENT, {"id": "00000000-0000-4000-8000-000000000000"}))[
        "event"
    ] is None


# --- text fallback ------------------------------------------------------------------------


async def test_the_text_falls_back_to_the_events_own_language(
    graphql: GraphQLClient, new_section: NewSection, world: World
) -> None:
    # given a published English event with a French text too
    code = (await new_section(languages=["en", "fr", "pl"]))["code"]
    event_id = await published_event(
        graphql,
        code,
        event_input(
            world.year,
            texts=[
                {"language": "en", "title": "Letters night"},
                {"language": "fr", "title": "Soirée lettres"},
            ],
        ),
    )

    async def text_of(language: str | None, headers: dict[str, str] | None = None) -> Any:
        data = await graphql.data(
            EVENT_TEXT, {"id": event_id, "language": language}, headers=headers, **public(code)
        )
        return data["event"]["text"]

    # then French is served in French, Polish falls back to English (marked so)
    assert await text_of("fr") == {
        "language": "fr",
        "isFallback": False,
        "title": "Soirée lettres",
    }
    assert await text_of("pl") == {"language": "en", "isFallback": True, "title": "Letters night"}

    # and without an argument Accept-Language decides, then the section's default
    assert await text_of(None, {"accept-language": "fr"}) == {
        "language": "fr",
        "isFallback": False,
        "title": "Soirée lettres",
    }
    assert await text_of(None, {"accept-language": "pl"}) == {
        "language": "en",
        "isFallback": True,
        "title": "Letters night",
    }
    assert await text_of(None) == {"language": "en", "isFallback": False, "title": "Letters night"}
