"""All SQL about campaigns and sections' participation in them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from w4r.campaigns.models import Campaign, CampaignStatus, SectionCampaign, SectionFeaturedCase
from w4r.platform.grouping import group_pairs


class CampaignRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, campaign_id: UUID) -> Campaign | None:
        return await self._session.get(Campaign, campaign_id)

    async def by_ids(self, ids: Sequence[UUID]) -> dict[UUID, Campaign]:
        result = await self._session.execute(select(Campaign).where(Campaign.id.in_(ids)))
        return {campaign.id: campaign for campaign in result.scalars()}

    async def get_by_year(self, year: int) -> Campaign | None:
        result = await self._session.execute(select(Campaign).where(Campaign.year == year))
        return result.scalar_one_or_none()

    async def with_participation(
        self, year: int
    ) -> tuple[Campaign, date | None, date | None, list[UUID]] | None:
        """The campaign of ``year`` with, in the same statement, the bound section's own
        window for it (starts, ends; None when it has none) and the cases it features."""
        featured = (
            select(func.array_agg(SectionFeaturedCase.case_id))
            .where(SectionFeaturedCase.campaign_id == Campaign.id)
            .scalar_subquery()
        )
        result = await self._session.execute(
            select(Campaign, SectionCampaign.starts_on, SectionCampaign.ends_on, featured)
            .outerjoin(SectionCampaign, SectionCampaign.campaign_id == Campaign.id)
            .where(Campaign.year == year)
        )
        row = result.one_or_none()
        if row is None:
            return None
        campaign, starts_on, ends_on, case_ids = row
        return campaign, starts_on, ends_on, list(case_ids or ())

    async def by_years(self, years: Sequence[int]) -> dict[int, Campaign]:
        result = await self._session.execute(select(Campaign).where(Campaign.year.in_(years)))
        return {campaign.year: campaign for campaign in result.scalars()}

    async def page(
        self, *, include_drafts: bool, before_year: int | None, limit: int
    ) -> list[Campaign]:
        """Campaigns, newest first."""
        query = select(Campaign).order_by(Campaign.year.desc()).limit(limit)
        if not include_drafts:
            query = query.where(Campaign.status != CampaignStatus.DRAFT)
        if before_year is not None:
            query = query.where(Campaign.year < before_year)
        return list((await self._session.execute(query)).scalars())

    async def insert(self, **values: Any) -> Campaign:
        campaign = Campaign(**values)
        self._session.add(campaign)
        await self._session.flush()
        await self._session.refresh(campaign)
        return campaign

    async def update(self, campaign: Campaign, **values: Any) -> Campaign:
        await self._session.execute(
            update(Campaign)
            .where(Campaign.id == campaign.id)
            .values(**values, updated_at=func.now())
        )
        await self._session.refresh(campaign)
        return campaign


class SectionCampaignRepository:
    """The bound section's participation (row-level security hides every other section's)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, campaign_id: UUID) -> SectionCampaign | None:
        result = await self._session.execute(
            select(SectionCampaign).where(SectionCampaign.campaign_id == campaign_id)
        )
        return result.scalar_one_or_none()

    async def by_campaign_ids(self, campaign_ids: Sequence[UUID]) -> dict[UUID, SectionCampaign]:
        result = await self._session.execute(
            select(SectionCampaign).where(SectionCampaign.campaign_id.in_(campaign_ids))
        )
        return {row.campaign_id: row for row in result.scalars()}

    async def save(
        self, campaign_id: UUID, *, starts_on: date | None, ends_on: date | None
    ) -> SectionCampaign:
        participation = await self.get(campaign_id)
        if participation is None:
            participation = SectionCampaign(
                campaign_id=campaign_id, starts_on=starts_on, ends_on=ends_on
            )
            self._session.add(participation)
            await self._session.flush()
            await self._session.refresh(participation)
            return participation
        await self._session.execute(
            update(SectionCampaign)
            .where(SectionCampaign.campaign_id == campaign_id)
            .values(starts_on=starts_on, ends_on=ends_on, updated_at=func.now())
        )
        await self._session.refresh(participation)
        return participation

    async def featured_case_ids(self, campaign_ids: Sequence[UUID]) -> dict[UUID, list[UUID]]:
        result = await self._session.execute(
            select(SectionFeaturedCase.campaign_id, SectionFeaturedCase.case_id)
            .where(SectionFeaturedCase.campaign_id.in_(campaign_ids))
            .order_by(SectionFeaturedCase.campaign_id, SectionFeaturedCase.position)
        )
        return group_pairs(campaign_ids, result)

    async def replace_featured(self, campaign_id: UUID, case_ids: Sequence[UUID]) -> None:
        await self._session.execute(
            delete(SectionFeaturedCase).where(SectionFeaturedCase.campaign_id == campaign_id)
        )
        self._session.add_all(
            SectionFeaturedCase(campaign_id=campaign_id, case_id=case_id, position=position)
            for position, case_id in enumerate(case_ids)
        )
        await self._session.flush()
