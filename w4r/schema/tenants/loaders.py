"""Per-request loaders for sections, named for what they return and their key."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.dataloader import DataLoader

from w4r.tenants.models import Section
from w4r.tenants.service import SectionService


class TenantLoaders:
    def __init__(self, session: AsyncSession) -> None:
        self._sections = SectionService(session)
        self.hosts_by_section_id: DataLoader[UUID, list[str]] = DataLoader(self._load_hosts)
        self.sections_by_id: DataLoader[UUID, Section | None] = DataLoader(self._sections_by_id)
        self.sections_by_code: DataLoader[str, Section | None] = DataLoader(self._sections_by_code)

    async def _load_hosts(self, ids: Sequence[UUID]) -> list[list[str]]:
        hosts = await self._sections.hosts_by_section_ids(ids)
        return [hosts[section_id] for section_id in ids]

    async def _sections_by_id(self, ids: Sequence[UUID]) -> list[Section | None]:
        found = await self._sections.by_ids(ids)
        return [found.get(section_id) for section_id in ids]

    async def _sections_by_code(self, codes: Sequence[str]) -> list[Section | None]:
        found = await self._sections.by_codes(codes)
        return [found.get(code) for code in codes]
