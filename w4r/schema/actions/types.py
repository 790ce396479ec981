"""GraphQL types of the ledger."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import strawberry

from w4r.actions.models import (
    Action,
    Tally,
    TallyLine,
)
from w4r.schema.actions.enums import (
    ActionTypeEnum,
    ChannelEnum,
    ReporterKindEnum,
    TallyStateEnum,
    VerificationEnum,
)
from w4r.schema.cases.types import CaseNode
from w4r.schema.context import Info


async def _case(info: Info, case_id: UUID) -> CaseNode | None:
    case = await info.context.case_loaders.cases_by_id.load(case_id)
    return None if case is None else CaseNode.from_model(case)


@strawberry.type(name="Action", description="One recorded action (or a reported quantity).")
class ActionNode:
    id: UUID
    case_id: UUID
    action_type: ActionTypeEnum  # type: ignore[valid-type]
    channel: ChannelEnum  # type: ignore[valid-type]
    quantity: int
    occurred_at: datetime
    recorded_at: datetime
    verification: VerificationEnum  # type: ignore[valid-type]
    _flag: strawberry.Private[str | None] = None

    @classmethod
    def from_model(cls, action: Action) -> ActionNode:
        return cls(
            id=action.id,
            case_id=action.case_id,
            action_type=action.action_type,
            channel=action.channel,
            quantity=action.quantity,
            occurred_at=action.occurred_at,
            recorded_at=action.recorded_at,
            verification=action.verification,
            _flag=action.flag,
        )

    @strawberry.field
    async def case(self, info: Info) -> CaseNode | None:
        return await _case(info, self.case_id)

    @strawberry.field(
        description="Why abuse protection held this action back (e.g. 'rate-limit-ip'): it "
        "is kept for review and never counted. Null when it counts (section staff only)."
    )
    def flag(self) -> str | None:
        return self._flag


@strawberry.type(name="TallyLine")
class TallyLineNode:
    case_id: UUID
    action_type: ActionTypeEnum  # type: ignore[valid-type]
    quantity: int

    @classmethod
    def from_model(cls, line: TallyLine) -> TallyLineNode:
        return cls(case_id=line.case_id, action_type=line.action_type, quantity=line.quantity)

    @strawberry.field
    async def case(self, info: Info) -> CaseNode | None:
        return await _case(info, self.case_id)


@strawberry.type(name="Tally", description="A self-reported count, counted once approved.")
class TallyNode:
    id: UUID
    state: TallyStateEnum  # type: ignore[valid-type]
    reporter_kind: ReporterKindEnum  # type: ignore[valid-type]
    lines: list[TallyLineNode]
    created_at: datetime
    reviewed_at: datetime | None
    _model: strawberry.Private[Tally]

    @classmethod
    def from_model(cls, tally: Tally, lines: list[TallyLine]) -> TallyNode:
        return cls(
            id=tally.id,
            state=tally.state,
            reporter_kind=tally.reporter_kind,
            lines=[TallyLineNode.from_model(line) for line in lines],
            created_at=tally.created_at,
            reviewed_at=tally.reviewed_at,
            _model=tally,
        )

    @strawberry.field(description="Section staff only.")
    def reporter_name(self, info: Info) -> str | None:
        info.context.audit.personal_data("Tally.reporterName", [self.id])
        return self._model.reporter_name

    @strawberry.field(description="Section staff only.")
    def reporter_email(self, info: Info) -> str | None:
        info.context.audit.personal_data("Tally.reporterEmail", [self.id])
        return self._model.reporter_email

    @strawberry.field(description="Section staff only.")
    def note(self) -> str | None:
        return self._model.note

    @strawberry.field(description="Section staff only.")
    def review_note(self) -> str | None:
        return self._model.review_note
