"""All SQL about case texts, source revisions and section translations."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy import select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from w4r.platform.grouping import group_by
from w4r.translations.models import (
    TEXT_FIELDS,
    CaseSourceRevision,
    CaseText,
    SectionCaseTranslation,
    TextStatus,
)


@dataclass(frozen=True, slots=True)
class ServableText:
    """A published text as a reader is served it: plain values read with SQLAlchemy Core
    (the public case list reads one or two of these per case, never ORM objects)."""

    case_id: UUID
    language: str
    is_machine_translated: bool
    source_revision: int
    title: str
    summary: str
    story: str | None
    demands: str | None
    letter_guidance: str | None
    sample_letter: str | None
    image_alt: str | None

    def fields(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in TEXT_FIELDS}


_SERVABLE_COLUMNS = (
    "case_id",
    "language",
    "is_machine_translated",
    "source_revision",
    *TEXT_FIELDS,
)


class TextRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    # --- IS texts ------------------------------------------------------------------------

    async def is_text(self, case_id: UUID, language: str) -> CaseText | None:
        return await self._session.get(CaseText, (case_id, language))

    async def source_text(self, case_id: UUID) -> CaseText:
        result = await self._session.execute(
            select(CaseText).where(CaseText.case_id == case_id, CaseText.is_source)
        )
        return result.scalar_one()

    async def add_is_text(self, **values: Any) -> CaseText:
        text = CaseText(**values)
        self._session.add(text)
        await self._session.flush()
        await self._session.refresh(text)
        return text

    async def update_is_text(self, text: CaseText, **values: Any) -> CaseText:
        await self._session.execute(
            update(CaseText)
            .where(CaseText.case_id == text.case_id, CaseText.language == text.language)
            .values(**values)
        )
        await self._session.refresh(text)
        return text

    async def is_texts_by_case_ids(
        self, ids: Sequence[UUID], *, published_only: bool
    ) -> dict[UUID, list[CaseText]]:
        query = select(CaseText).where(CaseText.case_id.in_(ids)).order_by(CaseText.language)
        if published_only:
            query = query.where(CaseText.status == TextStatus.PUBLISHED)
        rows = (await self._session.execute(query)).scalars()
        return group_by(ids, rows, lambda text: text.case_id)

    async def servable_texts(
        self, ids: Sequence[UUID], languages: Sequence[str], *, section: bool
    ) -> dict[UUID, list[ServableText]]:
        """The published IS texts (``section`` false: official translations and the source)
        or the bound section's published translations (true) of these cases in these
        languages only: what the fallback chain of a reader's languages can serve."""
        table = (SectionCaseTranslation if section else CaseText).__table__
        query = select(*(table.c[name] for name in _SERVABLE_COLUMNS)).where(
            table.c.case_id.in_(ids),
            table.c.language.in_(languages),
            table.c.status == TextStatus.PUBLISHED,
        )
        rows = await self._session.execute(query)
        return group_by(ids, (ServableText(*row) for row in rows), lambda text: text.case_id)

    # --- source revisions ----------------------------------------------------------------

    async def add_revision(self, case_id: UUID, revision: int, fields: dict[str, Any]) -> None:
        self._session.add(CaseSourceRevision(case_id=case_id, revision=revision, fields=fields))
        await self._session.flush()

    async def revisions(
        self, keys: Sequence[tuple[UUID, int]]
    ) -> dict[tuple[UUID, int], dict[str, Any]]:
        if not keys:
            return {}

        result = await self._session.execute(
            select(CaseSourceRevision).where(
                tuple_(CaseSourceRevision.case_id, CaseSourceRevision.revision).in_(keys)
            )
        )
        return {(row.case_id, row.revision): row.fields for row in result.scalars()}

    # --- the bound section's translations (row-level security scopes them) --------------

    async def section_translation(
        self, case_id: UUID, language: str
    ) -> SectionCaseTranslation | None:
        result = await self._session.execute(
            select(SectionCaseTranslation).where(
                SectionCaseTranslation.case_id == case_id,
                SectionCaseTranslation.language == language,
            )
        )
        return result.scalar_one_or_none()

    async def add_section_translation(self, **values: Any) -> SectionCaseTranslation:
        translation = SectionCaseTranslation(**values)
        self._session.add(translation)
        await self._session.flush()
        await self._session.refresh(translation)
        return translation

    async def update_section_translation(
        self, translation: SectionCaseTranslation, **values: Any
    ) -> SectionCaseTranslation:
        await self._session.execute(
            update(SectionCaseTranslation)
            .where(
                SectionCaseTranslation.case_id == translation.case_id,
                SectionCaseTranslation.language == translation.language,
            )
            .values(**values)
        )
        await self._session.refresh(translation)
        return translation

    async def section_translations_by_case_ids(
        self, ids: Sequence[UUID], *, published_only: bool
    ) -> dict[UUID, list[SectionCaseTranslation]]:
        query = (
            select(SectionCaseTranslation)
            .where(SectionCaseTranslation.case_id.in_(ids))
            .order_by(SectionCaseTranslation.language)
        )
        if published_only:
            query = query.where(SectionCaseTranslation.status == TextStatus.PUBLISHED)
        rows = (await self._session.execute(query)).scalars()
        return group_by(ids, rows, lambda translation: translation.case_id)
