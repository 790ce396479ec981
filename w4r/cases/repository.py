"""All SQL about cases, their campaigns, targets, recipients and outcomes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy import Integer, delete, exists, func, literal, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from w4r.campaigns.models import Campaign
from w4r.cases.models import (
    AppealTarget,
    Case,
    CaseCampaign,
    CaseOutcome,
    CaseStatus,
    SolidarityRecipient,
)
from w4r.platform.grouping import group_by, group_pairs


@dataclass(frozen=True, slots=True)
class CaseFilterSpec:
    country: str | None = None
    theme: str | None = None
    status: CaseStatus | None = None
    has_outcome: bool | None = None


@dataclass(frozen=True, slots=True)
class CaseRow:
    """A case in a list, with its position in the campaign when listed by campaign."""

    case: Case
    position: int | None


class CaseRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, case_id: UUID) -> Case | None:
        return await self._session.get(Case, case_id)

    async def get_by_slug(self, slug: str) -> Case | None:
        result = await self._session.execute(select(Case).where(Case.slug == slug))
        return result.scalar_one_or_none()

    async def by_ids(self, ids: Sequence[UUID]) -> dict[UUID, Case]:
        result = await self._session.execute(select(Case).where(Case.id.in_(ids)))
        return {case.id: case for case in result.scalars()}

    async def by_slugs(self, slugs: Sequence[str]) -> dict[str, Case]:
        result = await self._session.execute(select(Case).where(Case.slug.in_(slugs)))
        return {case.slug: case for case in result.scalars()}

    async def page(
        self,
        *,
        campaign_id: UUID | None,
        spec: CaseFilterSpec,
        include_drafts: bool,
        after: tuple[int, str] | str | None,
        limit: int,
    ) -> list[CaseRow]:
        """Cases in a campaign ordered by their position there (then slug), or all cases
        ordered by slug; keyset pagination after ``(position, slug)`` or ``slug``."""
        if campaign_id is not None:
            query = (
                select(Case, CaseCampaign.position)
                .join(CaseCampaign, CaseCampaign.case_id == Case.id)
                .where(CaseCampaign.campaign_id == campaign_id)
                .order_by(CaseCampaign.position, Case.slug)
            )
            if isinstance(after, tuple):
                query = query.where(tuple_(CaseCampaign.position, Case.slug) > tuple_(*after))
        else:
            query = select(Case, literal(None, Integer).label("position")).order_by(Case.slug)
            if isinstance(after, str):
                query = query.where(Case.slug > after)
        if not include_drafts:
            query = query.where(Case.status == CaseStatus.PUBLISHED)
        if spec.status is not None:
            query = query.where(Case.status == spec.status)
        if spec.country is not None:
            query = query.where(Case.country == spec.country)
        if spec.theme is not None:
            query = query.where(Case.themes.contains([spec.theme]))
        if spec.has_outcome is not None:
            has_outcome = exists().where(CaseOutcome.case_id == Case.id)
            query = query.where(has_outcome if spec.has_outcome else ~has_outcome)
        result = await self._session.execute(query.limit(limit))
        return [CaseRow(case=case, position=position) for case, position in result]

    async def insert(self, **values: Any) -> Case:
        case = Case(**values)
        self._session.add(case)
        await self._session.flush()
        await self._session.refresh(case)
        return case

    async def update(self, case: Case, **values: Any) -> Case:
        await self._session.execute(
            update(Case).where(Case.id == case.id).values(**values, updated_at=func.now())
        )
        await self._session.refresh(case)
        return case

    async def campaign_ids(self, case_id: UUID) -> set[UUID]:
        result = await self._session.execute(
            select(CaseCampaign.campaign_id).where(CaseCampaign.case_id == case_id)
        )
        return set(result.scalars())

    async def link_campaigns(self, case_id: UUID, campaign_ids: Sequence[UUID]) -> None:
        """Feature the case in these campaigns, each at the end of the campaign's list."""
        for campaign_id in campaign_ids:
            last = await self._session.execute(
                select(func.coalesce(func.max(CaseCampaign.position), -1)).where(
                    CaseCampaign.campaign_id == campaign_id
                )
            )
            self._session.add(
                CaseCampaign(
                    campaign_id=campaign_id, case_id=case_id, position=last.scalar_one() + 1
                )
            )
        await self._session.flush()

    async def unlink_campaigns(self, case_id: UUID, campaign_ids: Sequence[UUID]) -> None:
        await self._session.execute(
            delete(CaseCampaign).where(
                CaseCampaign.case_id == case_id, CaseCampaign.campaign_id.in_(campaign_ids)
            )
        )

    async def replace_targets(self, case_id: UUID, targets: Sequence[dict[str, Any]]) -> None:
        await self._session.execute(delete(AppealTarget).where(AppealTarget.case_id == case_id))
        self._session.add_all(
            AppealTarget(case_id=case_id, position=position, **values)
            for position, values in enumerate(targets)
        )
        await self._session.flush()

    async def replace_recipients(self, case_id: UUID, recipients: Sequence[dict[str, Any]]) -> None:
        await self._session.execute(
            delete(SolidarityRecipient).where(SolidarityRecipient.case_id == case_id)
        )
        self._session.add_all(
            SolidarityRecipient(case_id=case_id, position=position, **values)
            for position, values in enumerate(recipients)
        )
        await self._session.flush()

    async def add_outcome(self, **values: Any) -> CaseOutcome:
        outcome = CaseOutcome(**values)
        self._session.add(outcome)
        await self._session.flush()
        await self._session.refresh(outcome)
        return outcome

    # --- batch reads for the per-request loaders ----------------------------------------

    async def targets_by_case_ids(self, ids: Sequence[UUID]) -> dict[UUID, list[AppealTarget]]:
        result = await self._session.execute(
            select(AppealTarget)
            .where(AppealTarget.case_id.in_(ids))
            .order_by(AppealTarget.case_id, AppealTarget.position)
        )
        return group_by(ids, result.scalars(), lambda target: target.case_id)

    async def recipients_by_case_ids(
        self, ids: Sequence[UUID]
    ) -> dict[UUID, list[SolidarityRecipient]]:
        result = await self._session.execute(
            select(SolidarityRecipient)
            .where(SolidarityRecipient.case_id.in_(ids))
            .order_by(SolidarityRecipient.case_id, SolidarityRecipient.position)
        )
        return group_by(ids, result.scalars(), lambda recipient: recipient.case_id)

    async def outcomes_by_case_ids(self, ids: Sequence[UUID]) -> dict[UUID, list[CaseOutcome]]:
        result = await self._session.execute(
            select(CaseOutcome)
            .where(CaseOutcome.case_id.in_(ids))
            .order_by(CaseOutcome.case_id, CaseOutcome.occurred_on, CaseOutcome.created_at)
        )
        return group_by(ids, result.scalars(), lambda outcome: outcome.case_id)

    async def campaigns_by_case_ids(self, ids: Sequence[UUID]) -> dict[UUID, list[Campaign]]:
        result = await self._session.execute(
            select(CaseCampaign.case_id, Campaign)
            .join(Campaign, Campaign.id == CaseCampaign.campaign_id)
            .where(CaseCampaign.case_id.in_(ids))
            .order_by(CaseCampaign.case_id, Campaign.year)
        )
        return group_pairs(ids, result)
