"""GraphQL types of totals and history."""

from __future__ import annotations

import enum
from datetime import date
from typing import TYPE_CHECKING, Annotated
from uuid import UUID

import strawberry

from w4r.schema.actions.enums import ActionTypeEnum, ChannelEnum, VerificationEnum
from w4r.schema.context import Info
from w4r.totals.models import CaseHistoricTotal, HistoricTotal, Qualifier
from w4r.totals.repository import Amounts, Cell

if TYPE_CHECKING:
    from w4r.schema.campaigns.types import CampaignNode
    from w4r.schema.cases.types import CaseNode

QualifierEnum = strawberry.enum(Qualifier, name="Qualifier")


@strawberry.enum(name="TotalsDimension")
class TotalsDimension(enum.Enum):
    CASE = "case"
    SECTION = "section"
    ACTION_TYPE = "action_type"
    CHANNEL = "channel"
    DAY = "day"
    COUNTRY = "country"
    """The country of the section the actions count for."""


@strawberry.type(description="Actions counted: all of them, and verified vs self-reported.")
class PublicTotals:
    quantity: int
    verified: int
    self_reported: int

    @classmethod
    def from_amounts(cls, amounts: Amounts) -> PublicTotals:
        return cls(
            quantity=amounts.quantity,
            verified=amounts.verified,
            self_reported=amounts.self_reported,
        )


@strawberry.type
class CampaignTotals(PublicTotals):
    goal_actions: int | None
    progress: float | None = strawberry.field(
        description="quantity / goalActions (1.0 = goal reached); null without a goal."
    )


@strawberry.type(name="TotalsCell", description="One cell of a grouped totals report.")
class TotalsCell:
    case_id: UUID | None
    section_code: str | None
    action_type: ActionTypeEnum | None  # type: ignore[valid-type]
    channel: ChannelEnum | None  # type: ignore[valid-type]
    day: date | None
    country: str | None
    is_suppressed: bool = strawberry.field(
        description="Withheld for privacy: fewer actions than the minimum cell size."
    )
    quantity: int | None
    verified: int | None
    self_reported: int | None

    @classmethod
    def from_cell(cls, cell: Cell, *, suppressed: bool) -> TotalsCell:
        dimensions = cell.dimensions
        amounts = cell.amounts
        return cls(
            case_id=dimensions.get("case"),
            section_code=dimensions.get("section"),
            action_type=dimensions.get("action_type"),
            channel=dimensions.get("channel"),
            day=dimensions.get("day"),
            country=dimensions.get("country"),
            is_suppressed=suppressed,
            quantity=None if suppressed else amounts.quantity,
            verified=None if suppressed else amounts.verified,
            self_reported=None if suppressed else amounts.self_reported,
        )

    @strawberry.field
    async def case(
        self, info: Info
    ) -> Annotated[CaseNode, strawberry.lazy("w4r.schema.cases.types")] | None:
        from w4r.schema.cases.types import CaseNode

        if self.case_id is None:
            return None
        case = await info.context.case_loaders.cases_by_id.load(self.case_id)
        return None if case is None else CaseNode.from_model(case)


@strawberry.type(name="TotalsReport")
class TotalsReport:
    campaign: Annotated[CampaignNode, strawberry.lazy("w4r.schema.campaigns.types")]
    quantity: int
    verified: int
    self_reported: int
    goal_actions: int | None
    progress: float | None
    sections_count: int = strawberry.field(description="Sections that counted actions.")
    countries_count: int = strawberry.field(description="Their countries.")
    minimum_cell_size: int = strawberry.field(
        description="Cells below this are withheld (0 = none; a section's own view is whole)."
    )
    cells: list[TotalsCell]


@strawberry.type(name="HistoricTotal", description="A campaign year's published worldwide total.")
class HistoricTotalNode:
    year: int
    quantity: int
    qualifier: QualifierEnum  # type: ignore[valid-type]
    counted: str = strawberry.field(description="What was counted, as published.")
    source: str

    @classmethod
    def from_model(cls, row: HistoricTotal) -> HistoricTotalNode:
        return cls(
            year=row.year,
            quantity=row.quantity,
            qualifier=row.qualifier,
            counted=row.counted,
            source=row.source,
        )


@strawberry.type(name="CaseHistoricTotal", description="A published total for one case.")
class CaseHistoricTotalNode:
    campaign_year: int | None
    country: str | None = strawberry.field(description="Null: worldwide.")
    quantity: int
    qualifier: QualifierEnum  # type: ignore[valid-type]
    counted: str
    source: str

    @classmethod
    def from_model(cls, row: CaseHistoricTotal) -> CaseHistoricTotalNode:
        return cls(
            campaign_year=row.campaign_year,
            country=row.country,
            quantity=row.quantity,
            qualifier=row.qualifier,
            counted=row.counted,
            source=row.source,
        )


@strawberry.input
class TotalsFilter:
    cases: list[UUID] | None = None
    sections: list[str] | None = strawberry.field(default=None, description="Section codes.")
    action_types: list[ActionTypeEnum] | None = None  # type: ignore[valid-type]
    channels: list[ChannelEnum] | None = None  # type: ignore[valid-type]
    verification: VerificationEnum | None = None  # type: ignore[valid-type]
    from_day: date | None = None
    to_day: date | None = None


@strawberry.type(name="TotalsUpdate", description="Fresh public totals after a change.")
class TotalsUpdate:
    campaign_year: int
    case_id: UUID | None
    totals: PublicTotals
