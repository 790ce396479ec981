"""Callers and bearer tokens: who is asking, verified with joserfc.

A request carries at most one bearer JWT. No ``Authorization`` header means the anonymous
caller. A header that is no bearer token is refused with HTTP 400 (RFC 6750
``invalid_request``); a token that is malformed, expired, not yet valid, for another issuer
or audience, or not signed by a trusted key with HTTP 401 (``invalid_token``). A broken
credential is never quietly downgraded to anonymous.

Two kinds of issuer are trusted (:class:`TrustedIssuer`): the deployment's local key
(P-256, ES256), which signs the tokens printed by ``w4r token issue`` and serves
development, and, when configured, an external OpenID Connect provider whose keys come
from its JWKS (:mod:`w4r.platform.oidc`). Tokens are signed with an asymmetric algorithm
only (no ``HS*``, no ``none``).

Refusals raise :class:`TokenError`, whose message says why and is safe to show to the
caller: it never contains the token or any part of it, so it may also be logged.
"""

from __future__ import annotations

import enum
import hashlib
import json
import os
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Protocol
from uuid import UUID

from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, Key, KeySet, import_key
from joserfc.jws import CompactSignature, JWSRegistry

ASYMMETRIC_ALGORITHMS: Final = (
    "ES256",
    "ES384",
    "ES512",
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "Ed25519",
)
LOCAL_ALGORITHM: Final = "ES256"

ROLE_CLAIM: Final = "w4r_role"
SECTION_CLAIM: Final = "w4r_section"

MAX_TOKEN_BYTES: Final = 8192
REMEMBERED_TOKENS: Final = 4096
"""Tokens a verifier remembers as accepted (by their SHA-256, least recently used out
first), with their caller, key and expiry: a few hundred bytes each."""
MAX_KEY_ID_LENGTH: Final = 256
JWE_DOTS: Final = 4
"""A compact JWE has five parts; it is refused with its own message."""

REFUSED: Final = "The bearer token was refused: "

_JWS_REGISTRY: Final = JWSRegistry(algorithms=ASYMMETRIC_ALGORITHMS, strict_check_header=False)
"""Asymmetric algorithms only. Unknown header parameters are ignored (RFC 7515) unless
``crit`` names them, which refuses the token."""


class Role(enum.StrEnum):
    """The kinds of caller. Values appear in tokens: never rename one."""

    ANONYMOUS = "anonymous"
    PARTNER_APP = "partner-app"
    EVENT_HOST = "event-host"
    """A volunteer who organises events for one section (a token the section gives)."""
    SECTION_EDITOR = "section-editor"
    SECTION_ADMIN = "section-admin"
    IS_ANALYST = "is-analyst"
    IS_ADMIN = "is-admin"


class ApiScope(enum.StrEnum):
    """What an API key may do. Values are stored with keys: never rename one."""

    READ_PUBLIC = "cases:read"
    """Read published case data and public totals."""
    RECORD_ACTIONS = "actions:record"
    """Record actions for the key's section."""
    IMPORT_ACTIONS = "actions:import"
    """Import batches of actions for the key's section."""


SECTION_STAFF_ROLES: Final = frozenset({Role.SECTION_ADMIN, Role.SECTION_EDITOR})
INTERNATIONAL_SECRETARIAT_ROLES: Final = frozenset({Role.IS_ADMIN, Role.IS_ANALYST})
ISSUABLE_ROLES: Final = tuple(role for role in Role if role is not Role.ANONYMOUS)


class TokenError(Exception):
    """A bearer token was refused; the message says why (safe to show to the caller)."""

    oauth_error = "invalid_token"
    """The RFC 6750 error code of the refusal (HTTP 401)."""


class MalformedCredentialsError(TokenError):
    """The ``Authorization`` header is not a bearer token at all (RFC 6750: HTTP 400)."""

    oauth_error = "invalid_request"


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller of one request."""

    role: Role
    subject: str | None = None
    section_code: str | None = None
    token_id: str | None = None
    scopes: frozenset[ApiScope] | None = None
    """An API key's scopes; None for callers with a token, whose role alone decides."""
    api_key_id: UUID | None = None
    """The API key the caller presented, if any."""

    @property
    def is_anonymous(self) -> bool:
        return self.role is Role.ANONYMOUS

    @property
    def is_international_secretariat(self) -> bool:
        return self.role in INTERNATIONAL_SECRETARIAT_ROLES

    @property
    def is_section_staff(self) -> bool:
        return self.role in SECTION_STAFF_ROLES

    def has_scope(self, scope: ApiScope) -> bool:
        """An API key needs ``scope``; a token caller is limited by its role only."""
        return self.scopes is None or scope in self.scopes


