"""The demo data: sections, campaigns, cases with outcomes, and translations.

Everything goes through the same services as the API, each write in the scope it belongs
to (the global scope for the IS record, each section's scope for its translations), and
whatever already exists is left as it is, so loading twice changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from w4r.campaigns.drafts import SectionCampaignDraft
from w4r.campaigns.service import CampaignService, SectionCampaignService
from w4r.cases.demo_content import DEMO_CAMPAIGNS, DEMO_CASES, DemoCase
from w4r.cases.repository import CaseFilterSpec
from w4r.cases.service import CaseService
from w4r.events.demo_content import DEMO_EVENTS, window
from w4r.events.drafts import EventDraft, EventSearch
from w4r.events.models import EventStatus
from w4r.events.repository import EventRepository
from w4r.events.service import EventService, SectionInfo
from w4r.platform.auth import Principal, Role
from w4r.platform.database import Database, TenantBinding
from w4r.tenants.demo import DEMO_SECTIONS, load_demo_sections
from w4r.tenants.models import Section
from w4r.tenants.service import SectionService
from w4r.totals.demo_content import DEMO_CASE_TOTALS, DEMO_YEAR_TOTALS
from w4r.totals.service import HistoryService
from w4r.translations.service import TranslationService


@dataclass
class DemoReport:
    sections: list[str] = field(default_factory=list)
    campaigns: list[int] = field(default_factory=list)
    cases: list[str] = field(default_factory=list)
    translations: int = 0
    histories: int = 0
    participations: list[str] = field(default_factory=list)
    events: int = 0

    @property
    def is_empty(self) -> bool:
        return not (
            self.sections
            or self.campaigns
            or self.cases
            or self.translations
            or self.histories
            or self.participations
            or self.events
        )

    def describe(self) -> str:
        if self.is_empty:
            return "Demo data already there."
        parts = []
        if self.sections:
            parts.append(f"sections {', '.join(self.sections)}")
        if self.campaigns:
            parts.append(f"campaigns {', '.join(str(year) for year in self.campaigns)}")
        if self.cases:
            parts.append(f"{len(self.cases)} cases")
        if self.translations:
            parts.append(f"{self.translations} translations")
        if self.histories:
            parts.append(f"{self.histories} historic totals")
        if self.events:
            parts.append(f"{self.events} events")
        if self.participations:
            parts.append(f"{CURRENT_YEAR} participation of {', '.join(self.participations)}")
        return "Demo data loaded: " + "; ".join(parts)


async def load_demo(database: Database) -> DemoReport:
    report = DemoReport()
    async with database.session(TenantBinding.global_scope()) as session:
        report.sections = await load_demo_sections(session)
        campaigns = CampaignService(session)
        for draft in DEMO_CAMPAIGNS:
            if await campaigns.get(draft.year, include_drafts=True) is None:
                await campaigns.create(draft)
                report.campaigns.append(draft.year)
        cases = CaseService(session)
        new_cases = [demo for demo in DEMO_CASES if await _create_case(cases, demo)]
        report.cases = [demo.case.slug for demo in new_cases]
        # The IS's official translations, in the global scope.
        for demo in new_cases:
            report.translations += await _translate(
                session, TenantBinding.global_scope(), demo, None
            )
        await session.commit()
        sections = {
            section.code: section
            for section in await SectionService(session).page(after_code=None, limit=10_000)
        }
    # Each section's translations, in that section's scope.
    report.histories = await _load_history(database)
    report.participations = await _take_part(database, sections.values())
    report.events = await _load_events(database, sections)
    codes = {item.section_code for demo in new_cases for item in demo.translations}
    for code in sorted(code for code in codes if code is not None):
        section = sections.get(code)
        if section is None:
            continue
        binding = TenantBinding.for_section(section.id)
        async with database.session(binding) as session:
            for demo in new_cases:
                report.translations += await _translate(
                    session, binding, demo, code, languages=tuple(section.languages)
                )
            await session.commit()
    return report


async def _create_case(service: CaseService, demo: DemoCase) -> bool:
    if await service.get_by_slug(demo.case.slug, include_drafts=True) is not None:
        return False
    case = await service.create(demo.case)
    for outcome in demo.outcomes:
        await service.add_outcome(case, outcome)
    if demo.is_published:
        await service.publish(case)
    return True


async def _translate(
    session: AsyncSession,
    binding: TenantBinding,
    demo: DemoCase,
    section_code: str | None,
    languages: tuple[str, ...] = (),
) -> int:
    """Write (and publish, where the demo says so) the demo's translations by one author:
    the IS (``section_code`` None) or one section."""
    cases = CaseService(session)
    service = TranslationService(session, binding, section_languages=languages)
    case = await cases.get_by_slug(demo.case.slug, include_drafts=True)
    assert case is not None
    written = 0
    for translation in demo.translations:
        if translation.section_code != section_code:
            continue
        await service.upsert(
            case,
            translation.language,
            translation.text,
            is_machine_translated=translation.is_machine_translated,
        )
        if translation.is_published:
            await service.publish(case, translation.language)
        written += 1
    return written


CURRENT_YEAR = 2025
"""The demo sections take part in this campaign, featuring all its published cases."""


async def _load_history(database: Database) -> int:
    """The published yearly and per-case totals that are absent."""
    written = 0
    async with database.session(TenantBinding.global_scope()) as session:
        history = HistoryService(session)
        known_years = await history.years()
        for year in DEMO_YEAR_TOTALS:
            if year.year not in known_years:
                await history.add_year(
                    year.year, year.quantity, year.qualifier, year.counted, year.source
                )
                written += 1
        cases = CaseService(session)
        for slug in dict.fromkeys(total.case_slug for total in DEMO_CASE_TOTALS):
            case = await cases.get_by_slug(slug, include_drafts=True)
            if case is None or await history.has_case_totals(case.id):
                continue
            for total in DEMO_CASE_TOTALS:
                if total.case_slug == slug:
                    await history.add_case_total(
                        case.id,
                        campaign_year=total.campaign_year,
                        country=total.country,
                        quantity=total.quantity,
                        qualifier=total.qualifier,
                        counted=total.counted,
                        source=total.source,
                    )
                    written += 1
        await session.commit()
    return written


async def _take_part(database: Database, sections: Iterable[Section]) -> list[str]:
    """Each demo section not yet in the current campaign joins it, featuring its cases."""
    joined = []
    async with database.session(TenantBinding.global_scope()) as session:
        campaign = await CampaignService(session).get(CURRENT_YEAR, include_drafts=False)
        if campaign is None:
            return []
        rows = await CaseService(session).page(
            campaign=campaign,
            spec=CaseFilterSpec(),
            include_drafts=False,
            after=None,
            limit=1000,
        )
        slugs = [row.case.slug for row in rows]
    demo_codes = {draft.code for draft in DEMO_SECTIONS}
    for section in sections:
        if section.code not in demo_codes:
            continue
        binding = TenantBinding.for_section(section.id)
        async with database.session(binding) as session:
            service = SectionCampaignService(session, binding)
            if await service.participates(CURRENT_YEAR):
                continue
            await service.update(SectionCampaignDraft(year=CURRENT_YEAR, featured_case_slugs=slugs))
            await session.commit()
            joined.append(section.code)
    return joined


async def _load_events(database: Database, sections: dict[str, Section]) -> int:
    """The demo events of each demo section that has no event yet, published."""
    written = 0
    today = datetime.now(UTC).date()
    async with database.session(TenantBinding.global_scope()) as session:
        slugs = {slug for event in DEMO_EVENTS for slug in event.case_slugs}
        cases = {
            slug: case
            for slug in slugs
            if (case := await CaseService(session).get_by_slug(slug, include_drafts=False))
        }
    for code in dict.fromkeys(event.section_code for event in DEMO_EVENTS):
        section = sections.get(code)
        if section is None:
            continue
        binding = TenantBinding.for_section(section.id)
        organiser = Principal(role=Role.SECTION_ADMIN, subject="demo", section_code=code)
        async with database.session(binding) as session:
            service = EventService(
                session,
                SectionInfo(
                    section_id=section.id,
                    languages=tuple(section.languages),
                    time_zone=section.time_zone,
                    grace_days=0,
                ),
                organiser,
            )
            if await EventRepository(session).search(
                EventSearch(), statuses=list(EventStatus), host_subject=None, after=None, limit=1
            ):
                continue
            for demo in DEMO_EVENTS:
                if demo.section_code != code:
                    continue
                starts_at, ends_at = window(demo, today)
                event = await service.create(
                    EventDraft(
                        campaign_year=CURRENT_YEAR,
                        format=demo.format,
                        language=demo.language,
                        texts=demo.texts,
                        starts_at=starts_at,
                        ends_at=ends_at,
                        time_zone=demo.time_zone,
                        organiser_name=demo.organiser_name,
                        venue_name=demo.venue_name,
                        street_address=demo.street_address,
                        city=demo.city,
                        country=demo.country,
                        latitude=demo.latitude,
                        longitude=demo.longitude,
                        online_url=demo.online_url,
                        capacity=demo.capacity,
                        address_visibility=demo.address_visibility,
                        case_ids=[cases[slug].id for slug in demo.case_slugs if slug in cases],
                    )
                )
                await service.publish(event.id)
                written += 1
            await session.commit()
    return written
