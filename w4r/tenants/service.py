"""Rules about sections, hosts and members. Services flush; the request boundary commits."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from w4r.platform.auth import Principal, Role
from w4r.platform.database import TenantBinding
from w4r.platform.errors import InvalidInputError, PermissionDeniedError, ProblemCode
from w4r.platform.languages import normalize_language_tag
from w4r.platform.validation import Problems
from w4r.tenants.models import (
    HOST_PATTERN,
    SECTION_CODE_PATTERN,
    MemberRole,
    Section,
    SectionMember,
)
from w4r.tenants.repository import MemberRepository, SectionRepository

MAX_NAME_LENGTH = 200
MAX_LANGUAGES = 20
_CODE = re.compile(SECTION_CODE_PATTERN)
_HOST = re.compile(HOST_PATTERN)


@dataclass(frozen=True, slots=True)
class SectionDraft:
    code: str
    name: str
    country: str
    languages: Sequence[str]
    time_zone: str
    default_language: str | None = None
    hosts: Sequence[str] = ()


@dataclass(frozen=True, slots=True)
class SectionChanges:
    """Fields to change; None leaves a field as it is."""

    name: str | None = None
    country: str | None = None
    languages: Sequence[str] | None = None
    default_language: str | None = None
    time_zone: str | None = None
    require_trusted_documents: bool | None = None
    double_opt_in: bool | None = None


@dataclass(frozen=True, slots=True)
class MemberDraft:
    email: str
    display_name: str
    role: MemberRole


def normalize_section_code(code: str) -> str:
    """A section code as stored (lower case); InvalidInputError when it cannot be one."""
    cleaned = code.strip().lower()
    if not _CODE.match(cleaned):
        raise InvalidInputError.one(
            "code",
            ProblemCode.INVALID,
            f"{code!r} is not a section code: use 2-3 lower-case letters, optionally followed "
            "by '-' and 2-8 letters or digits (e.g. 'gb', 'fr-ca').",
        )
    return cleaned


def normalize_host(host: str, field: str = "host") -> str:
    """A host name as stored: lower case, IDNA-encoded, no port and no trailing dot."""
    cleaned = host.strip().rstrip(".").lower()
    try:
        cleaned = cleaned.encode("idna").decode("ascii")
    except UnicodeError:
        cleaned = ""
    if not _HOST.match(cleaned):
        raise InvalidInputError.one(
            field,
            ProblemCode.INVALID,
            f"{host!r} is not a host name: give a DNS name without scheme, port or path "
            "(e.g. 'w4r.amnesty.org.uk').",
        )
    return cleaned


def _name(value: str, field: str, problems: Problems) -> str:
    return problems.required_text(value, field, max_length=MAX_NAME_LENGTH)


def _languages(
    languages: Sequence[str], default: str | None, problems: Problems
) -> tuple[list[str], str]:
    normalized: list[str] = []
    for tag in languages:
        before = len(problems.items)
        canonical = problems.language(tag, "languages")
        if len(problems.items) > before:
            continue
        if canonical not in normalized:
            normalized.append(canonical)
    if not languages:
        problems.add("languages", ProblemCode.REQUIRED, "Give at least one language.")
    elif len(normalized) > MAX_LANGUAGES:
        problems.add("languages", ProblemCode.INVALID, f"At most {MAX_LANGUAGES} languages.")
    if default is None:
        return normalized, normalized[0] if normalized else ""
    before = len(problems.items)
    default_tag = problems.language(default, "defaultLanguage")
    if len(problems.items) > before:
        return normalized, default
    if normalized and default_tag not in normalized:
        problems.add(
            "defaultLanguage",
            ProblemCode.INVALID,
            f"The default language {default_tag!r} must be one of the section's languages "
            f"({', '.join(normalized)}).",
        )
    return normalized, default_tag


class SectionService:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._sections = SectionRepository(session)

    async def get(self, section_id: UUID) -> Section | None:
        return await self._sections.get(section_id)

    async def get_by_code(self, code: str) -> Section | None:
        return await self._sections.get_by_code(code.strip().lower())

    async def by_ids(self, ids: Sequence[UUID]) -> dict[UUID, Section]:
        return await self._sections.by_ids(ids)

    async def by_codes(self, codes: Sequence[str]) -> dict[str, Section]:
        """Sections by their exact (stored, lower-case) code."""
        return await self._sections.by_codes(codes)

    async def page(self, *, after_code: str | None, limit: int) -> list[Section]:
        return await self._sections.page(after_code=after_code, limit=limit)

    async def hosts_by_section_ids(self, ids: Sequence[UUID]) -> dict[UUID, list[str]]:
        return await self._sections.hosts_by_section_ids(ids)

    async def create(self, draft: SectionDraft) -> Section:
        problems = Problems()
        try:
            code = normalize_section_code(draft.code)
        except InvalidInputError as error:
            problems.collect(error)
            code = draft.code
        name = _name(draft.name, "name", problems)
        country = problems.country(draft.country)
        languages, default_language = _languages(draft.languages, draft.default_language, problems)
        time_zone = problems.time_zone(draft.time_zone)
        hosts: list[str] = []
        for host in draft.hosts:
            try:
                hosts.append(normalize_host(host, "hosts"))
            except InvalidInputError as error:
                problems.collect(error)
        problems.raise_any()
        if await self._sections.get_by_code(code) is not None:
            raise InvalidInputError.one(
                "code", ProblemCode.ALREADY_EXISTS, f"A section with code {code!r} exists."
            )
        try:
            section = await self._sections.insert(
                code=code,
                name=name,
                country=country,
                languages=languages,
                default_language=default_language,
                time_zone=time_zone,
            )
        except IntegrityError as error:
            raise InvalidInputError.one(
                "code", ProblemCode.ALREADY_EXISTS, f"A section with code {code!r} exists."
            ) from error
        for host in dict.fromkeys(hosts):
            await self._add_host(section, host, field="hosts")
        return section

    @staticmethod
    def authorize_change(actor: Principal, section: Section) -> None:
        """IS admins change any section; a section's own admins change only theirs."""
        if actor.role is Role.IS_ADMIN:
            return
        if actor.role is Role.SECTION_ADMIN and actor.section_code == section.code:
            return
        raise PermissionDeniedError(f"You may not change section {section.code!r}.")

    async def update(self, section: Section, changes: SectionChanges) -> Section:
        problems = Problems()
        values: dict[str, object] = {}
        if changes.name is not None:
            values["name"] = _name(changes.name, "name", problems)
        if changes.country is not None:
            values["country"] = problems.country(changes.country)
        if changes.time_zone is not None:
            values["time_zone"] = problems.time_zone(changes.time_zone)
        if changes.require_trusted_documents is not None:
            values["require_trusted_documents"] = changes.require_trusted_documents
        if changes.double_opt_in is not None:
            values["double_opt_in"] = changes.double_opt_in
        if changes.languages is not None or changes.default_language is not None:
            languages = section.languages if changes.languages is None else changes.languages
            default = changes.default_language
            if default is None and changes.languages is not None:
                # Keep the current default when it is still offered, else the first language.
                keep = section.default_language in {_safe_tag(tag) for tag in changes.languages}
                default = section.default_language if keep else None
            values["languages"], values["default_language"] = _languages(
                languages, default, problems
            )
        problems.raise_any()
        if not values:
            return section
        return await self._sections.update(section, **values)

    async def add_host(self, section: Section, host: str) -> str:
        normalized = normalize_host(host)
        await self._add_host(section, normalized, field="host")
        return normalized

    async def _add_host(self, section: Section, host: str, *, field: str) -> None:
        owner = await self._sections.host_owner(host)
        if owner == section.id:
            return
        if owner is not None:
            raise InvalidInputError.one(
                field,
                ProblemCode.ALREADY_EXISTS,
                f"The host {host!r} already identifies another section; remove it there first.",
            )
        try:
            async with self._session.begin_nested():
                await self._sections.add_host(section.id, host)
        except IntegrityError as error:
            raise InvalidInputError.one(
                field, ProblemCode.ALREADY_EXISTS, f"The host {host!r} is already registered."
            ) from error


