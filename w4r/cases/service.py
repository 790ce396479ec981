"""Rules about cases: validation, publication, campaigns, targets, outcomes, source text."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from w4r.campaigns.models import Campaign
from w4r.campaigns.repository import CampaignRepository
from w4r.cases.drafts import (
    AppealTargetDraft,
    CaseChanges,
    CaseDraft,
    OutcomeDraft,
    SolidarityRecipientDraft,
)
from w4r.cases.models import SLUG_PATTERN, Case, CaseOutcome, CaseStatus, DatePrecision
from w4r.cases.repository import CaseFilterSpec, CaseRepository, CaseRow
from w4r.platform.errors import InvalidInputError, ProblemCode
from w4r.platform.validation import Problems
from w4r.translations.repository import TextRepository
from w4r.translations.service import validate_text
from w4r.webhooks.service import WebhookOutbox

MAX_SLUG_LENGTH = 80
MAX_TARGETS = 20
MAX_THEMES = 10
_SLUG = re.compile(SLUG_PATTERN)


def normalize_slug(slug: str, problems: Problems) -> str:
    cleaned = slug.strip().lower()
    if not _SLUG.match(cleaned) or len(cleaned) > MAX_SLUG_LENGTH:
        problems.add(
            "slug",
            ProblemCode.INVALID,
            f"{slug!r} is not a slug: use lower-case letters and digits joined by single "
            f"hyphens, at most {MAX_SLUG_LENGTH} characters (e.g. 'rocky-myers').",
        )
    return cleaned


def _targets(targets: Sequence[AppealTargetDraft], problems: Problems) -> list[dict[str, Any]]:
    if len(targets) > MAX_TARGETS:
        problems.add("appealTargets", ProblemCode.INVALID, f"At most {MAX_TARGETS} targets.")
    cleaned = []
    for index, target in enumerate(targets):
        field = f"appealTargets.{index}."
        email = problems.text(target.email, field + "email", max_length=320)
        language = problems.text(target.letter_language, field + "letterLanguage", max_length=35)
        cleaned.append(
            {
                "name": problems.required_text(target.name, field + "name", max_length=300),
                "title": problems.text(target.title, field + "title", max_length=300),
                "organisation": problems.text(
                    target.organisation, field + "organisation", max_length=300
                ),
                "postal_address": problems.text(
                    target.postal_address, field + "postalAddress", max_length=1000, multiline=True
                ),
                "email": None if email is None else problems.email(email, field + "email"),
                "salutation": problems.text(
                    target.salutation, field + "salutation", max_length=300
                ),
                "letter_language": None
                if language is None
                else problems.language(language, field + "letterLanguage"),
            }
        )
    return cleaned


def _recipients(
    recipients: Sequence[SolidarityRecipientDraft], problems: Problems
) -> list[dict[str, Any]]:
    if len(recipients) > MAX_TARGETS:
        problems.add(
            "solidarityRecipients", ProblemCode.INVALID, f"At most {MAX_TARGETS} recipients."
        )
    return [
        {
            "name": problems.required_text(
                recipient.name, f"solidarityRecipients.{index}.name", max_length=300
            ),
            "postal_address": problems.text(
                recipient.postal_address,
                f"solidarityRecipients.{index}.postalAddress",
                max_length=1000,
                multiline=True,
            ),
            "guidance": problems.text(
                recipient.guidance,
                f"solidarityRecipients.{index}.guidance",
                max_length=2000,
                multiline=True,
            ),
        }
        for index, recipient in enumerate(recipients)
    ]


def _themes(themes: Sequence[Any], problems: Problems) -> list[str]:
    if len(themes) > MAX_THEMES:
        problems.add("themes", ProblemCode.INVALID, f"At most {MAX_THEMES} themes.")
    return list(dict.fromkeys(str(theme) for theme in themes))


class CaseService:
    def __init__(self, session: AsyncSession) -> None:
        self._cases = CaseRepository(session)
        self._campaigns = CampaignRepository(session)
        self._texts = TextRepository(session)
        self._webhooks = WebhookOutbox(session)

    # --- reading -------------------------------------------------------------------------

    async def get(self, case_id: UUID, *, include_drafts: bool) -> Case | None:
        case = await self._cases.get(case_id)
        return case if case is not None and (include_drafts or _is_public(case)) else None

    async def get_by_slug(self, slug: str, *, include_drafts: bool) -> Case | None:
        case = await self._cases.get_by_slug(slug.strip().lower())
        return case if case is not None and (include_drafts or _is_public(case)) else None

    async def page(
        self,
        *,
        campaign: Campaign | None,
        spec: CaseFilterSpec,
        include_drafts: bool,
        after: tuple[int, str] | str | None,
        limit: int,
    ) -> list[CaseRow]:
        return await self._cases.page(
            campaign_id=None if campaign is None else campaign.id,
            spec=spec,
            include_drafts=include_drafts,
            after=after,
            limit=limit,
        )

    # --- writing (IS staff) --------------------------------------------------------------

    async def _campaigns_for(self, years: Sequence[int], problems: Problems) -> list[Campaign]:
        found = await self._campaigns.by_years(list(dict.fromkeys(years)))
        for year in dict.fromkeys(years):
            if year not in found:
                problems.add(
                    "campaignYears", ProblemCode.NOT_FOUND, f"There is no {year} campaign."
                )
        return [found[year] for year in dict.fromkeys(years) if year in found]

    async def create(self, draft: CaseDraft) -> Case:
        problems = Problems()
        slug = normalize_slug(draft.slug, problems)
        subject_name = problems.required_text(draft.subject_name, "subjectName", max_length=300)
        country = problems.country(draft.country)
        themes = _themes(draft.themes, problems)
        source_language = problems.language(draft.source_language, "sourceLanguage")
        text = validate_text(draft.source_text, problems, prefix="sourceText.")
        targets = _targets(draft.appeal_targets, problems)
        recipients = _recipients(draft.solidarity_recipients, problems)
        image_url = problems.url(draft.image_url, "imageUrl")
        image_credit = problems.text(draft.image_credit, "imageCredit", max_length=300)
        notes = problems.text(
            draft.internal_notes, "internalNotes", max_length=5000, multiline=True
        )
        campaigns = await self._campaigns_for(draft.campaign_years, problems)
        problems.raise_any()
        if await self._cases.get_by_slug(slug) is not None:
            raise InvalidInputError.one(
                "slug", ProblemCode.ALREADY_EXISTS, f"A case with the slug {slug!r} exists."
            )
        try:
            case = await self._cases.insert(
                slug=slug,
                subject_kind=draft.subject_kind,
                subject_name=subject_name,
                country=country,
                themes=themes,
                source_language=source_language,
                source_revision=1,
                status=CaseStatus.DRAFT,
                image_url=image_url,
                image_credit=image_credit,
                internal_notes=notes,
            )
        except IntegrityError as error:
            raise InvalidInputError.one(
                "slug", ProblemCode.ALREADY_EXISTS, f"A case with the slug {slug!r} exists."
            ) from error
        await self._texts.add_is_text(
            case_id=case.id,
            language=source_language,
            is_source=True,
            status="published",
            source_revision=1,
            published_at=datetime.now(UTC),
            **text,
        )
        await self._texts.add_revision(case.id, 1, text)
        await self._cases.link_campaigns(case.id, [campaign.id for campaign in campaigns])
        await self._cases.replace_targets(case.id, targets)
        await self._cases.replace_recipients(case.id, recipients)
        return case

    async def update(self, case: Case, changes: CaseChanges) -> Case:
        problems = Problems()
        values: dict[str, Any] = {}
        if changes.subject_kind is not None:
            values["subject_kind"] = changes.subject_kind
        if changes.subject_name is not None:
            values["subject_name"] = problems.required_text(
                changes.subject_name, "subjectName", max_length=300
            )
        if changes.country is not None:
            values["country"] = problems.country(changes.country)
        if changes.themes is not None:
            values["themes"] = _themes(changes.themes, problems)
        if changes.image_url is not None:
            values["image_url"] = problems.url(changes.image_url, "imageUrl")
        if changes.image_credit is not None:
            values["image_credit"] = problems.text(
                changes.image_credit, "imageCredit", max_length=300
            )
        if changes.internal_notes is not None:
            values["internal_notes"] = problems.text(
                changes.internal_notes, "internalNotes", max_length=5000, multiline=True
            )
        text = (
            None
            if changes.source_text is None
            else validate_text(changes.source_text, problems, prefix="sourceText.")
        )
        targets = (
            None if changes.appeal_targets is None else _targets(changes.appeal_targets, problems)
        )
        recipients = (
            None
            if changes.solidarity_recipients is None
            else _recipients(changes.solidarity_recipients, problems)
        )
        campaigns = (
            None
            if changes.campaign_years is None
            else await self._campaigns_for(changes.campaign_years, problems)
        )
        problems.raise_any()

        if text is not None:
            source = await self._texts.source_text(case.id)
            if source.fields() != text:
                # A new revision of the source: every translation made from an older one
                # is now outdated, and the snapshot lets translators see what changed.
                revision = case.source_revision + 1
                values["source_revision"] = revision
                await self._texts.update_is_text(
                    source, **text, source_revision=revision, updated_at=datetime.now(UTC)
                )
                await self._texts.add_revision(case.id, revision, text)
        if campaigns is not None:
            current = await self._cases.campaign_ids(case.id)
            wanted = [campaign.id for campaign in campaigns]
            try:
                await self._cases.unlink_campaigns(
                    case.id, [campaign_id for campaign_id in current if campaign_id not in wanted]
                )
            except IntegrityError as error:
                # Sections' featured lists are hidden from the global scope by RLS; their
                # foreign key is what tells that a section features the case there.
                raise InvalidInputError.one(
                    "campaignYears",
                    ProblemCode.NOT_ALLOWED,
                    "A section features this case in a campaign being removed; sections must "
                    "stop featuring it first.",
                ) from error
            await self._cases.link_campaigns(
                case.id, [campaign_id for campaign_id in wanted if campaign_id not in current]
            )
        if targets is not None:
            await self._cases.replace_targets(case.id, targets)
        if recipients is not None:
            await self._cases.replace_recipients(case.id, recipients)
        return await self._cases.update(case, **values)

    async def publish(self, case: Case) -> Case:
        if case.status is CaseStatus.PUBLISHED:
            return case
        published = await self._cases.update(
            case, status=CaseStatus.PUBLISHED, published_at=datetime.now(UTC)
        )
        await self._webhooks.case_published(published)
        return published

    async def add_outcome(self, case: Case, draft: OutcomeDraft) -> CaseOutcome:
        problems = Problems()
        description = problems.required_text(
            draft.description, "description", max_length=2000, multiline=True
        )
        occurred_on = _start_of(draft.occurred_on, draft.date_precision)
        if occurred_on > datetime.now(UTC).date() + timedelta(days=1):
            problems.add(
                "occurredOn", ProblemCode.INVALID, "An outcome cannot be dated in the future."
            )
        problems.raise_any()
        outcome = await self._cases.add_outcome(
            case_id=case.id,
            occurred_on=occurred_on,
            date_precision=draft.date_precision,
            kind=draft.kind,
            description=description,
        )
        await self._webhooks.case_outcome_added(case, outcome)
        return outcome


def _is_public(case: Case) -> bool:
    return case.status is CaseStatus.PUBLISHED


def _start_of(day: date, precision: DatePrecision) -> date:
    """The date stored for a precision: the first day of the month or year stated."""
    if precision is DatePrecision.YEAR:
        return day.replace(month=1, day=1)
    if precision is DatePrecision.MONTH:
        return day.replace(day=1)
    return day
