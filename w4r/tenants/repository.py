"""All SQL about sections, their hosts and their members."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import delete, func, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from w4r.platform.grouping import group_pairs
from w4r.tenants.models import MemberRole, Section, SectionHost, SectionMember


@dataclass(frozen=True, slots=True)
class RegistryRow:
    id: UUID
    code: str
    hosts: tuple[str, ...]
    languages: tuple[str, ...] = ()
    default_language: str = ""
    time_zone: str = "UTC"
    require_trusted_documents: bool = False


class SectionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, section_id: UUID) -> Section | None:
        return await self._session.get(Section, section_id)

    async def get_by_code(self, code: str) -> Section | None:
        result = await self._session.execute(select(Section).where(Section.code == code))
        return result.scalar_one_or_none()

    async def by_ids(self, ids: Sequence[UUID]) -> dict[UUID, Section]:
        result = await self._session.execute(select(Section).where(Section.id.in_(ids)))
        return {section.id: section for section in result.scalars()}

    async def by_codes(self, codes: Sequence[str]) -> dict[str, Section]:
        result = await self._session.execute(select(Section).where(Section.code.in_(codes)))
        return {section.code: section for section in result.scalars()}

    async def page(self, *, after_code: str | None, limit: int) -> list[Section]:
        """Sections ordered by code, those after ``after_code``, at most ``limit``."""
        query = select(Section).order_by(Section.code).limit(limit)
        if after_code is not None:
            query = query.where(Section.code > after_code)
        return list((await self._session.execute(query)).scalars())

    async def insert(self, **values: Any) -> Section:
        section = Section(**values)
        self._session.add(section)
        await self._session.flush()
        await self._session.refresh(section)
        return section

    async def update(self, section: Section, **values: Any) -> Section:
        await self._session.execute(
            update(Section).where(Section.id == section.id).values(**values, updated_at=func.now())
        )
        await self._session.refresh(section)
        return section

    async def host_owner(self, host: str) -> UUID | None:
        result = await self._session.execute(
            select(SectionHost.section_id).where(SectionHost.host == host)
        )
        return result.scalar_one_or_none()

    async def add_host(self, section_id: UUID, host: str) -> None:
        self._session.add(SectionHost(section_id=section_id, host=host))
        await self._session.flush()

    async def hosts_by_section_ids(self, ids: Sequence[UUID]) -> dict[UUID, list[str]]:
        result = await self._session.execute(
            select(SectionHost.section_id, SectionHost.host)
            .where(SectionHost.section_id.in_(ids))
            .order_by(SectionHost.host)
        )
        return group_pairs(ids, result)

    async def registry(self) -> list[RegistryRow]:
        """Every section with its hosts: what request routing needs, nothing more."""
        result = await self._session.execute(
            select(
                Section.id,
                Section.code,
                func.array_remove(func.array_agg(SectionHost.host), None),
                Section.languages,
                Section.default_language,
                Section.time_zone,
                Section.require_trusted_documents,
            )
            .outerjoin(SectionHost, SectionHost.section_id == Section.id)
            .group_by(Section.id)
        )
        return [
            RegistryRow(
                id=section_id,
                code=code,
                hosts=tuple(sorted(hosts)),
                languages=tuple(languages),
                default_language=default_language,
                time_zone=time_zone,
                require_trusted_documents=require_trusted_documents,
            )
            for (
                section_id,
                code,
                hosts,
                languages,
                default_language,
                time_zone,
                require_trusted_documents,
            ) in result
        ]


class MemberRepository:
    """Members of the section the session is bound to; RLS hides every other section's."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, member_id: UUID) -> SectionMember | None:
        result = await self._session.execute(
            select(SectionMember).where(SectionMember.id == member_id)
        )
        return result.scalar_one_or_none()

    async def email_taken(self, email: str) -> bool:
        result = await self._session.execute(
            select(func.count())
            .select_from(SectionMember)
            .where(func.lower(SectionMember.email) == email.lower())
        )
        return result.scalar_one() > 0

    async def page(self, *, after: tuple[datetime, UUID] | None, limit: int) -> list[SectionMember]:
        query = (
            select(SectionMember).order_by(SectionMember.created_at, SectionMember.id).limit(limit)
        )
        if after is not None:
            query = query.where(tuple_(SectionMember.created_at, SectionMember.id) > tuple_(*after))
        return list((await self._session.execute(query)).scalars())

    async def insert(self, *, email: str, display_name: str, role: MemberRole) -> SectionMember:
        # section_id is not passed: its server default is the section the transaction is
        # bound to, and the RLS policy refuses any other.
        member = SectionMember(email=email, display_name=display_name, role=role)
        self._session.add(member)
        await self._session.flush()
        await self._session.refresh(member)
        return member

    async def delete(self, member_id: UUID) -> bool:
        result = await self._session.execute(
            delete(SectionMember).where(SectionMember.id == member_id).returning(SectionMember.id)
        )
        return result.first() is not None
