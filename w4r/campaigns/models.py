"""Campaigns (global) and each section's participation in them (tenant-owned)."""

from __future__ import annotations

import enum
from datetime import date, datetime
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Integer,
    Text,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from w4r.platform.enums import value_enum
from w4r.platform.models import Base, TenantOwned, Timestamped


class CampaignStatus(enum.StrEnum):
    DRAFT = "draft"
    """Being prepared: visible to IS staff only."""
    OPEN = "open"
    """Announced: cases can be featured and written for."""
    CLOSED = "closed"
    """Over: kept for its history and totals."""


class Campaign(Timestamped, Base):
    """One year's Write for Rights."""

    __tablename__ = "campaigns"
    __table_args__ = (
        CheckConstraint("year between 1991 and 2200", name="year_range"),
        # Historic campaigns may have no recorded window; a window is both dates or none.
        CheckConstraint(
            "(starts_on is null) = (ends_on is null) and (ends_on is null or ends_on >= starts_on)",
            name="window_order",
        ),
        CheckConstraint(
            "(action_days_start is null) = (action_days_end is null) "
            "and (action_days_end is null or action_days_end >= action_days_start)",
            name="action_days_order",
        ),
        CheckConstraint(
            "reporting_deadline is null or ends_on is null or reporting_deadline >= ends_on",
            name="reporting_after_window",
        ),
        CheckConstraint("goal_actions is null or goal_actions > 0", name="goal_positive"),
        CheckConstraint("length(name) between 1 and 200", name="name_length"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, server_default=text("gen_random_uuid()"))
    year: Mapped[int] = mapped_column(Integer, unique=True)
    name: Mapped[str] = mapped_column(Text)
    starts_on: Mapped[date | None]
    ends_on: Mapped[date | None]
    action_days_start: Mapped[date | None]
    action_days_end: Mapped[date | None]
    reporting_deadline: Mapped[date | None]
    goal_actions: Mapped[int | None] = mapped_column(BigInteger)
    goal_description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[CampaignStatus] = mapped_column(value_enum(CampaignStatus, "campaign_status"))
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())


class SectionCampaign(Timestamped, TenantOwned):
    """A section taking part in a campaign, with its own window where it differs."""

    __tablename__ = "section_campaigns"
    __table_args__ = (
        CheckConstraint(
            "starts_on is null or ends_on is null or ends_on >= starts_on", name="window_order"
        ),
    )

    campaign_id: Mapped[UUID] = mapped_column(
        ForeignKey("campaigns.id", ondelete="RESTRICT"), primary_key=True
    )
    starts_on: Mapped[date | None]
    ends_on: Mapped[date | None]
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())


class SectionFeaturedCase(TenantOwned):
    """A case of the campaign that the section features, in the section's order."""

    __tablename__ = "section_featured_cases"
    __table_args__ = (
        ForeignKeyConstraint(
            ["section_id", "campaign_id"],
            ["section_campaigns.section_id", "section_campaigns.campaign_id"],
            ondelete="CASCADE",
        ),
        # The case must be one of the campaign's cases (a global reference table).
        ForeignKeyConstraint(
            ["campaign_id", "case_id"],
            ["case_campaigns.campaign_id", "case_campaigns.case_id"],
            ondelete="RESTRICT",
        ),
        CheckConstraint("position >= 0", name="position_positive"),
    )

    campaign_id: Mapped[UUID] = mapped_column(primary_key=True)
    case_id: Mapped[UUID] = mapped_column(primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
