"""What a caller gives to sign a petition, give or withdraw consent."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from uuid import UUID

from w4r.supporters.models import ConsentMethod, ConsentPurpose


@dataclass(frozen=True, slots=True)
class ConsentChoice:
    """A consent ticked on a petition form, in the wording version the form showed."""

    purpose: ConsentPurpose
    wording_version: str


@dataclass(frozen=True, slots=True)
class SignatureDraft:
    campaign_year: int
    case_id: UUID
    email: str
    name: str
    country: str
    idempotency_key: str
    language: str | None = None
    consents: Sequence[ConsentChoice] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class ConsentDraft:
    email: str
    name: str
    purpose: ConsentPurpose
    wording_version: str
    case_id: UUID | None = None
    method: ConsentMethod | None = None
    """Staff say how they received it; a public caller's is always ONLINE_FORM."""
    country: str | None = None
    language: str | None = None


@dataclass(frozen=True, slots=True)
class WithdrawalDraft:
    """By token (from a mail: no account needed), or by email (staff, or the public)."""

    token: str | None = None
    email: str | None = None
    purpose: ConsentPurpose | None = None
    """None withdraws every consent."""
    case_id: UUID | None = None
    method: ConsentMethod | None = None
