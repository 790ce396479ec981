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

from tests.actions.test_ledger_api import World, counted, open_campaign, own_totals
from tests.conftest import GraphQLClient
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
from w4r.platform.bootstrap import DatabaseTarget
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
    database_target: DatabaseTarget,
    signing_key_json: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
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
    monkeypatch.setenv(
        "W4R_DATABASE_URL", database_target.admin_url.render_as_string(hide_password=False)
    )
    monkeypatch.setenv("W4R_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("W4R_LOCAL_SIGNING_KEY", signing_key_json)
    status = await asyncio.to_thread(main, ["supporters", "purge", "--older-than", "2y"])

    # then the old supporter is gone, the recent one stays, and both signatures still count
    assert status == 0
    lines = capsys.readouterr().out.splitlines()
    assert (
        f"  {code:8} 1 supporters erased (1 consents, 1 signatures unlinked, 0 mails deleted)"
        in (lines)
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