ANONYMOUS: Final = Principal(role=Role.ANONYMOUS)


def check_role_binding(role: Role, section_code: str | None) -> None:
    """Section staff and event hosts belong to exactly one section; IS staff to none."""
    if (role in SECTION_STAFF_ROLES or role is Role.EVENT_HOST) and section_code is None:
        raise TokenError(f"A {role.value} token must name its section.")
    if role in INTERNATIONAL_SECRETARIAT_ROLES and section_code is not None:
        raise TokenError(f"An {role.value} token is global and must not name a section.")
    if role is Role.ANONYMOUS:
        raise TokenError("Tokens are not issued to anonymous callers.")


class KeySource(Protocol):
    """Where the public keys of one issuer come from: the local key set, or a provider's
    JWKS (:class:`w4r.platform.oidc.JwksCache`)."""

    async def key_for(self, kid: str | None) -> Key | None:
        """The trusted key with this id, or None when the issuer has none. A token that
        names no key id gets the issuer's only key, if it has just one; else None."""
        ...

    async def aclose(self) -> None:
        """Release what the source holds (an HTTP client)."""
        ...


class StaticKeys:
    """A fixed key set: the deployment's local public key(s)."""

    def __init__(self, keys: KeySet) -> None:
        self._keys = {key.kid: key for key in keys if key.kid is not None}

    async def key_for(self, kid: str | None) -> Key | None:
        if kid is None:
            return next(iter(self._keys.values())) if len(self._keys) == 1 else None
        return self._keys.get(kid)

    async def aclose(self) -> None:
        """Nothing to release."""


ClaimsReader = Callable[[dict[str, Any]], Principal]
"""Turns the verified claims of one issuer's token into the caller (TokenError if it
names no acceptable role binding)."""


@dataclass(frozen=True, slots=True)
class TrustedIssuer:
    """One issuer whose tokens this deployment accepts, and how to read them."""

    issuer: str
    audience: str
    keys: KeySource
    read_principal: ClaimsReader
    token_types: frozenset[str] | None = None
    """Accepted header ``typ`` values (lower case); None accepts any (the local key)."""
    required_claims: tuple[str, ...] = ()
    """Claims this issuer's tokens must carry beyond iss, aud, sub, exp and iat."""


def local_issuer(keys: KeySet, *, issuer: str, audience: str) -> TrustedIssuer:
    """The deployment's own key: tokens printed by ``w4r token issue`` (development)."""
    return TrustedIssuer(
        issuer=issuer,
        audience=audience,
        keys=StaticKeys(keys),
        read_principal=principal_from_claims,
    )


