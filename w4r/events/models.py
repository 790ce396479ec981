"""Letter-writing events and their registrations and reports (all tenant-owned)."""

from __future__ import annotations

import enum
from datetime import datetime
from uuid import UUID

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    Text,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from w4r.abuse.models import FLAG_CHECK
from w4r.actions.models import ActionType
from w4r.platform.enums import value_enum
from w4r.platform.models import TenantOwned, Timestamped

MAX_GUESTS = 10
MAX_CAPACITY = 100_000


class EventStatus(enum.StrEnum):
    DRAFT = "draft"
    PENDING_APPROVAL = "pending-approval"
    PUBLISHED = "published"
    CANCELLED = "cancelled"
    FINISHED = "finished"
    """Never stored: a published event whose end has passed is reported as finished."""


class EventFormat(enum.StrEnum):
    IN_PERSON = "in-person"
    ONLINE = "online"
    HYBRID = "hybrid"


class AddressVisibility(enum.StrEnum):
    PUBLIC = "public"
    REGISTERED = "registered"
    """The address, exact coordinates and online link go to registered people only."""


class RegistrationStatus(enum.StrEnum):
    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"


class Event(Timestamped, TenantOwned):
    __tablename__ = "events"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("latitude is null or latitude between -90 and 90", name="latitude_range"),
        CheckConstraint(
            "longitude is null or longitude between -180 and 180", name="longitude_range"
        ),
        CheckConstraint("(latitude is null) = (longitude is null)", name="point_whole"),
        CheckConstraint(
            f"capacity is null or capacity between 1 and {MAX_CAPACITY}", name="capacity_range"
        ),
        CheckConstraint("format = 'online' or latitude is not null", name="in_person_has_a_place"),
        CheckConstraint("format = 'in-person' or online_url is not null", name="online_has_a_link"),
        Index("ix_events_section_id_latitude_longitude", "section_id", "latitude", "longitude"),
        Index("ix_events_section_id_starts_at", "section_id", "starts_at"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, server_default=text("gen_random_uuid()"))
    campaign_id: Mapped[UUID] = mapped_column(ForeignKey("campaigns.id", ondelete="RESTRICT"))
    status: Mapped[EventStatus] = mapped_column(value_enum(EventStatus, "event_status"))
    format: Mapped[EventFormat] = mapped_column(value_enum(EventFormat, "event_format"))
    language: Mapped[str] = mapped_column(Text)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    time_zone: Mapped[str] = mapped_column(Text)
    venue_name: Mapped[str | None] = mapped_column(Text)
    street_address: Mapped[str | None] = mapped_column(Text)
    city: Mapped[str | None] = mapped_column(Text)
    country: Mapped[str | None] = mapped_column(Text)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    online_url: Mapped[str | None] = mapped_column(Text)
    capacity: Mapped[int | None] = mapped_column(Integer)
    address_visibility: Mapped[AddressVisibility] = mapped_column(
        value_enum(AddressVisibility, "address_visibility")
    )
    organiser_name: Mapped[str] = mapped_column(Text)
    organiser_email: Mapped[str | None] = mapped_column(Text)
    host_subject: Mapped[str | None] = mapped_column(Text)
    review_note: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())


class EventText(TenantOwned):
    __tablename__ = "event_texts"
    __table_args__ = (
        ForeignKeyConstraint(
            ["section_id", "event_id"], ["events.section_id", "events.id"], ondelete="CASCADE"
        ),
    )

    event_id: Mapped[UUID] = mapped_column(primary_key=True)
    language: Mapped[str] = mapped_column(Text, primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)


class EventCase(TenantOwned):
    __tablename__ = "event_cases"
    __table_args__ = (
        ForeignKeyConstraint(
            ["section_id", "event_id"], ["events.section_id", "events.id"], ondelete="CASCADE"
        ),
    )

    event_id: Mapped[UUID] = mapped_column(primary_key=True)
    case_id: Mapped[UUID] = mapped_column(
        ForeignKey("cases.id", ondelete="RESTRICT"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer)


class Registration(Timestamped, TenantOwned):
    """A person's RSVP. Personal data: only the section's staff and the event's host see it."""

    __tablename__ = "event_registrations"
    __table_args__ = (
        ForeignKeyConstraint(
            ["section_id", "event_id"], ["events.section_id", "events.id"], ondelete="CASCADE"
        ),
        CheckConstraint(f"guests between 0 and {MAX_GUESTS}", name="guests_range"),
        CheckConstraint(FLAG_CHECK, name="flag_known"),
        Index(
            "uq_event_registrations_section_id_event_id_email",
            "section_id",
            "event_id",
            func.lower(text("email")),
            unique=True,
            # A flagged registration never blocks a real person's.
            postgresql_where=text("status <> 'cancelled' AND flag IS NULL"),
        ),
        Index(
            "ix_event_registrations_section_id_event_id_status",
            "section_id",
            "event_id",
            "status",
            "created_at",
        ),
        Index(
            "uq_event_registrations_section_id_token_hash",
            "section_id",
            "cancellation_token_hash",
            unique=True,
        ),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, server_default=text("gen_random_uuid()"))
    event_id: Mapped[UUID]
    name: Mapped[str] = mapped_column(Text)
    email: Mapped[str] = mapped_column(Text)
    guests: Mapped[int] = mapped_column(Integer)
    may_contact: Mapped[bool] = mapped_column(Boolean)
    language: Mapped[str | None] = mapped_column(Text)
    status: Mapped[RegistrationStatus] = mapped_column(
        value_enum(RegistrationStatus, "registration_status")
    )
    cancellation_token_hash: Mapped[str] = mapped_column(Text)
    client_id: Mapped[str] = mapped_column(Text)
    cancelled_at: Mapped[datetime | None]
    flag: Mapped[str | None] = mapped_column(Text)
    """Why this anonymous registration was held back (a
    :class:`w4r.abuse.models.WriteFlag`), or None. A flagged registration takes no seat and
    is not counted; its registrant got the answer a counted one would have."""


class EventReport(Timestamped, TenantOwned):
    """One version of what an event achieved; a later one replaces it (never adds to it)."""

    __tablename__ = "event_reports"
    __table_args__ = (
        ForeignKeyConstraint(
            ["section_id", "event_id"], ["events.section_id", "events.id"], ondelete="RESTRICT"
        ),
        CheckConstraint("attendance >= 0", name="attendance_positive"),
    )

    event_id: Mapped[UUID] = mapped_column(primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, primary_key=True)
    attendance: Mapped[int] = mapped_column(Integer)
    reported_by: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)


class EventReportLine(TenantOwned):
    __tablename__ = "event_report_lines"
    __table_args__ = (
        ForeignKeyConstraint(
            ["section_id", "event_id", "revision"],
            ["event_reports.section_id", "event_reports.event_id", "event_reports.revision"],
            ondelete="CASCADE",
        ),
        CheckConstraint("quantity >= 0", name="quantity_positive"),
    )

    event_id: Mapped[UUID] = mapped_column(primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[UUID] = mapped_column(
        ForeignKey("cases.id", ondelete="RESTRICT"), primary_key=True
    )
    action_type: Mapped[ActionType] = mapped_column(
        value_enum(ActionType, "action_type"), primary_key=True
    )
    quantity: Mapped[int] = mapped_column(Integer)
