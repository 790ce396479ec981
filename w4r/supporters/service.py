"""Supporters: petition signatures, consent, email confirmation, export and erasure.

Rules, all in the section the session is bound to:

- One supporter per normalised email (the keyed hash, :mod:`w4r.supporters.emails`).
- A signature counts once per person and petition, as one verified ledger action
  (:class:`LedgerService`, so rollups, live totals and reconciliation stay exact). With the
  section's ``double_opt_in`` on it waits, uncounted, until the email is confirmed with the
  single-use token of the mail queued in the same transaction.
- The answers of public calls never reveal whether an email is known or has signed.
- Withdrawal is as easy as giving: one click in any mail, or the same public call that gives
  consent (confirmed by mail where giving is too), or staff on the supporter's behalf.
- Erasure removes the person and keeps every count: ledger actions, rollups, event seats.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from w4r.actions.drafts import Recorder
from w4r.actions.models import ActionType, ReporterKind
from w4r.actions.repository import LedgerRepository
from w4r.actions.service import LedgerService, SectionContext, request_hash
from w4r.campaigns.repository import CampaignRepository
from w4r.cases.models import CaseStatus
from w4r.cases.repository import CaseRepository
from w4r.events.repository import EventRepository
from w4r.mail.models import MailStatus, OutboxMail
from w4r.mail.repository import MailRepository
from w4r.platform.auth import Principal, Role
from w4r.platform.errors import InvalidInputError, PermissionDeniedError, ProblemCode
from w4r.platform.validation import Problems
from w4r.supporters import mails
from w4r.supporters.drafts import ConsentChoice, ConsentDraft, SignatureDraft, WithdrawalDraft
from w4r.supporters.emails import Email, EmailHasher, InvalidEmailError, new_token, parse_email
from w4r.supporters.emails import token_hash as hash_of_token
from w4r.supporters.models import (
    Consent,
    ConsentMethod,
    ConsentPurpose,
    Signature,
    SignatureStatus,
    Supporter,
    SupporterToken,
    TokenKind,
)
from w4r.supporters.repository import SupporterRepository

SIGN_OPERATION = "petitionSign"
MAX_NAME_LENGTH = 200
MAX_WORDING_LENGTH = 100
MAX_MAILS_PER_HOUR = 5
"""Mail queued for one supporter per hour at most: nobody can flood an inbox through us."""
PURGE_BATCH = 500
STAFF_ROLES = frozenset({Role.SECTION_ADMIN, Role.SECTION_EDITOR, Role.IS_ADMIN})
STAFF_METHODS = frozenset(
    {ConsentMethod.PAPER_FORM, ConsentMethod.PHONE, ConsentMethod.EMAIL, ConsentMethod.IN_PERSON}
)


def _nothing() -> None:
    return None


async def _counts() -> bool:
    return False


@dataclass(frozen=True, slots=True)
class SupporterPolicy:
    """Deployment-wide: the keyed hash, token lifetimes and the link in mails."""

    hasher: EmailHasher
    confirmation_ttl: timedelta = timedelta(hours=72)
    withdrawal_link_ttl: timedelta = timedelta(days=90)
    link_template: str = "http://127.0.0.1:8000/s/{section}/supporters/{action}#token={token}"
    wake_mail_sender: Callable[[], None] = _nothing
    """Called once a request that queued mail has committed: the sender looks now."""


@dataclass(frozen=True, slots=True)
class SectionSupporters:
    """What the service knows of the bound section."""

    section_id: UUID
    code: str
    time_zone: str
    grace_days: int
    double_opt_in: bool


@dataclass(frozen=True, slots=True)
class Signed:
    signature_id: UUID
    confirmation_required: bool
    replayed: bool


@dataclass(frozen=True, slots=True)
class Confirmed:
    signature_id: UUID | None
    consents: int


class RequestOutcome(enum.StrEnum):
    DONE = "done"
    """Recorded now."""
    CHECK_MAIL = "check-mail"
    """Takes effect once confirmed with the link of a mail (sent if there is anything to
    confirm: the answer is the same either way)."""


@dataclass(frozen=True, slots=True)
class ConsentOutcome:
    outcome: RequestOutcome
    changed: int | None = None
    """How many consents changed; None for public callers (it would tell what is known)."""


@dataclass
class ErasureReport:
    supporters: int = 0
    consents: int = 0
    signatures: int = 0
    tokens: int = 0
    registrations: int = 0
    tallies: int = 0
    mails: int = 0
    idempotency_keys: int = 0

    def add(self, other: ErasureReport) -> None:
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    name: str
    country: str
    signed_on: date


def _email(value: str | None, field_name: str, problems: Problems) -> Email | None:
    if value is None or not value.strip():
        problems.add(field_name, ProblemCode.REQUIRED, "Give an email address.")
        return None
    try:
        return parse_email(value)
    except InvalidEmailError as error:
        problems.add(field_name, ProblemCode.INVALID, f"This is not an email address: {error}")
        return None


def _wording(value: str, field_name: str, problems: Problems) -> str:
    return problems.required_text(value, field_name, max_length=MAX_WORDING_LENGTH)


def _language(value: str | None, problems: Problems) -> str | None:
    if value is None or not value.strip():
        return None
    return problems.language(value, "language")


def _country(value: str | None, problems: Problems, *, required: bool) -> str | None:
    if value is None or not value.strip():
        if required:
            problems.add("country", ProblemCode.REQUIRED, "Give the country (e.g. 'GB').")
        return None
    return problems.country(value)


def _scope(
    purpose: ConsentPurpose | None, case_id: UUID | None, problems: Problems, *, giving: bool
) -> None:
    """Petition delivery is consent for one case's petition; campaign updates for none."""
    if purpose is ConsentPurpose.CAMPAIGN_UPDATES and case_id is not None:
        problems.add("caseId", ProblemCode.INVALID, "Campaign updates are not about one case.")
    if giving and purpose is ConsentPurpose.PETITION_DELIVERY and case_id is None:
        problems.add("caseId", ProblemCode.REQUIRED, "Petition delivery is for one case.")