class TokenVerifier:
    """Verifies bearer tokens of the trusted issuers.

    The token's unverified ``iss`` only chooses which issuer's keys and rules apply; the
    token is then checked in full against them: an asymmetric algorithm that the chosen key
    allows, the signature, ``iss``, ``aud`` (a string, or a list containing ours), ``sub``,
    ``exp``, ``iat`` and, when present, ``nbf`` (with the leeway), the issuer's extra
    claims and header ``typ``, and no ``crit`` header.
    """

    def __init__(
        self,
        issuers: Sequence[TrustedIssuer],
        *,
        leeway_seconds: int,
        remembered_tokens: int = REMEMBERED_TOKENS,
    ) -> None:
        names = [trusted.issuer for trusted in issuers]
        if len(set(names)) != len(names):
            raise ValueError(f"Two trusted token issuers share a name: {names}.")
        self._issuers = {trusted.issuer: trusted for trusted in issuers}
        self._claims = {
            trusted.issuer: _claims_registry(trusted, leeway_seconds) for trusted in issuers
        }
        self._remembered = remembered_tokens
        self._accepted: OrderedDict[bytes, _Accepted] = OrderedDict()
        self._leeway_seconds = leeway_seconds

    async def verify(self, token: str) -> Principal:
        """The caller the token names; TokenError (message safe to show) when refused."""
        encoded = token.encode("utf-8")
        if len(encoded) > MAX_TOKEN_BYTES:
            raise TokenError("The bearer token is too long.")
        digest = hashlib.sha256(encoded).digest()
        accepted = self._accepted.get(digest)
        if accepted is not None:
            # These exact bytes passed every check. What can change since is the clock
            # (only `exp` can start failing: `nbf` and `iat` only fall further behind) and
            # the issuer's key set (the key must still be the very object that verified
            # them). Anything else goes through the full check again.
            key = await accepted.issuer.keys.key_for(accepted.kid)
            if key is accepted.key and int(time.time()) <= accepted.usable_until:
                self._accepted.move_to_end(digest)
                return accepted.principal
            del self._accepted[digest]
        accepted = await self._verify_in_full(token)
        self._accepted[digest] = accepted
        if len(self._accepted) > self._remembered:
            self._accepted.popitem(last=False)
        return accepted.principal

    async def _verify_in_full(self, token: str) -> _Accepted:
        compact, claims = _unverified(token)
        header = compact.headers()
        trusted = self._issuer_of(claims)
        _check_token_type(header, trusted)
        kid = header.get("kid")
        key = await trusted.keys.key_for(kid)
        if key is None and kid is None:
            raise TokenError(REFUSED + "its header must name the signing key ('kid').")
        if key is None:
            raise TokenError(REFUSED + f"No key for kid: {kid!r}")
        _check_signature(compact, key)
        try:
            self._claims[trusted.issuer].validate(claims)
        except JoseError as error:
            raise TokenError(REFUSED + (error.description or error.error)) from None
        return _Accepted(
            principal=trusted.read_principal(claims),
            issuer=trusted,
            kid=kid,
            key=key,
            usable_until=int(claims["exp"]) + self._leeway_seconds,
        )

    async def aclose(self) -> None:
        """Release what the key sources hold (a provider's HTTP client)."""
        for trusted in self._issuers.values():
            await trusted.keys.aclose()

    def _issuer_of(self, claims: dict[str, Any]) -> TrustedIssuer:
        issuer = claims.get("iss")
        if issuer is None:
            raise TokenError(REFUSED + "Missing claim: 'iss'")
        trusted = self._issuers.get(issuer) if isinstance(issuer, str) else None
        if trusted is None:
            raise TokenError(REFUSED + "Invalid claim: 'iss'")
        return trusted


@dataclass(frozen=True, slots=True)
class _Accepted:
    """A token that passed every check, remembered by the SHA-256 of its bytes."""

    principal: Principal
    issuer: TrustedIssuer
    kid: str | None
    key: Key
    usable_until: int
    """``exp`` plus the leeway: the last second at which the claims check passes."""


def _claims_registry(trusted: TrustedIssuer, leeway_seconds: int) -> jwt.JWTClaimsRegistry:
    options: dict[str, jwt.ClaimsOption] = {
        "iss": {"essential": True, "value": trusted.issuer},
        "aud": {"essential": True, "value": trusted.audience},
        "exp": {"essential": True},
        "sub": {"essential": True},
        "iat": {"essential": True},
    }
    for name in trusted.required_claims:
        options[name] = {"essential": True}
    return jwt.JWTClaimsRegistry(None, leeway_seconds, **options)


def _unverified(token: str) -> tuple[CompactSignature, dict[str, Any]]:
    """The token's parts and claims before any check: only for choosing the issuer.

    Parsing errors carry no part of the token (``from None``): their text can reach logs.
    """
    if token.count(".") == JWE_DOTS:
        raise TokenError(REFUSED + "encrypted tokens (JWE) are not accepted; send a signed JWT.")
    try:
        compact = jws.extract_compact(token.encode("utf-8"), registry=_JWS_REGISTRY)
    except JoseError as error:
        raise TokenError(REFUSED + (error.description or error.error)) from None
    except (ValueError, TypeError):
        raise TokenError(REFUSED + "Invalid header") from None
    if not isinstance(compact.headers(), dict):
        raise TokenError(REFUSED + "Invalid header")
    # Before the payload is read: with ``crit: ["b64"]`` the payload is not even base64.
    _check_header(compact.headers())
    try:
        claims = json.loads(compact.payload)
    except (ValueError, TypeError):
        claims = None
    if not isinstance(claims, dict):
        raise TokenError(REFUSED + "its claims are not a JSON object.")
    return compact, claims


def _check_header(header: dict[str, Any]) -> None:
    """The algorithm, ``crit`` and ``kid`` rules. Keys named by ``jwk``, ``jku``, ``x5u`` or
    ``x5c`` are never used: keys come from the trusted issuer's key source only."""
    try:
        _JWS_REGISTRY.check_header(header)
        _JWS_REGISTRY.get_alg(header["alg"])
    except JoseError as error:
        raise TokenError(REFUSED + (error.description or error.error)) from None
    if "crit" in header:
        raise TokenError(
            REFUSED + "its header lists critical extensions ('crit'); none is supported."
        )
    kid = header.get("kid")
    if kid is not None and (not isinstance(kid, str) or not 0 < len(kid) <= MAX_KEY_ID_LENGTH):
        raise TokenError(REFUSED + "its key id ('kid') must be a short string.")


