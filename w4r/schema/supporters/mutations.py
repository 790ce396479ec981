"""Signing petitions, confirming an email, giving and withdrawing consent, erasure."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar
from uuid import UUID

import strawberry

from w4r.actions.drafts import Recorder
from w4r.actions.models import Channel, ReporterKind
from w4r.platform.auth import Role
from w4r.schema.abuse import PublicWriteKind, screen_public_write
from w4r.schema.actions.mutations import client_identity
from w4r.schema.context import Context, Info
from w4r.schema.errors import UserError, run_mutation
from w4r.schema.supporters.inputs import (
    ConsentGiveInput,
    ConsentRequestOutcomeEnum,
    ConsentWithdrawInput,
    PetitionSignInput,
    SignatureConfirmInput,
    SupporterEraseInput,
)
from w4r.supporters.drafts import ConsentChoice, ConsentDraft, SignatureDraft, WithdrawalDraft
from w4r.supporters.service import (
    Confirmed,
    ConsentOutcome,
    ErasureReport,
    SectionSupporters,
    Signed,
    SupporterService,
)
from w4r.tenants.repository import SectionRepository

T = TypeVar("T")


@strawberry.type
class PetitionSignPayload:
    signature_id: UUID | None = None
    confirmation_required: bool = strawberry.field(
        default=False,
        description="True in a double opt-in section: the signature counts once the signer "
        "confirms their email with the mail's link.",
    )
    replayed: bool = strawberry.field(
        default=False, description="True when this answers an earlier request with this key."
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class SignatureConfirmPayload:
    signature_id: UUID | None = strawberry.field(
        default=None, description="The signature that now counts (none for a consent only)."
    )
    consents_confirmed: int = 0
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ConsentPayload:
    outcome: ConsentRequestOutcomeEnum | None = None  # type: ignore[valid-type]
    changed: int | None = strawberry.field(
        default=None, description="Staff and token holders: how many consents changed."
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type(description="What an erasure removed; every count stays the same.")
class SupporterErasure:
    supporters: int
    consents: int
    signatures: int = strawberry.field(description="Signatures no longer linked to the person.")
    tokens: int
    registrations: int = strawberry.field(description="Event registrations anonymised.")
    tallies: int = strawberry.field(description="Tallies whose reporter was removed.")
    mails: int
    idempotency_keys: int

    @classmethod
    def from_report(cls, report: ErasureReport) -> SupporterErasure:
        return cls(
            supporters=report.supporters,
            consents=report.consents,
            signatures=report.signatures,
            tokens=report.tokens,
            registrations=report.registrations,
            tallies=report.tallies,
            mails=report.mails,
            idempotency_keys=report.idempotency_keys,
        )


@strawberry.type
class SupporterErasePayload:
    erased: SupporterErasure | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


def _recorder(info: Info, client_id: str | None) -> Recorder:
    principal = info.context.principal
    partner = principal.role is Role.PARTNER_APP
    return Recorder(
        reporter_kind=ReporterKind.PARTNER_APP if partner else ReporterKind.SUPPORTER,
        reporter_ref=principal.subject,
        client_id=client_identity(principal, client_id),
        channel=Channel.PARTNER_APP if partner else Channel.ONLINE,
        method="petitionSign",
    )


async def supporter_service(info: Info) -> SupporterService:
    return await context_supporter_service(info.context)


async def context_supporter_service(context: Context) -> SupporterService:
    """The service for the request's section (an OUT_OF_SCOPE input error without one)."""
    section = context.require_section("Supporters belong to a section")
    row = await SectionRepository(context.session).get(section.id)
    assert row is not None  # the registry only knows existing sections
    services = context.services
    return SupporterService(
        context.session,
        SectionSupporters(
            section_id=section.id,
            code=section.code,
            time_zone=section.time_zone,
            grace_days=services.settings.action_grace_days,
            double_opt_in=row.double_opt_in,
        ),
        services.supporters,
        context.principal,
    )


async def _run(info: Info, work: Callable[[SupporterService], Awaitable[T]]) -> T | list[UserError]:
    """``work`` in a savepoint; once the request commits, the mail sender is woken when the
    work queued mail."""

    async def in_section() -> T:
        service = await supporter_service(info)
        result = await work(service)
        if service.mail_queued:
            info.context.unit_of_work.after_commit(
                info.context.services.supporters.wake_mail_sender
            )
        return result

    return await run_mutation(info, in_section)