class SupporterRecords:
    """Erasing what the supporters domain holds about one supporter (also the purge)."""

    def __init__(self, session: AsyncSession) -> None:
        self._supporters = SupporterRepository(session)
        self._mail = MailRepository(session)
        self._ledger = LedgerRepository(session)

    async def erase(self, supporter: Supporter | None, addresses: Sequence[str]) -> ErasureReport:
        report = ErasureReport(
            mails=await self._mail.delete_of_person(
                None if supporter is None else supporter.id, addresses
            )
        )
        if supporter is None:
            return report
        report.consents = len(await self._supporters.consents(supporter.id))
        report.tokens = len(await self._supporters.tokens_of(supporter.id))
        signature_ids = await self._supporters.unlink_signatures(supporter.id)
        report.signatures = len(signature_ids)
        report.idempotency_keys = await self._ledger.forget_request_hashes(
            SIGN_OPERATION, signature_ids
        )
        await self._supporters.delete(supporter.id)
        report.supporters = 1
        return report


async def purge_inactive(session: AsyncSession, before: datetime) -> ErasureReport:
    """The bound section's retention: erase the supporters whose last own act is older
    than ``before`` (their record, consents, tokens, mail and the link of their signatures;
    the counted actions stay), anonymise the registrations of events that ended before
    then (their seats still count), and remove the reporter of tallies decided before
    then (what they counted stays)."""
    repository = SupporterRepository(session)
    records = SupporterRecords(session)
    report = ErasureReport()
    while True:
        batch = await repository.inactive_since(before, PURGE_BATCH)
        for supporter in batch:
            report.add(await records.erase(supporter, [supporter.email]))
        if len(batch) < PURGE_BATCH:
            break
    events = EventRepository(session)
    report.registrations = await events.anonymise_registrations(
        await events.registrations_of_events_ended_before(before)
    )
    ledger = LedgerRepository(session)
    report.tallies = await ledger.forget_tally_reporters(
        await ledger.tallies_decided_before(before)
    )
    return report


