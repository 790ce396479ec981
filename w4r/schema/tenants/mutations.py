"""Section mutations: `<entity><Verb>(input: …Input!): …Payload { <entity>, errors }`."""

from __future__ import annotations

from uuid import UUID

import strawberry

from w4r.platform.errors import InvalidInputError, ProblemCode
from w4r.schema.context import Info
from w4r.schema.errors import UserError, run_mutation
from w4r.schema.tenants.inputs import (
    SectionCreateInput,
    SectionHostAddInput,
    SectionMemberAddInput,
    SectionMemberRemoveInput,
    SectionUpdateInput,
)
from w4r.schema.tenants.types import SectionMemberNode, SectionNode
from w4r.tenants.models import Section
from w4r.tenants.service import (
    MemberDraft,
    MemberService,
    SectionChanges,
    SectionDraft,
    SectionService,
)


@strawberry.type
class SectionCreatePayload:
    section: SectionNode | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class SectionUpdatePayload:
    section: SectionNode | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class SectionHostAddPayload:
    section: SectionNode | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class SectionMemberAddPayload:
    member: SectionMemberNode | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class SectionMemberRemovePayload:
    removed_member_id: UUID | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


async def _section_by_code(service: SectionService, code: str) -> Section:
    section = await service.get_by_code(code)
    if section is None:
        raise InvalidInputError.one(
            "code", ProblemCode.NOT_FOUND, f"No section has the code {code!r}."
        )
    return section


def _refresh_registry_after_commit(info: Info) -> None:
    info.context.unit_of_work.after_commit(info.context.registry.invalidate)


@strawberry.type
class TenantMutations:
    @strawberry.mutation(description="Register a national section (IS admins).")
    async def section_create(self, info: Info, input: SectionCreateInput) -> SectionCreatePayload:  # noqa: A002
        service = SectionService(info.context.session)

        async def work() -> Section:
            return await service.create(
                SectionDraft(
                    code=input.code,
                    name=input.name,
                    country=input.country,
                    languages=input.languages,
                    time_zone=input.time_zone,
                    default_language=input.default_language,
                    hosts=input.hosts,
                )
            )

        outcome = await run_mutation(info, work)
        if isinstance(outcome, list):
            return SectionCreatePayload(errors=outcome)
        _refresh_registry_after_commit(info)
        return SectionCreatePayload(section=SectionNode.from_model(outcome))

    @strawberry.mutation(description="Change a section (IS admins, or the section's own admins).")
    async def section_update(self, info: Info, input: SectionUpdateInput) -> SectionUpdatePayload:  # noqa: A002
        service = SectionService(info.context.session)

        async def work() -> Section:
            section = await _section_by_code(service, input.code)
            service.authorize_change(info.context.principal, section)
            return await service.update(
                section,
                SectionChanges(
                    name=input.name,
                    country=input.country,
                    languages=input.languages,
                    default_language=input.default_language,
                    time_zone=input.time_zone,
                    require_trusted_documents=input.require_trusted_documents,
                    double_opt_in=input.double_opt_in,
                ),
            )

        outcome = await run_mutation(info, work)
        if isinstance(outcome, list):
            return SectionUpdatePayload(errors=outcome)
        return SectionUpdatePayload(section=SectionNode.from_model(outcome))

    @strawberry.mutation(description="Add a host name that identifies a section (IS admins).")
    async def section_host_add(
        self,
        info: Info,
        input: SectionHostAddInput,  # noqa: A002
    ) -> SectionHostAddPayload:
        service = SectionService(info.context.session)

        async def work() -> Section:
            section = await _section_by_code(service, input.code)
            await service.add_host(section, input.host)
            return section

        outcome = await run_mutation(info, work)
        if isinstance(outcome, list):
            return SectionHostAddPayload(errors=outcome)
        _refresh_registry_after_commit(info)
        return SectionHostAddPayload(section=SectionNode.from_model(outcome))

    @strawberry.mutation(
        description="Add a member to this request's section (section admins, IS admins)."
    )
    async def section_member_add(
        self,
        info: Info,
        input: SectionMemberAddInput,  # noqa: A002
    ) -> SectionMemberAddPayload:
        service = MemberService(info.context.session, info.context.binding)
        draft = MemberDraft(email=input.email, display_name=input.display_name, role=input.role)
        outcome = await run_mutation(info, lambda: service.add(draft))
        if isinstance(outcome, list):
            return SectionMemberAddPayload(errors=outcome)
        return SectionMemberAddPayload(member=SectionMemberNode.from_model(outcome))

    @strawberry.mutation(
        description="Remove a member of this request's section (section admins, IS admins)."
    )
    async def section_member_remove(
        self,
        info: Info,
        input: SectionMemberRemoveInput,  # noqa: A002
    ) -> SectionMemberRemovePayload:
        service = MemberService(info.context.session, info.context.binding)
        outcome = await run_mutation(info, lambda: service.remove(input.id))
        if isinstance(outcome, list):
            return SectionMemberRemovePayload(errors=outcome)
        return SectionMemberRemovePayload(removed_member_id=input.id)