@strawberry.type
class SupporterMutations:
    @strawberry.mutation(
        description="Sign a case's petition. It counts once per person (by email) and "
        "petition; in a double opt-in section only once the email is confirmed "
        "(`signatureConfirm`)."
    )
    async def petition_sign(self, info: Info, input: PetitionSignInput) -> PetitionSignPayload:  # noqa: A002
        async def work(service: SupporterService) -> Signed:
            return await service.sign(
                SignatureDraft(
                    campaign_year=input.campaign,
                    case_id=input.case_id,
                    email=input.email,
                    name=input.name,
                    country=input.country,
                    language=input.language,
                    consents=[
                        ConsentChoice(
                            purpose=choice.purpose, wording_version=choice.wording_version
                        )
                        for choice in input.consents
                    ],
                    idempotency_key=input.idempotency_key,
                ),
                _recorder(info, input.client_id),
                screen=lambda: screen_public_write(info, PublicWriteKind.SIGNATURE),
            )

        outcome = await _run(info, work)
        if isinstance(outcome, list):
            return PetitionSignPayload(errors=outcome)
        return PetitionSignPayload(
            signature_id=outcome.signature_id,
            confirmation_required=outcome.confirmation_required,
            replayed=outcome.replayed,
        )

    @strawberry.mutation(
        description="Confirm an email with the code of a confirmation mail: the pending "
        "signature counts and the consents given with it take effect. Single use."
    )
    async def signature_confirm(
        self,
        info: Info,
        input: SignatureConfirmInput,  # noqa: A002
    ) -> SignatureConfirmPayload:
        async def work(service: SupporterService) -> Confirmed:
            return await service.confirm(input.token)

        outcome = await _run(info, work)
        if isinstance(outcome, list):
            return SignatureConfirmPayload(errors=outcome)
        return SignatureConfirmPayload(
            signature_id=outcome.signature_id,
            consents_confirmed=outcome.consents,
        )

    @strawberry.mutation(
        description="Give a consent: on a form (public; by mail confirmation in a double "
        "opt-in section) or recorded by section staff with how it was given."
    )
    async def consent_give(self, info: Info, input: ConsentGiveInput) -> ConsentPayload:  # noqa: A002
        async def work(service: SupporterService) -> ConsentOutcome:
            return await service.give_consent(
                ConsentDraft(
                    email=input.email,
                    name=input.name,
                    purpose=input.purpose,
                    wording_version=input.wording_version,
                    case_id=input.case_id,
                    method=input.method,
                    country=input.country,
                    language=input.language,
                )
            )

        return _consent_payload(await _run(info, work))

    @strawberry.mutation(
        description="Withdraw consent, as easily as it was given: with the code of any mail "
        "(at once), with the email in the same way as giving it here, or by section staff."
    )
    async def consent_withdraw(self, info: Info, input: ConsentWithdrawInput) -> ConsentPayload:  # noqa: A002
        async def work(service: SupporterService) -> ConsentOutcome:
            return await service.withdraw_consent(
                WithdrawalDraft(
                    token=input.token,
                    email=input.email,
                    purpose=input.purpose,
                    case_id=input.case_id,
                    method=input.method,
                )
            )

        return _consent_payload(await _run(info, work))

    @strawberry.mutation(
        description="Erase everything this section holds about an email (section admins): "
        "the supporter, consents, mail, the link of signatures, event registrations "
        "(anonymised) and tally reporters. Every count stays the same."
    )
    async def supporter_erase(
        self,
        info: Info,
        input: SupporterEraseInput,  # noqa: A002
    ) -> SupporterErasePayload:
        async def work(service: SupporterService) -> ErasureReport:
            return await service.erase(input.email)

        outcome = await _run(info, work)
        if isinstance(outcome, list):
            return SupporterErasePayload(errors=outcome)
        return SupporterErasePayload(erased=SupporterErasure.from_report(outcome))


def _consent_payload(outcome: ConsentOutcome | list[UserError]) -> ConsentPayload:
    if isinstance(outcome, list):
        return ConsentPayload(errors=outcome)
    return ConsentPayload(outcome=outcome.outcome, changed=outcome.changed)
