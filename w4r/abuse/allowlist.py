"""A section's allowlisted networks: whose addresses may write more often, and until when.

An entry names one network (CIDR), why it is there and when it stops applying. It must be
narrow: at most a /16 in IPv4 and a /48 in IPv6, so a section cannot exempt a whole
provider. Every entry expires, at most a year ahead, so none is forgotten for ever.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from w4r.abuse.models import AllowedNetwork
from w4r.abuse.repository import AllowlistRepository, Networks
from w4r.platform.database import TenantBinding
from w4r.platform.errors import InvalidInputError, ProblemCode
from w4r.platform.reference import ReferenceCache
from w4r.platform.validation import Problems

WIDEST_IPV4_PREFIX = 16
WIDEST_IPV6_PREFIX = 48
LONGEST_VALIDITY = timedelta(days=366)
MAX_NOTE_LENGTH = 500


@dataclass(frozen=True, slots=True)
class AllowlistDraft:
    network: str
    note: str
    expires_at: datetime


def parse_network(
    value: str, problems: Problems, field: str = "network"
) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """The network written in CIDR notation (a bare address is its own /32 or /128), or
    None with a problem when it is malformed, has host bits set or is too wide."""
    cleaned = value.strip()
    try:
        network = ipaddress.ip_network(cleaned, strict=True)
    except ValueError:
        try:
            loose = ipaddress.ip_network(cleaned, strict=False)
        except ValueError:
            problems.add(
                field,
                ProblemCode.INVALID,
                f"{value!r} is not a network in CIDR notation (e.g. 203.0.113.0/24 or "
                "2001:db8:1::/48).",
            )
            return None
        problems.add(
            field,
            ProblemCode.INVALID,
            f"{value!r} has host bits set; did you mean {loose.with_prefixlen}?",
        )
        return None
    widest = WIDEST_IPV4_PREFIX if network.version == 4 else WIDEST_IPV6_PREFIX
    if network.prefixlen < widest:
        problems.add(
            field,
            ProblemCode.NOT_ALLOWED,
            f"{network.with_prefixlen} is too wide: allowlist at most a /{widest} in "
            f"IPv{network.version}.",
        )
        return None
    return network


ACTIVE_NETWORKS: ReferenceCache[UUID, Networks] = ReferenceCache()
"""Per process, by section: every entry, expired ones too (expiry is checked on use)."""


class AllowlistService:
    """Entries of the section the session is bound to."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._entries = AllowlistRepository(session)

    async def entries(self) -> list[AllowedNetwork]:
        return await self._entries.entries()

    async def add(self, draft: AllowlistDraft, created_by: str | None) -> AllowedNetwork:
        problems = Problems()
        network = parse_network(draft.network, problems)
        note = problems.required_text(draft.note, "note", max_length=MAX_NOTE_LENGTH)
        now = datetime.now(UTC)
        if draft.expires_at.tzinfo is None:
            problems.add("expiresAt", ProblemCode.INVALID, "Give a time with its offset.")
        elif draft.expires_at <= now:
            problems.add("expiresAt", ProblemCode.INVALID, "The expiry must be in the future.")
        elif draft.expires_at > now + LONGEST_VALIDITY:
            problems.add(
                "expiresAt",
                ProblemCode.INVALID,
                f"An entry applies for at most {LONGEST_VALIDITY.days} days; add it again "
                "when it expires.",
            )
        problems.raise_any()
        assert network is not None
        if await self._entries.get_by_network(network.with_prefixlen) is not None:
            raise InvalidInputError.one(
                "network",
                ProblemCode.ALREADY_EXISTS,
                f"{network.with_prefixlen} is already allowlisted; remove it to change it.",
            )
        try:
            return await self._entries.add(
                AllowedNetwork(
                    network=network.with_prefixlen,
                    note=note,
                    expires_at=draft.expires_at,
                    created_by=created_by,
                )
            )
        except IntegrityError as error:  # another request added it meanwhile
            raise InvalidInputError.one(
                "network", ProblemCode.ALREADY_EXISTS, f"{network.with_prefixlen} was just added."
            ) from error

    async def remove(self, entry_id: UUID) -> AllowedNetwork:
        removed = await self._entries.remove(entry_id)
        if removed is None:
            raise InvalidInputError.one(
                "id", ProblemCode.NOT_FOUND, f"This section has no allowlist entry {entry_id}."
            )
        return removed

    async def covers(self, address: str) -> bool:
        """An active entry contains ``address`` (an IP address as text). Every anonymous
        write asks, so the section's entries are kept per process while the reference data
        is unchanged (w4r.platform.reference)."""
        binding = self._session.info.get("tenant")
        if isinstance(binding, TenantBinding) and binding.section_id is not None:
            entries = await ACTIVE_NETWORKS.get(
                self._session, binding.section_id, self._entries.networks
            )
        else:
            entries = await self._entries.networks()
        ip = ipaddress.ip_address(address)
        now = datetime.now(UTC)
        return any(expires_at > now and ip in network for network, expires_at in entries)
