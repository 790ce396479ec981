"""Consent, the supporter's rights and delivery lists through the API (HTTP, real database):
giving and withdrawing consent (staff, public, by a mail's token), export, erasure with a
canary email that afterwards appears nowhere in the database while every count stays the
same, section isolation, and the CSV of signatures for the authorities.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.actions.test_ledger_api import (
    TALLY_APPROVE,
    World,
    case_totals,
    counted,
    no_drift,
    open_campaign,
    own_totals,
    report,
    staff,
    tally_input,
)
from tests.campaigns.test_campaigns_api import problems
from tests.conftest import GraphQLClient
from tests.events.test_registrations_and_reports import (
    EVENT_CREATE,
    EVENT_PUBLISH,
    event_input,
    registered,
    registration_input,
    seats,
)
from tests.supporters.conftest import Inbox, links
from tests.supporters.test_signatures_api import (
    DELIVERY_WORDING,
    UPDATES_WORDING,
    canary,
    export,
    section_in,
    set_double_opt_in,
    signature_input,
    signed,
)
from w4r.platform.auth import Role

NewSection = Callable[..., Awaitable[dict[str, Any]]]

CONSENT_GIVE = """
mutation ($input: ConsentGiveInput!) {
  consentGive(input: $input) { outcome changed errors { field code message } }
}
"""
CONSENT_WITHDRAW = """
mutation ($input: ConsentWithdrawInput!) {
  consentWithdraw(input: $input) { outcome changed errors { field code message } }
}
"""
SIGNATURE_CONFIRM = """
mutation ($input: SignatureConfirmInput!) {
  signatureConfirm(input: $input) { signatureId consentsConfirmed errors { field code } }
}
"""
SUPPORTER_ERASE = """
mutation ($input: SupporterEraseInput!) {
  supporterErase(input: $input) {
    erased {
      supporters consents signatures tokens registrations tallies mails idempotencyKeys
    }
    errors { field code message }
  }
}
"""
SUPPORTER_EXPORT = "query ($email: String!) { supporterExport(email: $email) }"
TALLY_REPORT = """
mutation ($input: TallyReportInput!) {
  tallyReport(input: $input) { tally { id } errors { field code message } }
}
"""

EVERY_TABLE = """
select table_schema, table_name from information_schema.tables
where table_type = 'BASE TABLE'
  and table_schema not in ('pg_catalog', 'information_schema')
