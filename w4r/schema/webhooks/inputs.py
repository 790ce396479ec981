"""GraphQL inputs of webhook mutations."""

from __future__ import annotations

from uuid import UUID

import strawberry

EVENTS_DESCRIPTION = (
    "The kinds of event to receive, at least one of: case.published, case.outcome_added, "
    "totals.milestone_reached, event.published, event.cancelled, registration.created."
)


@strawberry.input
class WebhookCreateInput:
    url: str = strawberry.field(
        description="The https URL that receives a POST for each event (at most 2,000 "
        "characters, no user name or password in it)."
    )
    events: list[str] = strawberry.field(description=EVENTS_DESCRIPTION)
    description: str | None = strawberry.field(
        default=None, description="What the webhook is for (at most 300 characters)."
    )


@strawberry.input
class WebhookUpdateInput:
    id: UUID
    url: str | None = strawberry.field(default=None, description="Null leaves it as it is.")
    events: list[str] | None = strawberry.field(
        default=None, description=EVENTS_DESCRIPTION + " Null leaves them as they are."
    )
    description: str | None = strawberry.field(
        default=None, description="Null leaves it as it is; an empty text clears it."
    )
    is_enabled: bool | None = strawberry.field(
        default=None,
        description="False pauses the webhook: it hears of no new event, and deliveries "
        "already queued wait until it is true again.",
    )


@strawberry.input
class WebhookDeleteInput:
    id: UUID


@strawberry.input
class WebhookRedeliverInput:
    delivery_id: UUID
