"""Per-request loaders for sections, named for what they return and their key."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.dataloader import DataLoader

from w4r.tenants.service import SectionService


class TenantLoaders:
    def __init__(self, session: AsyncSession) -> None:
        self._sections = SectionService(session)
        self.hosts_by_section_id: DataLoader[UUID, list[str]] = DataLoader(self._load_hosts)

    async def _load_hosts(self, ids: Sequence[UUID]) -> list[list[str]]:
        hosts = await self._sections.hosts_by_section_ids(ids)
        return [hosts[section_id] for section_id in ids]
