"""Rules about case texts: validation, revisions, translations, and what changed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from w4r.cases.drafts import TextDraft
from w4r.cases.models import Case
from w4r.platform.database import TenantBinding
from w4r.platform.errors import InvalidInputError, ProblemCode
from w4r.platform.validation import Problems
from w4r.translations.models import TEXT_FIELDS, CaseText, SectionCaseTranslation, TextStatus
from w4r.translations.repository import TextRepository

TEXT_LIMITS: Final = {
    "title": 200,
    "summary": 1_000,
    "story": 20_000,
    "demands": 5_000,
    "letter_guidance": 5_000,
    "sample_letter": 20_000,
    "image_alt": 500,
}
SINGLE_LINE_FIELDS: Final = frozenset({"title", "image_alt"})

Translation = CaseText | SectionCaseTranslation


def camel(field: str) -> str:
    head, *rest = field.split("_")
    return head + "".join(part.title() for part in rest)


def validate_text(draft: TextDraft, problems: Problems, prefix: str = "") -> dict[str, Any]:
    """The draft's fields, cleaned; problems are reported under ``prefix`` + camelCase."""
    values: dict[str, Any] = {}
    for field in TEXT_FIELDS:
        check = problems.required_text if field in ("title", "summary") else problems.text
        values[field] = check(
            getattr(draft, field),
            prefix + camel(field),
            max_length=TEXT_LIMITS[field],
            multiline=field not in SINGLE_LINE_FIELDS,
        )
    return values


@dataclass(frozen=True, slots=True)
class FieldChange:
    field: str
    before: str | None
    after: str | None


def changes_between(before: dict[str, Any], after: dict[str, Any]) -> list[FieldChange]:
    return [
        FieldChange(field, before.get(field), after.get(field))
        for field in TEXT_FIELDS
        if before.get(field) != after.get(field)
    ]


class Revisioned(Protocol):
    @property
    def source_revision(self) -> int: ...


def is_outdated(translation: Revisioned, case: Case) -> bool:
    return translation.source_revision < case.source_revision


def missing_fields(translation: Translation | None, source: CaseText) -> list[str]:
    """Fields the source has and the translation leaves empty (camelCase)."""
    return [
        camel(field)
        for field in TEXT_FIELDS
        if getattr(source, field) and (translation is None or not getattr(translation, field))
    ]


class TranslationService:
    """IS official translations in the global scope, the bound section's otherwise."""

    def __init__(
        self,
        session: AsyncSession,
        binding: TenantBinding,
        section_languages: Sequence[str] = (),
    ) -> None:
        self._texts = TextRepository(session)
        self._binding = binding
        self._section_languages = tuple(section_languages)

    @property
    def is_section_scope(self) -> bool:
        return self._binding.section_id is not None

    def _language(self, case: Case, language: str, problems: Problems) -> str:
        tag = problems.language(language, "language")
        if problems.items:
            return tag
        if self.is_section_scope and tag not in self._section_languages:
            problems.add(
                "language",
                ProblemCode.OUT_OF_SCOPE,
                f"{tag!r} is not one of this section's languages "
                f"({', '.join(self._section_languages)}).",
            )
        if not self.is_section_scope and tag == case.source_language:
            problems.add(
                "language",
                ProblemCode.INVALID,
                f"{tag!r} is the case's source language: change the source with caseUpdate.",
            )
        return tag

    async def upsert(
        self, case: Case, language: str, draft: TextDraft, *, is_machine_translated: bool
    ) -> Translation:
        """Create or replace a translation (as a draft), made from the current source."""
        problems = Problems()
        tag = self._language(case, language, problems)
        values = validate_text(draft, problems)
        problems.raise_any()
        now = datetime.now(UTC)
        changes = {
            **values,
            "is_machine_translated": is_machine_translated,
            "source_revision": case.source_revision,
            "status": TextStatus.DRAFT,
            "published_at": None,
            "updated_at": now,
        }
        if self.is_section_scope:
            existing = await self._texts.section_translation(case.id, tag)
            if existing is None:
                return await self._texts.add_section_translation(
                    case_id=case.id, language=tag, **changes
                )
            return await self._texts.update_section_translation(existing, **changes)
        official = await self._texts.is_text(case.id, tag)
        if official is None:
            return await self._texts.add_is_text(
                case_id=case.id, language=tag, is_source=False, **changes
            )
        return await self._texts.update_is_text(official, **changes)

    async def publish(self, case: Case, language: str) -> Translation:
        problems = Problems()
        tag = self._language(case, language, problems)
        problems.raise_any()
        translation: Translation | None
        if self.is_section_scope:
            translation = await self._texts.section_translation(case.id, tag)
        else:
            translation = await self._texts.is_text(case.id, tag)
        if translation is None:
            raise InvalidInputError.one(
                "language",
                ProblemCode.NOT_FOUND,
                f"There is no {tag!r} translation of {case.slug!r} to publish; write it with "
                "caseTranslationUpsert first.",
            )
        if is_outdated(translation, case):
            raise InvalidInputError.one(
                "language",
                ProblemCode.OUTDATED,
                f"The {tag!r} translation was made from an older source text; update it "
                "with caseTranslationUpsert (see sourceChanges), then publish.",
            )
        values = {"status": TextStatus.PUBLISHED, "published_at": datetime.now(UTC)}
        if isinstance(translation, SectionCaseTranslation):
            return await self._texts.update_section_translation(translation, **values)
        return await self._texts.update_is_text(translation, **values)
