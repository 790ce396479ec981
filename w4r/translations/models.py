"""Case texts. The IS writes a source text (one per case) and may publish official
translations; each section writes its own translations (tenant-owned). Every translation
records the source revision it was made from: it is outdated when the case's
``source_revision`` has moved on."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any, Final
from uuid import UUID

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from w4r.platform.enums import value_enum
from w4r.platform.models import Base, TenantOwned, Timestamped

TEXT_FIELDS: Final = (
    "title",
    "summary",
    "story",
    "demands",
    "letter_guidance",
    "sample_letter",
    "image_alt",
)
"""The translatable fields of a case, in display order."""

REQUIRED_TEXT_FIELDS: Final = ("title", "summary")


class TextStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"


class TextFields:
    """The translatable fields, shared by IS texts and section translations."""

    title: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text)
    story: Mapped[str | None] = mapped_column(Text)
    demands: Mapped[str | None] = mapped_column(Text)
    letter_guidance: Mapped[str | None] = mapped_column(Text)
    sample_letter: Mapped[str | None] = mapped_column(Text)
    image_alt: Mapped[str | None] = mapped_column(Text)
    is_machine_translated: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    source_revision: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())
    published_at: Mapped[datetime | None]

    def fields(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in TEXT_FIELDS}


class CaseText(TextFields, Timestamped, Base):
    """An IS text of a case: the source (``is_source``) or an official translation."""

    __tablename__ = "case_texts"
    __table_args__ = (
        Index(
            "uq_case_texts_case_id_source",
            "case_id",
            unique=True,
            postgresql_where=text("is_source"),
        ),
        CheckConstraint("source_revision >= 1", name="source_revision_positive"),
    )

    case_id: Mapped[UUID] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    language: Mapped[str] = mapped_column(Text, primary_key=True)
    is_source: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[TextStatus] = mapped_column(value_enum(TextStatus, "text_status"))


class CaseSourceRevision(Timestamped, Base):
    """The source text as it was at each revision, so a translator sees what changed."""

    __tablename__ = "case_source_revisions"

    case_id: Mapped[UUID] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    revision: Mapped[int] = mapped_column(Integer, primary_key=True)
    fields: Mapped[dict[str, Any]] = mapped_column(JSONB)


class SectionCaseTranslation(TextFields, Timestamped, TenantOwned):
    """A section's own translation of a case into one of its languages."""

    __tablename__ = "section_case_translations"
    __table_args__ = (CheckConstraint("source_revision >= 1", name="source_revision_positive"),)

    case_id: Mapped[UUID] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    language: Mapped[str] = mapped_column(Text, primary_key=True)
    status: Mapped[TextStatus] = mapped_column(value_enum(TextStatus, "text_status"))