class SupporterService:
    def __init__(
        self,
        session: AsyncSession,
        section: SectionSupporters,
        policy: SupporterPolicy,
        actor: Principal,
    ) -> None:
        self._session = session
        self._section = section
        self._policy = policy
        self._actor = actor
        self._supporters = SupporterRepository(session)
        self._mail = MailRepository(session)
        self._cases = CaseRepository(session)
        self._ledger = LedgerService(
            session,
            SectionContext(
                section_id=section.section_id,
                time_zone=section.time_zone,
                grace_days=section.grace_days,
            ),
        )
        self.mail_queued = 0
        """Mail this service queued (the caller wakes the sender once it has committed)."""

    @property
    def is_staff(self) -> bool:
        return self._actor.role in STAFF_ROLES

    def _require_admin(self) -> None:
        """Personal data lists and erasure: the section's own admins only (the IS never
        sees a section's supporters)."""
        if self._actor.role is not Role.SECTION_ADMIN:
            raise PermissionDeniedError("Only the section's admins may do this.")

    # --- signing ------------------------------------------------------------------------

    async def sign(
        self,
        draft: SignatureDraft,
        recorder: Recorder,
        *,
        screen: Callable[[], Awaitable[bool]] = _counts,
    ) -> Signed:
        """Store a signature (and the consents ticked with it) exactly once per key.

        ``screen`` runs once for a new (not replayed) valid signature, just before it is
        stored; True (the anti-abuse screening caught it) stores it flagged: never counted,
        no mail, no consent, and the same answer."""
        problems = Problems()
        email = _email(draft.email, "email", problems)
        name = problems.required_text(draft.name, "name", max_length=MAX_NAME_LENGTH)
        country = _country(draft.country, problems, required=True)
        language = _language(draft.language, problems)
        key = LedgerService.idempotency_key(draft.idempotency_key, "idempotencyKey", problems)
        choices = self._choices(draft.consents, problems)
        problems.raise_any()
        assert email is not None
        assert country is not None
        email_hash = self._policy.hasher.hash(email)
        digest = request_hash(
            SIGN_OPERATION,
            {
                "campaign": draft.campaign_year,
                "case": str(draft.case_id),
                "email": email_hash,
                "name": name,
                "country": country,
                "language": language,
                "consents": sorted(
                    [choice.purpose.value, choice.wording_version] for choice in choices
                ),
            },
        )
        confirmation = self._section.double_opt_in
        first = await self._ledger.replay_of(recorder.client_id, key, SIGN_OPERATION, digest)
        if first is not None:
            return Signed(first, confirmation_required=confirmation, replayed=True)
        campaign = await self._ledger.check_action(
            draft.campaign_year, draft.case_id, datetime.now(UTC)
        )
        flagged = await screen()
        supporter, _ = await self._supporters.get_or_create(
            email_hash, email=email.address, name=name, country=country, language=language
        )
        values = {
            "campaign_id": campaign.id,
            "case_id": draft.case_id,
            "name": name,
            "country": country,
            "channel": recorder.channel,
        }
        if flagged:
            signature: Signature = await self._supporters.add(
                Signature(supporter_id=supporter.id, status=SignatureStatus.FLAGGED, **values)
            )
        elif confirmation:
            signature = await self._sign_pending(supporter, values, choices)
        else:
            signature = await self._sign_counted(supporter, values, choices, recorder, language)
        await self._ledger.claim_key(recorder.client_id, key, SIGN_OPERATION, digest, signature.id)
        return Signed(signature.id, confirmation_required=confirmation, replayed=False)

    def _choices(
        self, consents: Sequence[ConsentChoice], problems: Problems
    ) -> list[ConsentChoice]:
        chosen: dict[ConsentPurpose, ConsentChoice] = {}
        for index, choice in enumerate(consents):
            wording = _wording(choice.wording_version, f"consents.{index}.wordingVersion", problems)
            if choice.purpose in chosen:
                problems.add(
                    f"consents.{index}.purpose",
                    ProblemCode.ALREADY_EXISTS,
                    "Each purpose is given once.",
                )
            chosen[choice.purpose] = ConsentChoice(choice.purpose, wording)
        return list(chosen.values())

    async def _sign_pending(
        self, supporter: Supporter, values: dict[str, Any], choices: Sequence[ConsentChoice]
    ) -> Signature:
        """Double opt-in: the signature waits for the email's confirmation."""
        signature = await self._supporters.open_signature(
            supporter.id, values["campaign_id"], values["case_id"]
        )
        if signature is None:
            signature = await self._supporters.add(
                Signature(supporter_id=supporter.id, status=SignatureStatus.PENDING, **values)
            )
        elif signature.status is SignatureStatus.PENDING:
            # The latest signing says how the name should read once confirmed.
            signature = await self._supporters.update_signature(
                signature, name=values["name"], country=values["country"]
            )
        pending = signature if signature.status is SignatureStatus.PENDING else None
        new_consents = await self._consents_to_give(supporter, choices, values["case_id"])
        if pending is None and not new_consents:
            return signature  # already counted, nothing to confirm
        token_id = await self._confirmation(supporter, pending)
        for choice in new_consents:
            await self._give(
                supporter,
                choice.purpose,
                values["case_id"] if choice.purpose is ConsentPurpose.PETITION_DELIVERY else None,
                choice.wording_version,
                ConsentMethod.ONLINE_FORM,
                confirmed=False,
                token_id=token_id,
            )
        return signature

    async def _sign_counted(
        self,
        supporter: Supporter,
        values: dict[str, Any],
        choices: Sequence[ConsentChoice],
        recorder: Recorder,
        language: str | None,
    ) -> Signature:
        """Single opt-in: the signature counts now (once per person and petition)."""
        signature = await self._supporters.open_signature(
            supporter.id, values["campaign_id"], values["case_id"]
        )
        if signature is None:
            signature = await self._supporters.add(
                Signature(supporter_id=supporter.id, status=SignatureStatus.PENDING, **values)
            )
        if signature.status is SignatureStatus.PENDING:
            await self._count(signature, recorder)
        for choice in await self._consents_to_give(supporter, choices, values["case_id"]):
            await self._give(
                supporter,
                choice.purpose,
                values["case_id"] if choice.purpose is ConsentPurpose.PETITION_DELIVERY else None,
                choice.wording_version,
                ConsentMethod.ONLINE_FORM,
                confirmed=True,
            )
        await self._supporters.update(
            supporter,
            name=values["name"],
            country=values["country"],
            language=language or supporter.language,
            last_activity_at=datetime.now(UTC),
        )
        return signature

    async def _count(self, signature: Signature, recorder: Recorder) -> None:
        """The signature's ledger action (on the day it was signed) and its counted state."""
        action_id = await self._ledger.record_verified(
            signature.campaign_id,
            signature.case_id,
            ActionType.PETITION_SIGNATURE,
            signature.created_at,
            recorder,
        )
        if not await self._supporters.count_signature(signature.id, action_id):
            raise InvalidInputError.one(
                "token", ProblemCode.IN_PROGRESS, "This signature is being confirmed; retry."
            )
        await self._session.refresh(signature)

    # --- confirming an email ------------------------------------------------------------

    async def confirm(self, token: str) -> Confirmed:
        """Use a confirmation token: count its pending signature, confirm its consents."""
        row = await self._usable_token(token, TokenKind.CONFIRM, "confirmation")
        supporter = await self._supporters.get(row.supporter_id, lock=True)
        assert supporter is not None  # tokens are deleted with their supporter
        signature_id = None
        profile: dict[str, Any] = {}
        if row.signature_id is not None:
            signature = await self._supporters.signature(row.signature_id, lock=True)
            if signature is not None and signature.status is SignatureStatus.PENDING:
                await self._count(
                    signature,
                    Recorder(
                        reporter_kind=ReporterKind.SUPPORTER,
                        reporter_ref=None,
                        client_id="confirmation",
                        channel=signature.channel,
                        method="signatureConfirm",
                    ),
                )
                signature_id = signature.id
                profile = {"name": signature.name, "country": signature.country}
        consents = await self._supporters.confirm_consents(row.id)
        now = datetime.now(UTC)
        await self._supporters.update(
            supporter, email_confirmed_at=now, last_activity_at=now, **profile
        )
        return Confirmed(signature_id=signature_id, consents=consents)

    async def _usable_token(self, token: str, kind: TokenKind, what: str) -> SupporterToken:
        """The token row, locked and now used; refused when unknown, used or expired."""
        cleaned = (token or "").strip()
        row = await self._supporters.token(hash_of_token(cleaned), kind) if cleaned else None
        if row is None or row.used_at is not None or row.expires_at <= datetime.now(UTC):
            raise InvalidInputError.one(
                "token",
                ProblemCode.NOT_FOUND,
                f"This {what} link is unknown, already used or expired; ask for a new one "
                "(sign again, or request the withdrawal again).",
            )
        await self._supporters.use_token(row.id)
        return row

    # --- consent ------------------------------------------------------------------------

    async def give_consent(self, draft: ConsentDraft) -> ConsentOutcome:
        """Staff record a consent they received (at once); a public caller gives it on a
        form (at once, or once the email is confirmed in a double opt-in section)."""
        problems = Problems()
        email = _email(draft.email, "email", problems)
        name = problems.required_text(draft.name, "name", max_length=MAX_NAME_LENGTH)
        wording = _wording(draft.wording_version, "wordingVersion", problems)
        country = _country(draft.country, problems, required=False)
        language = _language(draft.language, problems)
        method = self._method(draft.method, problems)
        _scope(draft.purpose, draft.case_id, problems, giving=True)
        await self._check_case(draft.case_id, problems)
        problems.raise_any()
        assert email is not None
        supporter, _ = await self._supporters.get_or_create(
            self._policy.hasher.hash(email),
            email=email.address,
            name=name,
            country=country,
            language=language,
        )
        choice = ConsentChoice(draft.purpose, wording)
        wanted = await self._consents_to_give(supporter, [choice], draft.case_id)
        if self.is_staff or not self._section.double_opt_in:
            for each in wanted:
                await self._give(
                    supporter,
                    each.purpose,
                    draft.case_id,
                    each.wording_version,
                    method,
                    confirmed=True,
                )
            await self._supporters.update(
                supporter,
                name=name,
                country=country or supporter.country,
                language=language or supporter.language,
                last_activity_at=datetime.now(UTC),
            )
            return ConsentOutcome(RequestOutcome.DONE, len(wanted) if self.is_staff else None)
        if wanted:
            token_id = await self._confirmation(supporter, None)
            for each in wanted:
                await self._give(
                    supporter,
                    each.purpose,
                    draft.case_id,
                    each.wording_version,
                    method,
                    confirmed=False,
                    token_id=token_id,
                )
        return ConsentOutcome(RequestOutcome.CHECK_MAIL)

    async def withdraw_consent(self, draft: WithdrawalDraft) -> ConsentOutcome:
        """With a mail's token: at once. Staff, for the supporter: at once. A public caller
        with the email: the same as giving in this section (at once, or by mail)."""
        problems = Problems()
        _scope(draft.purpose, draft.case_id, problems, giving=False)
        if draft.token:
            problems.raise_any()
            return await self._withdraw_by_token(draft)
        email = _email(draft.email, "email", problems)
        method = self._method(draft.method, problems)
        problems.raise_any()
        assert email is not None
        supporter = await self._supporters.by_email_hash(self._policy.hasher.hash(email), lock=True)
        consents = (
            []
            if supporter is None
            else await self._supporters.active_consents(supporter.id, draft.purpose, draft.case_id)
        )
        if self.is_staff or not self._section.double_opt_in:
            changed = await self._supporters.withdraw(
                [consent.id for consent in consents],
                method=method,
                withdrawn_by=self._actor.subject if self.is_staff else None,
            )
            if supporter is not None:
                await self._supporters.touch(supporter.id)
            return ConsentOutcome(RequestOutcome.DONE, changed if self.is_staff else None)
        if supporter is not None and consents:
            token = await self._withdrawal_token(supporter, draft.purpose, draft.case_id)
            if token is not None:
                await self._queue(
                    supporter,
                    mails.consent_withdrawal(
                        withdraw_link=self._link("withdraw", token), withdraw_token=token
                    ),
                )
        return ConsentOutcome(RequestOutcome.CHECK_MAIL)

    async def _withdraw_by_token(self, draft: WithdrawalDraft) -> ConsentOutcome:
        row = await self._usable_token(draft.token or "", TokenKind.WITHDRAW, "withdrawal")
        purpose = row.purpose or draft.purpose
        case_id = row.case_id or draft.case_id
        consents = await self._supporters.active_consents(row.supporter_id, purpose, case_id)
        changed = await self._supporters.withdraw(
            [consent.id for consent in consents], method=ConsentMethod.EMAIL_LINK, withdrawn_by=None
        )
        await self._supporters.touch(row.supporter_id)
        return ConsentOutcome(RequestOutcome.DONE, changed)

    def _method(self, method: ConsentMethod | None, problems: Problems) -> ConsentMethod:
        """Staff say how they received it; a public caller always uses a form."""
        if not self.is_staff:
            return ConsentMethod.ONLINE_FORM
        if method is None:
            problems.add(
                "method", ProblemCode.REQUIRED, "Say how the supporter told you (e.g. PHONE)."
            )
        elif method not in STAFF_METHODS:
            problems.add(
                "method",
                ProblemCode.INVALID,
                "Staff record PAPER_FORM, PHONE, EMAIL or IN_PERSON.",
            )
        return method or ConsentMethod.EMAIL

    async def _check_case(self, case_id: UUID | None, problems: Problems) -> None:
        if case_id is None:
            return
        case = (await self._cases.by_ids([case_id])).get(case_id)
        if case is None or case.status is not CaseStatus.PUBLISHED:
            problems.add("caseId", ProblemCode.NOT_FOUND, f"There is no published case {case_id}.")

    async def _consents_to_give(
        self, supporter: Supporter, choices: Sequence[ConsentChoice], case_id: UUID | None
    ) -> list[ConsentChoice]:
        """The choices not already in force (confirmed, not withdrawn, same wording)."""
        wanted = []
        for choice in choices:
            scope = case_id if choice.purpose is ConsentPurpose.PETITION_DELIVERY else None
            active = await self._supporters.active_consents(supporter.id, choice.purpose, scope)
            if not any(
                consent.confirmed_at is not None
                and consent.wording_version == choice.wording_version
                for consent in active
            ):
                wanted.append(choice)
        return wanted

    async def _give(
        self,
        supporter: Supporter,
        purpose: ConsentPurpose,
        case_id: UUID | None,
        wording: str,
        method: ConsentMethod,
        *,
        confirmed: bool,
        token_id: UUID | None = None,
    ) -> None:
        now = datetime.now(UTC)
        await self._supporters.add(
            Consent(
                supporter_id=supporter.id,
                purpose=purpose,
                case_id=case_id,
                wording_version=wording,
                given_at=now,
                method=method,
                recorded_by=self._actor.subject if self.is_staff else None,
                confirmed_at=now if confirmed else None,
                confirmation_token_id=None if confirmed else token_id,
            )
        )

    # --- tokens and mail ----------------------------------------------------------------

    def _link(self, action: str, token: str) -> str:
        return mails.link(
            self._policy.link_template, section=self._section.code, action=action, token=token
        )

    async def _may_mail(self, supporter: Supporter) -> bool:
        since = datetime.now(UTC) - timedelta(hours=1)
        return await self._mail.recent_count(supporter.id, since) < MAX_MAILS_PER_HOUR

    async def _confirmation(self, supporter: Supporter, signature: Signature | None) -> UUID | None:
        """A confirmation token and its mail (with a withdrawal link); None when this
        supporter was mailed too often in the last hour (nothing is sent or confirmable)."""
        if not await self._may_mail(supporter):
            return None
        token, hashed = new_token()
        now = datetime.now(UTC)
        row: SupporterToken = await self._supporters.add(
            SupporterToken(
                supporter_id=supporter.id,
                token_hash=hashed,
                kind=TokenKind.CONFIRM,
                signature_id=None if signature is None else signature.id,
                created_at=now,
                expires_at=now + self._policy.confirmation_ttl,
            )
        )
        withdraw = await self._withdrawal_token(supporter, None, None)
        assert withdraw is not None
        build = mails.signature_confirmation if signature else mails.consent_confirmation
        await self._queue(
            supporter,
            build(
                confirm_link=self._link("confirm", token),
                confirm_token=token,
                withdraw_link=self._link("withdraw", withdraw),
                withdraw_token=withdraw,
            ),
        )
        return row.id

    async def _withdrawal_token(
        self, supporter: Supporter, purpose: ConsentPurpose | None, case_id: UUID | None
    ) -> str | None:
        if not await self._may_mail(supporter):
            return None
        token, hashed = new_token()
        now = datetime.now(UTC)
        await self._supporters.add(
            SupporterToken(
                supporter_id=supporter.id,
                token_hash=hashed,
                kind=TokenKind.WITHDRAW,
                purpose=purpose,
                case_id=case_id,
                created_at=now,
                expires_at=now + self._policy.withdrawal_link_ttl,
            )
        )
        return token

    async def _queue(self, supporter: Supporter, text: mails.MailText) -> None:
        await self._mail.add(
            OutboxMail(
                supporter_id=supporter.id,
                kind=text.kind,
                recipient=supporter.email,
                subject=text.subject,
                body=text.body,
                status=MailStatus.PENDING,
            )
        )
        self.mail_queued += 1

    # --- the supporter's rights: access and erasure -------------------------------------

    def _address(self, value: str) -> Email:
        problems = Problems()
        email = _email(value, "email", problems)
        problems.raise_any()
        assert email is not None
        return email

    async def export(self, value: str) -> dict[str, Any]:
        """Everything this section holds about the email, as JSON-ready data (Art. 15/20)."""
        self._require_admin()
        email = self._address(value)
        supporter = await self._supporters.by_email_hash(self._policy.hasher.hash(email))
        addresses = _addresses(email, supporter)
        events = EventRepository(self._session)
        ledger = LedgerRepository(self._session)
        supporter_id = None if supporter is None else supporter.id
        return {
            "format": "w4r-supporter-export/1",
            "section": self._section.code,
            "exportedAt": _iso(datetime.now(UTC)),
            "email": email.address,
            "supporter": None if supporter is None else _supporter_json(supporter),
            "consents": []
            if supporter is None
            else [_consent_json(row) for row in await self._supporters.consents(supporter.id)],
            "signatures": []
            if supporter is None
            else [
                _signature_json(row) for row in await self._supporters.signatures_of(supporter.id)
            ],
            "tokens": []
            if supporter is None
            else [_token_json(row) for row in await self._supporters.tokens_of(supporter.id)],
            "eventRegistrations": [
                {
                    "id": str(row.id),
                    "eventId": str(row.event_id),
                    "name": row.name,
                    "email": row.email,
                    "guests": row.guests,
                    "status": row.status.value,
                    "language": row.language,
                    "mayContact": row.may_contact,
                    "createdAt": _iso(row.created_at),
                    "cancelledAt": _iso(row.cancelled_at),
                }
                for row in await events.registrations_by_email(addresses)
            ],
            "tallies": [
                {
                    "id": str(row.id),
                    "campaignId": str(row.campaign_id),
                    "reporterKind": row.reporter_kind.value,
                    "reporterName": row.reporter_name,
                    "reporterEmail": row.reporter_email,
                    "note": row.note,
                    "state": row.state.value,
                    "createdAt": _iso(row.created_at),
                }
                for row in await ledger.tallies_by_reporter_email(addresses)
            ],
            "mail": [
                {
                    "id": str(row.id),
                    "kind": row.kind.value,
                    "recipient": row.recipient,
                    "subject": row.subject,
                    "status": row.status.value,
                    "attempts": row.attempts,
                    "createdAt": _iso(row.created_at),
                    "lastAttemptAt": _iso(row.last_attempt_at),
                    "sentAt": _iso(row.sent_at),
                }
                for row in await self._mail.of_person(supporter_id, addresses)
            ],
        }

    async def erase(self, value: str) -> ErasureReport:
        """Delete the person (Art. 17); every count stays exactly the same."""
        self._require_admin()
        email = self._address(value)
        supporter = await self._supporters.by_email_hash(self._policy.hasher.hash(email), lock=True)
        addresses = _addresses(email, supporter)
        report = await SupporterRecords(self._session).erase(supporter, addresses)
        events = EventRepository(self._session)
        registrations = await events.registrations_by_email(addresses)
        report.registrations = await events.anonymise_registrations(
            [row.id for row in registrations]
        )
        ledger = LedgerRepository(self._session)
        tallies = await ledger.tallies_by_reporter_email(addresses)
        report.tallies = await ledger.forget_tally_reporters([row.id for row in tallies])
        return report

    # --- delivery to the authorities ----------------------------------------------------

    async def delivery_list(self, case_id: UUID, campaign_year: int | None) -> list[DeliveryRow]:
        """Who signed the case's petition and consents to their name being handed over."""
        self._require_admin()
        campaign_id = None
        if campaign_year is not None:
            campaign = await CampaignRepository(self._session).get_by_year(campaign_year)
            if campaign is None:
                return []
            campaign_id = campaign.id
        zone = ZoneInfo(self._section.time_zone)
        return [
            DeliveryRow(
                name=row.name or "",
                country=row.country or "",
                signed_on=row.created_at.astimezone(zone).date(),
            )
            for row in await self._supporters.delivery_list(case_id, campaign_id)
        ]


