"""Campaign queries."""

from __future__ import annotations

import strawberry

from w4r.campaigns.service import MAX_YEAR, MIN_YEAR, CampaignService
from w4r.schema.campaigns.types import CampaignNode
from w4r.schema.context import Info
from w4r.schema.pagination import (
    Connection,
    build_connection,
    cursor_integer,
    decode_cursor,
    page_size,
)

CAMPAIGN_CURSOR = "Campaign"


@strawberry.type
class CampaignQueries:
    @strawberry.field(description="One year's campaign (drafts for IS staff only).")
    async def campaign(self, info: Info, year: int) -> CampaignNode | None:
        service = CampaignService(info.context.session)
        campaign = await service.get(year, include_drafts=info.context.can_see_drafts)
        return None if campaign is None else CampaignNode.from_model(campaign)

    @strawberry.field(description="Campaigns, newest first.")
    async def campaigns(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[CampaignNode]:
        limit = page_size(first)
        before_year = None
        if after is not None:
            (raw_year,) = decode_cursor(CAMPAIGN_CURSOR, after, 1)
            before_year = cursor_integer(raw_year, minimum=MIN_YEAR, maximum=MAX_YEAR)
        campaigns = await CampaignService(info.context.session).page(
            include_drafts=info.context.can_see_drafts, before_year=before_year, limit=limit + 1
        )
        return build_connection(
            campaigns,
            limit,
            kind=CAMPAIGN_CURSOR,
            key=lambda campaign: (str(campaign.year),),
            node=CampaignNode.from_model,
        )
