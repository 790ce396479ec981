"""Staff identity from an external OpenID Connect provider: its keys and its claims.

The provider signs access tokens with keys it publishes as a JWK set (``oidc_jwks_url``).
:class:`JwksCache` keeps the last good copy of that set:

- it is fetched on first use and again when it expires: after the response's
  ``Cache-Control: max-age`` (kept between :data:`MIN_CACHE_SECONDS` and
  :data:`MAX_CACHE_SECONDS`), or ``oidc_jwks_cache_seconds`` without one;
- a token naming a key id the set lacks triggers a refresh (the provider rotated its
  keys), but fetches are at most one per ``oidc_jwks_min_refresh_seconds`` whatever the
  reason, so tokens with made-up key ids cannot make this service hammer the provider;
- concurrent refreshes share one fetch;
- a failed fetch keeps the last good set and is logged (the URL and the reason: never a
  token). Until a fetch succeeds, the old keys are trusted; the provider being down does
  not lock every member of staff out.

Only asymmetric public keys meant for signatures are taken from the set: ``oct`` keys,
keys with private members (a published private key signs for anyone), encryption keys,
RSA keys under 2048 bits and keys whose ``alg`` is not an allowed signature algorithm
are skipped.

:class:`ProviderClaims` turns a provider's claims into a :class:`Principal`: the roles at
a configurable claim path, mapped to w4r roles (the most privileged one wins), and the
section at another. :func:`token_verifier` builds the verifier the app uses from the
settings: the local key always, the provider when ``oidc_issuer`` is set.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

import httpx
import orjson
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, Key, import_key

from w4r.platform.auth import (
    ASYMMETRIC_ALGORITHMS,
    REFUSED,
    KeySource,
    Principal,
    Role,
    TokenError,
    TokenVerifier,
    TrustedIssuer,
    check_role_binding,
    local_issuer,
    public_key_set,
)
from w4r.settings import Settings

logger = logging.getLogger(__name__)

MIN_CACHE_SECONDS: Final = 60.0
MAX_CACHE_SECONDS: Final = 86_400.0
MAX_JWKS_BYTES: Final = 512 * 1024
MIN_RSA_BITS: Final = 2048
FETCH_TIMEOUT: Final = httpx.Timeout(5.0, connect=2.0)

ACCESS_TOKEN_TYPES: Final = frozenset({"at+jwt", "application/at+jwt"})
"""RFC 9068 section 2.1: the ``typ`` of a JWT access token."""
ACCESS_TOKEN_CLAIMS: Final = ("client_id", "jti")
"""RFC 9068 section 2.2: claims every JWT access token carries (besides iss, exp, aud,
sub, iat)."""

ROLES_BY_PRIVILEGE: Final = (
    Role.IS_ADMIN,
    Role.IS_ANALYST,
    Role.SECTION_ADMIN,
    Role.SECTION_EDITOR,
    Role.EVENT_HOST,
    Role.PARTNER_APP,
)
"""When several of a token's roles map, the first of these wins."""

_KEY_TYPES: Final = frozenset({"RSA", "EC", "OKP"})
_ALGORITHM_KEY_TYPES: Final = {
    "ES256": "EC",
    "ES384": "EC",
    "ES512": "EC",
    "RS256": "RSA",
    "RS384": "RSA",
    "RS512": "RSA",
    "PS256": "RSA",
    "PS384": "RSA",
    "PS512": "RSA",
    "Ed25519": "OKP",
}
_PRIVATE_MEMBERS: Final = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
_PUBLIC_MEMBERS: Final = frozenset(
    {"kty", "kid", "alg", "use", "key_ops", "crv", "x", "y", "n", "e"}
)
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d+)\"?\s*(?:,|$)", re.IGNORECASE)


class JwksError(Exception):
    """The JWK set could not be fetched or holds no usable key (the message says why)."""


def cache_seconds(cache_control: str | None, default: float) -> float:
    """How long a fetched key set is trusted: ``max-age`` when the response gives one
    (``no-store``/``no-cache`` count as 0), else ``default``, within the sane bounds."""
    seconds = default
    if cache_control is not None:
        directives = cache_control.lower()
        match = _MAX_AGE.search(directives)
        if "no-store" in directives or "no-cache" in directives:
            seconds = 0.0
        elif match is not None:
            seconds = float(match.group(1))
    return min(max(seconds, MIN_CACHE_SECONDS), MAX_CACHE_SECONDS)


