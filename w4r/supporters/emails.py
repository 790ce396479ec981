"""One supporter per email: normalising an address and its keyed hash.

Supporters are found by ``HMAC-SHA256(key, normalised email)``, never by the address
itself, so the unique key of a supporter reveals nothing without the deployment's key
(``W4R_SUPPORTER_HASH_KEY``), and a database dump alone cannot be searched for a known
address. The normalised form ignores what mail systems ignore in practice: surrounding
white space, letter case, Unicode composition (NFKC: a precomposed "é" and "e" + combining
accent, full-width letters) and an internationalised domain in Unicode or in punycode.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from email_validator import EmailNotValidError, validate_email

KEY_BYTES = 32


class InvalidEmailError(ValueError):
    """The text is not an email address."""


@dataclass(frozen=True, slots=True)
class Email:
    address: str
    """The address to write to, as the validator normalised it (domain lower case)."""
    canonical: str
    """The form that decides identity: what the keyed hash is computed over."""


def parse_email(value: str) -> Email:
    """The address and its canonical form; InvalidEmailError when it is not an address."""
    cleaned = unicodedata.normalize("NFKC", value).strip()
    try:
        valid = validate_email(cleaned, check_deliverability=False)
    except EmailNotValidError as error:
        raise InvalidEmailError(str(error)) from error
    local = unicodedata.normalize("NFKC", valid.local_part).casefold()
    domain = (valid.ascii_domain or valid.domain).lower()
    return Email(address=valid.normalized, canonical=f"{local}@{domain}")


class EmailHasher:
    """The keyed hash that identifies a supporter within a section."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("The supporter hash key must be at least 16 bytes.")
        self._key = key

    def hash(self, email: Email) -> str:
        return hmac.new(self._key, email.canonical.encode(), hashlib.sha256).hexdigest()


def token_hash(token: str) -> str:
    """How single-use tokens are stored: their SHA-256 (they are random, so no key)."""
    return hashlib.sha256(token.strip().encode()).hexdigest()


def new_token() -> tuple[str, str]:
    """A fresh secret token and its stored hash."""
    token = secrets.token_urlsafe(32)
    return token, token_hash(token)


def parse_hash_key(value: str) -> bytes:
    """A key given as hex (64 characters for 32 bytes) or as any other text (its bytes)."""
    text = value.strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = text.encode()
    if len(key) < 16:
        raise ValueError("W4R_SUPPORTER_HASH_KEY must be at least 16 bytes (32 in hex is best).")
    return key


def load_or_create_hash_key(path: Path) -> bytes:
    """The key stored at ``path`` (hex), created there (mode 0600) on first use.

    Development only: losing or changing the key makes every known supporter unknown (a
    new signature would create a second record), so production sets it explicitly."""
    if path.exists():
        return parse_hash_key(path.read_text(encoding="utf-8"))
    key = secrets.token_bytes(KEY_BYTES)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(key.hex())
    return key
