"""GraphQL types of webhooks. A webhook's secret is never a field: only its creation
returns it."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import strawberry
from strawberry.scalars import JSON

from w4r.webhooks.models import (
    AttemptOutcome,
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)

WebhookDeliveryStatus = strawberry.enum(DeliveryStatus, name="WebhookDeliveryStatus")
WebhookAttemptOutcome = strawberry.enum(AttemptOutcome, name="WebhookAttemptOutcome")


@strawberry.type(name="Webhook", description="A URL that receives some kinds of event.")
class WebhookNode:
    id: UUID
    url: str
    events: list[str] = strawberry.field(description="The kinds of event it receives.")
    description: str | None
    is_enabled: bool = strawberry.field(description="False: deliveries wait.")
    api_key_id: UUID | None = strawberry.field(
        description="The API key that owns it; null when the section's admins own it."
    )
    created_at: datetime
    created_by: str = strawberry.field(description="Who created it (their subject).")
    updated_at: datetime

    @classmethod
    def from_model(cls, subscription: WebhookSubscription) -> WebhookNode:
        return cls(
            id=subscription.id,
            url=subscription.url,
            events=list(subscription.events),
            description=subscription.description,
            is_enabled=subscription.is_enabled,
            api_key_id=subscription.api_key_id,
            created_at=subscription.created_at,
            created_by=subscription.created_by,
            updated_at=subscription.updated_at,
        )


@strawberry.type(name="WebhookAttempt", description="One HTTP request of a delivery.")
class WebhookAttemptNode:
    attempted_at: datetime
    outcome: WebhookAttemptOutcome  # type: ignore[valid-type]
    status_code: int | None = strawberry.field(description="Null when no answer came.")
    duration_ms: int
    error: str | None = strawberry.field(
        description="What went wrong, as an error class (HTTPStatus, ConnectError, "
        "ReadTimeout, ForbiddenDestinationError, …)."
    )
    response_excerpt: str | None = strawberry.field(
        description="The start of the receiver's answer to a failed request (200 characters)."
    )

    @classmethod
    def from_model(cls, attempt: WebhookAttempt) -> WebhookAttemptNode:
        return cls(
            attempted_at=attempt.attempted_at,
            outcome=attempt.outcome,
            status_code=attempt.status_code,
            duration_ms=attempt.duration_ms,
            error=attempt.error,
            response_excerpt=attempt.response_excerpt,
        )


@strawberry.type(name="WebhookDelivery", description="One event sent to one webhook.")
class WebhookDeliveryNode:
    id: UUID = strawberry.field(
        description="The W4R-Webhook-Id header and the body's id: the same on every attempt "
        "and redelivery, so a receiver can drop duplicates."
    )
    event: str
    status: WebhookDeliveryStatus  # type: ignore[valid-type]
    attempts: int = strawberry.field(description="Attempts since it was last queued.")
    created_at: datetime
    next_attempt_at: datetime | None = strawberry.field(description="Null unless pending.")
    last_attempt_at: datetime | None
    delivered_at: datetime | None
    payload: JSON = strawberry.field(description="The body's data: what the receiver got.")
    attempt_log: list[WebhookAttemptNode] = strawberry.field(
        description="Every attempt, oldest first, redeliveries included."
    )

    @classmethod
    def from_model(
        cls, delivery: WebhookDelivery, attempts: list[WebhookAttempt]
    ) -> WebhookDeliveryNode:
        return cls(
            id=delivery.id,
            event=delivery.event.value,
            status=delivery.status,
            attempts=delivery.attempts,
            created_at=delivery.created_at,
            next_attempt_at=(
                delivery.next_attempt_at if delivery.status is DeliveryStatus.PENDING else None
            ),
            last_attempt_at=delivery.last_attempt_at,
            delivered_at=delivery.delivered_at,
            payload=JSON(delivery.payload),
            attempt_log=[WebhookAttemptNode.from_model(attempt) for attempt in attempts],
        )