def _check_token_type(header: dict[str, Any], trusted: TrustedIssuer) -> None:
    """RFC 9068: a provider's access token says so in ``typ``, so an ID token (``JWT``)
    of the same provider, signed by the same key, is never taken for one."""
    if trusted.token_types is not None:
        token_type = header.get("typ")
        if not isinstance(token_type, str) or token_type.lower() not in trusted.token_types:
            raise TokenError(
                REFUSED + "it is not an access token: its header 'typ' must be 'at+jwt' (RFC 9068)."
            )


def _check_signature(compact: CompactSignature, key: Key) -> None:
    algorithm = compact.headers()["alg"]
    key_algorithm = key.get("alg")
    if key_algorithm is not None and key_algorithm != algorithm:
        raise TokenError(
            REFUSED + f"its algorithm {algorithm!r} is not its key's ({key_algorithm!r})."
        )
    try:
        is_valid = jws.validate_compact(compact, key, [algorithm], registry=_JWS_REGISTRY)
    except JoseError as error:
        raise TokenError(REFUSED + (error.description or error.error)) from None
    except (ValueError, TypeError):
        is_valid = False
    if not is_valid:
        raise TokenError(REFUSED + "its signature does not verify with any trusted key.")


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    """The caller of a local token: the ``w4r_role`` and ``w4r_section`` claims."""
    raw_role = claims.get(ROLE_CLAIM)
    try:
        role = Role(str(raw_role))
    except ValueError as error:
        raise TokenError(f"The token's {ROLE_CLAIM!r} claim is not a known role.") from error
    section = claims.get(SECTION_CLAIM)
    if section is not None and not isinstance(section, str):
        raise TokenError(f"The token's {SECTION_CLAIM!r} claim must be a section code.")
    check_role_binding(role, section)
    jti = claims.get("jti")
    return Principal(
        role=role,
        subject=str(claims["sub"]),
        section_code=section,
        token_id=jti if isinstance(jti, str) else None,
    )


class TokenIssuer:
    """Signs tokens with the deployment's local key (development and first steps)."""

    def __init__(self, key: ECKey, *, issuer: str, audience: str) -> None:
        self._key = key
        self._issuer = issuer
        self._audience = audience

    def issue(
        self,
        role: Role,
        *,
        section_code: str | None = None,
        subject: str | None = None,
        ttl_seconds: int = 3600,
        now: int | None = None,
    ) -> str:
        check_role_binding(role, section_code)
        issued_at = int(time.time()) if now is None else now
        claims: dict[str, Any] = {
            "iss": self._issuer,
            "aud": self._audience,
            "sub": subject or f"local:{role.value}",
            "iat": issued_at,
            "nbf": issued_at,
            "exp": issued_at + ttl_seconds,
            "jti": secrets.token_urlsafe(16),
            ROLE_CLAIM: role.value,
        }
        if section_code is not None:
            claims[SECTION_CLAIM] = section_code
        header = {"alg": LOCAL_ALGORITHM, "kid": self._key.kid}
        return jwt.encode(header, claims, self._key, algorithms=[LOCAL_ALGORITHM])


def generate_signing_key() -> ECKey:
    key = ECKey.generate_key("P-256", parameters={"use": "sig", "alg": LOCAL_ALGORITHM})
    key.ensure_kid()
    return key


def parse_signing_key(serialized: str) -> ECKey:
    key = import_key(json.loads(serialized), "EC")
    if not key.is_private:
        raise ValueError("The local signing key must be a private EC key (JWK).")
    key.ensure_kid()
    return key


def load_or_create_signing_key(path: Path) -> ECKey:
    """The key stored at ``path``, created there (mode 0600) on first use."""
    if path.exists():
        return parse_signing_key(path.read_text(encoding="utf-8"))
    key = generate_signing_key()
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        json.dump(key.as_dict(private=True), file)
    return key


def public_key_set(*keys: ECKey) -> KeySet:
    return KeySet([import_key(key.as_dict(private=False), "EC") for key in keys])


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer …`` header; None when there is no header."""
    if authorization is None:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise MalformedCredentialsError("Send credentials as 'Authorization: Bearer <token>'.")
    return token.strip()
