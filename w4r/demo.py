"""The demo data: sections, campaigns, cases with outcomes, and translations.

Everything goes through the same services as the API, each write in the scope it belongs
to (the global scope for the IS record, each section's scope for its translations), and
whatever already exists is left as it is, so loading twice changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from w4r.campaigns.service import CampaignService
from w4r.cases.demo_content import DEMO_CAMPAIGNS, DEMO_CASES, DemoCase
from w4r.cases.service import CaseService
from w4r.platform.database import Database, TenantBinding
from w4r.tenants.demo import load_demo_sections
from w4r.tenants.service import SectionService
from w4r.translations.service import TranslationService


@dataclass
class DemoReport:
    sections: list[str] = field(default_factory=list)
    campaigns: list[int] = field(default_factory=list)
    cases: list[str] = field(default_factory=list)
    translations: int = 0

    @property
    def is_empty(self) -> bool:
        return not (self.sections or self.campaigns or self.cases or self.translations)

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