def _addresses(email: Email, supporter: Supporter | None) -> list[str]:
    """The address asked about and, when it is a supporter's, the one stored (they can
    differ in spelling: other records are matched by address, ignoring case)."""
    addresses = [email.address]
    if supporter is not None and supporter.email.lower() != email.address.lower():
        addresses.append(supporter.email)
    return addresses


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _supporter_json(row: Supporter) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "email": row.email,
        "name": row.name,
        "country": row.country,
        "language": row.language,
        "emailConfirmedAt": _iso(row.email_confirmed_at),
        "createdAt": _iso(row.created_at),
        "updatedAt": _iso(row.updated_at),
        "lastActivityAt": _iso(row.last_activity_at),
    }


def _consent_json(row: Consent) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "purpose": row.purpose.value,
        "caseId": None if row.case_id is None else str(row.case_id),
        "wordingVersion": row.wording_version,
        "givenAt": _iso(row.given_at),
        "method": row.method.value,
        "recordedBy": row.recorded_by,
        "confirmedAt": _iso(row.confirmed_at),
        "withdrawnAt": _iso(row.withdrawn_at),
        "withdrawalMethod": None if row.withdrawal_method is None else row.withdrawal_method.value,
        "withdrawnBy": row.withdrawn_by,
    }


def _signature_json(row: Signature) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "campaignId": str(row.campaign_id),
        "caseId": str(row.case_id),
        "name": row.name,
        "country": row.country,
        "status": row.status.value,
        "channel": row.channel.value,
        "signedAt": _iso(row.created_at),
        "confirmedAt": _iso(row.confirmed_at),
        "actionId": None if row.action_id is None else str(row.action_id),
    }


def _token_json(row: SupporterToken) -> dict[str, Any]:
    return {
        "kind": row.kind.value,
        "createdAt": _iso(row.created_at),
        "expiresAt": _iso(row.expires_at),
        "usedAt": _iso(row.used_at),
    }
