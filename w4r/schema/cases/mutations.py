"""Case mutations (IS admins)."""

from __future__ import annotations

from uuid import UUID

import strawberry

from w4r.cases.drafts import CaseChanges, CaseDraft, OutcomeDraft
from w4r.cases.models import Case, CaseOutcome
from w4r.cases.service import CaseService
from w4r.platform.errors import InvalidInputError, ProblemCode
from w4r.schema.cases.inputs import (
    CaseCreateInput,
    CaseOutcomeAddInput,
    CasePublishInput,
    CaseUpdateInput,
)
from w4r.schema.cases.types import CaseNode, CaseOutcomeNode
from w4r.schema.context import Info
from w4r.schema.errors import UserError, run_mutation


@strawberry.type
class CaseCreatePayload:
    case: CaseNode | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class CaseUpdatePayload:
    case: CaseNode | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class CasePublishPayload:
    case: CaseNode | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class CaseOutcomeAddPayload:
    outcome: CaseOutcomeNode | None = None
    case: CaseNode | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


async def case_for_change(service: CaseService, case_id: UUID, field: str = "id") -> Case:
    case = await service.get(case_id, include_drafts=True)
    if case is None:
        raise InvalidInputError.one(field, ProblemCode.NOT_FOUND, f"There is no case {case_id}.")
    return case


@strawberry.type
class CaseMutations:
    @strawberry.mutation(description="Create a case as a draft (IS admins).")
    async def case_create(self, info: Info, input: CaseCreateInput) -> CaseCreatePayload:  # noqa: A002
        service = CaseService(info.context.session)
        draft = CaseDraft(
            slug=input.slug,
            subject_kind=input.subject_kind,
            subject_name=input.subject_name,
            country=input.country,
            themes=input.themes,
            source_language=input.source_language,
            source_text=input.source_text.to_draft(),
            campaign_years=input.campaign_years,
            appeal_targets=[target.to_draft() for target in input.appeal_targets],
            solidarity_recipients=[item.to_draft() for item in input.solidarity_recipients],
            image_url=input.image_url,
            image_credit=input.image_credit,
            internal_notes=input.internal_notes,
        )
        outcome = await run_mutation(info, lambda: service.create(draft))
        if isinstance(outcome, list):
            return CaseCreatePayload(errors=outcome)
        return CaseCreatePayload(case=CaseNode.from_model(outcome))

    @strawberry.mutation(description="Change a case (IS admins).")
    async def case_update(self, info: Info, input: CaseUpdateInput) -> CaseUpdatePayload:  # noqa: A002
        service = CaseService(info.context.session)
        changes = CaseChanges(
            subject_kind=input.subject_kind,
            subject_name=input.subject_name,
            country=input.country,
            themes=input.themes,
            source_text=None if input.source_text is None else input.source_text.to_draft(),
            campaign_years=input.campaign_years,
            appeal_targets=None
            if input.appeal_targets is None
            else [target.to_draft() for target in input.appeal_targets],
            solidarity_recipients=None
            if input.solidarity_recipients is None
            else [item.to_draft() for item in input.solidarity_recipients],
            image_url=input.image_url,
            image_credit=input.image_credit,
            internal_notes=input.internal_notes,
        )

        async def work() -> Case:
            return await service.update(await case_for_change(service, input.id), changes)

        outcome = await run_mutation(info, work)
        if isinstance(outcome, list):
            return CaseUpdatePayload(errors=outcome)
        return CaseUpdatePayload(case=CaseNode.from_model(outcome))

    @strawberry.mutation(description="Publish a case: everyone can read it (IS admins).")
    async def case_publish(self, info: Info, input: CasePublishInput) -> CasePublishPayload:  # noqa: A002
        service = CaseService(info.context.session)

        async def work() -> Case:
            return await service.publish(await case_for_change(service, input.id))

        outcome = await run_mutation(info, work)
        if isinstance(outcome, list):
            return CasePublishPayload(errors=outcome)
        return CasePublishPayload(case=CaseNode.from_model(outcome))

    @strawberry.mutation(description="Add a step to a case's outcomes timeline (IS admins).")
    async def case_outcome_add(
        self,
        info: Info,
        input: CaseOutcomeAddInput,  # noqa: A002
    ) -> CaseOutcomeAddPayload:
        service = CaseService(info.context.session)
        draft = OutcomeDraft(
            occurred_on=input.occurred_on,
            date_precision=input.date_precision,
            kind=input.kind,
            description=input.description,
        )

        async def work() -> tuple[Case, CaseOutcome]:
            case = await case_for_change(service, input.case_id, "caseId")
            return case, await service.add_outcome(case, draft)

        outcome = await run_mutation(info, work)
        if isinstance(outcome, list):
            return CaseOutcomeAddPayload(errors=outcome)
        case, added = outcome
        return CaseOutcomeAddPayload(
            outcome=CaseOutcomeNode.from_model(added), case=CaseNode.from_model(case)
        )
