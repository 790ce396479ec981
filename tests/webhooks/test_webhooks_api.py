"""Managing webhooks through the GraphQL API (HTTP, real database): who may, what a URL and
the event kinds may be, and that the signing secret is shown once and stored encrypted."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.apikeys.test_api_keys_api import created as created_key
from tests.conftest import GraphQLClient
from tests.webhooks.conftest import (
    WEBHOOK_CREATE,
    WEBHOOK_DELETE,
    WEBHOOK_DELIVERIES,
    WEBHOOK_UPDATE,
    WEBHOOKS,
    Receiver,
    admin,
    bearer,
    subscribe,
)
from w4r.platform.auth import Role
from w4r.platform.errors import ProblemCode
from w4r.platform.validation import Problems
from w4r.webhooks.destinations import check_url

NewSection = Callable[..., Awaitable[dict[str, Any]]]
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"


def problems(payload: dict[str, Any]) -> list[tuple[str | None, str]]:
    return [(error["field"], error["code"]) for error in payload["errors"]]


async def listed(graphql: GraphQLClient, caller: dict[str, Any]) -> list[dict[str, Any]]:
    data = await graphql.data(WEBHOOKS, {"first": 100}, **caller)
    return [edge["node"] for edge in data["webhooks"]["edges"]]


async def test_a_section_admin_gets_the_secret_once_and_it_is_stored_encrypted(
    graphql: GraphQLClient,
    new_section: NewSection,
    receiver: Receiver,
    owner_engine: AsyncEngine,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # given a section admin
    caplog.set_level(logging.DEBUG)
    code = (await new_section())["code"]
    # when they create a webhook
    hook = await subscribe(graphql, receiver, admin(code), ["event.published", "case.published"])
    # then the answer carried a secret, and no later answer or log line does
    assert hook.secret.startswith("whsec_")
    assert len(hook.secret) == len("whsec_") + 43
    response = await graphql.post(WEBHOOKS, {"first": 10}, **admin(code))
    assert hook.secret not in response.text
    (node,) = await listed(graphql, admin(code))
    assert node["id"] == hook.id
    assert node["events"] == ["case.published", "event.published"]
    assert node["apiKeyId"] is None
    assert node["isEnabled"] is True
    response = await graphql.post(WEBHOOK_DELIVERIES, {"id": hook.id, "first": 5}, **admin(code))
    assert hook.secret not in response.text
    assert hook.secret not in caplog.text
    # and the database holds only a ciphertext that is not the secret
    async with owner_engine.connect() as connection:
        stored = (
            await connection.execute(
                text("select secret_ciphertext from webhook_subscriptions where id = :id"),
                {"id": hook.id},
            )
        ).scalar_one()
    assert hook.secret.encode() not in stored
    assert len(stored) == 12 + len(hook.secret) + 16  # nonce, ciphertext, tag


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"url": "http://example.org/hooks"}, [("url", ProblemCode.INSECURE_URL)]),
        ({"url": "https://ada:secret@example.org/hooks"}, [("url", ProblemCode.INVALID)]),
        ({"url": "ftp://example.org/hooks"}, [("url", ProblemCode.INVALID)]),
        ({"url": "example.org/hooks"}, [("url", ProblemCode.INVALID)]),
        ({"url": "https://10.1.2.3/hooks"}, [("url", ProblemCode.INSECURE_URL)]),
        ({"url": "https://169.254.169.254/latest"}, [("url", ProblemCode.INSECURE_URL)]),
        ({"url": "https://[fd00::1]/hooks"}, [("url", ProblemCode.INSECURE_URL)]),
        ({"url": "https://example.org/hooks#part"}, [("url", ProblemCode.INVALID)]),
        ({"url": "https://example.org/" + "a" * 2000}, [("url", ProblemCode.TOO_LONG)]),
        ({"url": "  "}, [("url", ProblemCode.REQUIRED)]),
        ({"events": ["case.deleted"]}, [("events", ProblemCode.UNKNOWN_EVENT_KIND)]),
        ({"events": []}, [("events", ProblemCode.REQUIRED)]),
        ({"description": "x" * 301}, [("description", ProblemCode.TOO_LONG)]),
    ],
)
async def test_a_bad_url_or_event_kind_is_refused_and_nothing_is_created(
    graphql: GraphQLClient,
    new_section: NewSection,
    values: dict[str, Any],
    expected: list[tuple[str, ProblemCode]],
) -> None:
    # given a section admin and an input with one problem
    code = (await new_section())["code"]
    full = {"url": "https://example.org/hooks", "events": ["event.published"], **values}
    # when they create the webhook
    data = await graphql.data(WEBHOOK_CREATE, {"input": full}, **admin(code))
    # then it is refused with the stable code, and nothing exists
    payload = data["webhookCreate"]
    assert problems(payload) == [(field, problem.value) for field, problem in expected]
    assert payload["webhook"] is None
    assert payload["secret"] is None
    assert await listed(graphql, admin(code)) == []


def test_loopback_urls_need_the_development_setting() -> None:
    for url in ("http://127.0.0.1:8080/hooks", "https://localhost/hooks", "http://[::1]/h"):
        refused = Problems()
        check_url(url, refused, allow_loopback=False)
        assert [problem.code for problem in refused.items] == [ProblemCode.INSECURE_URL]
        allowed = Problems()
        check_url(url, allowed, allow_loopback=True)
        assert allowed.items == []
    public = Problems()
    assert check_url(" https://hooks.example.org:8443/w4r?x=1 ", public, allow_loopback=False) == (
        "https://hooks.example.org:8443/w4r?x=1"
    )
    assert public.items == []


async def test_only_admins_and_keys_that_read_manage_webhooks(
    graphql: GraphQLClient, new_section: NewSection
) -> None:
    # given a section, its editor, an event host, an anonymous caller, a key that only
    # records, and an IS admin in the global scope
    code = (await new_section())["code"]
    record_key, _ = await created_key(graphql, admin(code), scopes=["actions:record"])
    values = {"url": "https://example.org/hooks", "events": ["event.published"]}
    refused = [
        admin(code, Role.SECTION_EDITOR),
        admin(code, Role.EVENT_HOST),
        {"section": code},
        bearer(record_key, code),
    ]
    for caller in refused:
        # when each tries to create or list webhooks
        for document, variables in (
            (WEBHOOK_CREATE, {"input": values}),
            (WEBHOOKS, {"first": 5}),
        ):
            response = await graphql.post(document, variables, **caller)
            # then each is refused at the top level
            body = response.json()
            assert [error["extensions"]["code"] for error in body["errors"]] == ["FORBIDDEN"]
    response = await graphql.post(WEBHOOK_CREATE, {"input": values}, role=Role.IS_ADMIN)
    assert response.json()["data"]["webhookCreate"]["errors"][0]["code"] == "OUT_OF_SCOPE"
    # and nothing was created
    assert await listed(graphql, admin(code)) == []


async def test_a_key_manages_its_own_webhooks_and_admins_see_them_all(
    graphql: GraphQLClient, new_section: NewSection, receiver: Receiver
) -> None:
    # given a section with an admin's webhook and two keys with a webhook each
    code = (await new_section())["code"]
    first_key, first_node = await created_key(graphql, admin(code), scopes=["cases:read"])
    second_key, _ = await created_key(graphql, admin(code), scopes=["cases:read"])
    own = await subscribe(graphql, receiver, admin(code), ["event.published"])
    first = await subscribe(graphql, receiver, bearer(first_key, code), ["case.published"])
    second = await subscribe(graphql, receiver, bearer(second_key, code), ["case.published"])
    # when each lists webhooks
    by_admin = await listed(graphql, admin(code))
    by_first = await listed(graphql, bearer(first_key, code))
    # then the admin sees every webhook of the section, a key its own only
    assert [node["id"] for node in by_admin] == [own.id, first.id, second.id]
    assert [node["id"] for node in by_first] == [first.id]
    assert by_first[0]["apiKeyId"] == first_node["id"]
    # and a key can neither change nor read another's webhook
    data = await graphql.data(
        WEBHOOK_UPDATE, {"input": {"id": second.id, "isEnabled": False}}, **bearer(first_key, code)
    )
    assert problems(data["webhookUpdate"]) == [("id", "NOT_FOUND")]
    response = await graphql.post(
        WEBHOOK_DELIVERIES, {"id": own.id, "first": 5}, **bearer(first_key, code)
    )
    assert response.json()["errors"][0]["message"].startswith("There is no webhook")
    assert [node["isEnabled"] for node in await listed(graphql, admin(code))] == [True] * 3


async def test_another_sections_admin_never_reaches_a_webhook(
    graphql: GraphQLClient, new_section: NewSection, receiver: Receiver
) -> None:
    # given two sections, one with a webhook
    code = (await new_section())["code"]
    other = (await new_section())["code"]
    hook = await subscribe(graphql, receiver, admin(code), ["event.published"])
    # when the other section's admin lists, updates or deletes it
    assert await listed(graphql, admin(other)) == []
    update = await graphql.data(
        WEBHOOK_UPDATE, {"input": {"id": hook.id, "url": "https://evil.example"}}, **admin(other)
    )
    delete = await graphql.data(WEBHOOK_DELETE, {"input": {"id": hook.id}}, **admin(other))
    # then it is not found, and unchanged
    assert problems(update["webhookUpdate"]) == [("id", "NOT_FOUND")]
    assert problems(delete["webhookDelete"]) == [("id", "NOT_FOUND")]
    (node,) = await listed(graphql, admin(code))
    assert node["url"] == receiver.url(hook.path)


async def test_an_admin_updates_disables_and_deletes_a_webhook(
    graphql: GraphQLClient, new_section: NewSection, receiver: Receiver
) -> None:
    # given a webhook
    code = (await new_section())["code"]
    hook = await subscribe(graphql, receiver, admin(code), ["event.published"])
    # when its admin changes its events and pauses it
    data = await graphql.data(
        WEBHOOK_UPDATE,
        {
            "input": {
                "id": hook.id,
                "events": ["registration.created", "event.cancelled", "registration.created"],
                "isEnabled": False,
                "description": "paused",
            }
        },
        **admin(code),
    )
    # then the change is kept (kinds once each, in their order)
    payload = data["webhookUpdate"]
    assert payload["errors"] == []
    assert payload["webhook"]["events"] == ["event.cancelled", "registration.created"]
    assert payload["webhook"]["isEnabled"] is False
    assert payload["webhook"]["description"] == "paused"
    # and a bad change is refused and changes nothing
    refused = await graphql.data(
        WEBHOOK_UPDATE, {"input": {"id": hook.id, "url": "http://example.org"}}, **admin(code)
    )
    assert problems(refused["webhookUpdate"]) == [("url", "INSECURE_URL")]
    (node,) = await listed(graphql, admin(code))
    assert node["url"] == receiver.url(hook.path)
    # when it is deleted, it is gone
    deleted = await graphql.data(WEBHOOK_DELETE, {"input": {"id": hook.id}}, **admin(code))
    assert deleted["webhookDelete"] == {"deletedId": hook.id, "errors": []}
    assert await listed(graphql, admin(code)) == []
    again = await graphql.data(WEBHOOK_DELETE, {"input": {"id": UNKNOWN_ID}}, **admin(code))
    assert problems(again["webhookDelete"]) == [("id", "NOT_FOUND")]
