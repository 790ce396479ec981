"""Allowlisted networks (tenant-owned) and trusted documents (global).

A section allowlists the networks that legitimately send many public writes from one
address (a school at an event, an office); trusted documents are the GraphQL operations a
deployment has approved, stored by the SHA-256 of their text so they can never change.
"""

from __future__ import annotations

import enum
from datetime import datetime
from uuid import UUID

from sqlalchemy import CheckConstraint, Index, Text, func, text
from sqlalchemy.dialects.postgresql import CIDR
from sqlalchemy.orm import Mapped, mapped_column

from w4r.platform.models import Base, TenantOwned, Timestamped


class WriteFlag(enum.StrEnum):
    """Why a public write was recorded but never counted. Values are stored and shown to
    section staff: never rename one."""

    RATE_LIMIT_IP = "rate-limit-ip"
    """One address (an IPv6 /64) wrote more than its allowance."""
    RATE_LIMIT_SECTION = "rate-limit-section"
    """The section as a whole took more anonymous writes than its flood threshold."""


FLAG_CHECK = "flag is null or flag in ('rate-limit-ip', 'rate-limit-section')"
"""The check constraint of every ``flag`` column (the values of :class:`WriteFlag`)."""


class AllowedNetwork(Timestamped, TenantOwned):
    """A network whose addresses get the raised per-address allowance until it expires."""

    __tablename__ = "allowed_networks"
    __table_args__ = (
        CheckConstraint("length(note) between 1 and 500", name="note_length"),
        Index("uq_allowed_networks_section_id_network", "section_id", "network", unique=True),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, server_default=text("gen_random_uuid()"))
    network: Mapped[str] = mapped_column(CIDR)
    """Written as text; read back as text or as an ``ipaddress`` network depending on the
    driver's codecs, so readers parse ``str(network)``."""
    note: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime]
    created_by: Mapped[str | None] = mapped_column(Text)


class TrustedDocument(Base):
    """An approved GraphQL document, named by the SHA-256 of its text (global, immutable)."""

    __tablename__ = "trusted_documents"
    __table_args__ = (
        CheckConstraint("id ~ '^[0-9a-f]{64}$'", name="id_is_sha256"),
        CheckConstraint("length(name) between 1 and 200", name="name_length"),
    )

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    document: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
