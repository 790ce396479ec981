"""GraphQL types of case texts: what a reader is served, and what an admin manages."""

from __future__ import annotations

import enum
from datetime import datetime

import strawberry

from w4r.cases.models import Case
from w4r.schema.context import Info
from w4r.translations.fallback import Served, TextOrigin
from w4r.translations.models import TEXT_FIELDS, CaseText, SectionCaseTranslation, TextStatus
from w4r.translations.repository import ServableText
from w4r.translations.service import (
    Translation,
    camel,
    changes_between,
    is_outdated,
    missing_fields,
)

TextOriginEnum = strawberry.enum(TextOrigin, name="TextOrigin")


@strawberry.enum(name="TranslationStatus")
class TranslationStatus(enum.Enum):
    MISSING = "missing"
    """No translation into this language yet."""
    DRAFT = "draft"
    PUBLISHED = "published"
    OUTDATED = "outdated"
    """Made from an older source text: see sourceChanges, update, publish again."""


@strawberry.type(
    name="CaseText", description="A case's text in the language served, and where it came from."
)
class ServedCaseText:
    language: str = strawberry.field(description="The language actually served (BCP 47).")
    requested_language: str | None = strawberry.field(
        description="The first language asked for (argument, Accept-Language or default)."
    )
    is_fallback: bool = strawberry.field(
        description="True when the language served is not the one first asked for."
    )
    origin: TextOriginEnum  # type: ignore[valid-type]
    is_machine_translated: bool
    is_outdated: bool = strawberry.field(
        description="A translation made from an older version of the source text."
    )
    title: str
    summary: str
    story: str | None
    demands: str | None
    letter_guidance: str | None
    sample_letter: str | None
    image_alt: str | None

    @classmethod
    def from_served(cls, served: Served[ServableText], case: Case) -> ServedCaseText:
        text = served.text
        return cls(
            language=served.language,
            requested_language=served.requested_language,
            is_fallback=served.is_fallback,
            origin=served.origin,
            is_machine_translated=text.is_machine_translated,
            is_outdated=served.origin is not TextOrigin.SOURCE and is_outdated(text, case),
            **text.fields(),
        )


@strawberry.type(description="A field of the source text that changed since a translation.")
class SourceChange:
    field: str
    before: str | None
    after: str | None


@strawberry.type(name="CaseTranslation", description="One language of a case, for admins.")
class CaseTranslationNode:
    language: str
    origin: TextOriginEnum  # type: ignore[valid-type]
    status: TranslationStatus
    is_published: bool
    is_machine_translated: bool
    source_revision: int | None = strawberry.field(
        description="The source revision the translation was made from."
    )
    updated_at: datetime | None
    published_at: datetime | None
    title: str | None
    summary: str | None
    story: str | None
    demands: str | None
    letter_guidance: str | None
    sample_letter: str | None
    image_alt: str | None
    missing_fields: list[str] = strawberry.field(
        description="Fields the source text has and this translation leaves empty."
    )
    _case: strawberry.Private[Case]

    @classmethod
    def build(
        cls,
        translation: Translation | None,
        language: str,
        origin: TextOrigin,
        case: Case,
        source: CaseText,
    ) -> CaseTranslationNode:
        if translation is None:
            return cls(
                language=language,
                origin=origin,
                status=TranslationStatus.MISSING,
                is_published=False,
                is_machine_translated=False,
                source_revision=None,
                updated_at=None,
                published_at=None,
                missing_fields=missing_fields(None, source),
                _case=case,
                **dict.fromkeys(TEXT_FIELDS),
            )
        is_published = translation.status is TextStatus.PUBLISHED
        if origin is not TextOrigin.SOURCE and is_outdated(translation, case):
            status = TranslationStatus.OUTDATED
        else:
            status = TranslationStatus.PUBLISHED if is_published else TranslationStatus.DRAFT
        return cls(
            language=language,
            origin=origin,
            status=status,
            is_published=is_published,
            is_machine_translated=translation.is_machine_translated,
            source_revision=translation.source_revision,
            updated_at=translation.updated_at,
            published_at=translation.published_at,
            missing_fields=missing_fields(translation, source),
            _case=case,
            **translation.fields(),
        )

    @strawberry.field(description="What changed in the source since this translation was made.")
    async def source_changes(self, info: Info) -> list[SourceChange]:
        if self.source_revision is None or self.source_revision >= self._case.source_revision:
            return []
        loader = info.context.case_loaders.source_snapshot_by_case_revision
        before, after = await loader.load_many(
            [(self._case.id, self.source_revision), (self._case.id, self._case.source_revision)]
        )
        return [
            SourceChange(field=camel(change.field), before=change.before, after=change.after)
            for change in changes_between(before or {}, after or {})
        ]


def translation_node(
    translation: CaseText | SectionCaseTranslation, case: Case, source: CaseText
) -> CaseTranslationNode:
    if isinstance(translation, SectionCaseTranslation):
        origin = TextOrigin.SECTION
    elif translation.is_source:
        origin = TextOrigin.SOURCE
    else:
        origin = TextOrigin.INTERNATIONAL_SECRETARIAT
    return CaseTranslationNode.build(translation, translation.language, origin, case, source)
