"""GraphQL inputs of section mutations."""

from __future__ import annotations

from uuid import UUID

import strawberry

from w4r.schema.tenants.types import MemberRoleEnum


@strawberry.input
class SectionCreateInput:
    code: str = strawberry.field(description="Short code, e.g. 'gb' or 'fr-ca'. Immutable.")
    name: str
    country: str = strawberry.field(description="ISO 3166-1 alpha-2, e.g. 'GB'.")
    languages: list[str] = strawberry.field(description="BCP 47 tags, e.g. ['en', 'cy'].")
    time_zone: str = strawberry.field(description="IANA time zone, e.g. 'Europe/London'.")
    default_language: str | None = strawberry.field(
        default=None, description="One of `languages`; the first one when omitted."
    )
    hosts: list[str] = strawberry.field(
        default_factory=list, description="Host names that identify the section's requests."
    )


@strawberry.input
class SectionUpdateInput:
    code: str = strawberry.field(description="The section to change.")
    name: str | None = None
    country: str | None = None
    languages: list[str] | None = None
    default_language: str | None = None
    time_zone: str | None = None
    require_trusted_documents: bool | None = strawberry.field(
        default=None,
        description="Anonymous writes (actions, signatures, registrations) must be trusted "
        "documents sent by their SHA-256 (see `w4r documents add`).",
    )
    double_opt_in: bool | None = strawberry.field(
        default=None,
        description="Petition signatures count only once the signer confirms their email "
        "with the link of a mail.",
    )


@strawberry.input
class SectionHostAddInput:
    code: str = strawberry.field(description="The section the host will identify.")
    host: str = strawberry.field(description="A DNS name, e.g. 'w4r.amnesty.org.uk'.")


@strawberry.input
class SectionMemberAddInput:
    email: str
    display_name: str
    role: MemberRoleEnum  # type: ignore[valid-type]


@strawberry.input
class SectionMemberRemoveInput:
    id: UUID
