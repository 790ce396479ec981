"""Rules about events: who may do what, validation, registration with a waitlist, reports.

Events belong to the section the session is bound to. Section staff create events as
drafts and publish or cancel them; an event host (a volunteer with a section-issued token)
submits events that wait for approval and may edit, read the attendees of and report on
their own events. The public sees published events only.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from w4r.actions.models import ActionType, ReporterKind
from w4r.actions.service import LedgerService, SectionContext
from w4r.campaigns.repository import CampaignRepository
from w4r.cases.models import CaseStatus
from w4r.cases.repository import CaseRepository
from w4r.events.drafts import EventDraft, RegistrationDraft, ReportLineDraft
from w4r.events.geo import InvalidPoint, check_point
from w4r.events.models import (
    MAX_CAPACITY,
    MAX_GUESTS,
    Event,
    EventFormat,
    EventReport,
    EventReportLine,
    EventStatus,
    EventText,
    Registration,
    RegistrationStatus,
)
from w4r.events.repository import EventRepository
from w4r.platform.auth import Principal, Role
from w4r.platform.errors import InvalidInputError, PermissionDeniedError, ProblemCode
from w4r.platform.languages import normalize_language_tag
from w4r.platform.validation import Problems
from w4r.translations.fallback import language_chain
from w4r.webhooks.service import WebhookOutbox

Screen = Callable[[], Awaitable[str | None]]
"""Decides, just before a public registration is stored, whether it must be flagged."""

MAX_EVENT_DAYS = 7
MAX_REGISTRATIONS_PER_CLIENT = 3
MAX_REPORT_LINES = 100
MAX_ATTENDANCE = 100_000
STAFF_ROLES = frozenset({Role.SECTION_ADMIN, Role.SECTION_EDITOR, Role.IS_ADMIN})


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def shown_status(event: Event, now: datetime | None = None) -> EventStatus:
    """Published events whose end has passed are finished."""
    moment = now or datetime.now(UTC)
    if event.status is EventStatus.PUBLISHED and event.ends_at <= moment:
        return EventStatus.FINISHED
    return event.status


def pick_text(
    texts: Sequence[EventText], requested: Sequence[str], own_language: str
) -> tuple[EventText, bool]:
    """The text in the first requested language (or a parent of it) the event has, else in
    the event's own language; and whether that is a fallback."""
    by_language = {text.language: text for text in texts}
    for wanted in requested:
        for tag in language_chain(wanted):
            if tag in by_language:
                return by_language[tag], tag != requested[0]
    own = by_language[own_language]
    return own, bool(requested) and own_language != requested[0]


@dataclass(frozen=True, slots=True)
class SectionInfo:
    section_id: UUID
    languages: tuple[str, ...]
    time_zone: str
    grace_days: int


@dataclass(frozen=True, slots=True)
class Registered:
    registration: Registration
    cancellation_token: str


