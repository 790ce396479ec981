"""Per-request loaders for cases, their texts and campaigns, named for what they return and
their key. Each batches one SQL statement per field, whatever the number of cases."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.dataloader import DataLoader

from w4r.campaigns.models import Campaign, SectionCampaign
from w4r.campaigns.repository import CampaignRepository, SectionCampaignRepository
from w4r.cases.models import AppealTarget, Case, CaseOutcome, SolidarityRecipient
from w4r.cases.repository import CaseRepository
from w4r.totals.models import CaseHistoricTotal
from w4r.totals.repository import Amounts, TotalsRepository
from w4r.translations.models import CaseText, SectionCaseTranslation
from w4r.translations.repository import ServableText, TextRepository


class CaseLoaders:
    def __init__(self, session: AsyncSession) -> None:
        self._cases = CaseRepository(session)
        self._texts = TextRepository(session)
        self._participation = SectionCampaignRepository(session)
        self.cases_by_id: DataLoader[UUID, Case | None] = DataLoader(self._cases_by_id)
        self.cases_by_slug: DataLoader[str, Case | None] = DataLoader(self._cases_by_slug)
        self.campaigns_by_case_id: DataLoader[UUID, list[Campaign]] = DataLoader(
            self._by_case(self._cases.campaigns_by_case_ids)
        )
        self.appeal_targets_by_case_id: DataLoader[UUID, list[AppealTarget]] = DataLoader(
            self._by_case(self._cases.targets_by_case_ids)
        )
        self.solidarity_recipients_by_case_id: DataLoader[UUID, list[SolidarityRecipient]] = (
            DataLoader(self._by_case(self._cases.recipients_by_case_ids))
        )
        self.outcomes_by_case_id: DataLoader[UUID, list[CaseOutcome]] = DataLoader(
            self._by_case(self._cases.outcomes_by_case_ids)
        )
        self.servable_is_texts: DataLoader[tuple[UUID, tuple[str, ...]], list[ServableText]] = (
            DataLoader(self._servable(section=False))
        )
        self.is_texts_by_case_id: DataLoader[UUID, list[CaseText]] = DataLoader(
            self._by_case(self._all_is_texts)
        )
        self.servable_section_translations: DataLoader[
            tuple[UUID, tuple[str, ...]], list[ServableText]
        ] = DataLoader(self._servable(section=True))
        self.section_translations_by_case_id: DataLoader[UUID, list[SectionCaseTranslation]] = (
            DataLoader(self._by_case(self._all_section_translations))
        )
        self.source_snapshot_by_case_revision: DataLoader[
            tuple[UUID, int], dict[str, Any] | None
        ] = DataLoader(self._snapshots)
        self.section_campaign_by_campaign_id: DataLoader[UUID, SectionCampaign | None] = DataLoader(
            self._section_campaigns
        )
        self.featured_case_ids_by_campaign_id: DataLoader[UUID, list[UUID]] = DataLoader(
            self._featured
        )
        self._campaigns = CampaignRepository(session)
        self.campaigns_by_year: DataLoader[int, Campaign | None] = DataLoader(
            self._campaigns_by_year
        )
        self.campaigns_by_id: DataLoader[UUID, Campaign | None] = DataLoader(self._campaigns_by_id)
        self._totals = TotalsRepository(session)
        self.totals_by_campaign_and_case_id: DataLoader[tuple[UUID | None, UUID], Amounts] = (
            DataLoader(self._case_totals)
        )
        self.totals_by_campaign_id: DataLoader[UUID, Amounts] = DataLoader(self._campaign_totals)
        self.historic_totals_by_case_id: DataLoader[UUID, list[CaseHistoricTotal]] = DataLoader(
            self._by_case(self._totals.case_historic_totals)
        )

    @staticmethod
    def _by_case(load: Any) -> Any:
        async def batch(ids: Sequence[UUID]) -> list[Any]:
            grouped = await load(ids)
            return [grouped[case_id] for case_id in ids]

        return batch

    async def _cases_by_id(self, ids: Sequence[UUID]) -> list[Case | None]:
        cases = await self._cases.by_ids(ids)
        return [cases.get(case_id) for case_id in ids]

    async def _cases_by_slug(self, slugs: Sequence[str]) -> list[Case | None]:
        cases = await self._cases.by_slugs(slugs)
        return [cases.get(slug) for slug in slugs]

    def _servable(self, *, section: bool) -> Any:
        """Published texts keyed by (case, languages): one statement per distinct language
        list asked for (a page of cases asks with one)."""

        async def batch(keys: Sequence[tuple[UUID, tuple[str, ...]]]) -> list[list[ServableText]]:
            found: dict[tuple[UUID, tuple[str, ...]], list[ServableText]] = {}
            for languages in dict.fromkeys(languages for _, languages in keys):
                ids = [case_id for case_id, wanted in keys if wanted == languages]
                texts = await self._texts.servable_texts(ids, languages, section=section)
                found.update({(case_id, languages): texts[case_id] for case_id in ids})
            return [found[key] for key in keys]

        return batch

    async def _all_is_texts(self, ids: Sequence[UUID]) -> dict[UUID, list[CaseText]]:
        return await self._texts.is_texts_by_case_ids(ids, published_only=False)

    async def _all_section_translations(
        self, ids: Sequence[UUID]
    ) -> dict[UUID, list[SectionCaseTranslation]]:
        return await self._texts.section_translations_by_case_ids(ids, published_only=False)

    async def _snapshots(self, keys: Sequence[tuple[UUID, int]]) -> list[dict[str, Any] | None]:
        snapshots = await self._texts.revisions(keys)
        return [snapshots.get(key) for key in keys]

    async def _section_campaigns(self, ids: Sequence[UUID]) -> list[SectionCampaign | None]:
        found = await self._participation.by_campaign_ids(ids)
        return [found.get(campaign_id) for campaign_id in ids]

    async def _campaigns_by_year(self, years: Sequence[int]) -> list[Campaign | None]:
        found = await self._campaigns.by_years(years)
        return [found.get(year) for year in years]

    async def _campaigns_by_id(self, ids: Sequence[UUID]) -> list[Campaign | None]:
        found = await self._campaigns.by_ids(ids)
        return [found.get(campaign_id) for campaign_id in ids]

    async def _case_totals(self, keys: Sequence[tuple[UUID | None, UUID]]) -> list[Amounts]:
        """One statement per distinct campaign asked for (usually one)."""
        found: dict[tuple[UUID | None, UUID], Amounts] = {}
        for campaign_id in dict.fromkeys(campaign for campaign, _ in keys):
            case_ids = [case_id for campaign, case_id in keys if campaign == campaign_id]
            totals = await self._totals.case_totals(campaign_id, case_ids)
            found.update({(campaign_id, case_id): totals[case_id] for case_id in case_ids})
        return [found[key] for key in keys]

    async def _campaign_totals(self, ids: Sequence[UUID]) -> list[Amounts]:
        totals = await self._totals.campaign_totals(ids)
        return [totals[campaign_id] for campaign_id in ids]

    async def _featured(self, ids: Sequence[UUID]) -> list[list[UUID]]:
        featured = await self._participation.featured_case_ids(ids)
        return [featured[campaign_id] for campaign_id in ids]
