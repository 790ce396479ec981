"""GraphQL types of sections and members."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import strawberry

from w4r.platform.auth import Role
from w4r.platform.errors import PermissionDeniedError
from w4r.schema.context import Info
from w4r.schema.pagination import (
    Connection,
    build_connection,
    decode_cursor,
    invalid_cursor,
    page_size,
)
from w4r.schema.permissions import MATRIX
from w4r.tenants.models import MemberRole, Section, SectionMember
from w4r.tenants.service import MemberService

MemberRoleEnum = strawberry.enum(MemberRole, name="MemberRole")
RoleEnum = strawberry.enum(Role, name="Role")

MEMBER_CURSOR = "SectionMember"


def may_list_sections(info: Info) -> bool:
    """Whether the caller may see every section, as the matrix's rule of `sections` says."""
    context = info.context
    code = None if context.section is None else context.section.code
    return MATRIX["Query.sections"].allows(context.principal, code)


@strawberry.type(name="SectionMember", description="A person who works on a section's campaign.")
class SectionMemberNode:
    id: UUID
    email: str
    display_name: str
    role: MemberRoleEnum  # type: ignore[valid-type]
    created_at: datetime

    @classmethod
    def from_model(cls, member: SectionMember) -> SectionMemberNode:
        return cls(
            id=member.id,
            email=member.email,
            display_name=member.display_name,
            role=member.role,
            created_at=member.created_at,
        )


@strawberry.federation.type(
    name="Section", keys=["id", "code"], description="A national section of Amnesty International."
)
class SectionNode:
    id: UUID
    code: str = strawberry.field(description="Short code, e.g. 'gb', 'pl', 'fr-ca'.")
    name: str
    country: str = strawberry.field(description="ISO 3166-1 alpha-2 country code.")
    languages: list[str] = strawberry.field(description="BCP 47 tags, e.g. ['en', 'fr-CA'].")
    default_language: str
    time_zone: str = strawberry.field(description="IANA time zone, e.g. 'Europe/London'.")
    require_trusted_documents: bool = strawberry.field(
        description="Anonymous writes here must be trusted documents sent by hash."
    )
    double_opt_in: bool = strawberry.field(
        description="Petition signatures count only once the signer confirms their email."
    )
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_model(cls, section: Section) -> SectionNode:
        return cls(
            id=section.id,
            code=section.code,
            name=section.name,
            country=section.country,
            languages=list(section.languages),
            default_language=section.default_language,
            time_zone=section.time_zone,
            require_trusted_documents=section.require_trusted_documents,
            double_opt_in=section.double_opt_in,
            created_at=section.created_at,
            updated_at=section.updated_at,
        )

    @classmethod
    async def resolve_reference(
        cls,
        info: Info,
        id: UUID | None = None,  # noqa: A002
        code: str | None = None,
    ) -> SectionNode | None:
        """The section an entity representation names (by id or by code), as the queries
        show it to this caller: the request's own section (`section`) to everyone, any
        section to those the rule of `sections` lets list them all; else null, without a
        lookup."""
        context = info.context
        current = context.section
        is_current = current is not None and (current.id == id or current.code == code)
        if not is_current and not may_list_sections(info):
            return None
        loaders = context.tenant_loaders
        if id is not None:
            section = await loaders.sections_by_id.load(id)
        else:
            section = await loaders.sections_by_code.load(code or "")
        return None if section is None else cls.from_model(section)

    @strawberry.field(description="Host names that identify this section's requests.")
    async def hosts(self, info: Info) -> list[str]:
        return await info.context.tenant_loaders.hosts_by_section_id.load(self.id)

    @strawberry.field(description="The section's staff. Only at this section's own endpoint.")
    async def members(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[SectionMemberNode]:
        current = info.context.section
        if current is None or current.id != self.id:
            raise PermissionDeniedError(
                f"Members of section {self.code!r} are visible only at /s/{self.code}/graphql."
            )
        limit = page_size(first)
        cursor = None
        if after is not None:
            created_at, member_id = decode_cursor(MEMBER_CURSOR, after, 2)
            try:
                created = datetime.fromisoformat(created_at)
                if created.tzinfo is None:
                    raise invalid_cursor()
                cursor = (created.astimezone(UTC), UUID(member_id))
            except (ValueError, OverflowError) as error:
                raise invalid_cursor() from error
        members = await MemberService(info.context.session, info.context.binding).page(
            after=cursor, limit=limit + 1
        )
        info.context.audit.personal_data("Section.members", [m.id for m in members[:limit]])
        return build_connection(
            members,
            limit,
            kind=MEMBER_CURSOR,
            key=lambda member: (member.created_at.isoformat(), str(member.id)),
            node=SectionMemberNode.from_model,
        )


@strawberry.type(description="Who is calling.")
class Viewer:
    role: RoleEnum  # type: ignore[valid-type]
    subject: str | None
    section_code: str | None = strawberry.field(
        description="The section the caller's credentials are bound to, if any."
    )
