"""Totals as the IS and the sections see them, public totals, and reconciliation."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from w4r.campaigns.models import Campaign
from w4r.platform.database import Database, TenantBinding, rebind
from w4r.tenants.models import Section
from w4r.totals.models import (
    CaseHistoricTotal,
    CaseRollup,
    HistoricTotal,
    Qualifier,
    SectionRollup,
)
from w4r.totals.repository import Amounts, Cell, TotalsFilterSpec, TotalsRepository


@dataclass(frozen=True, slots=True)
class TotalsReport:
    campaign: Campaign
    summary: Amounts
    sections: int
    countries: int
    cells: list[Cell]
    suppressed: set[int] = field(default_factory=set)
    """Indexes of cells whose amounts are withheld (below the minimum cell size)."""


class TotalsService:
    def __init__(self, session: AsyncSession) -> None:
        self._totals = TotalsRepository(session)

    async def report(
        self,
        campaign: Campaign,
        group_by: Sequence[str],
        spec: TotalsFilterSpec,
        *,
        min_cell_size: int,
    ) -> TotalsReport:
        """The campaign's totals as the session may see them: every section's in the global
        scope (cells below ``min_cell_size`` withheld), the bound section's otherwise."""
        cells = await self._totals.section_cells(campaign.id, group_by, spec)
        if group_by:
            # The cells partition the rows the summary adds up: their sums are the summary's.
            summary = Amounts(
                sum(cell.amounts.quantity for cell in cells),
                sum(cell.amounts.verified for cell in cells),
                sum(cell.amounts.self_reported for cell in cells),
            )
        else:
            summary = cells[0].amounts if cells else Amounts()
            cells = []
        sections, countries = await self._totals.participation(campaign.id, spec)
        suppressed = {
            index
            for index, cell in enumerate(cells)
            if min_cell_size > 0 and 0 < cell.amounts.quantity < min_cell_size
        }
        return TotalsReport(campaign, summary, sections, countries, cells, suppressed)

    async def case_totals(
        self, campaign_id: UUID | None, case_ids: Sequence[UUID]
    ) -> dict[UUID, Amounts]:
        return await self._totals.case_totals(campaign_id, case_ids)

    async def campaign_totals(self, campaign_ids: Sequence[UUID]) -> dict[UUID, Amounts]:
        return await self._totals.campaign_totals(campaign_ids)


class HistoryService:
    """Published totals of past campaigns and cases (IS-owned, public)."""

    def __init__(self, session: AsyncSession) -> None:
        self._totals = TotalsRepository(session)

    async def years(self) -> set[int]:
        return {row.year for row in await self._totals.historic_totals()}

    async def add_year(
        self, year: int, quantity: int, qualifier: Qualifier, counted: str, source: str
    ) -> None:
        await self._totals.add(
            HistoricTotal(
                year=year, quantity=quantity, qualifier=qualifier, counted=counted, source=source
            )
        )

    async def has_case_totals(self, case_id: UUID) -> bool:
        return bool((await self._totals.case_historic_totals([case_id]))[case_id])

    async def add_case_total(self, case_id: UUID, **values: Any) -> None:
        await self._totals.add(CaseHistoricTotal(case_id=case_id, **values))


@dataclass(frozen=True, slots=True)
class Drift:
    table: str
    section: str | None
    key: tuple[Any, ...]
    ledger: tuple[int, int]
    rollup: tuple[int, int]


@dataclass
class ReconcileReport:
    sections: int = 0
    cells: int = 0
    drift: list[Drift] = field(default_factory=list)
    repaired: bool = False


async def reconcile(database: Database, *, repair: bool) -> ReconcileReport:
    """Recompute every rollup from the ledger in one consistent snapshot and report each
    cell that differs; with ``repair``, add the corrections in the same transaction."""
    report = ReconcileReport()
    async with database.session(
        TenantBinding.global_scope(), isolation_level="REPEATABLE READ"
    ) as session:
        totals = TotalsRepository(session)
        sections = list(
            (await session.execute(select(Section.id, Section.code).order_by(Section.code))).all()
        )
        worldwide: dict[tuple[Any, ...], tuple[int, int]] = defaultdict(lambda: (0, 0))
        corrections: list[tuple[UUID | None, str, tuple[Any, ...], int, int]] = []
        for section_id, code in sections:
            await rebind(session, TenantBinding.for_section(section_id))
            ledger = await totals.ledger_sums()
            rollups = await totals.rollup_sums(SectionRollup, section_id)
            report.sections += 1
            for key, amounts in ledger.items():
                quantity, count = worldwide[key]
                worldwide[key] = (quantity + amounts[0], count + amounts[1])
            for key in ledger.keys() | rollups.keys():
                expected, actual = ledger.get(key, (0, 0)), rollups.get(key, (0, 0))
                report.cells += 1
                if expected != actual:
                    report.drift.append(Drift("action_rollups", code, key, expected, actual))
                    corrections.append(
                        (
                            section_id,
                            "action_rollups",
                            key,
                            expected[0] - actual[0],
                            expected[1] - actual[1],
                        )
                    )
        await rebind(session, TenantBinding.global_scope())
        global_rollups = await totals.rollup_sums(CaseRollup, None)
        for key in worldwide.keys() | global_rollups.keys():
            expected, actual = worldwide.get(key, (0, 0)), global_rollups.get(key, (0, 0))
            report.cells += 1
            if expected != actual:
                report.drift.append(Drift("case_rollups", None, key, expected, actual))
                corrections.append(
                    (None, "case_rollups", key, expected[0] - actual[0], expected[1] - actual[1])
                )
        if repair and corrections:
            for owner, table, key, quantity, rows in corrections:
                binding = (
                    TenantBinding.global_scope()
                    if owner is None
                    else TenantBinding.for_section(owner)
                )
                await rebind(session, binding)
                await totals.add_correction(table, key, quantity, rows)
            await session.commit()
            report.repaired = True
    return report
