"""GraphQL enums of the ledger (a module of their own: totals and cases use them too)."""

from __future__ import annotations

import strawberry

from w4r.actions.models import ActionType, Channel, ReporterKind, TallyState, Verification

ActionTypeEnum = strawberry.enum(ActionType, name="ActionType")
ChannelEnum = strawberry.enum(Channel, name="Channel")
VerificationEnum = strawberry.enum(Verification, name="Verification")
ReporterKindEnum = strawberry.enum(ReporterKind, name="ReporterKind")
TallyStateEnum = strawberry.enum(TallyState, name="TallyState")
