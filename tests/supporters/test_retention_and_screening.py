"""Retention (``w4r supporters purge``) and screened signatures (real database)."""

from __future__ import annotations

import argparse
import asyncio
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from tests.actions.test_ledger_api import (
    TALLY_APPROVE,
    TALLY_REPORT,
    World,
    counted,
    open_campaign,
    own_totals,
    staff,
)
from tests.conftest import GraphQLClient
from tests.events.test_registrations_and_reports import (
    attendees,
    create_event,
    event_input,
    registered,
    registration_input,
    seats,
)
from tests.supporters.test_signatures_api import (
    canary,
    export,
    section_in,
    signature_input,
    signed,
)
from w4r.actions.drafts import Recorder
from w4r.actions.models import Action, Channel, ReporterKind
from w4r.cli import duration, main
from w4r.mail.models import OutboxMail
from w4r.platform.auth import ANONYMOUS
from w4r.platform.database import TenantBinding
from w4r.supporters.drafts import ConsentChoice, SignatureDraft
from w4r.supporters.emails import EmailHasher
from w4r.supporters.models import Consent, ConsentPurpose, Signature, SignatureStatus
from w4r.supporters.service import SectionSupporters, SupporterPolicy, SupporterService

NewSection = Callable[..., Awaitable[dict[str, Any]]]


async def backdate(owner_engine: AsyncEngine, email: str, years: int) -> None:
    """Make the supporter's last activity ``years`` years old."""
    async with owner_engine.begin() as connection:
        await connection.execute(
            text(
                "update supporters set last_activity_at = now() - make_interval(years => :years) "
                "where email = :email"
            ),
            {"years": years, "email": email},
        )


@pytest.mark.parametrize(
    ("text_value", "days"), [("36h", 1.5), ("90d", 90), ("2w", 14), ("2y", 730), (" 1Y ", 365)]
)
def test_durations_are_a_number_and_a_unit(text_value: str, days: float) -> None:
    assert duration(text_value).total_seconds() == days * 86_400


@pytest.mark.parametrize("text_value", ["", "2", "y", "0d", "2 months", "-1d"])
def test_other_durations_are_refused(text_value: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="is not a duration"):
        duration(text_value)


