"""Which section a request is for.

The sources, in order: the host name (each section lists its hosts), the ``W4R-Section``
header or the path ``/s/<code>/graphql``, then the caller's token. Every source that names a
section must name the same one: two sources that disagree are a
:class:`SectionConflictError`, a code no section has is :class:`SectionNotFoundError`, and a
token bound to another section than the request's is :class:`SectionForbiddenError`. No
source at all means the global (IS) scope.
"""

from __future__ import annotations

from dataclasses import dataclass

from w4r.platform.errors import SectionConflictError, SectionForbiddenError, SectionNotFoundError
from w4r.tenants.registry import RegistrySnapshot, SectionRef

SECTION_HEADER = "W4R-Section"


@dataclass(frozen=True, slots=True)
class RequestHints:
    """What a request says about its section."""

    host: str | None = None
    header: str | None = None
    path_code: str | None = None
    token_section: str | None = None


def host_name(host_header: str | None) -> str | None:
    """The host of a ``Host`` header: lower case, without port or trailing dot."""
    if not host_header:
        return None
    host = host_header.strip().lower()
    if host.startswith("["):  # IPv6 literal, e.g. [::1]:8000
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0].rstrip(".") if ":" in host else host.rstrip(".")


def resolve_section(snapshot: RegistrySnapshot, hints: RequestHints) -> SectionRef | None:
    named: list[tuple[str, SectionRef]] = []
    if hints.host is not None and (by_host := snapshot.by_host.get(hints.host)) is not None:
        named.append((f"host {hints.host!r}", by_host))
    for source, raw in (
        (f"header {SECTION_HEADER}", hints.header),
        ("path /s/<code>/", hints.path_code),
    ):
        if raw is None:
            continue
        code = raw.strip().lower()
        ref = snapshot.by_code.get(code)
        if ref is None:
            raise SectionNotFoundError(
                f"No section has the code {raw!r} (from the {source}). "
                "IS staff list the sections with the `sections` query or `w4r sections list`."
            )
        named.append((source, ref))

    distinct = {ref.code for _, ref in named}
    if len(distinct) > 1:
        described = ", ".join(f"{source} -> {ref.code!r}" for source, ref in named)
        raise SectionConflictError(
            f"The request names more than one section ({described}); send one, or make them agree."
        )
    section = named[0][1] if named else None

    token_code = hints.token_section
    if token_code is None:
        return section
    if section is None:
        section = snapshot.by_code.get(token_code)
        if section is None:
            raise SectionNotFoundError(f"The token's section {token_code!r} does not exist.")
        return section
    if section.code != token_code:
        raise SectionForbiddenError(
            f"This token belongs to section {token_code!r} and cannot be used for section "
            f"{section.code!r}."
        )
    return section