class EventService:
    def __init__(self, session: AsyncSession, section: SectionInfo, actor: Principal) -> None:
        self._session = session
        self._events = EventRepository(session)
        self._cases = CaseRepository(session)
        self._campaigns = CampaignRepository(session)
        self._section = section
        self._actor = actor
        self._webhooks = WebhookOutbox(session)

    # --- who may ------------------------------------------------------------------------

    @property
    def is_staff(self) -> bool:
        return self._actor.role in STAFF_ROLES

    def is_host_of(self, event: Event) -> bool:
        return (
            self._actor.role is Role.EVENT_HOST
            and event.host_subject is not None
            and event.host_subject == self._actor.subject
        )

    def may_see_private(self, event: Event) -> bool:
        """Attendees, organiser contact and a registered-only address."""
        return self.is_staff or self.is_host_of(event)

    def visible_statuses(self) -> list[EventStatus]:
        if self.is_staff:
            return [
                EventStatus.DRAFT,
                EventStatus.PENDING_APPROVAL,
                EventStatus.PUBLISHED,
                EventStatus.CANCELLED,
            ]
        return [EventStatus.PUBLISHED, EventStatus.CANCELLED]

    def is_visible(self, event: Event) -> bool:
        return event.status in self.visible_statuses() or self.is_host_of(event)

    async def get(self, event_id: UUID, *, lock: bool = False) -> Event | None:
        event = await self._events.get(event_id, lock=lock)
        return event if event is not None and self.is_visible(event) else None

    async def _own(self, event_id: UUID, *, lock: bool = False) -> Event:
        event = await self.get(event_id, lock=lock)
        if event is None:
            raise InvalidInputError.one(
                "id", ProblemCode.NOT_FOUND, f"There is no event {event_id}."
            )
        if not (self.is_staff or self.is_host_of(event)):
            raise PermissionDeniedError(
                "Only the section's staff and the event's host may do this."
            )
        return event

    # --- creating and changing ----------------------------------------------------------

    async def _check(self, draft: EventDraft, problems: Problems) -> dict[str, Any]:
        now = datetime.now(UTC)
        language = self._language(draft.language, "language", problems)
        if not draft.texts:
            problems.add("texts", ProblemCode.REQUIRED, "Give a title in at least one language.")
        texts = []
        for index, text in enumerate(draft.texts):
            texts.append(
                {
                    "language": self._language(text.language, f"texts.{index}.language", problems),
                    "title": problems.required_text(
                        text.title, f"texts.{index}.title", max_length=200
                    ),
                    "description": problems.text(
                        text.description,
                        f"texts.{index}.description",
                        max_length=10_000,
                        multiline=True,
                    ),
                }
            )
        if texts and language not in {text["language"] for text in texts}:
            problems.add(
                "texts",
                ProblemCode.REQUIRED,
                f"Give the title in the event's own language ({language}).",
            )
        time_zone = problems.time_zone(draft.time_zone)
        for field, moment in (("startsAt", draft.starts_at), ("endsAt", draft.ends_at)):
            if moment.tzinfo is None:
                problems.add(field, ProblemCode.INVALID, "Give a time with its offset (ISO 8601).")
        if draft.starts_at.tzinfo is not None and draft.ends_at.tzinfo is not None:
            if draft.starts_at < now:
                problems.add("startsAt", ProblemCode.INVALID, "An event cannot start in the past.")
            if draft.ends_at <= draft.starts_at:
                problems.add("endsAt", ProblemCode.INVALID, "An event ends after it starts.")
            elif draft.ends_at - draft.starts_at > timedelta(days=MAX_EVENT_DAYS):
                problems.add(
                    "endsAt", ProblemCode.INVALID, f"An event lasts at most {MAX_EVENT_DAYS} days."
                )
        has_place = draft.format in (EventFormat.IN_PERSON, EventFormat.HYBRID)
        if has_place:
            if draft.latitude is None or draft.longitude is None:
                problems.add(
                    "latitude", ProblemCode.REQUIRED, "An in-person event needs its coordinates."
                )
            else:
                try:
                    check_point(draft.latitude, draft.longitude)
                except InvalidPoint as error:
                    problems.add("latitude", ProblemCode.INVALID, str(error))
            if not (draft.city or "").strip():
                problems.add("city", ProblemCode.REQUIRED, "An in-person event needs its city.")
        online_url = problems.url(draft.online_url, "onlineUrl")
        if draft.format in (EventFormat.ONLINE, EventFormat.HYBRID) and online_url is None:
            problems.add("onlineUrl", ProblemCode.REQUIRED, "An online event needs its link.")
        if draft.capacity is not None and not 1 <= draft.capacity <= MAX_CAPACITY:
            problems.add("capacity", ProblemCode.INVALID, f"A capacity from 1 to {MAX_CAPACITY}.")
        email = None
        if draft.organiser_email:
            email = problems.email(draft.organiser_email, "organiserEmail")
        campaign = await self._campaigns.get_by_year(draft.campaign_year)
        if campaign is None or campaign.status.value == "draft":
            problems.add(
                "campaign", ProblemCode.NOT_FOUND, f"There is no {draft.campaign_year} campaign."
            )
        case_ids = list(dict.fromkeys(draft.case_ids))
        cases = await self._cases.by_ids(case_ids) if case_ids else {}
        for case_id in case_ids:
            case = cases.get(case_id)
            if case is None or case.status is not CaseStatus.PUBLISHED:
                problems.add(
                    "caseIds", ProblemCode.NOT_FOUND, f"There is no published case {case_id}."
                )
        return {
            "campaign_id": None if campaign is None else campaign.id,
            "format": draft.format,
            "language": language,
            "starts_at": draft.starts_at,
            "ends_at": draft.ends_at,
            "time_zone": time_zone,
            "venue_name": problems.text(draft.venue_name, "venueName", max_length=300)
            if has_place
            else None,
            "street_address": problems.text(
                draft.street_address, "streetAddress", max_length=500, multiline=True
            )
            if has_place
            else None,
            "city": problems.text(draft.city, "city", max_length=200) if has_place else None,
            "country": problems.country(draft.country) if has_place and draft.country else None,
            "latitude": draft.latitude if has_place else None,
            "longitude": draft.longitude if has_place else None,
            "online_url": online_url if draft.format is not EventFormat.IN_PERSON else None,
            "capacity": draft.capacity,
            "address_visibility": draft.address_visibility,
            "organiser_name": problems.required_text(
                draft.organiser_name, "organiserName", max_length=200
            ),
            "organiser_email": email,
            "_texts": texts,
            "_case_ids": case_ids,
        }

    def _language(self, tag: str, field: str, problems: Problems) -> str:
        before = len(problems.items)
        language = problems.language(tag, field)
        if len(problems.items) == before and language not in self._section.languages:
            problems.add(
                field,
                ProblemCode.OUT_OF_SCOPE,
                f"{language!r} is not one of this section's languages "
                f"({', '.join(self._section.languages)}).",
            )
        return language

    async def create(self, draft: EventDraft) -> Event:
        """Staff create a draft; a host's event waits for the section's approval."""
        problems = Problems()
        values = await self._check(draft, problems)
        problems.raise_any()
        texts, case_ids = values.pop("_texts"), values.pop("_case_ids")
        status = EventStatus.DRAFT if self.is_staff else EventStatus.PENDING_APPROVAL
        event: Event = await self._events.add(
            Event(
                **values, status=status, host_subject=None if self.is_staff else self._actor.subject
            )
        )
        await self._events.replace_texts(event.id, texts)
        await self._events.replace_cases(event.id, case_ids)
        return event

    async def update(self, event_id: UUID, draft: EventDraft) -> Event:
        event = await self._own(event_id, lock=True)
        if not self.is_staff and event.status is EventStatus.PUBLISHED:
            raise PermissionDeniedError("A published event is changed by the section's staff.")
        if event.status is EventStatus.CANCELLED:
            raise InvalidInputError.one(
                "id", ProblemCode.NOT_ALLOWED, "A cancelled event cannot change."
            )
        problems = Problems()
        values = await self._check(draft, problems)
        problems.raise_any()
        texts, case_ids = values.pop("_texts"), values.pop("_case_ids")
        await self._events.replace_texts(event.id, texts)
        await self._events.replace_cases(event.id, case_ids)
        return await self._events.update(event, **values)

    async def _transition(
        self, event_id: UUID, allowed: set[EventStatus], target: EventStatus, **values: Any
    ) -> Event:
        if not self.is_staff:
            raise PermissionDeniedError("Only the section's staff may do this.")
        event = await self._own(event_id, lock=True)
        if event.status not in allowed:
            raise InvalidInputError.one(
                "id",
                ProblemCode.NOT_ALLOWED,
                f"The event is {event.status.value}: it cannot become {target.value}.",
            )
        was_public = event.status is EventStatus.PUBLISHED
        changed = await self._events.update(event, status=target, **values)
        if target is EventStatus.PUBLISHED:
            await self._webhooks.event_published(changed)
        elif target is EventStatus.CANCELLED and was_public:
            # A draft the public never saw is cancelled silently.
            await self._webhooks.event_cancelled(changed)
        return changed

    async def publish(self, event_id: UUID) -> Event:
        return await self._transition(
            event_id, {EventStatus.DRAFT}, EventStatus.PUBLISHED, published_at=datetime.now(UTC)
        )

    async def approve(self, event_id: UUID, note: str | None) -> Event:
        return await self._transition(
            event_id,
            {EventStatus.PENDING_APPROVAL},
            EventStatus.PUBLISHED,
            published_at=datetime.now(UTC),
            review_note=note,
        )

    async def reject(self, event_id: UUID, note: str | None) -> Event:
        """Back to the host as a draft, with the section's note."""
        return await self._transition(
            event_id, {EventStatus.PENDING_APPROVAL}, EventStatus.DRAFT, review_note=note
        )

    async def cancel(self, event_id: UUID, note: str | None) -> Event:
        return await self._transition(
            event_id,
            {EventStatus.DRAFT, EventStatus.PENDING_APPROVAL, EventStatus.PUBLISHED},
            EventStatus.CANCELLED,
            cancelled_at=datetime.now(UTC),
            review_note=note,
        )

    # --- registering --------------------------------------------------------------------

    async def register(
        self, event_id: UUID, draft: RegistrationDraft, screen: Screen | None = None
    ) -> Registered:
        """A seat, or a place on the waitlist when the event is full. The event row is locked
        for the decision, so concurrent registrations never exceed the capacity.

        ``screen`` runs once the input is valid and returns the flag of a registration that
        abuse protection holds back: it is stored with the status a counted one would get,
        but takes no seat, never blocks anyone's email and never leaves the waitlist. Its
        duplicate checks look at every registration, so it is refused exactly when a
        counted one would be."""
        problems = Problems()
        name = problems.required_text(draft.name, "name", max_length=200)
        email = problems.email(draft.email, "email")
        if not 0 <= draft.guests <= MAX_GUESTS:
            problems.add("guests", ProblemCode.INVALID, f"From 0 to {MAX_GUESTS} guests.")
        language = None
        if draft.language:
            try:
                language = normalize_language_tag(draft.language)
            except ValueError as error:
                problems.add("language", ProblemCode.UNKNOWN_LANGUAGE, str(error))
        if not draft.client_id:
            problems.add(
                "clientId", ProblemCode.REQUIRED, "Send a clientId (a UUID the site keeps)."
            )
        problems.raise_any()
        event = await self._events.get(event_id, lock=True)
        if event is None or shown_status(event) is not EventStatus.PUBLISHED:
            raise InvalidInputError.one(
                "eventId",
                ProblemCode.NOT_FOUND,
                f"There is no upcoming published event {event_id}.",
            )
        flag = None if screen is None else await screen()
        flagged = flag is not None
        existing = await self._events.registration_by_email(
            event.id, email, include_flagged=flagged
        )
        if existing is not None:
            raise InvalidInputError.one(
                "email",
                ProblemCode.ALREADY_EXISTS,
                "This email is already registered for the event; cancel that registration "
                "with its link to change it.",
            )
        if await self._events.active_registrations_of_client(
            event.id, draft.client_id, include_flagged=flagged
        ) >= (MAX_REGISTRATIONS_PER_CLIENT):
            raise InvalidInputError.one(
                "clientId",
                ProblemCode.NOT_ALLOWED,
                f"At most {MAX_REGISTRATIONS_PER_CLIENT} registrations for one event from one "
                "device; add guests to a registration instead.",
            )
        seats = (await self._events.seats_by_event_ids([event.id]))[event.id]
        waitlisted = await self._events.registrations(
            event.id, [RegistrationStatus.WAITLISTED], include_flagged=False
        )
        fits = event.capacity is None or (
            not waitlisted and seats + 1 + draft.guests <= event.capacity
        )
        token = secrets.token_urlsafe(32)
        try:
            registration: Registration = await self._events.add(
                Registration(
                    event_id=event.id,
                    name=name,
                    email=email,
                    guests=draft.guests,
                    may_contact=draft.may_contact,
                    language=language,
                    status=RegistrationStatus.CONFIRMED if fits else RegistrationStatus.WAITLISTED,
                    cancellation_token_hash=token_hash(token),
                    client_id=draft.client_id[:200],
                    flag=flag,
                    # The moment of the decision, taken under the event's lock (not the
                    # transaction's start): the list and the waitlist follow this order.
                    created_at=func.clock_timestamp(),
                )
            )
        except IntegrityError as error:
            raise InvalidInputError.one(
                "email",
                ProblemCode.ALREADY_EXISTS,
                "This email is already registered for the event.",
            ) from error
        if not flagged:
            # Held-back registrations take no seat and are announced to no one.
            seats_taken = (await self._events.seats_by_event_ids([event.id]))[event.id]
            await self._webhooks.registration_created(event, registration, seats_taken)
        return Registered(registration=registration, cancellation_token=token)

    async def cancel_registration(self, token: str) -> Registration:
        """Cancel with the secret token; promote the waitlist in order while seats allow."""
        registration = await self._events.registration_by_token_hash(token_hash(token.strip()))
        if registration is None or registration.status is RegistrationStatus.CANCELLED:
            raise InvalidInputError.one(
                "cancellationToken", ProblemCode.NOT_FOUND, "No active registration has this token."
            )
        event = await self._events.get(registration.event_id, lock=True)
        assert event is not None
        await self._events.set_registration_status(
            registration, RegistrationStatus.CANCELLED, datetime.now(UTC)
        )
        await self._promote(event)
        return registration

    async def _promote(self, event: Event) -> None:
        seats = (await self._events.seats_by_event_ids([event.id]))[event.id]
        waiting_list = await self._events.registrations(
            event.id, [RegistrationStatus.WAITLISTED], include_flagged=False
        )
        for waiting in waiting_list:
            needed = 1 + waiting.guests
            if event.capacity is not None and seats + needed > event.capacity:
                break  # first come, first served: nobody overtakes the head of the list
            await self._events.set_registration_status(waiting, RegistrationStatus.CONFIRMED)
            seats += needed

    async def registrations(self, event_id: UUID) -> list[Registration]:
        event = await self._own(event_id)
        return await self._events.registrations(
            event.id,
            [
                RegistrationStatus.CONFIRMED,
                RegistrationStatus.WAITLISTED,
                RegistrationStatus.CANCELLED,
            ],
        )

    # --- reporting ----------------------------------------------------------------------

    async def report(
        self, event_id: UUID, attendance: int, lines: Sequence[ReportLineDraft], note: str | None
    ) -> EventReport:
        """The event's results. A new report replaces the previous one: the ledger gets the
        difference, so a correction never counts twice."""
        event = await self._own(event_id, lock=True)
        problems = Problems()
        if shown_status(event) not in (EventStatus.PUBLISHED, EventStatus.FINISHED):
            problems.add("eventId", ProblemCode.NOT_ALLOWED, "Only a published event is reported.")
        elif event.starts_at > datetime.now(UTC):
            problems.add("eventId", ProblemCode.NOT_ALLOWED, "Report an event once it has started.")
        if not 0 <= attendance <= MAX_ATTENDANCE:
            problems.add("attendance", ProblemCode.INVALID, f"From 0 to {MAX_ATTENDANCE} people.")
        if len(lines) > MAX_REPORT_LINES:
            problems.add("lines", ProblemCode.TOO_LONG, f"At most {MAX_REPORT_LINES} lines.")
        wanted: dict[tuple[UUID, ActionType], int] = {}
        for index, line in enumerate(lines):
            key = (line.case_id, line.action_type)
            if key in wanted:
                problems.add(
                    f"lines.{index}",
                    ProblemCode.ALREADY_EXISTS,
                    "This case and type are reported twice.",
                )
            if not 0 <= line.quantity <= 100_000:
                problems.add(f"lines.{index}.quantity", ProblemCode.INVALID, "From 0 to 100,000.")
            wanted[key] = line.quantity
        review = problems.text(note, "note", max_length=2000, multiline=True)
        problems.raise_any()
        ledger = LedgerService(
            self._session,
            SectionContext(
                section_id=self._section.section_id,
                time_zone=event.time_zone,
                grace_days=self._section.grace_days,
            ),
        )
        case_ids = list(dict.fromkeys(case_id for case_id, _ in wanted))
        campaign_row = await self._campaigns.get(event.campaign_id)
        assert campaign_row is not None
        campaign = await ledger.check_event_cases(
            campaign_row.year, case_ids, event.starts_at, problems
        )
        problems.raise_any()
        previous, previous_lines = await self._events.latest_report(event.id)
        before = {(line.case_id, line.action_type): line.quantity for line in previous_lines}
        deltas = {
            key: wanted.get(key, 0) - before.get(key, 0) for key in before.keys() | wanted.keys()
        }
        revision = 1 if previous is None else previous.revision + 1
        report: EventReport = await self._events.add(
            EventReport(
                event_id=event.id,
                revision=revision,
                attendance=attendance,
                reported_by=self._actor.subject,
                note=review,
            )
        )
        for (case_id, action_type), quantity in wanted.items():
            await self._events.add(
                EventReportLine(
                    event_id=event.id,
                    revision=revision,
                    case_id=case_id,
                    action_type=action_type,
                    quantity=quantity,
                )
            )
        if campaign is not None:
            await ledger.record_event_report(
                campaign=campaign,
                event_id=event.id,
                occurred_at=event.starts_at,
                deltas=deltas,
                reporter_kind=ReporterKind.SECTION_STAFF
                if self.is_staff
                else ReporterKind.EVENT_HOST,
                reporter_ref=self._actor.subject,
            )
        return report


def coarse(value: float | None) -> float | None:
    """A coordinate rounded to about a kilometre, for a registered-only address."""
    return None if value is None or not math.isfinite(value) else round(value, 2)
