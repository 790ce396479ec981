"""Sections are global (IS-owned); their members are tenant-owned."""

from __future__ import annotations

import enum
from datetime import datetime
from uuid import UUID

from sqlalchemy import (
    CheckConstraint,
    Enum,
    ForeignKey,
    Index,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from w4r.platform.models import Base, TenantOwned, Timestamped

SECTION_CODE_PATTERN = r"^[a-z]{2,3}(-[a-z0-9]{2,8})?$"
HOST_PATTERN = (
    r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$"
)


class Section(Timestamped, Base):
    """A national section (or structure) of Amnesty International: one tenant."""

    __tablename__ = "sections"
    __table_args__ = (
        CheckConstraint(f"code ~ '{SECTION_CODE_PATTERN}'", name="code_format"),
        CheckConstraint("country ~ '^[A-Z]{2}$'", name="country_format"),
        CheckConstraint("cardinality(languages) >= 1", name="has_language"),
        CheckConstraint("default_language = ANY (languages)", name="default_language_listed"),
        CheckConstraint("length(name) between 1 and 200", name="name_length"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, server_default=text("gen_random_uuid()"))
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(Text)
    country: Mapped[str] = mapped_column(String(2))
    languages: Mapped[list[str]] = mapped_column(ARRAY(Text))
    default_language: Mapped[str] = mapped_column(Text)
    time_zone: Mapped[str] = mapped_column(Text)
    require_trusted_documents: Mapped[bool] = mapped_column(server_default=text("false"))
    """Anonymous writes at this section must be trusted documents (sent by hash)."""
    double_opt_in: Mapped[bool] = mapped_column(server_default=text("false"))
    """Petition signatures count only once the signer confirms their email by mail."""
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())


class SectionHost(Timestamped, Base):
    """A host name that identifies one section (e.g. ``w4r.amnesty.org.uk`` -> ``gb``)."""

    __tablename__ = "section_hosts"
    __table_args__ = (CheckConstraint(f"host ~ '{HOST_PATTERN}'", name="host_format"),)

    host: Mapped[str] = mapped_column(Text, primary_key=True)
    section_id: Mapped[UUID] = mapped_column(
        ForeignKey("sections.id", ondelete="CASCADE"), index=True
    )


class MemberRole(enum.StrEnum):
    SECTION_ADMIN = "section-admin"
    SECTION_EDITOR = "section-editor"
    EVENT_HOST = "event-host"


class SectionMember(Timestamped, TenantOwned):
    """A person who works on a section's campaign. Personal data: never visible globally."""

    __tablename__ = "section_members"
    __table_args__ = (
        Index(
            "uq_section_members_section_id_email",
            "section_id",
            func.lower(text("email")),
            unique=True,
        ),
        CheckConstraint("length(display_name) between 1 and 200", name="display_name_length"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, server_default=text("gen_random_uuid()"))
    email: Mapped[str] = mapped_column(Text)
    display_name: Mapped[str] = mapped_column(Text)
    role: Mapped[MemberRole] = mapped_column(
        Enum(
            MemberRole,
            name="member_role",
            native_enum=False,
            create_constraint=True,
            length=32,
            values_callable=lambda roles: [role.value for role in roles],
            validate_strings=True,
        )
    )