def signing_keys(document: object) -> dict[str, Key]:
    """The usable public signing keys of a JWK set document, by key id."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise JwksError("the response is not a JWK set (a JSON object with 'keys').")
    keys: dict[str, Key] = {}
    for member in document["keys"]:
        key = _public_signing_key(member)
        if key is None or key.kid is None:
            continue
        if key.kid in keys:
            logger.warning("JWKS: key %r appears twice; the first one is used", key.kid)
            continue
        keys[key.kid] = key
    if not keys:
        raise JwksError("the JWK set holds no usable public signing key.")
    return keys


def _public_signing_key(member: object) -> Key | None:
    """The key, or None (logged) when it is not an asymmetric public signing key."""
    if not isinstance(member, dict):
        logger.warning("JWKS: an entry that is not a JSON object was skipped")
        return None
    kid = member.get("kid")
    reason = _unusable(member)
    if reason is not None:
        logger.log(
            logging.WARNING if "private" in reason else logging.INFO,
            "JWKS: key %r skipped: %s",
            kid,
            reason,
        )
        return None
    try:
        key = import_key({name: member[name] for name in _PUBLIC_MEMBERS if name in member})
    except (JoseError, ValueError, TypeError) as error:
        logger.info("JWKS: key %r skipped: it does not import (%s)", kid, type(error).__name__)
        return None
    key.ensure_kid()
    return key


def _unusable(member: dict[str, Any]) -> str | None:
    key_type = member.get("kty")
    if key_type not in _KEY_TYPES:
        return f"key type {key_type!r} is not an asymmetric one"
    if _PRIVATE_MEMBERS & member.keys():
        return "it carries private members (a published private key proves nothing)"
    if member.get("use", "sig") != "sig":
        return "it is not for signatures ('use')"
    operations = member.get("key_ops")
    if operations is not None and (not isinstance(operations, list) or "verify" not in operations):
        return "it may not verify ('key_ops')"
    if key_type == "RSA" and _modulus_bits(member.get("n")) < MIN_RSA_BITS:
        return f"RSA keys need {MIN_RSA_BITS} bits"
    algorithm = member.get("alg")
    if algorithm is not None and (
        algorithm not in ASYMMETRIC_ALGORITHMS or _ALGORITHM_KEY_TYPES.get(algorithm) != key_type
    ):
        return f"algorithm {algorithm!r} is not an allowed signature algorithm for it"
    return None


def _modulus_bits(modulus: object) -> int:
    """The size of an RSA modulus (base64url), checked before joserfc imports the key."""
    if not isinstance(modulus, str):
        return 0
    try:
        data = base64.urlsafe_b64decode(modulus + "=" * (-len(modulus) % 4))
    except ValueError:
        return 0
    return int.from_bytes(data, "big").bit_length()


class JwksCache:
    """The provider's public keys, fetched over HTTP and cached (see the module docstring).

    ``clock`` is a monotonic clock in seconds; tests pass their own.
    """

    def __init__(
        self,
        url: str,
        *,
        default_cache_seconds: float,
        min_refresh_seconds: float,
        client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._url = url
        self._default_cache_seconds = default_cache_seconds
        self._min_refresh_seconds = min_refresh_seconds
        self._client = client or httpx.AsyncClient(timeout=FETCH_TIMEOUT, follow_redirects=False)
        self._clock = clock
        self._keys: dict[str, Key] = {}
        self._expires_at: float | None = None
        self._last_attempt_at: float | None = None
        self._completed_refreshes = 0
        self._lock = asyncio.Lock()

    @property
    def key_ids(self) -> frozenset[str]:
        """The ids of the keys trusted now."""
        return frozenset(self._keys)

    async def key_for(self, kid: str | None) -> Key | None:
        """The key with this id: refreshes the set when it has expired or lacks the id
        (at most one fetch per ``min_refresh_seconds``). A provider rotates keys, so a
        token must name its key: no id, no key."""
        if kid is None:
            return None
        if self._expires_at is None or self._clock() >= self._expires_at:
            await self.refresh()
        key = self._keys.get(kid)
        if key is None:
            await self.refresh()
            key = self._keys.get(kid)
        return key

    async def refresh(self) -> None:
        """Fetch the set again unless a fetch ran within ``min_refresh_seconds`` or another
        caller's fetch completed while this one waited for it."""
        seen = self._completed_refreshes
        async with self._lock:
            if self._completed_refreshes != seen or not self._may_fetch():
                return
            self._last_attempt_at = self._clock()
            try:
                keys, seconds = await self._fetch()
            except JwksError as error:
                logger.warning(
                    "JWKS fetch from %s failed: %s Keeping the %d keys fetched before.",
                    self._url,
                    error,
                    len(self._keys),
                )
            else:
                self._keys = keys
                self._expires_at = self._clock() + seconds
                logger.info("JWKS fetched from %s: keys %s", self._url, sorted(keys))
            finally:
                self._completed_refreshes += 1

    async def aclose(self) -> None:
        await self._client.aclose()

    def _may_fetch(self) -> bool:
        return (
            self._last_attempt_at is None
            or self._clock() - self._last_attempt_at >= self._min_refresh_seconds
        )

    async def _fetch(self) -> tuple[dict[str, Key], float]:
        try:
            async with self._client.stream(
                "GET", self._url, headers={"accept": "application/jwk-set+json, application/json"}
            ) as response:
                if response.status_code != httpx.codes.OK:
                    raise JwksError(f"HTTP status {response.status_code}.")
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > MAX_JWKS_BYTES:
                        raise JwksError(f"the response exceeds {MAX_JWKS_BYTES} bytes.")
                cache_control = response.headers.get("cache-control")
        except httpx.HTTPError as error:
            raise JwksError(f"{type(error).__name__}: {error}") from error
        try:
            document = orjson.loads(bytes(body))
        except orjson.JSONDecodeError as error:
            raise JwksError("the response is not JSON.") from error
        return signing_keys(document), cache_seconds(cache_control, self._default_cache_seconds)


