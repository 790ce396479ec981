"""Recording actions (supporters, partner apps, staff), imports and tallies."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import TypeVar
from uuid import UUID

import strawberry

from w4r.actions.drafts import ActionDraft, Recorder, TallyDraft, TallyLineDraft
from w4r.actions.models import Channel, ReporterKind, Tally, Verification
from w4r.actions.repository import LedgerRepository
from w4r.actions.service import ImportResult, LedgerService, Recorded, SectionContext
from w4r.platform.auth import Principal, Role
from w4r.platform.errors import InvalidInputError, ProblemCode
from w4r.schema.abuse import PublicWriteKind, public_write_flag
from w4r.schema.actions.inputs import (
    ActionRecordInput,
    ActionsImportInput,
    TallyDecisionInput,
    TallyReportInput,
)
from w4r.schema.actions.types import ActionNode, TallyNode
from w4r.schema.context import Info
from w4r.schema.errors import UserError, run_mutation

T = TypeVar("T")


@strawberry.type
class ActionRecordPayload:
    action: ActionNode | None = None
    replayed: bool = strawberry.field(
        default=False, description="True when this is the first result of the same key."
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ActionsImportPayload:
    batch_id: UUID | None = None
    created: int = 0
    replayed: int = strawberry.field(default=0, description="Rows already recorded before.")
    quantity: int = strawberry.field(default=0, description="Actions the new rows count.")
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class TallyReportPayload:
    tally: TallyNode | None = None
    replayed: bool = False
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class TallyDecisionPayload:
    tally: TallyNode | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


MAX_CLIENT_ID = 200


def _bounded(prefix: str, identity: str) -> str:
    """``prefix`` + ``identity``, or + its SHA-256 when that would be too long for a key."""
    client = prefix + identity
    if len(client) <= MAX_CLIENT_ID:
        return client
    return prefix + "sha256:" + hashlib.sha256(identity.encode()).hexdigest()


def client_identity(principal: Principal, client_id: str | None) -> str:
    """Who an idempotency key belongs to: the device of an anonymous caller (its clientId,
    required), the token subject otherwise; bounded in length."""
    if principal.is_anonymous:
        if not client_id or not client_id.strip():
            raise InvalidInputError.one(
                "clientId",
                ProblemCode.REQUIRED,
                "Anonymous callers send a clientId (a UUID kept by the site or app).",
            )
        return _bounded("anonymous:", client_id.strip())
    return _bounded(f"{principal.role.value}:", principal.subject or "")


def _recorder(info: Info, client_id: str | None, method: str, channel: Channel | None) -> Recorder:
    principal = info.context.principal
    if principal.role is Role.PARTNER_APP:
        kind, chosen = ReporterKind.PARTNER_APP, Channel.PARTNER_APP
    elif principal.is_anonymous:
        kind, chosen = ReporterKind.SUPPORTER, Channel.ONLINE
    else:
        kind = ReporterKind.SECTION_STAFF
        chosen = channel or Channel.ONLINE
        if chosen not in (Channel.ONLINE, Channel.EVENT):
            raise InvalidInputError.one(
                "channel", ProblemCode.INVALID, "Record ONLINE or EVENT actions here."
            )
    return Recorder(
        reporter_kind=kind,
        reporter_ref=principal.subject,
        client_id=client_identity(principal, client_id),
        channel=chosen,
        method=method,
    )


def _service(info: Info) -> LedgerService:
    section = info.context.require_section("Actions count for a section")
    return LedgerService(
        info.context.session,
        SectionContext(
            section_id=section.id,
            time_zone=section.time_zone,
            grace_days=info.context.services.settings.action_grace_days,
        ),
    )


async def _in_section(info: Info, work: Callable[[LedgerService], Awaitable[T]]) -> T:
    return await work(_service(info))


async def _tally_node(info: Info, tally: Tally) -> TallyNode:
    lines = await LedgerRepository(info.context.session).tally_lines([tally.id])
    return TallyNode.from_model(tally, lines[tally.id])


@strawberry.type
class ActionMutations:
    @strawberry.mutation(
        description="Record one action for this request's section, exactly once per "
        "idempotency key."
    )
    async def action_record(self, info: Info, input: ActionRecordInput) -> ActionRecordPayload:  # noqa: A002
        async def work(service: LedgerService) -> Recorded:
            recorder = _recorder(info, input.client_id, "actionRecord", input.channel)
            return await service.record(
                ActionDraft(
                    campaign_year=input.campaign,
                    case_id=input.case_id,
                    action_type=input.action_type,
                    idempotency_key=input.idempotency_key,
                    occurred_at=input.occurred_at,
                ),
                recorder,
                screen=lambda: public_write_flag(info, PublicWriteKind.ACTION),
            )

        # LedgerService.record refuses only before it writes: no savepoint needed.
        outcome = await run_mutation(info, lambda: _in_section(info, work), savepoint=False)
        if isinstance(outcome, list):
            return ActionRecordPayload(errors=outcome)
        return ActionRecordPayload(
            action=ActionNode.from_model(outcome.action), replayed=outcome.replayed
        )

    @strawberry.mutation(
        description="Import up to 10,000 actions from a section's own systems, all or nothing."
    )
    async def actions_import(self, info: Info, input: ActionsImportInput) -> ActionsImportPayload:  # noqa: A002
        async def work(service: LedgerService) -> ImportResult:
            recorder = _recorder(info, None, "actionsImport", None)
            return await service.import_batch(
                [
                    ActionDraft(
                        campaign_year=row.campaign,
                        case_id=row.case_id,
                        action_type=row.action_type,
                        idempotency_key=row.idempotency_key,
                        occurred_at=row.occurred_at,
                        quantity=row.quantity,
                        verification=Verification.VERIFIED
                        if row.is_verified
                        else Verification.SELF_REPORTED,
                    )
                    for row in input.actions
                ],
                recorder,
            )

        outcome = await run_mutation(info, lambda: _in_section(info, work))
        if isinstance(outcome, list):
            return ActionsImportPayload(errors=outcome)
        return ActionsImportPayload(
            batch_id=outcome.batch_id,
            created=outcome.created,
            replayed=outcome.replayed,
            quantity=outcome.quantity,
        )

    @strawberry.mutation(
        description="Report how many actions were taken (e.g. letters written at home or at "
        "an event); counted as self-reported once section staff approve it."
    )
    async def tally_report(self, info: Info, input: TallyReportInput) -> TallyReportPayload:  # noqa: A002
        async def work(service: LedgerService) -> tuple[TallyNode, bool]:
            principal = info.context.principal
            kind = input.reporter_kind or (
                ReporterKind.SUPPORTER if principal.is_anonymous else ReporterKind.SECTION_STAFF
            )
            if principal.is_anonymous and kind not in (
                ReporterKind.SUPPORTER,
                ReporterKind.EVENT_HOST,
            ):
                raise InvalidInputError.one(
                    "reporterKind", ProblemCode.INVALID, "Report as SUPPORTER or EVENT_HOST."
                )
            tally, replayed = await service.report_tally(
                TallyDraft(
                    campaign_year=input.campaign,
                    lines=[
                        TallyLineDraft(
                            case_id=line.case_id,
                            action_type=line.action_type,
                            quantity=line.quantity,
                        )
                        for line in input.lines
                    ],
                    idempotency_key=input.idempotency_key,
                    reporter_kind=kind,
                    reporter_name=input.reporter_name,
                    reporter_email=input.reporter_email,
                    note=input.note,
                ),
                Recorder(
                    reporter_kind=kind,
                    reporter_ref=principal.subject,
                    client_id=client_identity(principal, input.client_id),
                    channel=Channel.OFFLINE_REPORT,
                    method="tallyReport",
                ),
            )
            return await _tally_node(info, tally), replayed

        outcome = await run_mutation(info, lambda: _in_section(info, work))
        if isinstance(outcome, list):
            return TallyReportPayload(errors=outcome)
        node, replayed = outcome
        return TallyReportPayload(tally=node, replayed=replayed)

    @strawberry.mutation(
        description="Approve a pending tally: its lines count from now on (section staff)."
    )
    async def tally_approve(self, info: Info, input: TallyDecisionInput) -> TallyDecisionPayload:  # noqa: A002
        return await _decide(info, input.id, input.note, approve=True)

    @strawberry.mutation(description="Reject a pending tally: it never counts (section staff).")
    async def tally_reject(self, info: Info, input: TallyDecisionInput) -> TallyDecisionPayload:  # noqa: A002
        return await _decide(info, input.id, input.note, approve=False)


async def _decide(
    info: Info, tally_id: UUID, note: str | None, *, approve: bool
) -> TallyDecisionPayload:
    async def work(service: LedgerService) -> TallyNode:
        tally = await service.decide_tally(
            tally_id, approve=approve, reviewer=info.context.principal.subject, note=note
        )
        return await _tally_node(info, tally)

    outcome = await run_mutation(info, lambda: _in_section(info, work))
    if isinstance(outcome, list):
        return TallyDecisionPayload(errors=outcome)
    return TallyDecisionPayload(tally=outcome)
