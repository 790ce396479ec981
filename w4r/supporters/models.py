"""Supporters, their consents, petition signatures and single-use tokens (all tenant-owned).

Personal data, special-category under GDPR Art. 9 (a signature reveals a political
opinion): none of these tables is readable in the global scope, and erasure removes every
personal field while the ledger actions a signature counted stay (see docs/privacy.md).
"""

from __future__ import annotations

import enum
from datetime import datetime
from uuid import UUID

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Text,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from w4r.actions.models import Channel
from w4r.platform.enums import value_enum
from w4r.platform.models import TenantOwned, Timestamped


class ConsentPurpose(enum.StrEnum):
    """What a supporter agreed to. Values are API: never rename one."""

    PETITION_DELIVERY = "petition-delivery"
    """"My name may be handed to the authorities with the petition" (one case's petition)."""
    CAMPAIGN_UPDATES = "campaign-updates"
    """News of the campaign and its cases by email (the whole section)."""


class ConsentMethod(enum.StrEnum):
    """How a consent was given or withdrawn."""

    ONLINE_FORM = "online-form"
    """The supporter, on a web form or in an app (a public mutation)."""
    EMAIL_LINK = "email-link"
    """The supporter, with the single-use link of a mail we sent."""
    PAPER_FORM = "paper-form"
    PHONE = "phone"
    EMAIL = "email"
    """A mail from the supporter to the section, recorded by staff."""
    IN_PERSON = "in-person"
    ERASURE = "erasure"
    """Withdrawn because the supporter's data was erased (never given this way)."""


class SignatureStatus(enum.StrEnum):
    PENDING = "pending"
    """Waiting for the signer to confirm their email (double opt-in): not counted."""
    COUNTED = "counted"
    """In the ledger (``action_id``)."""
    FLAGGED = "flagged"
    """Caught by the anti-abuse screening: stored, never counted."""


class TokenKind(enum.StrEnum):
    CONFIRM = "confirm"
    """Confirms the email: counts the pending signature, confirms the pending consents."""
    WITHDRAW = "withdraw"
    """Withdraws consents without an account (all of them, or one purpose)."""


class Supporter(Timestamped, TenantOwned):
    """A person who acted with a section, found by the keyed hash of their email."""

    __tablename__ = "supporters"
    __table_args__ = (
        Index("uq_supporters_section_id_email_hash", "section_id", "email_hash", unique=True),
        Index("ix_supporters_section_id_last_activity_at", "section_id", "last_activity_at"),
        CheckConstraint("country is null or country ~ '^[A-Z]{2}$'", name="country_format"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, server_default=text("gen_random_uuid()"))
    email_hash: Mapped[str] = mapped_column(Text)
    """HMAC-SHA256 (hex) of the normalised email under the deployment's supporter hash key."""
    email: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    country: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(Text)
    email_confirmed_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())
    last_activity_at: Mapped[datetime] = mapped_column(server_default=func.now())
    """The supporter's last own act (signing, confirming, giving or withdrawing consent):
    what the retention purge compares with."""