@dataclass(frozen=True, slots=True)
class ProviderClaims:
    """Where a provider's tokens carry the caller's roles and section, and what its role
    names mean here."""

    role_claim: str
    """A dotted path (``realm_access.roles``) to a role name or a list of them."""
    role_map: Mapping[str, Role]
    """The provider's role names -> w4r roles; other names are ignored."""
    section_claim: str
    """A dotted path to the section code of section staff and event hosts."""

    def principal(self, claims: dict[str, Any]) -> Principal:
        if not isinstance(claims.get("client_id"), str):
            raise TokenError(REFUSED + "Claim 'client_id' must be a string")
        role = self.role(claims)
        section = claim_at(claims, self.section_claim)
        if section is not None and not isinstance(section, str):
            raise TokenError(f"The token's {self.section_claim!r} claim must be a section code.")
        check_role_binding(role, section)
        jti = claims.get("jti")
        return Principal(
            role=role,
            subject=str(claims["sub"]),
            section_code=section,
            token_id=jti if isinstance(jti, str) else None,
        )

    def role(self, claims: dict[str, Any]) -> Role:
        """The most privileged w4r role that the token's provider roles map to."""
        value = claim_at(claims, self.role_claim)
        names = [value] if isinstance(value, str) else value
        if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
            raise TokenError(
                f"The token's {self.role_claim!r} claim must be a role name or a list of them."
            )
        granted = {self.role_map[name] for name in names if name in self.role_map}
        for role in ROLES_BY_PRIVILEGE:
            if role in granted:
                return role
        raise TokenError(
            f"The token grants no w4r role: none of its {self.role_claim!r} is mapped to one."
        )


def claim_at(claims: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path of nested objects, or None when any step is missing."""
    value: Any = claims
    for step in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(step)
    return value


def parse_role_map(raw: Mapping[str, str]) -> dict[str, Role]:
    """The ``oidc_role_map`` setting, each value a w4r role (anonymous excluded)."""
    known = {role.value: role for role in Role if role is not Role.ANONYMOUS}
    unknown = sorted(value for value in raw.values() if value not in known)
    if unknown:
        raise ValueError(
            f"oidc_role_map maps to unknown roles {unknown}; use one of {sorted(known)}."
        )
    if not raw:
        raise ValueError(
            'oidc_role_map is empty: map the provider\'s role names, e.g. {"w4r-is-admin": '
            '"is-admin"}.'
        )
    return {name: known[value] for name, value in raw.items()}


def check_jwks_url(url: str) -> str:
    """HTTPS, except on the loopback interface (a provider on the same machine, tests)."""
    parts = urlsplit(url)
    is_loopback = parts.hostname in {"localhost", "127.0.0.1", "::1"}
    if parts.scheme != "https" and not (parts.scheme == "http" and is_loopback):
        raise ValueError(f"oidc_jwks_url must be an https:// URL, not {url!r}.")
    return url


def provider_issuer(settings: Settings, *, keys: KeySource | None = None) -> TrustedIssuer:
    """The configured provider as a trusted issuer (ValueError naming the setting to fix).
    ``keys`` replaces the JWKS cache the settings describe (tests)."""
    if settings.oidc_issuer is None:
        raise ValueError("oidc_issuer is not set.")
    if settings.oidc_jwks_url is None:
        raise ValueError("oidc_jwks_url must be set with oidc_issuer: the provider's JWKS URL.")
    if settings.oidc_issuer == settings.token_issuer:
        raise ValueError("oidc_issuer must differ from token_issuer (the local key's issuer).")
    jwks_url = check_jwks_url(settings.oidc_jwks_url)
    claims = ProviderClaims(
        role_claim=settings.oidc_role_claim,
        role_map=parse_role_map(settings.oidc_role_map),
        section_claim=settings.oidc_section_claim,
    )
    if keys is None:
        keys = JwksCache(
            jwks_url,
            default_cache_seconds=settings.oidc_jwks_cache_seconds,
            min_refresh_seconds=settings.oidc_jwks_min_refresh_seconds,
        )
    return TrustedIssuer(
        issuer=settings.oidc_issuer,
        audience=settings.oidc_audience or settings.token_audience,
        keys=keys,
        read_principal=claims.principal,
        token_types=ACCESS_TOKEN_TYPES if settings.oidc_require_at_jwt else None,
        required_claims=ACCESS_TOKEN_CLAIMS,
    )


def token_verifier(settings: Settings, local_key: ECKey) -> TokenVerifier:
    """The app's verifier: the local key, and the provider when one is configured."""
    issuers = [
        local_issuer(
            public_key_set(local_key),
            issuer=settings.token_issuer,
            audience=settings.token_audience,
        )
    ]
    if settings.oidc_issuer is not None:
        issuers.append(provider_issuer(settings))
    return TokenVerifier(issuers, leeway_seconds=settings.token_leeway_seconds)
