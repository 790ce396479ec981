"""Callers and bearer tokens: who is asking, verified with joserfc.

A request carries at most one bearer JWT. No ``Authorization`` header means the anonymous
caller. A header that is no bearer token is refused with HTTP 400 (RFC 6750
``invalid_request``); a token that is malformed, expired, not yet valid, for another issuer
or audience, or not signed by a trusted key with HTTP 401 (``invalid_token``). A broken
credential is never quietly downgraded to anonymous.

Tokens are signed with an asymmetric algorithm only (no ``HS*``, no ``none``). The
deployment's local signing key (P-256, ES256) signs the tokens printed by
``w4r token issue``; external identity providers are added later through the same
:class:`TokenVerifier` key set.
"""

from __future__ import annotations

import enum
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final
from uuid import UUID

from joserfc import jwt
from joserfc.errors import BadSignatureError, InvalidPayloadError, JoseError
from joserfc.jwk import ECKey, KeySet, import_key

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


class TokenVerifier:
    """Verifies bearer tokens against a set of public keys, an issuer and an audience."""

    def __init__(self, keys: KeySet, *, issuer: str, audience: str, leeway_seconds: int) -> None:
        self._keys = keys
        self._claims = jwt.JWTClaimsRegistry(
            leeway=leeway_seconds,
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": audience},
            exp={"essential": True},
            sub={"essential": True},
        )

    def verify(self, token: str) -> Principal:
        if len(token) > MAX_TOKEN_BYTES:
            raise TokenError("The bearer token is too long.")
        try:
            decoded = jwt.decode(token, self._keys, algorithms=ASYMMETRIC_ALGORITHMS)
            self._claims.validate(decoded.claims)
        except BadSignatureError as error:
            raise TokenError(
                "The bearer token was refused: its signature does not verify with any trusted key."
            ) from error
        except InvalidPayloadError as error:
            raise TokenError(
                "The bearer token was refused: its claims are not a JSON object."
            ) from error
        except JoseError as error:
            reason = error.description or error.error
            raise TokenError(f"The bearer token was refused: {reason}") from error
        except ValueError as error:
            raise TokenError("The bearer token is malformed.") from error
        return principal_from_claims(decoded.claims)


def principal_from_claims(claims: dict[str, Any]) -> Principal:
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