order by 1, 2
"""


@pytest.fixture(scope="module")
async def world(module_graphql: GraphQLClient) -> World:
    return await open_campaign(module_graphql, featured=2)


async def give(
    graphql: GraphQLClient, code: str, values: dict[str, Any], **caller: Any
) -> dict[str, Any]:
    options = caller or {"section": code}
    data = await graphql.data(CONSENT_GIVE, {"input": values}, **options)
    payload: dict[str, Any] = data["consentGive"]
    return payload


async def withdraw(
    graphql: GraphQLClient, code: str, values: dict[str, Any], **caller: Any
) -> dict[str, Any]:
    options = caller or {"section": code}
    data = await graphql.data(CONSENT_WITHDRAW, {"input": values}, **options)
    payload: dict[str, Any] = data["consentWithdraw"]
    return payload


async def erase(graphql: GraphQLClient, code: str, email: str, **caller: Any) -> dict[str, Any]:
    options = caller or staff(code)
    data = await graphql.data(SUPPORTER_ERASE, {"input": {"email": email}}, **options)
    payload: dict[str, Any] = data["supporterErase"]
    return payload


def updates_consent(email: str, **overrides: Any) -> dict[str, Any]:
    return {
        "email": email,
        "name": "Grace Hopper",
        "purpose": "CAMPAIGN_UPDATES",
        "wordingVersion": UPDATES_WORDING,
        **overrides,
    }


def consent_states(exported: Any) -> list[tuple[str, str, str | None, bool, str | None]]:
    """(purpose, method, recorded by, confirmed, withdrawal method) of each consent."""
    return [
        (
            consent["purpose"],
            consent["method"],
            consent["recordedBy"],
            consent["confirmedAt"] is not None,
            consent["withdrawalMethod"],
        )
        for consent in exported["consents"]
    ]


def top_level(response: httpx.Response) -> list[str]:
    return [error["extensions"]["code"] for error in response.json()["errors"]]


# --- consent ---------------------------------------------------------------------------------


async def test_staff_record_a_consent_with_how_it_was_given_and_withdraw_it(
    graphql: GraphQLClient, new_section: NewSection, world: World
) -> None:
    # given a section and a person who consented on the phone
    code = await section_in(graphql, new_section, world)
    email = canary()

    # when its editor records the consent without saying how, then with PHONE
    missing = await give(graphql, code, updates_consent(email), **staff(code, Role.SECTION_EDITOR))
    given = await give(
        graphql, code, updates_consent(email, method="PHONE"), **staff(code, Role.SECTION_EDITOR)
    )

    # then the first is refused, the second recorded at once, by that editor
    assert problems(missing) == [("method", "REQUIRED")]
    assert given == {"outcome": "DONE", "changed": 1, "errors": []}
    recorder = "local:section-editor"
    assert consent_states(await export(graphql, code, email)) == [
        ("campaign-updates", "phone", recorder, True, None)
    ]

    # when the editor records the withdrawal the person sent by mail
    withdrawn = await withdraw(
        graphql,
        code,
        {"email": email, "purpose": "CAMPAIGN_UPDATES", "method": "EMAIL"},
        **staff(code, Role.SECTION_EDITOR),
    )

    # then it is withdrawn, and how is recorded
    assert withdrawn == {"outcome": "DONE", "changed": 1, "errors": []}
    exported = await export(graphql, code, email)
    assert consent_states(exported) == [("campaign-updates", "phone", recorder, True, "email")]
    assert exported["consents"][0]["withdrawnBy"] == recorder


async def test_public_consent_and_withdrawal_by_email_take_effect_at_once_in_single_opt_in(
    graphql: GraphQLClient, new_section: NewSection, world: World
) -> None:
    # given a section without double opt-in
    code = await section_in(graphql, new_section, world)
    email = canary()

    # when a visitor subscribes on a form, then withdraws the same way with the email
    given = await give(graphql, code, updates_consent(email))
    withdrawn = await withdraw(graphql, code, {"email": email.upper()})

    # then both take effect at once; the public answers never say how many consents changed
    assert given == {"outcome": "DONE", "changed": None, "errors": []}
    assert withdrawn == {"outcome": "DONE", "changed": None, "errors": []}
    assert consent_states(await export(graphql, code, email)) == [
        ("campaign-updates", "online-form", None, True, "online-form")
    ]


async def test_double_opt_in_consent_is_confirmed_and_withdrawn_from_its_mail(
    graphql: GraphQLClient, new_section: NewSection, world: World, inbox: Inbox
) -> None:
    # given a double opt-in section
    code = await section_in(graphql, new_section, world)
    await set_double_opt_in(graphql, code, True)
    email = canary()

    # when a visitor subscribes, the consent waits for the mail's confirmation
    given = await give(graphql, code, updates_consent(email))
    assert given == {"outcome": "CHECK_MAIL", "changed": None, "errors": []}
    assert consent_states(await export(graphql, code, email)) == [
        ("campaign-updates", "online-form", None, False, None)
    ]
    [message] = await inbox.wait_for(email)
    assert message["Subject"] == "Confirm your email address"
    tokens = links(message)
    confirmed = await graphql.data(
        SIGNATURE_CONFIRM, {"input": {"token": tokens["confirm"]}}, section=code
    )
    assert confirmed["signatureConfirm"] == {
        "signatureId": None,
        "consentsConfirmed": 1,
        "errors": [],
    }

    # when the withdrawal code of the same mail is used (one click, no account)
    withdrawn = await withdraw(graphql, code, {"token": tokens["withdraw"]})

    # then the consent is withdrawn by the mail's link, and the link works once
    assert withdrawn == {"outcome": "DONE", "changed": 1, "errors": []}
    assert consent_states(await export(graphql, code, email)) == [
        ("campaign-updates", "online-form", None, True, "email-link")
    ]
    again = await withdraw(graphql, code, {"token": tokens["withdraw"]})
    assert problems(again) == [("token", "NOT_FOUND")]


async def test_a_public_withdrawal_by_email_in_double_opt_in_is_confirmed_by_mail(
    graphql: GraphQLClient, new_section: NewSection, world: World, inbox: Inbox
) -> None:
    # given a double opt-in section and a consent recorded by staff
    code = await section_in(graphql, new_section, world)
    await set_double_opt_in(graphql, code, True)
    email, stranger = canary(), canary("stranger")
    await give(graphql, code, updates_consent(email, method="PAPER_FORM"), **staff(code))

    # when a visitor asks to withdraw with the email, and another with an unknown email
    asked = await withdraw(graphql, code, {"email": email, "purpose": "CAMPAIGN_UPDATES"})
    unknown = await withdraw(graphql, code, {"email": stranger, "purpose": "CAMPAIGN_UPDATES"})

    # then both get the same answer, and only the known person gets a withdrawal mail
    assert asked == unknown == {"outcome": "CHECK_MAIL", "changed": None, "errors": []}
    [message] = await inbox.wait_for(email)
    assert message["Subject"] == "Withdraw your consent"
    assert inbox.to(stranger) == []
    assert consent_states(await export(graphql, code, email))[0][4] is None

    # when the mail's link is used, then the consent is withdrawn
    withdrawn = await withdraw(graphql, code, {"token": links(message)["withdraw"]})
    assert withdrawn == {"outcome": "DONE", "changed": 1, "errors": []}


async def test_consent_scopes_are_checked(
    graphql: GraphQLClient, new_section: NewSection, world: World
) -> None:
    code = await section_in(graphql, new_section, world)
    email = canary()

    delivery_without_case = await give(
        graphql,
        code,
        updates_consent(email, purpose="PETITION_DELIVERY", wordingVersion=DELIVERY_WORDING),
    )
    updates_with_case = await give(graphql, code, updates_consent(email, caseId=world.first.id))
    unknown_case = await give(
        graphql,
        code,
        updates_consent(email, purpose="PETITION_DELIVERY", caseId=str(uuid.uuid4())),
    )

    assert problems(delivery_without_case) == [("caseId", "REQUIRED")]
    assert problems(updates_with_case) == [("caseId", "INVALID")]
    assert problems(unknown_case) == [("caseId", "NOT_FOUND")]
    assert (await export(graphql, code, email))["supporter"] is None


# --- export and erasure ----------------------------------------------------------------------


async def test_export_lists_everything_the_section_holds_about_the_email(
    graphql: GraphQLClient, new_section: NewSection, world: World
) -> None:
    # given a signature with consent, a subscription and an event registration
    code = await section_in(graphql, new_section, world)
    email = canary()
    signature = await signed(graphql, code, signature_input(world, world.first, email))
    await give(graphql, code, updates_consent(email))
    event = await published_event(graphql, code, world)
    registration = await registered(
        graphql, code, registration_input(event, email, "browser-2", guests=1)
    )

    # when the section's admin exports it (any spelling of the address)
    exported = await export(graphql, code, f"  {email.upper()} ")

    # then it holds the supporter, both consents, the signature and the registration
    assert exported["format"] == "w4r-supporter-export/1"
    assert exported["section"] == code
    assert exported["email"] == email.upper().split("@")[0] + "@example.org"
    supporter = exported["supporter"]
    assert {key: supporter[key] for key in ("email", "name", "country", "language")} == {
        "email": email,
        "name": "Grace Hopper",
        "country": "GB",
        "language": "en",
    }
    assert consent_states(exported) == [
        ("petition-delivery", "online-form", None, True, None),
        ("campaign-updates", "online-form", None, True, None),
    ]
    assert exported["consents"][0]["caseId"] == world.first.id
    assert exported["consents"][0]["wordingVersion"] == DELIVERY_WORDING
    [row] = exported["signatures"]
    assert {key: row[key] for key in ("id", "caseId", "name", "country", "status")} == {
        "id": signature["signatureId"],
        "caseId": world.first.id,
        "name": "Ada Lovelace",
        "country": "GB",
        "status": "counted",
    }
    [attendance] = exported["eventRegistrations"]
    assert {key: attendance[key] for key in ("id", "eventId", "email", "guests", "status")} == {
        "id": registration["registrationId"],
        "eventId": event,
        "email": email,
        "guests": 1,
        "status": "confirmed",
    }
    assert exported["tallies"] == []
    assert exported["mail"] == []
    assert exported["tokens"] == []


async def published_event(graphql: GraphQLClient, code: str, world: World) -> str:
    data = await graphql.data(
        EVENT_CREATE, {"input": event_input(world.year, capacity=50)}, **staff(code)
    )
    event_id: str = data["eventCreate"]["event"]["id"]
    published = await graphql.data(EVENT_PUBLISH, {"input": {"id": event_id}}, **staff(code))
    assert published["eventPublish"]["errors"] == [], published
    return event_id


async def rollup_sums(owner_engine: AsyncEngine, code: str) -> tuple[int, int]:
    async with owner_engine.connect() as connection:
        row = (
            await connection.execute(
                text(
                    "select coalesce(sum(r.quantity), 0), coalesce(sum(r.rows), 0) "
                    "from action_rollups r join sections s on s.id = r.section_id "
                    "where s.code = :code"
                ),
                {"code": code},
            )
        ).one()
    return int(row[0]), int(row[1])


async def tables_holding(owner_engine: AsyncEngine, needle: str) -> list[str]:
    """Every table, in every schema, with a row whose text contains ``needle`` (any case).
    The owner engine is a superuser: row-level security hides nothing from it."""
    found = []
    async with owner_engine.connect() as connection:
        tables = (await connection.execute(text(EVERY_TABLE))).all()
        for schema, table in tables:
            quoted = f'"{schema}"."{table}"'
            hits = await connection.execute(
                text(f"select count(*) from {quoted} t where strpos(lower(t::text), :needle) > 0"),
                {"needle": needle.lower()},
            )
            if hits.scalar_one():
                found.append(f"{schema}.{table}")
    return found


async def test_erasure_leaves_the_email_nowhere_and_every_count_exactly_the_same(
    graphql: GraphQLClient,
    new_section: NewSection,
    world: World,
    inbox: Inbox,
    owner_engine: AsyncEngine,
    app_engine: AsyncEngine,
) -> None:
    # given a person, known by a canary address, who signed (counted), subscribed,
    # registered for an event, reported a tally that was approved, and signed again in
    # double opt-in (a pending signature and a mail in the outbox)
    code = await section_in(graphql, new_section, world)
    marker = uuid.uuid4().hex
    email = f"canary.{marker}@example.org"
    await signed(graphql, code, signature_input(world, world.first, email))
    await give(graphql, code, updates_consent(email))
    event = await published_event(graphql, code, world)
    await registered(graphql, code, registration_input(event, email, "browser-3", guests=2))
    await registered(graphql, code, registration_input(event, canary("other"), "browser-4"))
    tally = (
        await graphql.data(
            TALLY_REPORT,
            {"input": tally_input(world, reporterName="Canary Bird", reporterEmail=email)},
            section=code,
        )
    )["tallyReport"]
    assert tally["errors"] == [], tally
    approved = await graphql.data(
        TALLY_APPROVE, {"input": {"id": tally["tally"]["id"]}}, **staff(code)
    )
    assert approved["tallyApprove"]["errors"] == [], approved
    await set_double_opt_in(graphql, code, True)
    await signed(graphql, code, signature_input(world, world.second, email))
    await inbox.wait_for(email)
    assert await tables_holding(owner_engine, marker) != []

    before = (
        await report(graphql, world.year, group_by=["SECTION", "CASE"]),
        await own_totals(graphql, code, world.year),
        await case_totals(graphql, world.first, world.year),
        await case_totals(graphql, world.second, world.year),
        await rollup_sums(owner_engine, code),
        await seats(graphql, code, event),
    )
    assert before[1] == counted(16, verified=1)  # the signature and 15 tallied actions

    # when the section's admin erases the person
    payload = await erase(graphql, code, email)

    # then every kind of record was dealt with
    assert payload == {
        "erased": {
            "supporters": 1,
            "consents": 3,
            "signatures": 2,
            "tokens": 2,
            "registrations": 1,
            "tallies": 1,
            "mails": 1,
            "idempotencyKeys": 2,
        },
        "errors": [],
    }
    # and the address appears nowhere in the database
    assert await tables_holding(owner_engine, marker) == []
    # and every count is exactly what it was
    after = (
        await report(graphql, world.year, group_by=["SECTION", "CASE"]),
        await own_totals(graphql, code, world.year),
        await case_totals(graphql, world.first, world.year),
        await case_totals(graphql, world.second, world.year),
        await rollup_sums(owner_engine, code),
        await seats(graphql, code, event),
    )
    assert after == before
    await no_drift(app_engine)
    # and nothing is left to export
    exported = await export(graphql, code, email)
    assert [exported[key] for key in ("supporter", "consents", "signatures")] == [None, [], []]
    assert [exported[key] for key in ("eventRegistrations", "tallies", "mail")] == [[], [], []]


async def test_a_replay_after_erasure_never_counts_again(
    graphql: GraphQLClient, new_section: NewSection, world: World
) -> None:
    # given a signature, erased
    code = await section_in(graphql, new_section, world)
    email = canary()
    values = signature_input(world, world.first, email)
    await signed(graphql, code, values)
    await erase(graphql, code, email)

    # when the browser replays the request with its key
    replay = (await graphql.data(PETITION_SIGN_DOC, {"input": values}, section=code))[
        "petitionSign"
    ]

    # then the key is taken (its content is forgotten), and the count stays
    assert problems(replay) == [("idempotencyKey", "IDEMPOTENCY_KEY_REUSED")]
    assert await own_totals(graphql, code, world.year) == counted(1)


PETITION_SIGN_DOC = """
mutation ($input: PetitionSignInput!) {
  petitionSign(input: $input) { signatureId errors { field code message } }
}
"""


async def test_only_the_sections_admin_may_export_or_erase(
    graphql: GraphQLClient, new_section: NewSection, world: World
) -> None:
    # given a supporter of section A and a section B
    code_a = await section_in(graphql, new_section, world)
    code_b = await section_in(graphql, new_section, world)
    email = canary()
    await signed(graphql, code_a, signature_input(world, world.first, email))

    # when others ask A's endpoint
    variables = {"email": email}
    editor = await graphql.post(SUPPORTER_EXPORT, variables, **staff(code_a, Role.SECTION_EDITOR))
    anonymous = await graphql.post(SUPPORTER_EXPORT, variables, section=code_a)
    is_admin = await graphql.post(SUPPORTER_EXPORT, variables, role=Role.IS_ADMIN, section=code_a)
    other_admin = await graphql.post(
        SUPPORTER_EXPORT, variables, role=Role.SECTION_ADMIN, token_section=code_b, section=code_a
    )
    erase_by_editor = await graphql.post(
        SUPPORTER_ERASE, {"input": variables}, **staff(code_a, Role.SECTION_EDITOR)
    )

    # then each is refused
    assert top_level(editor) == ["FORBIDDEN"]
    assert top_level(anonymous) == ["FORBIDDEN"]
    assert top_level(is_admin) == ["FORBIDDEN"]
    assert other_admin.status_code == 403
    assert top_level(erase_by_editor) == ["FORBIDDEN"]

    # when B's admin asks at B's endpoint, then B holds nothing and erases nothing of A's
    assert (await export(graphql, code_b, email))["supporter"] is None
    erased_in_b = await erase(graphql, code_b, email)
    assert erased_in_b["erased"] == {
        "supporters": 0,
        "consents": 0,
        "signatures": 0,
        "tokens": 0,
        "registrations": 0,
        "tallies": 0,
        "mails": 0,
        "idempotencyKeys": 0,
    }
    exported = await export(graphql, code_a, email)
    assert exported["supporter"]["email"] == email
    assert len(exported["signatures"]) == 1


# --- the delivery list ------------------------------------------------------------------------


def csv_path(code: str, case_id: str) -> str:
    return f"/s/{code}/petitions/{case_id}/signatures.csv"


async def download(
    graphql: GraphQLClient, code: str, case_id: str, role: Role | None, token_section: str | None
) -> httpx.Response:
    headers = {}
    if role is not None:
        headers["authorization"] = f"Bearer {graphql.token_for(role, token_section)}"
    return await graphql.http.get(csv_path(code, case_id), headers=headers)


async def test_the_csv_lists_consenting_confirmed_signers_safely_quoted(
    graphql: GraphQLClient, new_section: NewSection, world: World
) -> None:
    # given signers of the first case: with consent, without, a name that looks like a
    # formula, one with quotes and a comma, one who withdrew; and a signer of another case
    code = await section_in(graphql, new_section, world)
    first = world.first
    await signed(graphql, code, signature_input(world, first, canary(), name="Ada Lovelace"))
    await signed(
        graphql, code, signature_input(world, first, canary(), name="No Consent", delivery=False)
    )
    await signed(
        graphql,
        code,
        signature_input(world, first, canary(), name='=HYPERLINK("http://x.example")'),
    )
    await signed(
        graphql, code, signature_input(world, first, canary(), name='O"Brien, Jo', country="IE")
    )
    withdrawing = canary()
    await signed(graphql, code, signature_input(world, first, withdrawing, name="Changed Mind"))
    await withdraw(graphql, code, {"email": withdrawing, "purpose": "PETITION_DELIVERY"})
    await signed(graphql, code, signature_input(world, world.second, canary(), name="Elsewhere"))

    # when the section's admin downloads the first case's list
    response = await download(graphql, code, first.id, Role.SECTION_ADMIN, code)

    # then it holds the consenting signers, oldest first, quoted, formulas defused
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["cache-control"] == "no-store"
    today = datetime.now(UTC).astimezone(ZoneInfo("Europe/London")).date().isoformat()
    assert response.text == (
        '"name","country","signed_on"\r\n'
        f'"Ada Lovelace","GB","{today}"\r\n'
        f'"\'=HYPERLINK(""http://x.example"")","GB","{today}"\r\n'
        f'"O""Brien, Jo","IE","{today}"\r\n'
    )
    # and a campaign filter narrows it to that year
    other_year = await download_text(graphql, code, first.id, f"?campaign={world.year + 1}")
    assert other_year == '"name","country","signed_on"\r\n'


async def download_text(graphql: GraphQLClient, code: str, case_id: str, query: str) -> str:
    token = graphql.token_for(Role.SECTION_ADMIN, code)
    response = await graphql.http.get(
        csv_path(code, case_id) + query, headers={"authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200
    return response.text


async def test_the_csv_is_refused_to_every_other_caller(
    graphql: GraphQLClient, new_section: NewSection, world: World
) -> None:
    # given a signer with consent in section A, and section B
    code_a = await section_in(graphql, new_section, world)
    code_b = await section_in(graphql, new_section, world)
    await signed(graphql, code_a, signature_input(world, world.first, canary()))
    case_id = world.first.id

    # when anyone but A's admin asks for A's list
    statuses = [
        (await download(graphql, code_a, case_id, role, section)).status_code
        for role, section in (
            (None, None),
            (Role.SECTION_EDITOR, code_a),
            (Role.EVENT_HOST, code_a),
            (Role.PARTNER_APP, code_a),
            (Role.IS_ADMIN, None),
            (Role.SECTION_ADMIN, code_b),
        )
    ]
    bad_token = await graphql.http.get(
        csv_path(code_a, case_id), headers={"authorization": "Bearer not-a-token"}
    )
    not_a_case = await download(graphql, code_a, "nope", Role.SECTION_ADMIN, code_a)
    # and B's admin asks B's list of the same case
    in_b = await download(graphql, code_b, case_id, Role.SECTION_ADMIN, code_b)

    # then each is refused, and B's list holds none of A's signers
    assert statuses == [401, 403, 403, 403, 403, 403]
    assert bad_token.status_code == 401
    assert not_a_case.status_code == 404
    assert in_b.status_code == 200
    assert in_b.text == '"name","country","signed_on"\r\n'
