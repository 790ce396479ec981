"""The global case record (IS-owned): cases, their campaigns, targets, recipients, outcomes."""

from __future__ import annotations

import enum
from datetime import date, datetime
from uuid import UUID

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from w4r.platform.enums import value_enum
from w4r.platform.models import Base, Timestamped

SLUG_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"


class CaseStatus(enum.StrEnum):
    DRAFT = "draft"
    """Visible to IS staff only."""
    PUBLISHED = "published"


class SubjectKind(enum.StrEnum):
    PERSON = "person"
    GROUP = "group"


class Theme(enum.StrEnum):
    """What a case is about. Values are API: never rename one."""

    DEATH_PENALTY = "death-penalty"
    FREEDOM_OF_EXPRESSION = "freedom-of-expression"
    RIGHT_TO_PROTEST = "right-to-protest"
    ENVIRONMENT = "environment"
    WOMENS_RIGHTS = "womens-rights"
    REFUGEES_AND_MIGRANTS = "refugees-and-migrants"
    LGBTI_RIGHTS = "lgbti-rights"
    INDIGENOUS_PEOPLES = "indigenous-peoples"
    SEXUAL_AND_REPRODUCTIVE_RIGHTS = "sexual-and-reproductive-rights"
    HUMAN_RIGHTS_DEFENDERS = "human-rights-defenders"
    PRESS_FREEDOM = "press-freedom"
    TORTURE = "torture"
    CHILDREN_AND_YOUNG_PEOPLE = "children-and-young-people"
    DISCRIMINATION = "discrimination"


class OutcomeKind(enum.StrEnum):
    RELEASED = "released"
    ACQUITTED = "acquitted"
    SENTENCE_COMMUTED = "sentence-commuted"
    CHARGES_DROPPED = "charges-dropped"
    VISA_GRANTED = "visa-granted"
    OTHER = "other"


class DatePrecision(enum.StrEnum):
    """How much of an outcome's date the sources state ("February 2025" is a month)."""

    DAY = "day"
    MONTH = "month"
    YEAR = "year"


class Case(Timestamped, Base):
    __tablename__ = "cases"
    __table_args__ = (
        CheckConstraint(f"slug ~ '{SLUG_PATTERN}' and length(slug) <= 80", name="slug_format"),
        CheckConstraint("country ~ '^[A-Z]{2}$'", name="country_format"),
        CheckConstraint("length(subject_name) between 1 and 300", name="subject_name_length"),
        CheckConstraint("source_revision >= 1", name="source_revision_positive"),
        CheckConstraint(
            "(status = 'published') = (published_at is not null)", name="published_at_set"
        ),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, server_default=text("gen_random_uuid()"))
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    subject_kind: Mapped[SubjectKind] = mapped_column(value_enum(SubjectKind, "subject_kind"))
    subject_name: Mapped[str] = mapped_column(Text)
    country: Mapped[str] = mapped_column(String(2))
    themes: Mapped[list[str]] = mapped_column(ARRAY(Text))
    source_language: Mapped[str] = mapped_column(Text)
    source_revision: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    status: Mapped[CaseStatus] = mapped_column(value_enum(CaseStatus, "case_status"))
    published_at: Mapped[datetime | None]
    image_url: Mapped[str | None] = mapped_column(Text)
    image_credit: Mapped[str | None] = mapped_column(Text)
    internal_notes: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())


class CaseCampaign(Base):
    """A case featured in a campaign (a case can return across years)."""

    __tablename__ = "case_campaigns"
    __table_args__ = (
        CheckConstraint("position >= 0", name="position_positive"),
        Index("ix_case_campaigns_case_id", "case_id"),
    )

    campaign_id: Mapped[UUID] = mapped_column(
        ForeignKey("campaigns.id", ondelete="RESTRICT"), primary_key=True
    )
    case_id: Mapped[UUID] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer)


class AppealTarget(Base):
    """An authority to write to about the case."""

    __tablename__ = "case_appeal_targets"
    __table_args__ = (CheckConstraint("position >= 0", name="position_positive"),)

    case_id: Mapped[UUID] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(Text)
    organisation: Mapped[str | None] = mapped_column(Text)
    postal_address: Mapped[str | None] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(Text)
    salutation: Mapped[str | None] = mapped_column(Text)
    letter_language: Mapped[str | None] = mapped_column(Text)


class SolidarityRecipient(Base):
    """Who receives cards of support (kept apart from the authorities)."""

    __tablename__ = "case_solidarity_recipients"
    __table_args__ = (CheckConstraint("position >= 0", name="position_positive"),)

    case_id: Mapped[UUID] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    postal_address: Mapped[str | None] = mapped_column(Text)
    guidance: Mapped[str | None] = mapped_column(Text)


class CaseOutcome(Timestamped, Base):
    """A step in the case's outcomes timeline (text in the case's source language)."""

    __tablename__ = "case_outcomes"
    __table_args__ = (
        Index("ix_case_outcomes_case_id_occurred_on", "case_id", "occurred_on"),
        CheckConstraint("length(description) between 1 and 2000", name="description_length"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, server_default=text("gen_random_uuid()"))
    case_id: Mapped[UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    occurred_on: Mapped[date]
    date_precision: Mapped[DatePrecision] = mapped_column(
        value_enum(DatePrecision, "date_precision")
    )
    kind: Mapped[OutcomeKind] = mapped_column(value_enum(OutcomeKind, "outcome_kind"))
    description: Mapped[str] = mapped_column(Text)
