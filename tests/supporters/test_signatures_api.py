"""Petition signatures through the GraphQL API (HTTP, real database): one supporter per
normalised email, a signature counted exactly once (single opt-in at once, replays and
second signings never again), refusals that change nothing, screening, and double opt-in
with a real SMTP server on loopback: only the token of the received mail makes it count.

Campaign years and cases are global: each module makes its own campaign and cases, and
each test its own sections, so the counts it reads change only through it.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.actions.test_ledger_api import (
    NOTHING,
    Case,
    World,
    case_totals,
    counted,
    join,
    no_drift,
    open_campaign,
    own_totals,
    staff,
)
from tests.campaigns.test_campaigns_api import problems
from tests.conftest import GraphQLClient
from tests.supporters.conftest import Inbox, links
from w4r.platform.auth import Role

NewSection = Callable[..., Awaitable[dict[str, Any]]]

PETITION_SIGN = """
mutation ($input: PetitionSignInput!) {
  petitionSign(input: $input) {
    signatureId confirmationRequired replayed
    errors { field code message }
  }
}
"""
SIGNATURE_CONFIRM = """
mutation ($input: SignatureConfirmInput!) {
  signatureConfirm(input: $input) {
    signatureId consentsConfirmed
    errors { field code message }
  }
}
"""
SECTION_UPDATE = """
mutation ($input: SectionUpdateInput!) {
  sectionUpdate(input: $input) { section { code doubleOptIn } errors { field code message } }
}
"""
SUPPORTER_EXPORT = """
query ($email: String!) { supporterExport(email: $email) }
"""

DELIVERY_WORDING = "petition-delivery-2026-v1"
UPDATES_WORDING = "campaign-updates-2026-v1"


# --- helpers -------------------------------------------------------------------------------


def signature_input(
    world: World,
    case: Case,
    email: str,
    *,
    key: str | None = None,
    delivery: bool = True,
    **overrides: Any,
) -> dict[str, Any]:
    """A ``PetitionSignInput`` from an anonymous supporter's browser, a fresh key, with the
    petition-delivery consent ticked unless ``delivery`` is False."""
    consents = [{"purpose": "PETITION_DELIVERY", "wordingVersion": DELIVERY_WORDING}]
    return {
        "campaign": world.year,
        "caseId": case.id,
        "email": email,
        "name": "Ada Lovelace",
        "country": "GB",
        "language": "en",
        "consents": consents if delivery else [],
        "idempotencyKey": key or str(uuid.uuid4()),
        "clientId": "browser-1",
        **overrides,
    }


async def sign(graphql: GraphQLClient, code: str, values: dict[str, Any]) -> dict[str, Any]:
    """The ``petitionSign`` payload of an anonymous caller at ``code``'s endpoint."""
    data = await graphql.data(PETITION_SIGN, {"input": values}, section=code)
    payload: dict[str, Any] = data["petitionSign"]
    return payload


async def signed(graphql: GraphQLClient, code: str, values: dict[str, Any]) -> dict[str, Any]:
    payload = await sign(graphql, code, values)
    assert payload["errors"] == [], payload
    return payload


async def confirm(graphql: GraphQLClient, code: str, token: str) -> dict[str, Any]:
    data = await graphql.data(SIGNATURE_CONFIRM, {"input": {"token": token}}, section=code)
    payload: dict[str, Any] = data["signatureConfirm"]
    return payload


async def export(graphql: GraphQLClient, code: str, email: str, **caller: Any) -> Any:
    options = caller or staff(code)
    return (await graphql.data(SUPPORTER_EXPORT, {"email": email}, **options))["supporterExport"]


async def set_double_opt_in(graphql: GraphQLClient, code: str, value: bool) -> None:
    data = await graphql.data(
        SECTION_UPDATE, {"input": {"code": code, "doubleOptIn": value}}, **staff(code)
    )
    assert data["sectionUpdate"]["errors"] == [], data
    assert data["sectionUpdate"]["section"]["doubleOptIn"] is value


async def section_in(graphql: GraphQLClient, new_section: NewSection, world: World) -> str:
    code: str = (await new_section())["code"]
    await join(graphql, code, world)
    return code


