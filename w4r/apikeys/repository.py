"""All SQL about API keys.

Row-level security decides which keys a session sees: in a section's scope that section's,
in the global scope every key. Management lists and changes "the keys of the scope": a
section's scope its own (the policy alone), the global scope the IS-owned ones
(:meth:`ApiKeyRepository._of_scope` adds ``section_id is null``). Authentication looks a key
up by its hash across all of them, in the global scope.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, or_, select, true, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from w4r.apikeys.models import ApiKey
from w4r.platform.database import TenantBinding
from w4r.tenants.models import Section


@dataclass(frozen=True, slots=True)
class KeyOwner:
    """A key found by its hash, with the code of the section that owns it (None: the IS)."""

    key: ApiKey
    section_code: str | None


class ApiKeyRepository:
    def __init__(self, session: AsyncSession, binding: TenantBinding) -> None:
        self._session = session
        self._binding = binding

    def _of_scope(self) -> ColumnElement[bool]:
        """The keys this scope manages; the one place scoping is added beyond the policy."""
        if self._binding.section_id is None:
            return ApiKey.section_id.is_(None)
        return true()  # the policy already shows a section's scope its own keys only

    async def insert(self, **values: Any) -> ApiKey:
        # section_id is not passed: its server default is the bound section (null, the IS,
        # in the global scope) and the policy refuses a section's scope any other.
        key = ApiKey(**values)
        self._session.add(key)
        await self._session.flush()
        await self._session.refresh(key)
        return key

    async def get_for_update(self, key_id: UUID) -> ApiKey | None:
        """The scope's key ``key_id``, locked until the transaction ends."""
        result = await self._session.execute(
            select(ApiKey).where(ApiKey.id == key_id, self._of_scope()).with_for_update()
        )
        return result.scalar_one_or_none()

    async def revoke(self, key: ApiKey, *, revoked_by: str, at: datetime) -> ApiKey:
        key.revoked_at = at
        key.revoked_by = revoked_by
        await self._session.flush()
        return key

    async def page(self, *, after: tuple[datetime, UUID] | None, limit: int) -> list[ApiKey]:
        query = (
            select(ApiKey)
            .where(self._of_scope())
            .order_by(ApiKey.created_at, ApiKey.id)
            .limit(limit)
        )
        if after is not None:
            query = query.where(tuple_(ApiKey.created_at, ApiKey.id) > tuple_(*after))
        return list((await self._session.execute(query)).scalars())

    async def find_by_hash(self, key_hash: bytes) -> KeyOwner | None:
        """Any key the session may see with this hash, and its owner's code (authentication,
        in the global scope: it sees every key)."""
        result = await self._session.execute(
            select(ApiKey, Section.code)
            .outerjoin(Section, Section.id == ApiKey.section_id)
            .where(ApiKey.key_hash == key_hash)
        )
        row = result.one_or_none()
        return None if row is None else KeyOwner(key=row[0], section_code=row[1])

    async def record_use(self, key_id: UUID, *, at: datetime, resolution: timedelta) -> None:
        """Set ``last_used_at`` unless it is already within ``resolution`` of ``at`` (another
        replica may have just written it)."""
        await self._session.execute(
            update(ApiKey)
            .where(
                ApiKey.id == key_id,
                or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at <= at - resolution),
            )
            .values(last_used_at=at)
            .execution_options(synchronize_session=False)
        )
