"""Where a webhook may point: public https endpoints only.

A webhook makes this server send requests to a URL a section admin or a partner chose, so
the URL must not reach the deployment's own network (a cloud metadata service, a database,
an admin port). It is checked twice: when it is saved (scheme, credentials, length, literal
addresses) and before each request, on the addresses its host resolves to then (a name
that resolved to a public address at creation may point inward later). Loopback is allowed
only when ``W4R_WEBHOOK_ALLOW_LOOPBACK`` is on (development and tests).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import unicodedata
from typing import Final
from urllib.parse import SplitResult, urlsplit

from w4r.platform.errors import ProblemCode
from w4r.platform.validation import Problems
from w4r.webhooks.models import MAX_URL_LENGTH

LOOPBACK_NAMES: Final = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class ForbiddenDestinationError(Exception):
    """The URL's host resolves to an address webhooks may not reach."""


def _address(host: str) -> IPAddress | None:
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _is_loopback_name(host: str) -> bool:
    name = host.rstrip(".").lower()
    return name in LOOPBACK_NAMES or name.endswith(".localhost")


def is_allowed_address(address: IPAddress, *, allow_loopback: bool) -> bool:
    """A public (globally routable) address, or loopback when allowed."""
    if address.is_loopback:
        return allow_loopback
    return address.is_global and not address.is_multicast


def _is_loopback_host(host: str) -> bool:
    address = _address(host)
    return _is_loopback_name(host) if address is None else address.is_loopback


def check_url(value: str, problems: Problems, *, allow_loopback: bool, field: str = "url") -> str:
    """The URL, trimmed; problems for anything a webhook may not point at."""
    cleaned = value.strip()
    if not cleaned:
        problems.add(field, ProblemCode.REQUIRED, "Give the URL that receives the events.")
        return cleaned
    if len(cleaned) > MAX_URL_LENGTH:
        problems.add(field, ProblemCode.TOO_LONG, f"Keep the URL to {MAX_URL_LENGTH} characters.")
        return cleaned
    if any(character.isspace() or unicodedata.category(character) == "Cc" for character in cleaned):
        problems.add(
            field, ProblemCode.INVALID, "A URL cannot contain spaces or control characters."
        )
        return cleaned
    parts = urlsplit(cleaned)
    if not _is_absolute(parts):
        problems.add(
            field, ProblemCode.INVALID, "Give an absolute URL, e.g. https://example.org/hooks."
        )
        return cleaned
    if parts.username is not None or parts.password is not None:
        problems.add(
            field,
            ProblemCode.INVALID,
            "Remove the user name and password from the URL: every request is signed, so "
            "verify the W4R-Webhook-Signature header instead.",
        )
    if parts.fragment:
        problems.add(field, ProblemCode.INVALID, "Remove the fragment (#…): it is never sent.")
    host = parts.hostname or ""
    loopback = _is_loopback_host(host)
    if loopback and not allow_loopback:
        problems.add(
            field, ProblemCode.INSECURE_URL, "A webhook cannot point at this server's own host."
        )
    elif parts.scheme != "https" and not loopback:
        problems.add(
            field, ProblemCode.INSECURE_URL, "Use an https:// URL: events are sent over TLS only."
        )
    address = _address(host)
    if (
        address is not None
        and not address.is_loopback
        and not is_allowed_address(address, allow_loopback=allow_loopback)
    ):
        problems.add(
            field,
            ProblemCode.INSECURE_URL,
            "A webhook cannot point at a private, link-local or reserved address.",
        )
    return cleaned


def _is_absolute(parts: SplitResult) -> bool:
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return False
    try:
        parts.port  # noqa: B018 - parsing the port is the check
    except ValueError:
        return False
    return True


async def check_destination(url: str, *, allow_loopback: bool) -> None:
    """Raise ForbiddenDestinationError unless every address the host resolves to now is
    allowed (a DNS failure is left to the request, which will fail and be retried)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    literal = _address(host)
    if literal is not None:
        addresses: list[IPAddress] = [literal]
    else:
        try:
            found = await asyncio.get_running_loop().getaddrinfo(
                host,
                parts.port or (443 if parts.scheme == "https" else 80),
                type=socket.SOCK_STREAM,
            )
        except OSError:
            return
        addresses = [
            address
            for address in (_address(str(entry[4][0])) for entry in found)
            if address is not None
        ]
    if not all(is_allowed_address(address, allow_loopback=allow_loopback) for address in addresses):
        raise ForbiddenDestinationError(
            "The webhook's host resolves to a private, link-local or reserved address."
        )