def canary(label: str = "signer") -> str:
    """An email address no other test uses."""
    return f"{label}-{uuid.uuid4().hex}@example.org"


async def signature_rows(owner_engine: AsyncEngine, code: str) -> list[tuple[Any, ...]]:
    """(status, counted, has signer) of every signature of section ``code``."""
    async with owner_engine.connect() as connection:
        result = await connection.execute(
            text(
                "select p.status, p.action_id is not null, p.supporter_id is not null "
                "from petition_signatures p join sections s on s.id = p.section_id "
                "where s.code = :code order by p.created_at"
            ),
            {"code": code},
        )
        return [tuple(row) for row in result]


@pytest.fixture(scope="module")
async def world(module_graphql: GraphQLClient) -> World:
    return await open_campaign(module_graphql, featured=2)


# --- single opt-in ----------------------------------------------------------------------------


async def test_a_signature_counts_at_once_as_one_verified_online_petition_signature(
    graphql: GraphQLClient, new_section: NewSection, world: World, app_engine: AsyncEngine
) -> None:
    # given a section without double opt-in
    code = await section_in(graphql, new_section, world)
    before = await case_totals(graphql, world.first, world.year)

    # when a supporter signs
    payload = await signed(graphql, code, signature_input(world, world.first, canary()))

    # then it counts at once, in the section's and the worldwide totals, and nowhere else
    assert payload["confirmationRequired"] is False
    assert payload["replayed"] is False
    assert await own_totals(graphql, code, world.year) == counted(1)
    after = await case_totals(graphql, world.first, world.year)
    assert after["quantity"] == before["quantity"] + 1
    assert await case_totals(graphql, world.first, world.year, code) == after
    await no_drift(app_engine)


async def test_a_replay_with_the_same_key_counts_once_and_answers_the_same(
    graphql: GraphQLClient, new_section: NewSection, world: World
) -> None:
    # given a signature
    code = await section_in(graphql, new_section, world)
    values = signature_input(world, world.first, canary())
    first = await signed(graphql, code, values)

    # when the browser sends it again with the same key
    second = await signed(graphql, code, values)

    # then the answer is the first signature's, marked as a replay, and it counted once
    assert second == {**first, "replayed": True}
    assert await own_totals(graphql, code, world.year) == counted(1)


async def test_the_same_key_for_another_signature_is_refused_and_changes_nothing(
    graphql: GraphQLClient, new_section: NewSection, world: World
) -> None:
    # given a signature
    code = await section_in(graphql, new_section, world)
    key = str(uuid.uuid4())
    await signed(graphql, code, signature_input(world, world.first, canary(), key=key))

    # when the same key comes with another person's signature
    payload = await sign(graphql, code, signature_input(world, world.first, canary(), key=key))

    # then it is refused and nothing more counts
    assert problems(payload) == [("idempotencyKey", "IDEMPOTENCY_KEY_REUSED")]
    assert await own_totals(graphql, code, world.year) == counted(1)


async def test_one_supporter_per_normalised_email_and_one_count_per_petition(
    graphql: GraphQLClient,
    new_section: NewSection,
    world: World,
    owner_engine: AsyncEngine,
) -> None:
    # given an address with an accented letter
    code = await section_in(graphql, new_section, world)
    suffix = uuid.uuid4().hex[:8]
    decomposed = f"zoe\u0301.{suffix}"  # "zoé" with a combining accent (NFD)
    precomposed = f"zo\u00e9.{suffix}"  # the same with the single letter "é" (NFC)
    spellings = [
        f"{decomposed}@example.org",
        f"  {decomposed.upper()}@EXAMPLE.ORG  ",  # case and surrounding white space
        f"{precomposed}@Example.org",
    ]

    # when the same person signs the same petition under each spelling, with new keys
    for email in spellings:
        await signed(graphql, code, signature_input(world, world.first, email))
    # and then another petition
    await signed(graphql, code, signature_input(world, world.second, spellings[1]))

    # then there is one supporter, one signature per petition, and two counted actions
    async with owner_engine.connect() as connection:
        supporters = (
            await connection.execute(
                text(
                    "select count(*) from supporters p join sections s on s.id = p.section_id "
                    "where s.code = :code"
                ),
                {"code": code},
            )
        ).scalar_one()
    assert supporters == 1
    assert await signature_rows(owner_engine, code) == [
        ("counted", True, True),
        ("counted", True, True),
    ]
    assert await own_totals(graphql, code, world.year) == counted(2)
    exported = await export(graphql, code, spellings[2])
    # (kept as first given, in its composed form)
    assert exported["supporter"]["email"] == f"{precomposed}@example.org"
    assert len(exported["signatures"]) == 2


