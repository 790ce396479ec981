"""Webhook mutations: `webhookCreate` (the only answer that carries the secret),
`webhookUpdate`, `webhookDelete` and `webhookRedeliver`."""

from __future__ import annotations

from uuid import UUID

import strawberry

from w4r.schema.context import Info
from w4r.schema.errors import UserError, run_mutation
from w4r.schema.webhooks.inputs import (
    WebhookCreateInput,
    WebhookDeleteInput,
    WebhookRedeliverInput,
    WebhookUpdateInput,
)
from w4r.schema.webhooks.queries import webhook_service
from w4r.schema.webhooks.types import WebhookDeliveryNode, WebhookNode
from w4r.webhooks.models import WebhookDelivery, WebhookSubscription
from w4r.webhooks.service import CreatedWebhook, WebhookChanges, WebhookDraft


@strawberry.type
class WebhookCreatePayload:
    webhook: WebhookNode | None = None
    secret: str | None = strawberry.field(
        default=None,
        description="The signing secret (whsec_…), to verify W4R-Webhook-Signature. Shown "
        "this once: copy it now (it is stored encrypted and never shown again).",
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class WebhookUpdatePayload:
    webhook: WebhookNode | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class WebhookDeletePayload:
    deleted_id: UUID | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class WebhookRedeliverPayload:
    delivery: WebhookDeliveryNode | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class WebhookMutations:
    @strawberry.mutation(
        description="Subscribe an https URL to kinds of event of this section: for the "
        "section's admins, or for the calling API key (public data only).",
    )
    async def webhook_create(self, info: Info, input: WebhookCreateInput) -> WebhookCreatePayload:  # noqa: A002
        draft = WebhookDraft(url=input.url, events=input.events, description=input.description)

        async def work() -> CreatedWebhook:
            return await webhook_service(info).create(draft)

        outcome = await run_mutation(info, work)
        if isinstance(outcome, list):
            return WebhookCreatePayload(errors=outcome)
        return WebhookCreatePayload(
            webhook=WebhookNode.from_model(outcome.subscription), secret=outcome.secret
        )

    @strawberry.mutation(description="Change a webhook's URL, events, description or state.")
    async def webhook_update(self, info: Info, input: WebhookUpdateInput) -> WebhookUpdatePayload:  # noqa: A002
        changes = WebhookChanges(
            url=input.url,
            events=input.events,
            description=input.description,
            is_enabled=input.is_enabled,
        )

        async def work() -> WebhookSubscription:
            return await webhook_service(info).update(input.id, changes)

        outcome = await run_mutation(info, work)
        if isinstance(outcome, list):
            return WebhookUpdatePayload(errors=outcome)
        return WebhookUpdatePayload(webhook=WebhookNode.from_model(outcome))

    @strawberry.mutation(description="Delete a webhook, with its deliveries and their log.")
    async def webhook_delete(self, info: Info, input: WebhookDeleteInput) -> WebhookDeletePayload:  # noqa: A002
        async def work() -> WebhookSubscription:
            return await webhook_service(info).delete(input.id)

        outcome = await run_mutation(info, work)
        if isinstance(outcome, list):
            return WebhookDeletePayload(errors=outcome)
        return WebhookDeletePayload(deleted_id=outcome.id)

    @strawberry.mutation(
        description="Send a delivered or failed delivery again: same W4R-Webhook-Id, same "
        "body data, a fresh set of attempts.",
    )
    async def webhook_redeliver(
        self,
        info: Info,
        input: WebhookRedeliverInput,  # noqa: A002
    ) -> WebhookRedeliverPayload:
        service = webhook_service(info)

        async def work() -> WebhookDelivery:
            return await service.redeliver(input.delivery_id)

        outcome = await run_mutation(info, work)
        if isinstance(outcome, list):
            return WebhookRedeliverPayload(errors=outcome)
        attempts = await service.attempts([outcome.id])
        wake = info.context.services.webhooks.wake_dispatcher
        if wake is not None:
            info.context.unit_of_work.after_commit(wake)
        return WebhookRedeliverPayload(
            delivery=WebhookDeliveryNode.from_model(outcome, attempts[outcome.id])
        )
