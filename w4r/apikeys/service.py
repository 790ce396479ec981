"""Rules about API keys, and the authentication of requests that present one.

Who manages keys: a section's admins the keys of their own section (at its endpoint), and IS
admins the IS-owned keys in the global scope and any section's keys at that section's
endpoint. An IS-owned key may only read (``cases:read``): recording and importing count for
one section, so those scopes need a key that a section owns.

:class:`ApiKeyAuthenticator` turns a presented key into a :class:`Principal`. It refuses a
malformed key (prefix, length, alphabet, checksum) before any database lookup, then looks the
key's hash up in the global scope. A verified key is trusted from this replica's memory for
``cache_seconds``: revoking a key here drops it from memory at once, while another replica
may accept it for at most that long. ``last_used_at`` is written at most once a minute per
key, after the response is decided and in a transaction of its own, so a slow or failed write
never delays or fails a request.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from w4r.apikeys import keys
from w4r.apikeys.models import GLOBAL_KEY_SCOPES, MAX_NAME_LENGTH, ApiKey
from w4r.apikeys.repository import ApiKeyRepository
from w4r.platform.auth import ApiScope, Principal, Role, TokenError
from w4r.platform.database import Database, TenantBinding
from w4r.platform.errors import InvalidInputError, PermissionDeniedError, ProblemCode
from w4r.platform.validation import Problems

logger = logging.getLogger(__name__)

USE_RESOLUTION: Final = timedelta(minutes=1)
"""``last_used_at`` is kept to this resolution: at most one write per key per minute."""
MAX_CACHED_KEYS: Final = 10_000
SUBJECT_PREFIX: Final = "api-key:"

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class ApiKeyDraft:
    name: str
    scopes: Sequence[str]
    """Scope values, e.g. ``cases:read``; unknown ones are refused with UNKNOWN_SCOPE."""
    expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class CreatedApiKey:
    api_key: ApiKey
    secret: str
    """The whole key: returned once, to the caller who created it, and never stored."""


def is_active(key: ApiKey, now: datetime) -> bool:
    return key.revoked_at is None and (key.expires_at is None or key.expires_at > now)


def _scopes(values: Sequence[str], *, is_global: bool, problems: Problems) -> list[str]:
    chosen: list[str] = []
    for value in values:
        try:
            scope = ApiScope(value.strip())
        except ValueError:
            known = ", ".join(scope.value for scope in ApiScope)
            problems.add("scopes", ProblemCode.UNKNOWN_SCOPE, f"{value!r} is not a scope: {known}.")
            continue
        if scope.value not in chosen:
            chosen.append(scope.value)
    if not values:
        problems.add("scopes", ProblemCode.REQUIRED, "Give the key at least one scope.")
    elif is_global and not set(chosen) <= GLOBAL_KEY_SCOPES:
        problems.add(
            "scopes",
            ProblemCode.NOT_ALLOWED,
            "A key of the IS may only hold cases:read: actions count for a section, so create "
            "keys that record or import at /s/<code>/graphql.",
        )
    return sorted(chosen)


def _expiry(value: datetime | None, now: datetime, problems: Problems) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        problems.add("expiresAt", ProblemCode.INVALID, "Give the expiry with its offset, e.g. 'Z'.")
        return None
    if value <= now:
        problems.add("expiresAt", ProblemCode.IN_THE_PAST, "The expiry must be in the future.")
        return None
    return value.astimezone(UTC)


class ApiKeyService:
    """The keys of the scope the session is bound to, managed by ``actor``."""

    def __init__(
        self,
        session: AsyncSession,
        binding: TenantBinding,
        actor: Principal,
        *,
        clock: Clock = utc_now,
    ) -> None:
        self._keys = ApiKeyRepository(session, binding)
        self._binding = binding
        self._actor = actor
        self._clock = clock

    def authorize(self) -> None:
        """IS admins in any scope; section admins in their own section's scope; nobody else
        (the request's section was already checked against the caller's)."""
        if self._actor.role is Role.IS_ADMIN:
            return
        if self._actor.role is Role.SECTION_ADMIN and self._binding.section_id is not None:
            return
        raise PermissionDeniedError(
            "API keys are managed by a section's admins (at its endpoint) and by IS admins."
        )

    async def create(self, draft: ApiKeyDraft) -> CreatedApiKey:
        self.authorize()
        problems = Problems()
        name = problems.required_text(draft.name, "name", max_length=MAX_NAME_LENGTH)
        scopes = _scopes(
            draft.scopes, is_global=self._binding.section_id is None, problems=problems
        )
        expires_at = _expiry(draft.expires_at, self._clock(), problems)
        problems.raise_any()
        secret = keys.generate()
        key = await self._keys.insert(
            name=name,
            display_prefix=keys.display_prefix(secret),
            key_hash=keys.key_hash(secret),
            scopes=scopes,
            created_by=self._actor_subject(),
            expires_at=expires_at,
        )
        return CreatedApiKey(api_key=key, secret=secret)

    async def revoke(self, key_id: UUID) -> ApiKey:
        """Revoke one of the scope's keys; the caller drops it from the authenticator's memory
        once the revocation is committed."""
        self.authorize()
        key = await self._keys.get_for_update(key_id)
        if key is None:
            raise InvalidInputError.one("id", ProblemCode.NOT_FOUND, f"No API key {key_id} here.")
        if key.revoked_at is not None:
            raise InvalidInputError.one(
                "id", ProblemCode.ALREADY_REVOKED, f"The API key {key_id} is already revoked."
            )
        return await self._keys.revoke(key, revoked_by=self._actor_subject(), at=self._clock())

    async def page(self, *, after: tuple[datetime, UUID] | None, limit: int) -> list[ApiKey]:
        self.authorize()
        return await self._keys.page(after=after, limit=limit)

    def _actor_subject(self) -> str:
        return self._actor.subject or self._actor.role.value


@dataclass(frozen=True, slots=True)
class VerifiedKey:
    """What a replica remembers of a key it verified (never the key itself)."""

    id: UUID
    section_code: str | None
    scopes: frozenset[ApiScope]
    expires_at: datetime | None

    def principal(self) -> Principal:
        return Principal(
            role=Role.PARTNER_APP,
            subject=f"{SUBJECT_PREFIX}{self.id}",
            section_code=self.section_code,
            scopes=self.scopes,
            api_key_id=self.id,
        )


class ApiKeyAuthenticator:
    """Verifies presented keys; one per application (it holds the replica's key cache)."""

    def __init__(
        self,
        database: Database,
        *,
        cache_seconds: float,
        clock: Clock = utc_now,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._database = database
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._monotonic = monotonic
        self._cache: dict[bytes, tuple[float, VerifiedKey]] = {}
        self._forgotten: dict[UUID, float] = {}
        self._last_used: dict[UUID, datetime] = {}
        self._pending: set[asyncio.Task[None]] = set()

    async def authenticate(self, key: str) -> Principal:
        """The caller a key stands for; TokenError (HTTP 401) for a malformed, unknown,
        revoked or expired key."""
        if not keys.is_well_formed(key):
            raise TokenError(
                "The API key is malformed (a character is wrong or missing): copy it again."
            )
        digest = keys.key_hash(key)
        verified = self._cached(digest) or await self._load(digest)
        now = self._clock()
        if verified.expires_at is not None and verified.expires_at <= now:
            raise TokenError("The API key has expired: ask for a new one.")
        self._note_use(verified.id, now)
        return verified.principal()

    def forget(self, key_id: UUID) -> None:
        """Drop a key from this replica's memory (after its revocation is committed).

        A request that read the key just before the revocation committed must not put it
        back, so the key is also kept out of memory for one cache period."""
        now = self._monotonic()
        self._forgotten = {
            known: at for known, at in self._forgotten.items() if now - at < self._cache_seconds
        }
        self._forgotten[key_id] = now
        self._cache = {
            digest: entry for digest, entry in self._cache.items() if entry[1].id != key_id
        }

    async def settle(self) -> None:
        """Wait for the ``last_used_at`` writes in flight (shutdown, tests)."""
        while self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)

    def _cached(self, digest: bytes) -> VerifiedKey | None:
        entry = self._cache.get(digest)
        if entry is None:
            return None
        cached_at, verified = entry
        if self._monotonic() - cached_at >= self._cache_seconds:
            del self._cache[digest]
            return None
        return verified

    async def _load(self, digest: bytes) -> VerifiedKey:
        async with self._database.session(TenantBinding.global_scope()) as session:
            found = await ApiKeyRepository(session, TenantBinding.global_scope()).find_by_hash(
                digest
            )
        if found is None:
            raise TokenError("The API key is not known: it may have been mistyped or deleted.")
        key = found.key
        if key.revoked_at is not None:
            raise TokenError("The API key was revoked: ask for a new one.")
        verified = VerifiedKey(
            id=key.id,
            section_code=found.section_code,
            scopes=frozenset(ApiScope(scope) for scope in key.scopes),
            expires_at=key.expires_at,
        )
        if key.last_used_at is not None:
            self._last_used[key.id] = max(
                key.last_used_at, self._last_used.get(key.id, key.last_used_at)
            )
        if self._may_cache(key.id):
            if len(self._cache) >= MAX_CACHED_KEYS:
                del self._cache[next(iter(self._cache))]  # the oldest entry
            self._cache[digest] = (self._monotonic(), verified)
        return verified

    def _may_cache(self, key_id: UUID) -> bool:
        forgotten_at = self._forgotten.get(key_id)
        if forgotten_at is not None and self._monotonic() - forgotten_at < self._cache_seconds:
            return False
        return self._cache_seconds > 0

    def _note_use(self, key_id: UUID, now: datetime) -> None:
        last = self._last_used.get(key_id)
        if last is not None and now - last < USE_RESOLUTION:
            return
        if len(self._last_used) >= MAX_CACHED_KEYS:
            self._last_used = {
                known: at for known, at in self._last_used.items() if now - at < USE_RESOLUTION
            }
        self._last_used[key_id] = now
        task = asyncio.create_task(self._record_use(key_id, now))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _record_use(self, key_id: UUID, at: datetime) -> None:
        try:
            async with self._database.session(TenantBinding.global_scope()) as session:
                repository = ApiKeyRepository(session, TenantBinding.global_scope())
                await repository.record_use(key_id, at=at, resolution=USE_RESOLUTION)
                await session.commit()
        except Exception:
            # Recording use is bookkeeping: the request it belongs to has already succeeded.
            logger.warning("Could not record the use of API key %s.", key_id, exc_info=True)