async def test_purge_erases_inactive_supporters_per_section_and_keeps_the_counts(
    graphql: GraphQLClient,
    new_section: NewSection,
    owner_engine: AsyncEngine,
    cli_env: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # given a section where one signer last acted three years ago and another today
    world = await open_campaign(graphql, featured=1)
    code = await section_in(graphql, new_section, world)
    old, recent = canary("old"), canary("recent")
    await signed(graphql, code, signature_input(world, world.first, old))
    await signed(graphql, code, signature_input(world, world.first, recent))
    await backdate(owner_engine, old, years=3)

    # when the retention purge runs for two years
    status = await asyncio.to_thread(main, ["supporters", "purge", "--older-than", "2y"])

    # then the old supporter is gone, the recent one stays, and both signatures still count
    assert status == 0
    lines = capsys.readouterr().out.splitlines()
    assert (
        f"  {code:8} 1 supporters erased (1 consents, 1 signatures unlinked, 0 mails deleted); "
        "0 registrations of past events and 0 decided tallies anonymised" in lines
    )
    assert (await export(graphql, code, old))["supporter"] is None
    assert (await export(graphql, code, recent))["supporter"]["email"] == recent
    assert await own_totals(graphql, code, world.year) == counted(2)


async def sign_screened(
    session: AsyncSession, section_id: UUID, world: World, email: str, *, double_opt_in: bool
) -> UUID:
    service = SupporterService(
        session,
        SectionSupporters(
            section_id=section_id,
            code="test",
            time_zone="Europe/London",
            grace_days=15,
            double_opt_in=double_opt_in,
        ),
        SupporterPolicy(hasher=EmailHasher(bytes(32))),
        ANONYMOUS,
    )

    async def caught() -> bool:
        return True

    signed_up = await service.sign(
        SignatureDraft(
            campaign_year=world.year,
            case_id=UUID(world.first.id),
            email=email,
            name="Bot",
            country="GB",
            idempotency_key=str(uuid.uuid4()),
            consents=[ConsentChoice(ConsentPurpose.PETITION_DELIVERY, "v1")],
        ),
        Recorder(
            reporter_kind=ReporterKind.SUPPORTER,
            reporter_ref=None,
            client_id="anonymous:bot",
            channel=Channel.ONLINE,
            method="petitionSign",
        ),
        screen=caught,
    )
    assert signed_up.replayed is False
    assert signed_up.confirmation_required is double_opt_in
    assert service.mail_queued == 0
    return signed_up.signature_id


@pytest.mark.parametrize("double_opt_in", [False, True])
async def test_a_screened_signature_is_stored_flagged_and_never_counted(
    graphql: GraphQLClient,
    new_section: NewSection,
    app_session_factory: Callable[[TenantBinding], AsyncSession],
    double_opt_in: bool,
) -> None:
    # given a section taking part in a campaign
    world = await open_campaign(graphql, featured=1)
    code = await section_in(graphql, new_section, world)
    section_id = UUID((await graphql.data("{ section { id } }", section=code))["section"]["id"])
    session = app_session_factory(TenantBinding.for_section(section_id))

    # when the screening catches a signature
    signature_id = await sign_screened(
        session, section_id, world, canary(), double_opt_in=double_opt_in
    )

    # then it is stored flagged, with no action, consent or mail
    signature = (
        await session.execute(select(Signature).where(Signature.id == signature_id))
    ).scalar_one()
    assert (signature.status, signature.action_id) == (SignatureStatus.FLAGGED, None)
    for model in (Action, Consent, OutboxMail):
        assert (await session.execute(select(func.count()).select_from(model))).scalar() == 0


async def backdate_event_and_tally(
    owner_engine: AsyncEngine, event_id: str, tally_id: str, years: int
) -> None:
    """Make an event and a tally's decision ``years`` years old (as the owner: the API
    refuses events in the past and a test may not wait)."""
    async with owner_engine.begin() as connection:
        await connection.execute(
            text(
                "update events set starts_at = starts_at - make_interval(years => :years), "
                "ends_at = ends_at - make_interval(years => :years) where id = :id"
            ),
            {"years": years, "id": event_id},
        )
        await connection.execute(
            text(
                "update action_tallies set reviewed_at = now() - make_interval(years => :years) "
                "where id = :id"
            ),
            {"years": years, "id": tally_id},
        )


async def test_purge_anonymises_attendees_of_past_events_and_reporters_of_old_tallies(
    graphql: GraphQLClient,
    new_section: NewSection,
    owner_engine: AsyncEngine,
    cli_env: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # given an event that ended three years ago and one still to come, each with an
    # attendee, and a tally approved three years ago with its reporter's name and email
    world = await open_campaign(graphql, featured=1)
    code = await section_in(graphql, new_section, world)
    old_event = await create_event(graphql, code, event_input(world.year, capacity=10))
    new_event = await create_event(graphql, code, event_input(world.year, capacity=10))
    old_attendee, new_attendee, reporter = canary("gone"), canary("coming"), canary("tally")
    await registered(
        graphql, code, registration_input(old_event, old_attendee, "browser-1", guests=2)
    )
    await registered(graphql, code, registration_input(new_event, new_attendee, "browser-2"))
    reported = await graphql.data(
        TALLY_REPORT,
        {
            "input": {
                "campaign": world.year,
                "lines": [
                    {"caseId": world.first.id, "actionType": "LETTER", "quantity": 7},
                ],
                "idempotencyKey": str(uuid.uuid4()),
                "clientId": "browser-3",
                "reporterName": "Grace Hopper",
                "reporterEmail": reporter,
            }
        },
        section=code,
    )
    tally_id = reported["tallyReport"]["tally"]["id"]
    approved = await graphql.data(TALLY_APPROVE, {"input": {"id": tally_id}}, **staff(code))
    assert approved["tallyApprove"]["errors"] == []
    await backdate_event_and_tally(owner_engine, old_event, tally_id, years=3)
    seats_before = await seats(graphql, code, old_event)
    totals_before = await own_totals(graphql, code, world.year)

    # when the retention purge runs for two years
    status = await asyncio.to_thread(main, ["supporters", "purge", "--older-than", "2y"])

    # then the past event's attendee and the old tally's reporter are gone, the coming
    # event's attendee stays, and every seat and count is as before
    assert status == 0
    assert (
        f"  {code:8} 0 supporters erased (0 consents, 0 signatures unlinked, 0 mails deleted); "
        "1 registrations of past events and 1 decided tallies anonymised"
    ) in capsys.readouterr().out.splitlines()
    old_rows = await attendees(graphql, code, old_event)
    assert [row["email"] for row in old_rows] != [old_attendee]
    assert all(row["email"].endswith("@erased.invalid") for row in old_rows)
    assert [row["guests"] for row in old_rows] == [2]
    assert [row["email"] for row in await attendees(graphql, code, new_event)] == [new_attendee]
    assert await seats(graphql, code, old_event) == seats_before
    assert await own_totals(graphql, code, world.year) == totals_before
    async with owner_engine.connect() as connection:
        row = (
            await connection.execute(
                text("select reporter_name, reporter_email from action_tallies where id = :id"),
                {"id": tally_id},
            )
        ).one()
    assert tuple(row) == (None, None)
