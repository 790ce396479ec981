"""Totals queries and the live totals subscription."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from uuid import UUID

import strawberry
from graphql import GraphQLError

from w4r.campaigns.models import Campaign
from w4r.campaigns.service import CampaignService
from w4r.platform.database import TenantBinding
from w4r.schema.campaigns.types import CampaignNode
from w4r.schema.context import Info
from w4r.schema.totals.types import (
    HistoricTotalNode,
    PublicTotals,
    TotalsCell,
    TotalsDimension,
    TotalsFilter,
    TotalsReport,
    TotalsUpdate,
)
from w4r.totals.repository import Amounts, TotalsFilterSpec, TotalsRepository
from w4r.totals.service import TotalsService


async def _campaign(info: Info, year: int) -> Campaign:
    campaign = await CampaignService(info.context.session).get(
        year, include_drafts=info.context.can_see_drafts
    )
    if campaign is None:
        raise GraphQLError(f"There is no {year} campaign.", extensions={"code": "NOT_FOUND"})
    return campaign


def _spec(filter: TotalsFilter | None) -> TotalsFilterSpec:  # noqa: A002
    if filter is None:
        return TotalsFilterSpec()
    return TotalsFilterSpec(
        case_ids=filter.cases or (),
        section_codes=[code.strip().lower() for code in filter.sections or ()],
        action_types=[str(kind) for kind in filter.action_types or ()],
        channels=[str(channel) for channel in filter.channels or ()],
        verification=None if filter.verification is None else str(filter.verification),
        from_day=filter.from_day,
        to_day=filter.to_day,
    )


@strawberry.type
class TotalsQueries:
    @strawberry.field(
        description="A campaign's totals grouped by the dimensions asked for. In the global "
        "scope (IS staff) every section's, with small cells withheld; at a section's "
        "endpoint that section's own, in full."
    )
    async def totals(
        self,
        info: Info,
        campaign: int,
        group_by: list[TotalsDimension] | None = None,
        filter: TotalsFilter | None = None,  # noqa: A002
    ) -> TotalsReport:
        found = await _campaign(info, campaign)
        dimensions = list(dict.fromkeys(dimension.value for dimension in group_by or ()))
        is_global = info.context.section is None
        minimum = info.context.services.settings.totals_min_cell_size if is_global else 0
        report = await TotalsService(info.context.session).report(
            found, dimensions, _spec(filter), min_cell_size=minimum
        )
        goal = found.goal_actions
        return TotalsReport(
            campaign=CampaignNode.from_model(found),
            quantity=report.summary.quantity,
            verified=report.summary.verified,
            self_reported=report.summary.self_reported,
            goal_actions=goal,
            progress=None if not goal else report.summary.quantity / goal,
            sections_count=report.sections,
            countries_count=report.countries,
            minimum_cell_size=minimum,
            cells=[
                TotalsCell.from_cell(cell, suppressed=index in report.suppressed)
                for index, cell in enumerate(report.cells)
            ],
        )

    @strawberry.field(description="Worldwide totals of past campaigns, as published.")
    async def historic_totals(self, info: Info) -> list[HistoricTotalNode]:
        rows = await TotalsRepository(info.context.session).historic_totals()
        return [HistoricTotalNode.from_model(row) for row in rows]


async def _public_totals(info: Info, campaign_id: UUID, case_id: UUID | None) -> Amounts:
    """Read fresh, in a session of its own (a subscription outlives any one transaction)."""
    database = info.context.services.database
    async with database.session(TenantBinding.global_scope()) as session:
        totals = TotalsRepository(session)
        if case_id is None:
            return (await totals.campaign_totals([campaign_id]))[campaign_id]
        return (await totals.case_totals(campaign_id, [case_id]))[case_id]


@strawberry.type
class TotalsSubscriptions:
    @strawberry.subscription(
        description="The public totals of a campaign (or of one case in it): now, then after "
        "every change, at most once per update interval (graphql-transport-ws)."
    )
    async def totals_updated(
        self, info: Info, campaign: int, case: UUID | None = None
    ) -> AsyncGenerator[TotalsUpdate, None]:
        # Checked before the stream starts, so a bad campaign is a protocol `error`.
        database = info.context.services.database
        async with database.session(TenantBinding.global_scope()) as session:
            found = await CampaignService(session).get(campaign, include_drafts=False)
        if found is None:
            raise GraphQLError(
                f"There is no {campaign} campaign.", extensions={"code": "NOT_FOUND"}
            )
        return _updates(info, found, case)


async def _updates(
    info: Info, campaign: Campaign, case: UUID | None
) -> AsyncGenerator[TotalsUpdate, None]:
    async with info.context.services.hub.subscribe(campaign.id, case) as signals:
        while True:
            amounts = await _public_totals(info, campaign.id, case)
            yield TotalsUpdate(
                campaign_year=campaign.year,
                case_id=case,
                totals=PublicTotals.from_amounts(amounts),
            )
            await signals.get()