def _safe_tag(tag: str) -> str:
    try:
        return normalize_language_tag(tag)
    except ValueError:
        return tag


class MemberService:
    """Members of the section the request is bound to."""

    def __init__(self, session: AsyncSession, binding: TenantBinding) -> None:
        self._members = MemberRepository(session)
        self._binding = binding

    def _require_section(self) -> None:
        if self._binding.section_id is None:
            raise InvalidInputError.one(
                None,
                ProblemCode.OUT_OF_SCOPE,
                "Members belong to a section: call this at /s/<code>/graphql or send the "
                "W4R-Section header.",
            )

    async def page(self, *, after: tuple[datetime, UUID] | None, limit: int) -> list[SectionMember]:
        return await self._members.page(after=after, limit=limit)

    async def add(self, draft: MemberDraft) -> SectionMember:
        self._require_section()
        problems = Problems()
        email = problems.email(draft.email, "email")
        display_name = _name(draft.display_name, "displayName", problems)
        problems.raise_any()
        if await self._members.email_taken(email):
            raise InvalidInputError.one(
                "email", ProblemCode.ALREADY_EXISTS, f"{email} is already a member."
            )
        try:
            return await self._members.insert(
                email=email, display_name=display_name, role=draft.role
            )
        except IntegrityError as error:
            raise InvalidInputError.one(
                "email", ProblemCode.ALREADY_EXISTS, f"{email} is already a member."
            ) from error

    async def remove(self, member_id: UUID) -> None:
        self._require_section()
        if not await self._members.delete(member_id):
            raise InvalidInputError.one(
                "id", ProblemCode.NOT_FOUND, f"No member {member_id} in this section."
            )
