"""GraphQL types of campaigns and of a section's participation in one."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Annotated
from uuid import UUID

import strawberry

from w4r.campaigns.models import Campaign, CampaignStatus, SectionCampaign
from w4r.schema.context import Info
from w4r.schema.totals.types import CampaignTotals

if TYPE_CHECKING:
    from w4r.schema.cases.types import CaseNode

CampaignStatusEnum = strawberry.enum(CampaignStatus, name="CampaignStatus")


@strawberry.federation.type(
    name="Campaign", keys=["id", "year"], description="One year's Write for Rights."
)
class CampaignNode:
    id: UUID
    year: int
    name: str
    starts_on: date | None = strawberry.field(description="The global window's first day.")
    ends_on: date | None = strawberry.field(description="The global window's last day.")
    action_days_start: date | None = strawberry.field(
        description="First of the official action days around Human Rights Day."
    )
    action_days_end: date | None
    reporting_deadline: date | None = strawberry.field(
        description="The last day to report actions (e.g. 15 January)."
    )
    goal_actions: int | None = strawberry.field(description="The number of actions aimed for.")
    goal_description: str | None
    status: CampaignStatusEnum  # type: ignore[valid-type]

    @classmethod
    def from_model(cls, campaign: Campaign) -> CampaignNode:
        return cls(
            id=campaign.id,
            year=campaign.year,
            name=campaign.name,
            starts_on=campaign.starts_on,
            ends_on=campaign.ends_on,
            action_days_start=campaign.action_days_start,
            action_days_end=campaign.action_days_end,
            reporting_deadline=campaign.reporting_deadline,
            goal_actions=campaign.goal_actions,
            goal_description=campaign.goal_description,
            status=campaign.status,
        )

    @classmethod
    async def resolve_reference(
        cls,
        info: Info,
        id: UUID | None = None,  # noqa: A002
        year: int | None = None,
    ) -> CampaignNode | None:
        """The campaign an entity representation names (by id or by year), as `campaign`
        would show it to this caller: drafts resolve for IS staff only, else to null."""
        loaders = info.context.case_loaders
        if id is not None:
            campaign = await loaders.campaigns_by_id.load(id)
        else:
            campaign = await loaders.campaigns_by_year.load(year or 0)
        if campaign is None or (
            campaign.status is CampaignStatus.DRAFT and not info.context.can_see_drafts
        ):
            return None
        return cls.from_model(campaign)

    @strawberry.field(description="Actions counted worldwide, and progress to the goal.")
    async def totals(self, info: Info) -> CampaignTotals:
        amounts = await info.context.case_loaders.totals_by_campaign_id.load(self.id)
        return CampaignTotals(
            quantity=amounts.quantity,
            verified=amounts.verified,
            self_reported=amounts.self_reported,
            goal_actions=self.goal_actions,
            progress=None if not self.goal_actions else amounts.quantity / self.goal_actions,
        )

    @strawberry.field(
        description="This request's section's participation; null in the global scope or "
        "when the section does not take part."
    )
    async def participation(self, info: Info) -> SectionCampaignNode | None:
        if info.context.section is None:
            return None
        loader = info.context.case_loaders.section_campaign_by_campaign_id
        participation = await loader.load(self.id)
        if participation is None:
            return None
        return SectionCampaignNode.from_model(participation, self)


@strawberry.type(name="SectionCampaign", description="A section taking part in a campaign.")
class SectionCampaignNode:
    starts_on: date | None = strawberry.field(description="The section's own first day, if any.")
    ends_on: date | None = strawberry.field(description="The section's own last day, if any.")
    effective_starts_on: date | None = strawberry.field(
        description="The section's window, else the campaign's."
    )
    effective_ends_on: date | None
    campaign: CampaignNode

    @classmethod
    def from_model(
        cls, participation: SectionCampaign, campaign: CampaignNode
    ) -> SectionCampaignNode:
        own = participation.starts_on is not None and participation.ends_on is not None
        return cls(
            starts_on=participation.starts_on,
            ends_on=participation.ends_on,
            effective_starts_on=participation.starts_on if own else campaign.starts_on,
            effective_ends_on=participation.ends_on if own else campaign.ends_on,
            campaign=campaign,
        )

    @strawberry.field(description="The campaign's cases the section features, in its order.")
    async def featured_cases(
        self, info: Info
    ) -> list[Annotated[CaseNode, strawberry.lazy("w4r.schema.cases.types")]]:
        from w4r.schema.cases.types import CaseNode, visible

        loaders = info.context.case_loaders
        ids = await loaders.featured_case_ids_by_campaign_id.load(self.campaign.id)
        cases = await loaders.cases_by_id.load_many(ids)
        return [
            CaseNode.from_model(case) for case in cases if case is not None and visible(case, info)
        ]
