"""Event mutations: organising (staff, hosts), registering (anyone), reporting."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from uuid import UUID

import strawberry

from w4r.events.drafts import RegistrationDraft, ReportLineDraft
from w4r.events.models import Event, EventReport, Registration, RegistrationStatus
from w4r.events.service import EventService, Registered, SectionInfo
from w4r.schema.abuse import PublicWriteKind, public_write_flag
from w4r.schema.context import Info
from w4r.schema.errors import UserError, run_mutation
from w4r.schema.events.inputs import (
    EventDecisionInput,
    EventInput,
    EventRegisterInput,
    EventRegistrationCancelInput,
    EventReportInput,
    EventUpdateInput,
)
from w4r.schema.events.types import EventNode, RegistrationStatusEnum


def event_service(info: Info) -> EventService:
    section = info.context.require_section("Events belong to a section")
    return EventService(
        info.context.session,
        SectionInfo(
            section_id=section.id,
            languages=section.languages,
            time_zone=section.time_zone,
            grace_days=info.context.services.settings.action_grace_days,
        ),
        info.context.principal,
    )


@strawberry.type
class EventPayload:
    event: EventNode | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class EventRegisterPayload:
    status: RegistrationStatusEnum | None = None  # type: ignore[valid-type]
    registration_id: UUID | None = None
    cancellation_token: str | None = strawberry.field(
        default=None,
        description="Shown once: keep it to cancel (e.g. in the confirmation email's link).",
    )
    event: EventNode | None = strawberry.field(
        default=None, description="With the address and link, even when for registered only."
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class EventRegistrationCancelPayload:
    registration_id: UUID | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class EventReportPayload:
    revision: int | None = None
    attendance: int | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


async def _event_payload(info: Info, work: Callable[[], Awaitable[Event]]) -> EventPayload:
    outcome = await run_mutation(info, work)
    if isinstance(outcome, list):
        return EventPayload(errors=outcome)
    return EventPayload(event=EventNode.from_model(outcome, info))


@strawberry.type
class EventMutations:
    @strawberry.mutation(
        description="Create an event: a draft for staff, waiting for approval for a host."
    )
    async def event_create(self, info: Info, input: EventInput) -> EventPayload:  # noqa: A002
        return await _event_payload(info, lambda: event_service(info).create(input.to_draft()))

    @strawberry.mutation(description="Change an event.")
    async def event_update(self, info: Info, input: EventUpdateInput) -> EventPayload:  # noqa: A002
        return await _event_payload(
            info, lambda: event_service(info).update(input.id, input.event.to_draft())
        )

    @strawberry.mutation(description="Publish a draft (staff).")
    async def event_publish(self, info: Info, input: EventDecisionInput) -> EventPayload:  # noqa: A002
        return await _event_payload(info, lambda: event_service(info).publish(input.id))

    @strawberry.mutation(description="Cancel an event (staff).")
    async def event_cancel(self, info: Info, input: EventDecisionInput) -> EventPayload:  # noqa: A002
        return await _event_payload(info, lambda: event_service(info).cancel(input.id, input.note))

    @strawberry.mutation(description="Publish a host's event (staff).")
    async def event_approve(self, info: Info, input: EventDecisionInput) -> EventPayload:  # noqa: A002
        return await _event_payload(info, lambda: event_service(info).approve(input.id, input.note))

    @strawberry.mutation(description="Send a host's event back as a draft, with a note (staff).")
    async def event_reject(self, info: Info, input: EventDecisionInput) -> EventPayload:  # noqa: A002
        return await _event_payload(info, lambda: event_service(info).reject(input.id, input.note))

    @strawberry.mutation(
        description="Register for a published event: a seat, or the waitlist when it is full."
    )
    async def event_register(
        self,
        info: Info,
        input: EventRegisterInput,  # noqa: A002
    ) -> EventRegisterPayload:
        async def work() -> Registered:
            return await event_service(info).register(
                input.event_id,
                RegistrationDraft(
                    name=input.name,
                    email=input.email,
                    guests=input.guests,
                    may_contact=input.may_contact,
                    language=input.language,
                    client_id=input.client_id.strip(),
                ),
                screen=lambda: public_write_flag(info, PublicWriteKind.REGISTRATION),
            )

        outcome = await run_mutation(info, work)
        if isinstance(outcome, list):
            return EventRegisterPayload(errors=outcome)
        registration = outcome.registration
        event = await event_service(info).get(input.event_id)
        # A flagged registration answers as a counted one would: its seats show here.
        held_seats = (
            1 + registration.guests
            if registration.flag is not None and registration.status is RegistrationStatus.CONFIRMED
            else 0
        )
        return EventRegisterPayload(
            status=registration.status,
            registration_id=registration.id,
            cancellation_token=outcome.cancellation_token,
            event=None
            if event is None
            else EventNode.from_model(event, info, registered=True, held_seats=held_seats),
        )

    @strawberry.mutation(
        description="Cancel a registration with its secret token; the waitlist moves up."
    )
    async def event_registration_cancel(
        self,
        info: Info,
        input: EventRegistrationCancelInput,  # noqa: A002
    ) -> EventRegistrationCancelPayload:
        async def work() -> Registration:
            return await event_service(info).cancel_registration(input.cancellation_token)

        outcome = await run_mutation(info, work)
        if isinstance(outcome, list):
            return EventRegistrationCancelPayload(errors=outcome)
        return EventRegistrationCancelPayload(registration_id=outcome.id)

    @strawberry.mutation(
        description="Report attendance and actions per case and type (host or staff); a new "
        "report replaces the previous one and the totals change by the difference."
    )
    async def event_report(self, info: Info, input: EventReportInput) -> EventReportPayload:  # noqa: A002
        async def work() -> EventReport:
            return await event_service(info).report(
                input.event_id,
                input.attendance,
                [
                    ReportLineDraft(
                        case_id=line.case_id, action_type=line.action_type, quantity=line.quantity
                    )
                    for line in input.lines
                ],
                input.note,
            )

        outcome = await run_mutation(info, work)
        if isinstance(outcome, list):
            return EventReportPayload(errors=outcome)
        return EventReportPayload(revision=outcome.revision, attendance=outcome.attendance)