class Consent(TenantOwned):
    """One consent, from when it was given (and how, in which wording) to its withdrawal.

    A consent given again after a withdrawal is a new row: the history stays provable.
    A public consent in a double opt-in section is effective once the email is confirmed
    (``confirmed_at``); staff-recorded ones and single opt-in ones are confirmed at once.
    """

    __tablename__ = "consents"
    __table_args__ = (
        ForeignKeyConstraint(
            ["section_id", "supporter_id"],
            ["supporters.section_id", "supporters.id"],
            ondelete="CASCADE",
        ),
        CheckConstraint(
            "(purpose = 'petition-delivery') = (case_id is not null)", name="case_for_petitions"
        ),
        CheckConstraint(
            "(withdrawn_at is null) = (withdrawal_method is null)", name="withdrawal_whole"
        ),
        CheckConstraint("length(wording_version) between 1 and 100", name="wording_length"),
        Index("ix_consents_section_id_supporter_id", "section_id", "supporter_id"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, server_default=text("gen_random_uuid()"))
    supporter_id: Mapped[UUID]
    purpose: Mapped[ConsentPurpose] = mapped_column(value_enum(ConsentPurpose, "consent_purpose"))
    case_id: Mapped[UUID | None] = mapped_column(ForeignKey("cases.id", ondelete="RESTRICT"))
    wording_version: Mapped[str] = mapped_column(Text)
    """The version of the text the supporter agreed to, as the form showed it."""
    given_at: Mapped[datetime] = mapped_column(server_default=func.now())
    method: Mapped[ConsentMethod] = mapped_column(value_enum(ConsentMethod, "consent_method"))
    recorded_by: Mapped[str | None] = mapped_column(Text)
    """The staff member who recorded it (token subject); None when the supporter did."""
    confirmed_at: Mapped[datetime | None]
    confirmation_token_id: Mapped[UUID | None]
    """The confirmation that will confirm this consent (double opt-in), until it does."""
    withdrawn_at: Mapped[datetime | None]
    withdrawal_method: Mapped[ConsentMethod | None] = mapped_column(
        value_enum(ConsentMethod, "consent_withdrawal_method")
    )
    withdrawn_by: Mapped[str | None] = mapped_column(Text)


class Signature(Timestamped, TenantOwned):
    """A petition signature: who signed (until erased), and the ledger action it counts as.

    Erasure clears the link to the person (``supporter_id``, name, country) and keeps the
    rest, so the ledger action it counted stays explained and nothing is counted twice.
    """

    __tablename__ = "petition_signatures"
    __table_args__ = (
        ForeignKeyConstraint(
            ["section_id", "supporter_id"],
            ["supporters.section_id", "supporters.id"],
            ondelete="RESTRICT",
        ),
        CheckConstraint("(status = 'counted') = (action_id is not null)", name="counted_action"),
        CheckConstraint(
            "erased_at is not null or (supporter_id is not null and name is not null)",
            name="signer_until_erased",
        ),
        Index(
            "ix_petition_signatures_section_id_case_id_status",
            "section_id",
            "case_id",
            "status",
        ),
        Index("ix_petition_signatures_section_id_supporter_id", "section_id", "supporter_id"),
        # One signature per person and petition: a second signing never counts again.
        # Flagged ones stay out, so a bot's use of an address cannot block its owner.
        Index(
            "uq_petition_signatures_section_id_signer_petition",
            "section_id",
            "supporter_id",
            "campaign_id",
            "case_id",
            unique=True,
            postgresql_where=text("supporter_id is not null and status <> 'flagged'"),
        ),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, server_default=text("gen_random_uuid()"))
    supporter_id: Mapped[UUID | None]
    campaign_id: Mapped[UUID] = mapped_column(ForeignKey("campaigns.id", ondelete="RESTRICT"))
    case_id: Mapped[UUID] = mapped_column(ForeignKey("cases.id", ondelete="RESTRICT"))
    name: Mapped[str | None] = mapped_column(Text)
    """The name as signed: what goes to the authorities (with petition-delivery consent)."""
    country: Mapped[str | None] = mapped_column(Text)
    status: Mapped[SignatureStatus] = mapped_column(value_enum(SignatureStatus, "signature_status"))
    channel: Mapped[Channel] = mapped_column(value_enum(Channel, "action_channel"))
    """How it came (online form, partner app): the channel of the action it counts as."""
    action_id: Mapped[UUID | None]
    """The ledger action this signature counts as, once counted."""
    confirmed_at: Mapped[datetime | None]
    erased_at: Mapped[datetime | None]


class SupporterToken(Timestamped, TenantOwned):
    """A secret sent by mail, stored only as its SHA-256: single-use and expiring."""

    __tablename__ = "supporter_tokens"
    __table_args__ = (
        ForeignKeyConstraint(
            ["section_id", "supporter_id"],
            ["supporters.section_id", "supporters.id"],
            ondelete="CASCADE",
        ),
        Index("uq_supporter_tokens_section_id_token_hash", "section_id", "token_hash", unique=True),
        Index("ix_supporter_tokens_section_id_supporter_id", "section_id", "supporter_id"),
        CheckConstraint("expires_at > created_at", name="expires_after_creation"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, server_default=text("gen_random_uuid()"))
    supporter_id: Mapped[UUID]
    token_hash: Mapped[str] = mapped_column(Text)
    kind: Mapped[TokenKind] = mapped_column(value_enum(TokenKind, "supporter_token_kind"))
    signature_id: Mapped[UUID | None]
    """The pending signature a confirmation counts."""
    purpose: Mapped[ConsentPurpose | None] = mapped_column(
        value_enum(ConsentPurpose, "supporter_token_purpose")
    )
    """A withdrawal's purpose; None withdraws every consent."""
    case_id: Mapped[UUID | None] = mapped_column(ForeignKey("cases.id", ondelete="RESTRICT"))
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