async def test_invalid_input_is_refused_with_every_problem_and_changes_nothing(
    graphql: GraphQLClient, new_section: NewSection, world: World, owner_engine: AsyncEngine
) -> None:
    # given a section
    code = await section_in(graphql, new_section, world)

    # when a signature has a bad email, no name, an unknown country and a bad consent
    payload = await sign(
        graphql,
        code,
        signature_input(
            world,
            world.first,
            "not-an-address",
            name="  ",
            country="XX",
            language="xx-invalid-tag-!!",
            consents=[
                {"purpose": "PETITION_DELIVERY", "wordingVersion": ""},
                {"purpose": "PETITION_DELIVERY", "wordingVersion": "v2"},
            ],
        ),
    )

    # then every problem is named and nothing was stored or counted
    assert problems(payload) == [
        ("consents.0.wordingVersion", "REQUIRED"),
        ("consents.1.purpose", "ALREADY_EXISTS"),
        ("country", "UNKNOWN_COUNTRY"),
        ("email", "INVALID"),
        ("language", "UNKNOWN_LANGUAGE"),
        ("name", "REQUIRED"),
    ]
    assert await signature_rows(owner_engine, code) == []
    assert await own_totals(graphql, code, world.year) == NOTHING


async def test_a_case_the_section_does_not_feature_is_refused(
    graphql: GraphQLClient, new_section: NewSection, world: World, owner_engine: AsyncEngine
) -> None:
    code = await section_in(graphql, new_section, world)

    payload = await sign(graphql, code, signature_input(world, world.unfeatured, canary()))

    assert problems(payload) == [("caseId", "NOT_ALLOWED")]
    assert await signature_rows(owner_engine, code) == []


async def test_signing_needs_a_section_and_an_anonymous_client_id(
    graphql: GraphQLClient, new_section: NewSection, world: World
) -> None:
    code = await section_in(graphql, new_section, world)

    without_section = (
        await graphql.data(PETITION_SIGN, {"input": signature_input(world, world.first, canary())})
    )["petitionSign"]
    without_client = await sign(
        graphql, code, signature_input(world, world.first, canary(), clientId=None)
    )

    assert problems(without_section) == [(None, "OUT_OF_SCOPE")]
    assert problems(without_client) == [("clientId", "REQUIRED")]
    assert await own_totals(graphql, code, world.year) == NOTHING


async def test_section_staff_may_not_sign_for_someone(
    graphql: GraphQLClient, new_section: NewSection, world: World
) -> None:
    code = await section_in(graphql, new_section, world)

    response = await graphql.post(
        PETITION_SIGN,
        {"input": signature_input(world, world.first, canary())},
        **staff(code, Role.SECTION_EDITOR),
    )

    assert [error["extensions"]["code"] for error in response.json()["errors"]] == ["FORBIDDEN"]
    assert await own_totals(graphql, code, world.year) == NOTHING


# --- double opt-in --------------------------------------------------------------------------


