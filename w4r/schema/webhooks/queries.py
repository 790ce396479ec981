"""Webhook queries: the webhooks of the caller, and a webhook's deliveries."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import strawberry

from w4r.schema.context import Info
from w4r.schema.pagination import (
    Connection,
    build_connection,
    decode_cursor,
    invalid_cursor,
    page_size,
)
from w4r.schema.webhooks.types import WebhookDeliveryNode, WebhookNode
from w4r.webhooks.service import WebhookService

WEBHOOK_CURSOR = "Webhook"
DELIVERY_CURSOR = "WebhookDelivery"


def webhook_service(info: Info) -> WebhookService:
    context = info.context
    return WebhookService(
        context.session, context.binding, context.principal, context.services.webhooks
    )


def _key(kind: str, cursor: str | None) -> tuple[datetime, UUID] | None:
    if cursor is None:
        return None
    moment, row_id = decode_cursor(kind, cursor, 2)
    try:
        parsed = datetime.fromisoformat(moment)
        if parsed.tzinfo is None:
            raise invalid_cursor()
        return parsed.astimezone(UTC), UUID(row_id)
    except (ValueError, OverflowError) as error:
        raise invalid_cursor() from error


@strawberry.type
class WebhookQueries:
    @strawberry.field(
        description="The webhooks of this section, oldest first: every one for its admins, "
        "its own for an API key (at /s/<code>/graphql).",
    )
    async def webhooks(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[WebhookNode]:
        limit = page_size(first)
        cursor = _key(WEBHOOK_CURSOR, after)
        subscriptions = await webhook_service(info).page(after=cursor, limit=limit + 1)
        return build_connection(
            subscriptions,
            limit,
            kind=WEBHOOK_CURSOR,
            key=lambda subscription: (subscription.created_at.isoformat(), str(subscription.id)),
            node=WebhookNode.from_model,
        )

    @strawberry.field(
        description="A webhook's deliveries, newest first, each with its attempts: the "
        "status codes, durations and errors, never the receiver's whole answer.",
    )
    async def webhook_deliveries(
        self,
        info: Info,
        webhook_id: UUID,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[WebhookDeliveryNode]:
        limit = page_size(first)
        cursor = _key(DELIVERY_CURSOR, after)
        service = webhook_service(info)
        deliveries = await service.deliveries(webhook_id, before=cursor, limit=limit + 1)
        attempts = await service.attempts([delivery.id for delivery in deliveries[:limit]])
        return build_connection(
            deliveries,
            limit,
            kind=DELIVERY_CURSOR,
            key=lambda delivery: (delivery.created_at.isoformat(), str(delivery.id)),
            node=lambda delivery: WebhookDeliveryNode.from_model(
                delivery, attempts.get(delivery.id, [])
            ),
        )
