"""All SQL of abuse protection: allowlisted networks and trusted documents."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from w4r.abuse.models import AllowedNetwork, TrustedDocument

Networks = tuple[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, datetime], ...]
"""Allowlisted networks with their expiry."""


class AllowlistRepository:
    """The allowlisted networks of the section the session is bound to (row-level security
    hides every other section's)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def entries(self) -> list[AllowedNetwork]:
        """Every entry, expired ones included, newest first."""
        result = await self._session.execute(
            select(AllowedNetwork).order_by(
                AllowedNetwork.created_at.desc(), AllowedNetwork.id.desc()
            )
        )
        return list(result.scalars())

    async def get_by_network(self, network: str) -> AllowedNetwork | None:
        result = await self._session.execute(
            select(AllowedNetwork).where(AllowedNetwork.network == network)
        )
        return result.scalar_one_or_none()

    async def add(self, entry: AllowedNetwork) -> AllowedNetwork:
        self._session.add(entry)
        await self._session.flush()
        await self._session.refresh(entry)
        return entry

    async def remove(self, entry_id: UUID) -> AllowedNetwork | None:
        result = await self._session.execute(
            delete(AllowedNetwork).where(AllowedNetwork.id == entry_id).returning(AllowedNetwork)
        )
        return result.scalar_one_or_none()

    async def networks(self) -> Networks:
        """Every entry's network and expiry, expired ones included."""
        result = await self._session.execute(
            select(AllowedNetwork.network, AllowedNetwork.expires_at)
        )
        return tuple(
            (ipaddress.ip_network(str(network)), expires_at) for network, expires_at in result
        )


class TrustedDocumentRepository:
    """The global table of trusted documents (readable in any scope)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def text_of(self, document_id: str) -> str | None:
        result = await self._session.execute(
            select(TrustedDocument.document).where(TrustedDocument.id == document_id)
        )
        return result.scalar_one_or_none()

    async def add(self, documents: Sequence[tuple[str, str, str]]) -> set[str]:
        """Insert ``(id, name, text)`` rows; returns the ids that were new (a document is
        immutable: adding the same text again keeps the first name)."""
        if not documents:
            return set()
        statement = (
            insert(TrustedDocument)
            .values(
                [
                    {"id": document_id, "name": name, "document": document}
                    for document_id, name, document in documents
                ]
            )
            .on_conflict_do_nothing(index_elements=[TrustedDocument.id])
            .returning(TrustedDocument.id)
        )
        result = await self._session.execute(statement)
        return set(result.scalars())

    async def listing(self) -> list[TrustedDocument]:
        result = await self._session.execute(
            select(TrustedDocument).order_by(TrustedDocument.created_at, TrustedDocument.name)
        )
        return list(result.scalars())
