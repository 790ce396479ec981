"""GraphQL enums and inputs of petition signatures and consent."""

from __future__ import annotations

from uuid import UUID

import strawberry

from w4r.supporters.models import ConsentMethod, ConsentPurpose
from w4r.supporters.service import RequestOutcome

ConsentPurposeEnum = strawberry.enum(ConsentPurpose, name="ConsentPurpose")
ConsentMethodEnum = strawberry.enum(ConsentMethod, name="ConsentMethod")
ConsentRequestOutcomeEnum = strawberry.enum(RequestOutcome, name="ConsentRequestOutcome")


@strawberry.input(description="A consent ticked on the form, in the wording it showed.")
class ConsentChoiceInput:
    purpose: ConsentPurposeEnum  # type: ignore[valid-type]
    wording_version: str = strawberry.field(
        description="The version of the consent text the form showed (e.g. '2026-11-v1')."
    )


@strawberry.input
class PetitionSignInput:
    campaign: int = strawberry.field(description="The campaign's year.")
    case_id: UUID
    email: str
    name: str = strawberry.field(description="The name as it should read on the petition.")
    country: str = strawberry.field(description="ISO 3166-1 alpha-2, e.g. 'GB'.")
    language: str | None = strawberry.field(default=None, description="BCP 47, e.g. 'en'.")
    consents: list[ConsentChoiceInput] = strawberry.field(
        default_factory=list,
        description="PETITION_DELIVERY (the name may be handed to the authorities with this "
        "case's petition) and CAMPAIGN_UPDATES, when ticked.",
    )
    idempotency_key: str = strawberry.field(
        description="Unique per client for this signature (a UUID): a retry with the same "
        "key and input returns the first answer."
    )
    client_id: str | None = strawberry.field(
        default=None,
        description="Anonymous callers: a stable id of the installation or browser (a UUID).",
    )


@strawberry.input
class SignatureConfirmInput:
    token: str = strawberry.field(description="The code of the confirmation mail.")


@strawberry.input
class ConsentGiveInput:
    email: str
    name: str
    purpose: ConsentPurposeEnum  # type: ignore[valid-type]
    wording_version: str
    case_id: UUID | None = strawberry.field(
        default=None, description="PETITION_DELIVERY: the case whose petition it is for."
    )
    method: ConsentMethodEnum | None = strawberry.field(  # type: ignore[valid-type]
        default=None,
        description="Staff: how the supporter gave it (PAPER_FORM, PHONE, EMAIL, IN_PERSON). "
        "Public callers always give it on a form.",
    )
    country: str | None = None
    language: str | None = None


@strawberry.input
class ConsentWithdrawInput:
    token: str | None = strawberry.field(
        default=None, description="The withdrawal code of any mail we sent: works at once."
    )
    email: str | None = strawberry.field(
        default=None, description="Without a token: the supporter's email."
    )
    purpose: ConsentPurposeEnum | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="Omitted: every consent."
    )
    case_id: UUID | None = strawberry.field(
        default=None, description="PETITION_DELIVERY: only this case's (omitted: every case)."
    )
    method: ConsentMethodEnum | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="Staff: how the supporter asked."
    )


@strawberry.input
class SupporterEraseInput:
    email: str
