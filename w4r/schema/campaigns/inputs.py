"""GraphQL inputs of campaign mutations."""

from __future__ import annotations

from datetime import date

import strawberry

from w4r.campaigns.models import CampaignStatus
from w4r.schema.campaigns.types import CampaignStatusEnum


@strawberry.input
class CampaignCreateInput:
    year: int
    name: str
    starts_on: date | None = None
    ends_on: date | None = None
    action_days_start: date | None = None
    action_days_end: date | None = None
    reporting_deadline: date | None = None
    goal_actions: int | None = None
    goal_description: str | None = None
    status: CampaignStatusEnum = CampaignStatus.DRAFT  # type: ignore[valid-type]


@strawberry.input(description="Fields left out (or null) stay as they are.")
class CampaignUpdateInput:
    year: int = strawberry.field(description="The campaign to change (its year is immutable).")
    name: str | None = None
    starts_on: date | None = None
    ends_on: date | None = None
    action_days_start: date | None = None
    action_days_end: date | None = None
    reporting_deadline: date | None = None
    goal_actions: int | None = None
    goal_description: str | None = None
    status: CampaignStatusEnum | None = None  # type: ignore[valid-type]


@strawberry.input
class SectionCampaignUpdateInput:
    year: int
    starts_on: date | None = strawberry.field(
        default=None, description="The section's own window, when it differs (both or none)."
    )
    ends_on: date | None = None
    featured_case_slugs: list[str] = strawberry.field(
        default_factory=list,
        description="The campaign's published cases the section features, in its order.",
    )
