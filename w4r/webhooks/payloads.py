"""The ``data`` of each event kind: public data and counts only, built in one place.

Whoever receives a delivery (a section's own endpoint, or a partner's API key) sees what
the public API shows anonymously: published cases and their outcomes, published events
without the address kept for registered people, counts. Never a name, an email, a
registration's token, internal notes, or a number of another section's. The request body
wraps the data with the delivery's id, type and creation time (:func:`body`).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

import orjson

from w4r.cases.models import Case, CaseOutcome
from w4r.events.models import Event, Registration
from w4r.webhooks.models import EventKind

Data = dict[str, Any]


def _moment(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _day(value: date) -> str:
    return value.isoformat()


def _case_ref(case: Case) -> Data:
    return {"id": str(case.id), "slug": case.slug}


def case_published(case: Case) -> Data:
    return {
        "case": {
            **_case_ref(case),
            "subjectName": case.subject_name,
            "subjectKind": case.subject_kind.value,
            "country": case.country,
            "themes": list(case.themes),
            "sourceLanguage": case.source_language,
            "publishedAt": _moment(case.published_at),
        }
    }


def case_outcome_added(case: Case, outcome: CaseOutcome) -> Data:
    return {
        "case": _case_ref(case),
        "outcome": {
            "id": str(outcome.id),
            "kind": outcome.kind.value,
            "occurredOn": _day(outcome.occurred_on),
            "datePrecision": outcome.date_precision.value,
            "description": outcome.description,
        },
    }


def case_milestone(*, campaign_id: UUID, year: int, case: Case, threshold: int, total: int) -> Data:
    return {
        "scope": "case",
        "campaign": {"id": str(campaign_id), "year": year},
        "case": _case_ref(case),
        "threshold": threshold,
        "total": total,
    }


def section_milestone(
    *, campaign_id: UUID, year: int, section_code: str, threshold: int, total: int
) -> Data:
    return {
        "scope": "section",
        "campaign": {"id": str(campaign_id), "year": year},
        "section": {"code": section_code},
        "threshold": threshold,
        "total": total,
    }


def event_published(event: Event) -> Data:
    # The city and country only: a street address or an online link may be for registered
    # people, and coordinates would locate a venue more closely than the public API does.
    return {
        "event": {
            "id": str(event.id),
            "campaignId": str(event.campaign_id),
            "status": event.status.value,
            "format": event.format.value,
            "language": event.language,
            "startsAt": _moment(event.starts_at),
            "endsAt": _moment(event.ends_at),
            "timeZone": event.time_zone,
            "city": event.city,
            "country": event.country,
            "capacity": event.capacity,
            "publishedAt": _moment(event.published_at),
        }
    }


def event_cancelled(event: Event) -> Data:
    return {
        "event": {
            "id": str(event.id),
            "status": event.status.value,
            "startsAt": _moment(event.starts_at),
            "cancelledAt": _moment(event.cancelled_at),
        }
    }


def registration_created(event: Event, registration: Registration, seats_taken: int) -> Data:
    """Counts and ids only: the registrant's name, email, language and device stay out."""
    spots_left = None if event.capacity is None else max(event.capacity - seats_taken, 0)
    return {
        "event": {
            "id": str(event.id),
            "capacity": event.capacity,
            "registeredCount": seats_taken,
            "spotsLeft": spots_left,
        },
        "registration": {
            "id": str(registration.id),
            "status": registration.status.value,
            "guests": registration.guests,
        },
    }


def body(*, delivery_id: UUID, event: EventKind, created_at: datetime, data: Data) -> bytes:
    """The request body: the same bytes on every attempt of one delivery (sorted keys)."""
    envelope = {
        "id": str(delivery_id),
        "type": event.value,
        "createdAt": created_at.isoformat(),
        "data": data,
    }
    return orjson.dumps(envelope, option=orjson.OPT_SORT_KEYS)
