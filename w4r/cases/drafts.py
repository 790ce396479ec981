"""What a caller gives to create or change a case (validated by the services)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from w4r.cases.models import DatePrecision, OutcomeKind, SubjectKind, Theme


@dataclass(frozen=True, slots=True)
class TextDraft:
    """A case's translatable text in one language. ``title`` and ``summary`` are required."""

    title: str
    summary: str
    story: str | None = None
    demands: str | None = None
    letter_guidance: str | None = None
    sample_letter: str | None = None
    image_alt: str | None = None


@dataclass(frozen=True, slots=True)
class AppealTargetDraft:
    name: str
    title: str | None = None
    organisation: str | None = None
    postal_address: str | None = None
    email: str | None = None
    salutation: str | None = None
    letter_language: str | None = None


@dataclass(frozen=True, slots=True)
class SolidarityRecipientDraft:
    name: str
    postal_address: str | None = None
    guidance: str | None = None


@dataclass(frozen=True, slots=True)
class OutcomeDraft:
    occurred_on: date
    date_precision: DatePrecision
    kind: OutcomeKind
    description: str


@dataclass(frozen=True, slots=True)
class CaseDraft:
    slug: str
    subject_kind: SubjectKind
    subject_name: str
    country: str
    themes: Sequence[Theme]
    source_language: str
    source_text: TextDraft
    campaign_years: Sequence[int] = ()
    appeal_targets: Sequence[AppealTargetDraft] = ()
    solidarity_recipients: Sequence[SolidarityRecipientDraft] = ()
    image_url: str | None = None
    image_credit: str | None = None
    internal_notes: str | None = None


@dataclass(frozen=True, slots=True)
class CaseChanges:
    """Fields to change; None leaves a field as it is. Lists given replace the old ones."""

    subject_kind: SubjectKind | None = None
    subject_name: str | None = None
    country: str | None = None
    themes: Sequence[Theme] | None = None
    source_text: TextDraft | None = None
    campaign_years: Sequence[int] | None = None
    appeal_targets: Sequence[AppealTargetDraft] | None = None
    solidarity_recipients: Sequence[SolidarityRecipientDraft] | None = None
    image_url: str | None = None
    image_credit: str | None = None
    internal_notes: str | None = None
