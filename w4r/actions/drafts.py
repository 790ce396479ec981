"""What a caller gives to record, import or tally actions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from w4r.actions.models import ActionType, Channel, ReporterKind, Verification


@dataclass(frozen=True, slots=True)
class Recorder:
    """Who records, through what, on behalf of which client (for idempotency keys)."""

    reporter_kind: ReporterKind
    reporter_ref: str | None
    client_id: str
    channel: Channel
    method: str


@dataclass(frozen=True, slots=True)
class ActionDraft:
    campaign_year: int
    case_id: UUID
    action_type: ActionType
    idempotency_key: str
    occurred_at: datetime | None = None
    quantity: int = 1
    verification: Verification = Verification.VERIFIED


@dataclass(frozen=True, slots=True)
class TallyLineDraft:
    case_id: UUID
    action_type: ActionType
    quantity: int


@dataclass(frozen=True, slots=True)
class TallyDraft:
    campaign_year: int
    lines: Sequence[TallyLineDraft]
    idempotency_key: str
    reporter_kind: ReporterKind = ReporterKind.SUPPORTER
    reporter_name: str | None = None
    reporter_email: str | None = None
    note: str | None = None