async def test_double_opt_in_counts_only_with_the_token_of_the_mail_received(
    graphql: GraphQLClient,
    new_section: NewSection,
    world: World,
    inbox: Inbox,
    owner_engine: AsyncEngine,
    app_engine: AsyncEngine,
) -> None:
    # given a section with double opt-in
    code = await section_in(graphql, new_section, world)
    await set_double_opt_in(graphql, code, True)
    email = canary()
    before = await case_totals(graphql, world.first, world.year)

    # when a supporter signs
    payload = await signed(graphql, code, signature_input(world, world.first, email))

    # then the answer asks for confirmation and nothing counts yet
    assert payload["confirmationRequired"] is True
    assert await own_totals(graphql, code, world.year) == NOTHING
    assert await case_totals(graphql, world.first, world.year) == before
    assert await signature_rows(owner_engine, code) == [("pending", False, True)]

    # when the mail arrives at the SMTP server (sent by the app's background sender)
    [message] = await inbox.wait_for(email)
    assert message["Subject"] == "Confirm your signature"
    assert message["From"] == "Write for Rights <no-reply@w4r.test>"
    tokens = links(message)
    assert set(tokens) == {"confirm", "withdraw"}

    # and its confirmation token is used
    confirmed = await confirm(graphql, code, tokens["confirm"])

    # then the signature counts, with the consent ticked on the form
    assert confirmed == {
        "signatureId": payload["signatureId"],
        "consentsConfirmed": 1,
        "errors": [],
    }
    assert await own_totals(graphql, code, world.year) == counted(1)
    after = await case_totals(graphql, world.first, world.year)
    assert after["quantity"] == before["quantity"] + 1
    assert await signature_rows(owner_engine, code) == [("counted", True, True)]
    await no_drift(app_engine)

    # and the sent mail keeps no body (it held the secret link)
    async with owner_engine.connect() as connection:
        outbox = (
            await connection.execute(
                text(
                    "select m.status, m.attempts, m.body is null, m.sent_at is not null "
                    "from mail_outbox m join sections s on s.id = m.section_id "
                    "where s.code = :code"
                ),
                {"code": code},
            )
        ).all()
    assert [tuple(row) for row in outbox] == [("sent", 1, True, True)]

    # when the token is used again, then it is refused and nothing more counts
    again = await confirm(graphql, code, tokens["confirm"])
    assert problems(again) == [("token", "NOT_FOUND")]
    assert await own_totals(graphql, code, world.year) == counted(1)


async def test_an_unknown_token_confirms_nothing(
    graphql: GraphQLClient, new_section: NewSection, world: World
) -> None:
    code = await section_in(graphql, new_section, world)

    payload = await confirm(graphql, code, "not-a-token")

    assert problems(payload) == [("token", "NOT_FOUND")]
    assert await own_totals(graphql, code, world.year) == NOTHING


async def test_double_opt_in_answers_the_same_for_a_signer_who_already_counted(
    graphql: GraphQLClient,
    new_section: NewSection,
    world: World,
    inbox: Inbox,
) -> None:
    # given a confirmed signature in a double opt-in section
    code = await section_in(graphql, new_section, world)
    await set_double_opt_in(graphql, code, True)
    email = canary()
    first = await signed(graphql, code, signature_input(world, world.first, email))
    [message] = await inbox.wait_for(email)
    await confirm(graphql, code, links(message)["confirm"])

    # when someone signs again with that email (a new key)
    second = await signed(graphql, code, signature_input(world, world.first, email))

    # then the answer looks like any first signing: it does not tell that the email signed
    assert second == {**first, "signatureId": second["signatureId"]}
    assert second["signatureId"] == first["signatureId"]
    assert await own_totals(graphql, code, world.year) == counted(1)


async def test_a_token_of_one_section_confirms_nothing_in_another(
    graphql: GraphQLClient,
    new_section: NewSection,
    world: World,
    inbox: Inbox,
) -> None:
    # given a pending signature in section A, and section B
    code_a = await section_in(graphql, new_section, world)
    code_b = await section_in(graphql, new_section, world)
    await set_double_opt_in(graphql, code_a, True)
    email = canary()
    await signed(graphql, code_a, signature_input(world, world.first, email))
    [message] = await inbox.wait_for(email)

    # when A's token is used at B's endpoint
    payload = await confirm(graphql, code_b, links(message)["confirm"])

    # then B knows no such token, and A's signature still waits
    assert problems(payload) == [("token", "NOT_FOUND")]
    assert await own_totals(graphql, code_a, world.year) == NOTHING
    assert await own_totals(graphql, code_b, world.year) == NOTHING
