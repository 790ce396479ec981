"""Delivering webhooks to a real HTTP receiver (HTTP, real database): signed requests,
retries with backoff, failure after the last attempt, redelivery, and what each receiver
gets: never another section's events, never personal data, nothing for a rolled-back
change."""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from starlette.applications import Starlette

from tests.actions.test_ledger_api import World, open_campaign
from tests.apikeys.test_api_keys_api import created as created_key
from tests.apikeys.test_api_keys_api import revoke as revoke_key
from tests.campaigns.test_campaigns_api import case_input
from tests.cases.test_cases_api import add_outcome, create_case, publish
from tests.conftest import GraphQLClient, unique_code
from tests.events.test_registrations_and_reports import (
    EVENT_CANCEL,
    create_event,
    decide,
    event_input,
    register,
    registration_input,
)
from tests.tools import INTEROP, node
from tests.webhooks.conftest import (
    SLOW,
    WEBHOOK_REDELIVER,
    WEBHOOK_UPDATE,
    Hook,
    MakeDispatcher,
    Received,
    Receiver,
    admin,
    bearer,
    deliveries,
    drain_until_quiet,
    subscribe,
    verify,
)
from w4r.cli import main
from w4r.events.service import EventService, SectionInfo
from w4r.platform.auth import Principal, Role
from w4r.platform.database import Database, TenantBinding
from w4r.platform.metrics import REGISTRY
from w4r.settings import Settings
from w4r.webhooks.models import WebhookDelivery

NewSection = Callable[..., Awaitable[dict[str, Any]]]
CANARY_EMAIL = "canary.7f3a@example.org"
CANARY_NAME = "Grace Canary-Hopper"


@pytest.fixture(scope="module")
async def world(module_graphql: GraphQLClient) -> World:
    return await open_campaign(module_graphql, featured=1)


async def published_event(
    graphql: GraphQLClient, code: str, world: World, capacity: int | None = 10
) -> str:
    return await create_event(graphql, code, event_input(world.year, capacity=capacity))


def counter(event: str, outcome: str) -> float:
    """The delivery attempts counted so far with these labels."""
    value = REGISTRY.get_sample_value(
        "w4r_webhook_deliveries_total", {"event": event, "outcome": outcome}
    )
    return 0.0 if value is None else value


async def test_an_event_published_is_delivered_signed_as_documented(
    graphql: GraphQLClient,
    new_section: NewSection,
    receiver: Receiver,
    make_dispatcher: MakeDispatcher,
    world: World,
) -> None:
    # given a section admin's webhook for published events
    section = await new_section()
    code = section["code"]
    hook = await subscribe(graphql, receiver, admin(code), ["event.published"])
    delivered_before = counter("event.published", "delivered")
    # when an event is published and the outbox is drained
    event_id = await published_event(graphql, code, world)
    await drain_until_quiet(make_dispatcher(), [section["id"]])
    # then the receiver got one POST whose signature verifies with the secret
    (request,) = receiver.at(hook.path)
    assert verify(hook.secret, request)
    assert not verify("whsec_" + "A" * 43, request)
    assert not verify(hook.secret, request, now=int(request.header("W4R-Webhook-Timestamp")) + 301)
    assert request.header("content-type") == "application/json"
    assert request.header("W4R-Webhook-Event") == "event.published"
    body = request.json
    assert body["id"] == request.header("W4R-Webhook-Id")
    assert body["type"] == "event.published"
    assert datetime.fromisoformat(body["createdAt"]).tzinfo is not None
    event = body["data"]["event"]
    assert event["id"] == event_id
    assert event["status"] == "published"
    assert event["capacity"] == 10
    assert "onlineUrl" not in event
    # and the log shows one delivered attempt, counted in the metrics
    (delivery,) = await deliveries(graphql, admin(code), hook.id)
    assert delivery["id"] == body["id"]
    assert delivery["status"] == "DELIVERED"
    assert delivery["payload"] == body["data"]
    assert [(attempt["outcome"], attempt["statusCode"]) for attempt in delivery["attemptLog"]] == [
        ("DELIVERED", 200)
    ]
    assert counter("event.published", "delivered") == delivered_before + 1


