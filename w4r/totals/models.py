"""Totals: rollups derived from the ledger (a cache that `w4r totals reconcile` checks), and
the historic totals of past campaigns.

``action_rollups`` is per section: an aggregate table with no personal data, readable in the
global (IS) scope through an extra policy. ``case_rollups`` is the same without sections:
global, public, so a section (or anyone) can read a case's worldwide total. Both are written
in the transaction that writes the ledger. Each logical cell is split over ``slot`` rows
(a writer picks one at random), so a peak of actions on one case does not queue on one row.
"""

from __future__ import annotations

import enum
from datetime import date
from uuid import UUID

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Integer, SmallInteger, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from w4r.actions.models import ActionType, Channel, Verification
from w4r.platform.enums import value_enum
from w4r.platform.models import Base, TenantOwned, Timestamped

ROLLUP_SLOTS = 8


class RollupColumns:
    campaign_id: Mapped[UUID] = mapped_column(
        ForeignKey("campaigns.id", ondelete="RESTRICT"), primary_key=True
    )
    case_id: Mapped[UUID] = mapped_column(
        ForeignKey("cases.id", ondelete="RESTRICT"), primary_key=True
    )
    action_type: Mapped[ActionType] = mapped_column(
        value_enum(ActionType, "action_type"), primary_key=True
    )
    channel: Mapped[Channel] = mapped_column(
        value_enum(Channel, "action_channel"), primary_key=True
    )
    verification: Mapped[Verification] = mapped_column(
        value_enum(Verification, "verification"), primary_key=True
    )
    day: Mapped[date] = mapped_column(primary_key=True)
    slot: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    quantity: Mapped[int] = mapped_column(BigInteger)
    rows: Mapped[int] = mapped_column(BigInteger)


class SectionRollup(RollupColumns, TenantOwned):
    __tablename__ = "action_rollups"
    __table_args__ = (CheckConstraint(f"slot between 0 and {ROLLUP_SLOTS - 1}", name="slot_range"),)


class CaseRollup(RollupColumns, Base):
    __tablename__ = "case_rollups"
    __table_args__ = (CheckConstraint(f"slot between 0 and {ROLLUP_SLOTS - 1}", name="slot_range"),)


class Qualifier(enum.StrEnum):
    """How a published figure is stated ("nearly five million")."""

    EXACT = "exact"
    ABOUT = "about"
    MORE_THAN = "more-than"
    AT_LEAST = "at-least"
    NEARLY = "nearly"
    ALMOST = "almost"


class HistoricTotal(Timestamped, Base):
    """A campaign year's worldwide total as published, with what was counted and its source."""

    __tablename__ = "historic_totals"
    __table_args__ = (CheckConstraint("quantity >= 0", name="quantity_positive"),)

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    quantity: Mapped[int] = mapped_column(BigInteger)
    qualifier: Mapped[Qualifier] = mapped_column(value_enum(Qualifier, "qualifier"))
    counted: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)


class CaseHistoricTotal(Timestamped, Base):
    """A published total for one case (worldwide, or in one country)."""

    __tablename__ = "case_historic_totals"
    __table_args__ = (CheckConstraint("quantity >= 0", name="quantity_positive"),)

    id: Mapped[UUID] = mapped_column(primary_key=True, server_default=text("gen_random_uuid()"))
    case_id: Mapped[UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    campaign_year: Mapped[int | None] = mapped_column(Integer)
    country: Mapped[str | None] = mapped_column(Text)
    quantity: Mapped[int] = mapped_column(BigInteger)
    qualifier: Mapped[Qualifier] = mapped_column(value_enum(Qualifier, "qualifier"))
    counted: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)
