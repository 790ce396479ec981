"""Campaign mutations (IS admins) and a section's participation (section staff)."""

from __future__ import annotations

from typing import Any

import strawberry

from w4r.campaigns.drafts import CampaignDraft, SectionCampaignDraft
from w4r.campaigns.models import Campaign, SectionCampaign
from w4r.campaigns.service import CampaignService, SectionCampaignService
from w4r.platform.errors import InvalidInputError, ProblemCode
from w4r.schema.campaigns.inputs import (
    CampaignCreateInput,
    CampaignUpdateInput,
    SectionCampaignUpdateInput,
)
from w4r.schema.campaigns.types import CampaignNode, SectionCampaignNode
from w4r.schema.context import Info
from w4r.schema.errors import UserError, run_mutation

CAMPAIGN_FIELDS = (
    "name",
    "starts_on",
    "ends_on",
    "action_days_start",
    "action_days_end",
    "reporting_deadline",
    "goal_actions",
    "goal_description",
    "status",
)


@strawberry.type
class CampaignCreatePayload:
    campaign: CampaignNode | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class CampaignUpdatePayload:
    campaign: CampaignNode | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class SectionCampaignUpdatePayload:
    participation: SectionCampaignNode | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class CampaignMutations:
    @strawberry.mutation(description="Create a year's campaign (IS admins).")
    async def campaign_create(
        self,
        info: Info,
        input: CampaignCreateInput,  # noqa: A002
    ) -> CampaignCreatePayload:
        service = CampaignService(info.context.session)
        draft = CampaignDraft(
            **{field: getattr(input, field) for field in ("year", *CAMPAIGN_FIELDS)}
        )
        outcome = await run_mutation(info, lambda: service.create(draft))
        if isinstance(outcome, list):
            return CampaignCreatePayload(errors=outcome)
        return CampaignCreatePayload(campaign=CampaignNode.from_model(outcome))

    @strawberry.mutation(description="Change a campaign (IS admins).")
    async def campaign_update(
        self,
        info: Info,
        input: CampaignUpdateInput,  # noqa: A002
    ) -> CampaignUpdatePayload:
        service = CampaignService(info.context.session)
        changes: dict[str, Any] = {
            field: getattr(input, field)
            for field in CAMPAIGN_FIELDS
            if getattr(input, field) is not None
        }

        async def work() -> Campaign:
            campaign = await service.get(input.year, include_drafts=True)
            if campaign is None:
                raise InvalidInputError.one(
                    "year", ProblemCode.NOT_FOUND, f"There is no {input.year} campaign."
                )
            return await service.update(campaign, changes)

        outcome = await run_mutation(info, work)
        if isinstance(outcome, list):
            return CampaignUpdatePayload(errors=outcome)
        return CampaignUpdatePayload(campaign=CampaignNode.from_model(outcome))

    @strawberry.mutation(
        description="This section's window for a campaign and the cases it features "
        "(section staff, at the section's endpoint)."
    )
    async def section_campaign_update(
        self,
        info: Info,
        input: SectionCampaignUpdateInput,  # noqa: A002
    ) -> SectionCampaignUpdatePayload:
        service = SectionCampaignService(info.context.session, info.context.binding)
        draft = SectionCampaignDraft(
            year=input.year,
            starts_on=input.starts_on,
            ends_on=input.ends_on,
            featured_case_slugs=input.featured_case_slugs,
        )
        outcome: tuple[Campaign, SectionCampaign] | list[UserError] = await run_mutation(
            info, lambda: service.update(draft)
        )
        if isinstance(outcome, list):
            return SectionCampaignUpdatePayload(errors=outcome)
        campaign, participation = outcome
        return SectionCampaignUpdatePayload(
            participation=SectionCampaignNode.from_model(
                participation, CampaignNode.from_model(campaign)
            )
        )
