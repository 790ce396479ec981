"""Rules about campaigns and a section's participation in them."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from w4r.campaigns.drafts import CampaignDraft, SectionCampaignDraft
from w4r.campaigns.models import Campaign, CampaignStatus, SectionCampaign
from w4r.campaigns.repository import CampaignRepository, SectionCampaignRepository
from w4r.cases.models import CaseStatus
from w4r.cases.repository import CaseFilterSpec, CaseRepository
from w4r.platform.database import TenantBinding
from w4r.platform.errors import InvalidInputError, ProblemCode
from w4r.platform.validation import Problems

MIN_YEAR = 1991
MAX_YEAR = 2200
MAX_FEATURED = 50
_PUBLISHED = CaseFilterSpec(status=CaseStatus.PUBLISHED)


def _check_campaign(draft: CampaignDraft, problems: Problems) -> dict[str, Any]:
    if not MIN_YEAR <= draft.year <= MAX_YEAR:
        problems.add("year", ProblemCode.INVALID, f"A year between {MIN_YEAR} and {MAX_YEAR}.")
    name = problems.required_text(draft.name, "name", max_length=200)
    if (draft.starts_on is None) != (draft.ends_on is None):
        problems.add("endsOn", ProblemCode.REQUIRED, "Give both ends of the window, or neither.")
    elif draft.starts_on and draft.ends_on and draft.ends_on < draft.starts_on:
        problems.add("endsOn", ProblemCode.INVALID, "The window ends before it starts.")
    if (draft.action_days_start is None) != (draft.action_days_end is None):
        problems.add(
            "actionDaysEnd", ProblemCode.REQUIRED, "Give both ends of the action days, or neither."
        )
    elif (
        draft.action_days_start
        and draft.action_days_end
        and draft.action_days_end < draft.action_days_start
    ):
        problems.add("actionDaysEnd", ProblemCode.INVALID, "The action days end before they start.")
    if (
        draft.reporting_deadline is not None
        and draft.ends_on is not None
        and draft.reporting_deadline < draft.ends_on
    ):
        problems.add(
            "reportingDeadline",
            ProblemCode.INVALID,
            "The reporting deadline falls before the campaign window ends.",
        )
    if draft.goal_actions is not None and draft.goal_actions <= 0:
        problems.add("goalActions", ProblemCode.INVALID, "A goal is a positive number of actions.")
    return {
        "year": draft.year,
        "name": name,
        "starts_on": draft.starts_on,
        "ends_on": draft.ends_on,
        "action_days_start": draft.action_days_start,
        "action_days_end": draft.action_days_end,
        "reporting_deadline": draft.reporting_deadline,
        "goal_actions": draft.goal_actions,
        "goal_description": problems.text(
            draft.goal_description, "goalDescription", max_length=500
        ),
        "status": draft.status,
    }


class CampaignService:
    def __init__(self, session: AsyncSession) -> None:
        self._campaigns = CampaignRepository(session)

    async def get(self, year: int, *, include_drafts: bool) -> Campaign | None:
        campaign = await self._campaigns.get_by_year(year)
        if campaign is None or (campaign.status is CampaignStatus.DRAFT and not include_drafts):
            return None
        return campaign

    async def page(
        self, *, include_drafts: bool, before_year: int | None, limit: int
    ) -> list[Campaign]:
        return await self._campaigns.page(
            include_drafts=include_drafts, before_year=before_year, limit=limit
        )

    async def create(self, draft: CampaignDraft) -> Campaign:
        problems = Problems()
        values = _check_campaign(draft, problems)
        problems.raise_any()
        if await self._campaigns.get_by_year(draft.year) is not None:
            raise InvalidInputError.one(
                "year", ProblemCode.ALREADY_EXISTS, f"The {draft.year} campaign exists."
            )
        try:
            return await self._campaigns.insert(**values)
        except IntegrityError as error:
            raise InvalidInputError.one(
                "year", ProblemCode.ALREADY_EXISTS, f"The {draft.year} campaign exists."
            ) from error

    async def update(self, campaign: Campaign, changes: dict[str, Any]) -> Campaign:
        """Apply ``changes`` (draft field names; absent fields stay) and check the result."""
        current = CampaignDraft(
            year=campaign.year,
            name=campaign.name,
            starts_on=campaign.starts_on,
            ends_on=campaign.ends_on,
            status=campaign.status,
            action_days_start=campaign.action_days_start,
            action_days_end=campaign.action_days_end,
            reporting_deadline=campaign.reporting_deadline,
            goal_actions=campaign.goal_actions,
            goal_description=campaign.goal_description,
        )
        problems = Problems()
        values = _check_campaign(replace(current, **changes), problems)
        problems.raise_any()
        values.pop("year")
        return await self._campaigns.update(campaign, **values)


class SectionCampaignService:
    """The bound section's participation in a campaign."""

    def __init__(self, session: AsyncSession, binding: TenantBinding) -> None:
        self._binding = binding
        self._campaigns = CampaignRepository(session)
        self._participation = SectionCampaignRepository(session)
        self._cases = CaseRepository(session)

    async def participates(self, year: int) -> bool:
        campaign = await self._campaigns.get_by_year(year)
        return campaign is not None and await self._participation.get(campaign.id) is not None

    async def update(self, draft: SectionCampaignDraft) -> tuple[Campaign, SectionCampaign]:
        if self._binding.section_id is None:
            raise InvalidInputError.one(
                None,
                ProblemCode.OUT_OF_SCOPE,
                "A section takes part in a campaign: call this at /s/<code>/graphql.",
            )
        problems = Problems()
        campaign = await self._campaigns.get_by_year(draft.year)
        if campaign is None or campaign.status is CampaignStatus.DRAFT:
            raise InvalidInputError.one(
                "year", ProblemCode.NOT_FOUND, f"There is no {draft.year} campaign."
            )
        if (draft.starts_on is None) != (draft.ends_on is None):
            problems.add(
                "endsOn",
                ProblemCode.REQUIRED,
                "Give both ends of the section's window, or neither.",
            )
        elif (
            draft.starts_on is not None
            and draft.ends_on is not None
            and draft.ends_on < draft.starts_on
        ):
            problems.add("endsOn", ProblemCode.INVALID, "The window ends before it starts.")
        slugs = list(dict.fromkeys(slug.strip().lower() for slug in draft.featured_case_slugs))
        if len(slugs) > MAX_FEATURED:
            problems.add("featuredCaseSlugs", ProblemCode.INVALID, f"At most {MAX_FEATURED} cases.")
        cases = await self._cases.by_slugs(slugs)
        in_campaign = await self._cases.page(
            campaign_id=campaign.id,
            spec=_PUBLISHED,
            include_drafts=False,
            after=None,
            limit=10_000,
        )
        campaign_case_ids = {row.case.id for row in in_campaign}
        for slug in slugs:
            case = cases.get(slug)
            if case is None or case.id not in campaign_case_ids:
                problems.add(
                    "featuredCaseSlugs",
                    ProblemCode.NOT_FOUND,
                    f"{slug!r} is not a published case of the {draft.year} campaign.",
                )
        problems.raise_any()
        participation = await self._participation.save(
            campaign.id, starts_on=draft.starts_on, ends_on=draft.ends_on
        )
        await self._participation.replace_featured(campaign.id, [cases[slug].id for slug in slugs])
        return campaign, participation
