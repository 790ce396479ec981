"""Which anonymous public writes are counted, and which are recorded flagged.

Every anonymous public write spends one unit from two budgets (w4r.platform.ratelimit):
its address's, then its section's. An address that is over its allowance is flagged
``rate-limit-ip`` without touching the section's budget, so one noisy address cannot use
up a section's allowance and get honest supporters flagged. A section over its flood
threshold flags ``rate-limit-section``. An address in one of the section's active
allowlisted networks spends from a separate, larger per-address budget; the section's
threshold still applies to it.

A flagged write is still stored and answered like any other: a bot learns nothing from
the answer, and staff can review what was held back.
"""

from __future__ import annotations

import enum
import ipaddress
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from uuid import UUID

from w4r.abuse.models import WriteFlag
from w4r.platform.ratelimit import Allowance, Budgets

IPV6_SUBSCRIBER_PREFIX = 64
"""One IPv6 subscriber usually holds a whole /64: limiting single addresses would let one
machine rotate through billions of them."""

UNKNOWN_ADDRESS = "unknown"


class PublicWriteKind(enum.StrEnum):
    """The kinds of public write that are screened, each with its own allowances."""

    ACTION = "action"
    SIGNATURE = "signature"
    REGISTRATION = "registration"


@dataclass(frozen=True, slots=True)
class WriteAllowances:
    """The allowances of one kind of public write."""

    per_address: Allowance
    per_allowlisted_address: Allowance
    per_section: Allowance


def client_identity(host: str | None) -> str:
    """What an address's budget is keyed by: the IPv4 address, the IPv6 /64, or
    ``unknown`` for a connection without a usable address (all such share one budget)."""
    if not host:
        return UNKNOWN_ADDRESS
    try:
        address = ipaddress.ip_address(host.strip())
    except ValueError:
        return UNKNOWN_ADDRESS
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        network = ipaddress.IPv6Network((address, IPV6_SUBSCRIBER_PREFIX), strict=False)
        return network.with_prefixlen
    return str(address)


def plain_address(host: str | None) -> str | None:
    """The address an allowlist is matched against, or None when there is none."""
    if not host:
        return None
    try:
        address = ipaddress.ip_address(host.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)


async def screen(
    budgets: Budgets,
    kind: PublicWriteKind,
    *,
    section_id: UUID,
    host: str | None,
    allowances: WriteAllowances,
    is_allowlisted: Callable[[str], Awaitable[bool]],
) -> WriteFlag | None:
    """Spend this write from its budgets; the flag it must be recorded with, or None when
    it counts."""
    identity = client_identity(host)
    address = plain_address(host)
    if address is not None and await is_allowlisted(address):
        per_address = await budgets.spend(
            f"public-write:{kind}:allowlisted",
            f"{section_id}:{identity}",
            1,
            allowances.per_allowlisted_address,
        )
    else:
        per_address = await budgets.spend(
            f"public-write:{kind}:address", identity, 1, allowances.per_address
        )
    if not per_address.allowed:
        return WriteFlag.RATE_LIMIT_IP
    per_section = await budgets.spend(
        f"public-write:{kind}:section", str(section_id), 1, allowances.per_section
    )
    if not per_section.allowed:
        return WriteFlag.RATE_LIMIT_SECTION
    return None
