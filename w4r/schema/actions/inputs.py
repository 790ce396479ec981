"""GraphQL inputs of the ledger's mutations."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import strawberry

from w4r.schema.actions.enums import ActionTypeEnum, ChannelEnum, ReporterKindEnum
from w4r.schema.inputs import coerced_input


@strawberry.input
class ActionRecordInput:
    campaign: int = strawberry.field(description="The campaign's year.")
    case_id: UUID
    action_type: ActionTypeEnum  # type: ignore[valid-type]
    idempotency_key: str = strawberry.field(
        description="Unique per client for this action (a UUID): a retry with the same key "
        "and the same input returns the first result instead of counting again."
    )
    client_id: str | None = strawberry.field(
        default=None,
        description="Anonymous callers: a stable id of the installation or browser (a UUID). "
        "Ignored for signed-in callers, whose token identifies them.",
    )
    occurred_at: datetime | None = strawberry.field(
        default=None, description="When it happened (with offset); now when omitted."
    )
    channel: ChannelEnum | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="Section staff only: ONLINE or EVENT (ONLINE by default)."
    )


@coerced_input
@strawberry.input
class ActionImportRow:
    campaign: int
    case_id: UUID
    action_type: ActionTypeEnum  # type: ignore[valid-type]
    idempotency_key: str
    occurred_at: datetime
    quantity: int = 1
    is_verified: bool = strawberry.field(
        default=True, description="False for counts people reported themselves."
    )


@coerced_input
@strawberry.input
class ActionsImportInput:
    actions: list[ActionImportRow]


@strawberry.input
class TallyLineInput:
    case_id: UUID
    action_type: ActionTypeEnum  # type: ignore[valid-type]
    quantity: int


@strawberry.input
class TallyReportInput:
    campaign: int
    lines: list[TallyLineInput]
    idempotency_key: str
    client_id: str | None = None
    reporter_kind: ReporterKindEnum | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="SUPPORTER (default) or EVENT_HOST."
    )
    reporter_name: str | None = None
    reporter_email: str | None = None
    note: str | None = None


@strawberry.input
class TallyDecisionInput:
    id: UUID
    note: str | None = None
