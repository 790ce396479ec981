"""GraphQL inputs of case and translation mutations."""

from __future__ import annotations

from datetime import date
from uuid import UUID

import strawberry

from w4r.cases.drafts import AppealTargetDraft, SolidarityRecipientDraft, TextDraft
from w4r.schema.cases.types import (
    CaseStatusEnum,
    DatePrecisionEnum,
    OutcomeKindEnum,
    SubjectKindEnum,
    ThemeEnum,
)


@strawberry.input(description="A case's text in one language; title and summary required.")
class CaseTextInput:
    title: str
    summary: str
    story: str | None = None
    demands: str | None = None
    letter_guidance: str | None = None
    sample_letter: str | None = None
    image_alt: str | None = None

    def to_draft(self) -> TextDraft:
        return TextDraft(
            title=self.title,
            summary=self.summary,
            story=self.story,
            demands=self.demands,
            letter_guidance=self.letter_guidance,
            sample_letter=self.sample_letter,
            image_alt=self.image_alt,
        )


@strawberry.input
class AppealTargetInput:
    name: str
    title: str | None = None
    organisation: str | None = None
    postal_address: str | None = None
    email: str | None = None
    salutation: str | None = None
    letter_language: str | None = None

    def to_draft(self) -> AppealTargetDraft:
        return AppealTargetDraft(
            name=self.name,
            title=self.title,
            organisation=self.organisation,
            postal_address=self.postal_address,
            email=self.email,
            salutation=self.salutation,
            letter_language=self.letter_language,
        )


@strawberry.input
class SolidarityRecipientInput:
    name: str
    postal_address: str | None = None
    guidance: str | None = None

    def to_draft(self) -> SolidarityRecipientDraft:
        return SolidarityRecipientDraft(
            name=self.name, postal_address=self.postal_address, guidance=self.guidance
        )


@strawberry.input
class CaseCreateInput:
    slug: str = strawberry.field(description="Unique, e.g. 'rocky-myers'.")
    subject_kind: SubjectKindEnum  # type: ignore[valid-type]
    subject_name: str
    country: str = strawberry.field(description="ISO 3166-1 alpha-2.")
    themes: list[ThemeEnum]  # type: ignore[valid-type]
    source_language: str = strawberry.field(description="BCP 47, e.g. 'en'.")
    source_text: CaseTextInput
    campaign_years: list[int] = strawberry.field(default_factory=list)
    appeal_targets: list[AppealTargetInput] = strawberry.field(default_factory=list)
    solidarity_recipients: list[SolidarityRecipientInput] = strawberry.field(default_factory=list)
    image_url: str | None = None
    image_credit: str | None = None
    internal_notes: str | None = None


@strawberry.input(
    description="Fields left out (or null) stay as they are; lists given replace the old "
    "ones; an empty string clears an optional text."
)
class CaseUpdateInput:
    id: UUID
    subject_kind: SubjectKindEnum | None = None  # type: ignore[valid-type]
    subject_name: str | None = None
    country: str | None = None
    themes: list[ThemeEnum] | None = None  # type: ignore[valid-type]
    source_text: CaseTextInput | None = strawberry.field(
        default=None,
        description="A changed source text makes every translation made from the old one outdated.",
    )
    campaign_years: list[int] | None = None
    appeal_targets: list[AppealTargetInput] | None = None
    solidarity_recipients: list[SolidarityRecipientInput] | None = None
    image_url: str | None = None
    image_credit: str | None = None
    internal_notes: str | None = None


@strawberry.input
class CasePublishInput:
    id: UUID


@strawberry.input
class CaseOutcomeAddInput:
    case_id: UUID
    occurred_on: date
    date_precision: DatePrecisionEnum  # type: ignore[valid-type]
    kind: OutcomeKindEnum  # type: ignore[valid-type]
    description: str


@strawberry.input
class CaseFilter:
    country: str | None = None
    theme: ThemeEnum | None = None  # type: ignore[valid-type]
    status: CaseStatusEnum | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="Drafts are visible to IS staff only."
    )
    has_outcome: bool | None = None


@strawberry.input
class CaseTranslationUpsertInput:
    case_id: UUID
    language: str = strawberry.field(
        description="At a section's endpoint one of its languages; in the global scope an "
        "official IS translation."
    )
    text: CaseTextInput
    is_machine_translated: bool = False


@strawberry.input
class CaseTranslationPublishInput:
    case_id: UUID
    language: str
