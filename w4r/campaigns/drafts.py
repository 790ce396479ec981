"""What a caller gives to create or change a campaign (validated by the service)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from w4r.campaigns.models import CampaignStatus


@dataclass(frozen=True, slots=True)
class CampaignDraft:
    year: int
    name: str
    starts_on: date | None = None
    ends_on: date | None = None
    status: CampaignStatus = CampaignStatus.OPEN
    action_days_start: date | None = None
    action_days_end: date | None = None
    reporting_deadline: date | None = None
    goal_actions: int | None = None
    goal_description: str | None = None


@dataclass(frozen=True, slots=True)
class SectionCampaignDraft:
    """A section's participation: its own window (None = the global one) and the campaign's
    cases it features, in its order (slugs)."""

    year: int
    starts_on: date | None = None
    ends_on: date | None = None
    featured_case_slugs: Sequence[str] = ()
