"""The demo sections: six national sections, two of them in more than one language."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from w4r.tenants.service import SectionDraft, SectionService

DEMO_SECTIONS: tuple[SectionDraft, ...] = (
    SectionDraft(
        code="gb",
        name="Amnesty International UK",
        country="GB",
        languages=("en",),
        time_zone="Europe/London",
        hosts=("gb.localhost",),
    ),
    SectionDraft(
        code="us",
        name="Amnesty International USA",
        country="US",
        languages=("en", "es"),
        time_zone="America/New_York",
        hosts=("us.localhost",),
    ),
    SectionDraft(
        code="au",
        name="Amnesty International Australia",
        country="AU",
        languages=("en",),
        time_zone="Australia/Sydney",
        hosts=("au.localhost",),
    ),
    SectionDraft(
        code="pl",
        name="Amnesty International Polska",
        country="PL",
        languages=("pl",),
        time_zone="Europe/Warsaw",
        hosts=("pl.localhost",),
    ),
    SectionDraft(
        code="fr",
        name="Amnesty International France",
        country="FR",
        languages=("fr",),
        time_zone="Europe/Paris",
        hosts=("fr.localhost",),
    ),
    SectionDraft(
        code="ca",
        name="Amnesty International Canada",
        country="CA",
        languages=("en-CA", "fr-CA"),
        time_zone="America/Toronto",
        hosts=("ca.localhost",),
    ),
)


async def load_demo_sections(session: AsyncSession) -> list[str]:
    """Create the demo sections that are absent; return the codes created."""
    service = SectionService(session)
    created: list[str] = []
    for draft in DEMO_SECTIONS:
        if await service.get_by_code(draft.code) is None:
            await service.create(draft)
            created.append(draft.code)
    return created
