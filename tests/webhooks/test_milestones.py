"""Totals milestones (HTTP, real database): each threshold of a case's worldwide total and of
a section's total fires exactly once, even when many actions are recorded at once and
several dispatchers check at the same time; a section's own total reaches only its own
admins' webhooks, a case's reaches every section's subscribers and partner keys."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.actions.test_ledger_api import action_input, join, open_campaign, recorded
from tests.apikeys.test_api_keys_api import created as created_key
from tests.conftest import GraphQLClient
from tests.webhooks.conftest import (
    MakeDispatcher,
    Receiver,
    admin,
    bearer,
    drain_until_quiet,
    subscribe,
    verify,
)

NewSection = Callable[..., Awaitable[dict[str, Any]]]
THRESHOLDS = (5, 10)
ACTIONS = 12
MILESTONE = "totals.milestone_reached"


def milestones(receiver: Receiver, path: str) -> list[tuple[str, int]]:
    """(scope, threshold) of every milestone request at ``path``, in arrival order."""
    return [
        (request.json["data"]["scope"], request.json["data"]["threshold"])
        for request in receiver.at(path)
        if request.header("W4R-Webhook-Event") == MILESTONE
    ]


async def test_each_milestone_fires_exactly_once_under_concurrent_recording(
    graphql: GraphQLClient,
    new_section: NewSection,
    receiver: Receiver,
    make_dispatcher: MakeDispatcher,
    owner_engine: AsyncEngine,
) -> None:
    # given a campaign whose case two sections feature, each with an admin's webhook for
    # milestones, and a partner key of the first with its own
    world = await open_campaign(graphql, featured=1)
    recording, watching = await new_section(), await new_section()
    for section in (recording, watching):
        await join(graphql, section["code"], world)
    key, _ = await created_key(graphql, admin(recording["code"]), scopes=["cases:read"])
    own = await subscribe(graphql, receiver, admin(recording["code"]), [MILESTONE])
    partner = await subscribe(graphql, receiver, bearer(key, recording["code"]), [MILESTONE])
    other = await subscribe(graphql, receiver, admin(watching["code"]), [MILESTONE])
    sections = [recording["id"], watching["id"]]
    ids = [uuid.UUID(section_id) for section_id in sections]
    checkers = [make_dispatcher(milestones=THRESHOLDS) for _ in range(3)]
    done = asyncio.Event()

    async def check_meanwhile(index: int) -> None:
        while not done.is_set():
            await checkers[index].drain(ids)
            await asyncio.sleep(0.01 * index)

    async def record_all() -> None:
        try:
            await asyncio.gather(
                *(
                    recorded(graphql, recording["code"], action_input(world, world.first))
                    for _ in range(ACTIONS)
                )
            )
        finally:
            done.set()

    # when 12 actions are recorded at once while three dispatchers check the totals
    await asyncio.gather(record_all(), *(check_meanwhile(index) for index in range(3)))
    await drain_until_quiet(checkers[0], sections)
    # then the case's worldwide milestones reached every subscriber once each, and the
    # section's own total only its admins' webhook
    assert sorted(milestones(receiver, own.path)) == [
        ("case", 5),
        ("case", 10),
        ("section", 5),
        ("section", 10),
    ]
    assert sorted(milestones(receiver, partner.path)) == [("case", 5), ("case", 10)]
    assert sorted(milestones(receiver, other.path)) == [("case", 5), ("case", 10)]
    # and each request says what was reached, signed for its receiver
    for request in receiver.at(partner.path):
        assert verify(partner.secret, request)
        data = request.json["data"]
        assert data["case"] == {"id": world.first.id, "slug": world.first.slug}
        assert data["campaign"]["year"] == world.year
        assert data["total"] >= data["threshold"]
    (section_ten,) = [
        request.json["data"]
        for request in receiver.at(own.path)
        if request.json["data"] == {**request.json["data"], "scope": "section", "threshold": 10}
    ]
    assert section_ten["section"] == {"code": recording["code"]}
    # and the case's thresholds are recorded once
    async with owner_engine.connect() as connection:
        rows = await connection.execute(
            text(
                "select threshold from webhook_case_milestones where case_id = :case "
                "order by threshold"
            ),
            {"case": world.first.id},
        )
        assert [threshold for (threshold,) in rows] == [5, 10]
        marks = await connection.execute(
            text("select count(*) from webhook_milestone_checks where section_id = :id"),
            {"id": recording["id"]},
        )
        assert marks.scalar_one() == 0


async def test_a_total_below_every_threshold_fires_nothing(
    graphql: GraphQLClient,
    new_section: NewSection,
    receiver: Receiver,
    make_dispatcher: MakeDispatcher,
) -> None:
    # given a section with a milestone webhook and a campaign it features
    world = await open_campaign(graphql, featured=1)
    section = await new_section()
    await join(graphql, section["code"], world)
    hook = await subscribe(graphql, receiver, admin(section["code"]), [MILESTONE])
    # when fewer actions than the first threshold are recorded and checked
    for _ in range(THRESHOLDS[0] - 1):
        await recorded(graphql, section["code"], action_input(world, world.first))
    await drain_until_quiet(make_dispatcher(milestones=THRESHOLDS), [section["id"]])
    # then nothing fired
    assert milestones(receiver, hook.path) == []
    # when one more is recorded, the first threshold fires, once
    await recorded(graphql, section["code"], action_input(world, world.first))
    dispatcher = make_dispatcher(milestones=THRESHOLDS)
    await drain_until_quiet(dispatcher, [section["id"]])
    await drain_until_quiet(dispatcher, [section["id"]])
    assert sorted(milestones(receiver, hook.path)) == [("case", 5), ("section", 5)]