def node_verifies(secret: str, request: Received) -> bool:
    """The Node.js recipe of docs/webhooks.md (interop/webhooks/verify.mjs) on a request."""
    given = {
        "secret": secret,
        "headers": request.headers,
        "body": base64.b64encode(request.body).decode(),
    }
    result = subprocess.run(
        [node(), str(INTEROP / "webhooks" / "verify.mjs")],
        input=json.dumps(given),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout == "true"


async def test_the_documented_node_recipe_verifies_a_real_delivery(
    graphql: GraphQLClient,
    new_section: NewSection,
    receiver: Receiver,
    make_dispatcher: MakeDispatcher,
    world: World,
) -> None:
    # given a delivery the dispatcher really sent
    section = await new_section()
    hook = await subscribe(graphql, receiver, admin(section["code"]), ["event.published"])
    await published_event(graphql, section["code"], world)
    await drain_until_quiet(make_dispatcher(), [section["id"]])
    (request,) = receiver.at(hook.path)
    # when the Node.js recipe checks it, then it verifies with the secret only
    assert node_verifies(hook.secret, request)
    assert not node_verifies("whsec_" + "B" * 43, request)
    tampered = Received(request.path, request.headers, request.body.replace(b"published", b"x"))
    assert not node_verifies(hook.secret, tampered)


async def test_a_delivery_is_retried_after_a_500_and_a_timeout_then_delivered(
    graphql: GraphQLClient,
    new_section: NewSection,
    receiver: Receiver,
    make_dispatcher: MakeDispatcher,
    world: World,
) -> None:
    # given a receiver that fails with a 500, then answers too late, then accepts
    section = await new_section()
    code = section["code"]
    hook = await subscribe(graphql, receiver, admin(code), ["event.published"])
    receiver.script(hook.path, 500, SLOW, 200)
    retried_before = counter("event.published", "retrying")
    # when an event is published and the outbox drained until it settles
    await published_event(graphql, code, world)
    await drain_until_quiet(make_dispatcher(max_attempts=5, base_seconds=0.2), [section["id"]])
    # then three requests came, with the same id and body, each signed afresh
    requests = receiver.at(hook.path)
    assert len(requests) == 3
    assert len({request.header("W4R-Webhook-Id") for request in requests}) == 1
    assert len({request.body for request in requests}) == 1
    assert all(verify(hook.secret, request) for request in requests)
    # and the log records each attempt: the status, the error class, an excerpt only
    (delivery,) = await deliveries(graphql, admin(code), hook.id)
    assert delivery["status"] == "DELIVERED"
    log = delivery["attemptLog"]
    assert [(attempt["outcome"], attempt["statusCode"], attempt["error"]) for attempt in log] == [
        ("RETRYING", 500, "HTTPStatus"),
        ("RETRYING", None, "TimeoutError"),
        ("DELIVERED", 200, None),
    ]
    assert log[0]["responseExcerpt"] == ("receiver failed: " + "x" * 5000)[:200]
    assert log[1]["durationMs"] >= 400
    # and the waits grew: at least 80% of 0.2 s, then of 0.4 s (jitter takes up to 20%)
    moments = [datetime.fromisoformat(attempt["attemptedAt"]) for attempt in log]
    assert (moments[1] - moments[0]).total_seconds() >= 0.16
    assert (moments[2] - moments[1]).total_seconds() >= 0.32
    assert counter("event.published", "retrying") == retried_before + 2


async def test_a_delivery_fails_after_its_last_attempt_and_is_redelivered_with_its_id(
    graphql: GraphQLClient,
    new_section: NewSection,
    receiver: Receiver,
    make_dispatcher: MakeDispatcher,
    world: World,
) -> None:
    # given a receiver that is down for the two attempts a delivery gets
    section = await new_section()
    code = section["code"]
    hook = await subscribe(graphql, receiver, admin(code), ["event.published"])
    receiver.script(hook.path, 503, 503)
    dispatcher = make_dispatcher(max_attempts=2)
    # when an event is published and the outbox drained
    await published_event(graphql, code, world)
    await drain_until_quiet(dispatcher, [section["id"]])
    # then the delivery failed after two attempts
    (failed,) = await deliveries(graphql, admin(code), hook.id)
    assert failed["status"] == "FAILED"
    assert [attempt["outcome"] for attempt in failed["attemptLog"]] == ["RETRYING", "FAILED"]
    assert len(receiver.at(hook.path)) == 2
    # when the admin redelivers it, once the receiver is back
    data = await graphql.data(
        WEBHOOK_REDELIVER, {"input": {"deliveryId": failed["id"]}}, **admin(code)
    )
    assert data["webhookRedeliver"]["errors"] == []
    assert data["webhookRedeliver"]["delivery"]["status"] == "PENDING"
    again = await graphql.data(
        WEBHOOK_REDELIVER, {"input": {"deliveryId": failed["id"]}}, **admin(code)
    )
    assert [error["code"] for error in again["webhookRedeliver"]["errors"]] == ["IN_PROGRESS"]
    await drain_until_quiet(dispatcher, [section["id"]])
    # then it is delivered with the same id and body: a new attempt in the same log
    requests = receiver.at(hook.path)
    assert len(requests) == 3
    assert requests[2].header("W4R-Webhook-Id") == failed["id"]
    assert requests[2].body == requests[0].body
    (delivered,) = await deliveries(graphql, admin(code), hook.id)
    assert delivered["id"] == failed["id"]
    assert delivered["status"] == "DELIVERED"
    assert [attempt["outcome"] for attempt in delivered["attemptLog"]] == [
        "RETRYING",
        "FAILED",
        "DELIVERED",
    ]


async def test_a_paused_webhook_hears_nothing_new_and_keeps_what_was_queued(
    graphql: GraphQLClient,
    new_section: NewSection,
    receiver: Receiver,
    make_dispatcher: MakeDispatcher,
    world: World,
) -> None:
    # given a webhook with one delivery queued, then paused
    section = await new_section()
    code = section["code"]
    hook = await subscribe(graphql, receiver, admin(code), ["event.published"])
    queued_event = await published_event(graphql, code, world)
    update = {"input": {"id": hook.id, "isEnabled": False}}
    paused = await graphql.data(WEBHOOK_UPDATE, update, **admin(code))
    assert paused["webhookUpdate"]["errors"] == []
    dispatcher = make_dispatcher()
    # when another event is published while it is paused
    await published_event(graphql, code, world)
    await drain_until_quiet(dispatcher, [section["id"]])
    # then nothing is sent, and only the delivery queued before waits
    assert receiver.at(hook.path) == []
    (waiting,) = await deliveries(graphql, admin(code), hook.id)
    assert waiting["status"] == "PENDING"
    assert waiting["payload"]["event"]["id"] == queued_event
    # and once enabled again, it goes out
    update["input"]["isEnabled"] = True
    await graphql.data(WEBHOOK_UPDATE, update, **admin(code))
    await drain_until_quiet(dispatcher, [section["id"]])
    (request,) = receiver.at(hook.path)
    assert request.json["data"]["event"]["id"] == queued_event


async def test_a_section_never_receives_another_sections_events_or_registrations(
    graphql: GraphQLClient,
    new_section: NewSection,
    receiver: Receiver,
    make_dispatcher: MakeDispatcher,
    world: World,
) -> None:
    # given two sections whose admins subscribe to every event kind of a section
    kinds = ["event.published", "event.cancelled", "registration.created"]
    first, second = await new_section(), await new_section()
    first_hook = await subscribe(graphql, receiver, admin(first["code"]), kinds)
    second_hook = await subscribe(graphql, receiver, admin(second["code"]), kinds)
    # when the second section publishes an event, takes a registration and cancels it
    event_id = await published_event(graphql, second["code"], world)
    payload = await register(
        graphql,
        second["code"],
        registration_input(event_id, "someone@example.org", str(uuid.uuid4())),
    )
    assert payload["errors"] == []
    await decide(graphql, EVENT_CANCEL, "eventCancel", second["code"], event_id)
    await drain_until_quiet(make_dispatcher(), [first["id"], second["id"]])
    # then only the second section's webhook heard of it, in order
    assert receiver.at(first_hook.path) == []
    assert await deliveries(graphql, admin(first["code"]), first_hook.id) == []
    heard = [request.header("W4R-Webhook-Event") for request in receiver.at(second_hook.path)]
    assert heard == ["event.published", "registration.created", "event.cancelled"]
    # and the first section's admin cannot read the second's delivery log
    response = await graphql.post(
        "query ($id: UUID!) { webhookDeliveries(webhookId: $id, first: 5) { edges { cursor } } }",
        {"id": second_hook.id},
        **admin(first["code"]),
    )
    assert response.json()["data"] is None


async def test_no_receiver_ever_gets_personal_data(
    graphql: GraphQLClient,
    new_section: NewSection,
    receiver: Receiver,
    make_dispatcher: MakeDispatcher,
    world: World,
) -> None:
    # given a section admin's webhook and a partner key's, both for registrations
    section = await new_section()
    code = section["code"]
    key, _ = await created_key(graphql, admin(code), scopes=["cases:read"])
    kinds = ["registration.created", "event.published"]
    hooks: list[Hook] = [
        await subscribe(graphql, receiver, admin(code), kinds),
        await subscribe(graphql, receiver, bearer(key, code), kinds),
    ]
    # when someone registers (with guests) for a small event, and a second person waits
    event_id = await published_event(graphql, code, world, capacity=3)
    first = registration_input(event_id, CANARY_EMAIL, "device-canary", guests=2)
    first["name"] = CANARY_NAME
    waiting = registration_input(event_id, "second." + CANARY_EMAIL, "device-2")
    assert (await register(graphql, code, first))["errors"] == []
    assert (await register(graphql, code, waiting))["errors"] == []
    await drain_until_quiet(make_dispatcher(), [section["id"]])
    # then both receivers got the counts and ids, and never a name, email or device
    for hook in hooks:
        requests = receiver.at(hook.path)
        assert [request.header("W4R-Webhook-Event") for request in requests] == [
            "event.published",
            "registration.created",
            "registration.created",
        ]
        for request in requests:
            raw = request.body.decode()
            for secret in (CANARY_EMAIL, "canary", CANARY_NAME, "Grace", "device-"):
                assert secret.lower() not in raw.lower()
        seated, waitlisted = (request.json["data"] for request in requests[1:])
        assert seated["event"] == {
            "id": event_id,
            "capacity": 3,
            "registeredCount": 3,
            "spotsLeft": 0,
        }
        assert seated["registration"]["status"] == "confirmed"
        assert seated["registration"]["guests"] == 2
        assert set(seated["registration"]) == {"id", "status", "guests"}
        assert waitlisted["registration"]["status"] == "waitlisted"


async def test_a_rolled_back_change_enqueues_nothing(
    graphql: GraphQLClient,
    new_section: NewSection,
    receiver: Receiver,
    app: Starlette,
    world: World,
) -> None:
    # given a webhook for published events and a draft event
    section = await new_section()
    code = section["code"]
    await subscribe(graphql, receiver, admin(code), ["event.published"])
    event_id = await create_event(graphql, code, event_input(world.year), publish=False)
    database: Database = app.state.database
    binding = TenantBinding.for_section(uuid.UUID(section["id"]))
    info = SectionInfo(
        section_id=binding.section_id,  # type: ignore[arg-type]
        languages=("en",),
        time_zone="Europe/London",
        grace_days=15,
    )
    actor = Principal(role=Role.SECTION_ADMIN, subject="admin", section_code=code)
    count = select(func.count()).select_from(WebhookDelivery)
    # when the event is published in a transaction that is then rolled back
    async with database.session(binding) as session:
        await EventService(session, info, actor).publish(uuid.UUID(event_id))
        # then the delivery was written in that very transaction ...
        assert (await session.execute(count)).scalar_one() == 1
        await session.rollback()
    # ... and is gone with it
    async with database.session(binding) as session:
        assert (await session.execute(count)).scalar_one() == 0
    # when it is published in a transaction that commits, it is there
    async with database.session(binding) as session:
        await EventService(session, info, actor).publish(uuid.UUID(event_id))
        await session.commit()
    async with database.session(binding) as session:
        assert (await session.execute(count)).scalar_one() == 1


async def test_the_send_pending_command_delivers_what_is_due_once(
    graphql: GraphQLClient,
    new_section: NewSection,
    receiver: Receiver,
    world: World,
    cli_env: Path,
    webhook_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # given a queued delivery, and a deployment with the app's webhook key
    section = await new_section()
    hook = await subscribe(graphql, receiver, admin(section["code"]), ["event.published"])
    await published_event(graphql, section["code"], world)
    key = webhook_settings.webhook_secret_key_path.read_text(encoding="utf-8")
    monkeypatch.setenv("W4R_WEBHOOK_SECRET_KEY", key)
    monkeypatch.setenv("W4R_WEBHOOK_ALLOW_LOOPBACK", "true")
    # when `w4r webhooks send-pending` runs
    status = await asyncio.to_thread(main, ["webhooks", "send-pending"])
    # then the delivery went out, signed, and the command says so
    assert status == 0
    out = capsys.readouterr().out
    assert out.startswith("Webhooks of ")
    assert out.rstrip().endswith(" 0 failed.")
    (request,) = receiver.at(hook.path)
    assert verify(hook.secret, request)


async def test_cases_and_outcomes_reach_every_sections_subscribers_as_public_data(
    graphql: GraphQLClient,
    new_section: NewSection,
    receiver: Receiver,
    make_dispatcher: MakeDispatcher,
) -> None:
    # given an admin's webhook in one section and a partner key's in another
    kinds = ["case.published", "case.outcome_added"]
    first, second = await new_section(), await new_section()
    key, _ = await created_key(graphql, admin(second["code"]), scopes=["cases:read"])
    hooks = [
        await subscribe(graphql, receiver, admin(first["code"]), kinds),
        await subscribe(graphql, receiver, bearer(key, second["code"]), kinds),
    ]
    # when the IS adds an outcome to a draft case, publishes it, and adds another
    values = case_input("case-" + unique_code(), [])
    values["internalNotes"] = "Internal: do not share " + CANARY_NAME
    case = await create_case(graphql, values)
    assert (await add_outcome(graphql, case["id"], description="Moved to another prison."))[
        "errors"
    ] == []
    await publish(graphql, case["id"])
    assert (await add_outcome(graphql, case["id"]))["errors"] == []
    await drain_until_quiet(make_dispatcher(), [first["id"], second["id"]])
    # then both heard of the publication and of the outcome added after it, never of the
    # draft's outcome, and never the internal notes
    for hook in hooks:
        requests = receiver.at(hook.path)
        assert [request.header("W4R-Webhook-Event") for request in requests] == kinds
        published, outcome = (request.json["data"] for request in requests)
        assert published["case"]["id"] == case["id"]
        assert published["case"]["slug"] == values["slug"]
        assert outcome["outcome"]["description"] == "Released after years in prison."
        for request in requests:
            assert verify(hook.secret, request)
            assert CANARY_NAME not in request.body.decode()
            assert "Internal" not in request.body.decode()


async def test_a_revoked_keys_webhook_hears_nothing_more(
    graphql: GraphQLClient,
    new_section: NewSection,
    receiver: Receiver,
    make_dispatcher: MakeDispatcher,
    world: World,
) -> None:
    # given a key's webhook with one delivery queued, and the key then revoked
    section = await new_section()
    code = section["code"]
    key, node = await created_key(graphql, admin(code), scopes=["cases:read"])
    hook = await subscribe(graphql, receiver, bearer(key, code), ["event.published"])
    await published_event(graphql, code, world)
    assert (await revoke_key(graphql, admin(code), node["id"]))["errors"] == []
    # when another event is published and the outbox drained
    await published_event(graphql, code, world)
    await drain_until_quiet(make_dispatcher(), [section["id"]])
    # then nothing was sent: the queued delivery failed, the new event was not queued
    assert receiver.at(hook.path) == []
    (failed,) = await deliveries(graphql, admin(code), hook.id)
    assert failed["status"] == "FAILED"
    assert [(attempt["outcome"], attempt["error"]) for attempt in failed["attemptLog"]] == [
        ("FAILED", "ApiKeyInactive")
    ]
