"""All SQL of totals: reading rollups, recomputing them from the ledger, history."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy import case, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from w4r.actions.models import Action, Verification
from w4r.platform.grouping import group_by
from w4r.tenants.models import Section
from w4r.totals.models import (
    ROLLUP_SLOTS,
    CaseHistoricTotal,
    CaseRollup,
    HistoricTotal,
    SectionRollup,
)

DIMENSIONS = ("case", "section", "action_type", "channel", "day", "country")


@dataclass(frozen=True, slots=True)
class TotalsFilterSpec:
    case_ids: Sequence[UUID] = ()
    section_codes: Sequence[str] = ()
    action_types: Sequence[str] = ()
    channels: Sequence[str] = ()
    verification: str | None = None
    from_day: date | None = None
    to_day: date | None = None


@dataclass(frozen=True, slots=True)
class Amounts:
    quantity: int = 0
    verified: int = 0
    self_reported: int = 0


@dataclass(frozen=True, slots=True)
class Cell:
    dimensions: dict[str, Any]
    amounts: Amounts


def _amounts(quantity: Any, verification: Any) -> list[Any]:
    verified = func.coalesce(
        func.sum(case((verification == Verification.VERIFIED.value, quantity), else_=0)), 0
    )
    return [
        func.coalesce(func.sum(quantity), 0).label("quantity"),
        verified.label("verified"),
        (func.coalesce(func.sum(quantity), 0) - verified).label("self_reported"),
    ]


class TotalsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    def _filtered(self, query: Any, spec: TotalsFilterSpec, table: Any) -> Any:
        if spec.case_ids:
            query = query.where(table.case_id.in_(spec.case_ids))
        if spec.action_types:
            query = query.where(table.action_type.in_(spec.action_types))
        if spec.channels:
            query = query.where(table.channel.in_(spec.channels))
        if spec.verification is not None:
            query = query.where(table.verification == spec.verification)
        if spec.from_day is not None:
            query = query.where(table.day >= spec.from_day)
        if spec.to_day is not None:
            query = query.where(table.day <= spec.to_day)
        return query

    async def section_cells(
        self, campaign_id: UUID, group_by: Sequence[str], spec: TotalsFilterSpec
    ) -> list[Cell]:
        """Cells of the per-section rollups the session may see (its own section's, or every
        section's in the global scope), grouped by ``group_by`` (DIMENSIONS)."""
        columns = {
            "case": SectionRollup.case_id,
            "section": Section.code,
            "action_type": SectionRollup.action_type,
            "channel": SectionRollup.channel,
            "day": SectionRollup.day,
            "country": Section.country,
        }
        chosen = [columns[name].label(name) for name in group_by]
        query = (
            select(*chosen, *_amounts(SectionRollup.quantity, SectionRollup.verification))
            .join(Section, Section.id == SectionRollup.section_id)
            .where(SectionRollup.campaign_id == campaign_id)
        )
        if spec.section_codes:
            query = query.where(Section.code.in_(spec.section_codes))
        query = self._filtered(query, spec, SectionRollup)
        if chosen:
            query = query.group_by(*chosen).order_by(*chosen)
        result = await self._session.execute(query)
        width = len(group_by)
        # Plain tuples, unpacked by position: a report may have thousands of cells.
        return [
            Cell(
                dimensions=dict(zip(group_by, row[:width], strict=True)),
                amounts=Amounts(int(row[width]), int(row[width + 1]), int(row[width + 2])),
            )
            for row in result
        ]

    async def participation(self, campaign_id: UUID, spec: TotalsFilterSpec) -> tuple[int, int]:
        """How many sections and countries have counted actions (visible to the session)."""
        # The sections with a counted rollup row, as a semi-join: no sort of every row to
        # count distinct values.
        counted = select(SectionRollup.section_id).where(
            SectionRollup.campaign_id == campaign_id, SectionRollup.quantity > 0
        )
        counted = self._filtered(counted, spec, SectionRollup)
        query = select(func.count(), func.count(func.distinct(Section.country))).where(
            Section.id.in_(counted)
        )
        if spec.section_codes:
            query = query.where(Section.code.in_(spec.section_codes))
        row = (await self._session.execute(query)).one()
        return int(row[0]), int(row[1])

    async def case_totals(
        self, campaign_id: UUID | None, case_ids: Sequence[UUID]
    ) -> dict[UUID, Amounts]:
        """Worldwide amounts per case (one statement for any number of cases)."""
        query = (
            select(CaseRollup.case_id, *_amounts(CaseRollup.quantity, CaseRollup.verification))
            .where(CaseRollup.case_id.in_(case_ids))
            .group_by(CaseRollup.case_id)
        )
        if campaign_id is not None:
            query = query.where(CaseRollup.campaign_id == campaign_id)
        result = await self._session.execute(query)
        totals = {case_id: Amounts() for case_id in case_ids}
        for case_id, quantity, verified, self_reported in result:
            totals[case_id] = Amounts(int(quantity), int(verified), int(self_reported))
        return totals

    async def campaign_totals(self, campaign_ids: Sequence[UUID]) -> dict[UUID, Amounts]:
        query = (
            select(CaseRollup.campaign_id, *_amounts(CaseRollup.quantity, CaseRollup.verification))
            .where(CaseRollup.campaign_id.in_(campaign_ids))
            .group_by(CaseRollup.campaign_id)
        )
        totals = {campaign_id: Amounts() for campaign_id in campaign_ids}
        for campaign_id, quantity, verified, self_reported in await self._session.execute(query):
            totals[campaign_id] = Amounts(int(quantity), int(verified), int(self_reported))
        return totals

    # --- reconciliation ------------------------------------------------------------------

    async def ledger_sums(self) -> dict[tuple[Any, ...], tuple[int, int]]:
        """The bound section's counted ledger (flagged rows never count) by rollup key."""
        day = Action.counted_on
        query = (
            select(
                Action.campaign_id,
                Action.case_id,
                Action.action_type,
                Action.channel,
                Action.verification,
                day,
                func.sum(Action.quantity),
                func.count(),
            )
            .where(Action.flag.is_(None))
            .group_by(
                Action.campaign_id,
                Action.case_id,
                Action.action_type,
                Action.channel,
                Action.verification,
                day,
            )
        )
        return await self._sums(query)

    async def rollup_sums(
        self, table: Any, section_id: UUID | None
    ) -> dict[tuple[Any, ...], tuple[int, int]]:
        query = select(
            table.campaign_id,
            table.case_id,
            table.action_type,
            table.channel,
            table.verification,
            table.day,
            func.sum(table.quantity),
            func.sum(table.rows),
        ).group_by(
            table.campaign_id,
            table.case_id,
            table.action_type,
            table.channel,
            table.verification,
            table.day,
        )
        if section_id is not None:
            query = query.where(table.section_id == section_id)
        return await self._sums(query)

    async def _sums(self, query: Any) -> dict[tuple[Any, ...], tuple[int, int]]:
        return {
            (campaign, case_id, str(kind), str(channel), str(verification), on): (
                int(quantity),
                int(count),
            )
            for campaign, case_id, kind, channel, verification, on, quantity, count in (
                await self._session.execute(query)
            )
        }

    async def add_correction(
        self, table: str, key: tuple[Any, ...], quantity: int, rows: int
    ) -> None:
        """Add a (possibly negative) correction to one cell (slot 0 of the cell)."""
        conflict = ("section_id, " if table == "action_rollups" else "") + (
            "campaign_id, case_id, action_type, channel, verification, day, slot"
        )
        await self._session.execute(
            text(
                f"INSERT INTO {table} (campaign_id, case_id, action_type, channel, verification, "
                "day, slot, quantity, rows) VALUES (:campaign, :case, :kind, :channel, "
                ":verification, :day, :slot, :quantity, :rows) "
                f"ON CONFLICT ({conflict}) DO UPDATE SET quantity = {table}.quantity + "
                f"EXCLUDED.quantity, rows = {table}.rows + EXCLUDED.rows"
            ),
            {
                "campaign": key[0],
                "case": key[1],
                "kind": key[2],
                "channel": key[3],
                "verification": key[4],
                "day": key[5],
                "slot": random.randrange(ROLLUP_SLOTS),
                "quantity": quantity,
                "rows": rows,
            },
        )

    # --- history -------------------------------------------------------------------------

    async def historic_totals(self) -> list[HistoricTotal]:
        result = await self._session.execute(select(HistoricTotal).order_by(HistoricTotal.year))
        return list(result.scalars())

    async def case_historic_totals(
        self, case_ids: Sequence[UUID]
    ) -> dict[UUID, list[CaseHistoricTotal]]:
        result = await self._session.execute(
            select(CaseHistoricTotal)
            .where(CaseHistoricTotal.case_id.in_(case_ids))
            .order_by(
                CaseHistoricTotal.case_id,
                CaseHistoricTotal.campaign_year,
                CaseHistoricTotal.country.nulls_first(),
            )
        )
        return group_by(case_ids, result.scalars(), lambda row: row.case_id)

    async def add(self, row: Any) -> None:
        self._session.add(row)
        await self._session.flush()
