"""The API key format: ``w4r_`` + a 256-bit secret in base62 + a base62 CRC32 checksum.

A key looks like ``w4r_`` followed by 43 base62 characters (the 32 random bytes, fixed width)
and 6 base62 characters of the CRC32 of everything before them, 53 characters in all. The
prefix tells a key from a JWT (which starts with ``eyJ``) and lets secret scanners find leaked
keys; the checksum lets the server refuse a typo or a truncated key without a database
lookup. CRC32 detects every change of one character (a burst of at most 32 bits), and a
changed checksum character decodes to another number, so any single-character change is
refused by :func:`is_well_formed`.

The checksum is not a secret and proves nothing about who made the key: only the stored hash
does. A key is stored as its SHA-256 (:func:`key_hash`): the secret is 256 random bits, so a
slow password hash would add nothing (nobody can enumerate 2**256 candidates) and would cost
every request time.
"""

from __future__ import annotations

import hashlib
import secrets
import string
import zlib
from typing import Final

PREFIX: Final = "w4r_"
ALPHABET: Final = string.digits + string.ascii_uppercase + string.ascii_lowercase
SECRET_BYTES: Final = 32
BODY_LENGTH: Final = 43
"""Base62 digits of a 32-byte secret: 62**43 > 2**256 > 62**42."""
CHECKSUM_LENGTH: Final = 6
"""Base62 digits of a CRC32: 62**6 > 2**32."""
KEY_LENGTH: Final = len(PREFIX) + BODY_LENGTH + CHECKSUM_LENGTH
DISPLAY_LENGTH: Final = 8
"""Secret characters kept in the display prefix: enough to tell keys apart in a list, about 48
of the 256 bits, leaving over 200 unknown."""

_DIGITS: Final = {character: value for value, character in enumerate(ALPHABET)}


def base62(number: int, width: int) -> str:
    """``number`` in base62, left-padded with ``0`` to ``width`` digits."""
    if number < 0 or number >= len(ALPHABET) ** width:
        raise ValueError(f"{number} does not fit in {width} base62 digits")
    digits = []
    for _ in range(width):
        number, remainder = divmod(number, len(ALPHABET))
        digits.append(ALPHABET[remainder])
    return "".join(reversed(digits))


def checksum(text: str) -> str:
    """The 6-character base62 CRC32 of ``text`` (ASCII)."""
    return base62(zlib.crc32(text.encode("ascii")), CHECKSUM_LENGTH)


def generate() -> str:
    """A new key from the operating system's random source."""
    body = base62(int.from_bytes(secrets.token_bytes(SECRET_BYTES), "big"), BODY_LENGTH)
    return PREFIX + body + checksum(PREFIX + body)


def looks_like_api_key(credential: str) -> bool:
    """True when a bearer credential claims to be an API key (rather than a JWT)."""
    return credential.startswith(PREFIX)


def is_well_formed(key: str) -> bool:
    """The key has the prefix, the length, only base62 characters and a matching checksum."""
    if len(key) != KEY_LENGTH or not key.startswith(PREFIX):
        return False
    rest = key[len(PREFIX) :]
    if any(character not in _DIGITS for character in rest):
        return False
    if _decode(rest[:BODY_LENGTH]) >= 1 << (8 * SECRET_BYTES):
        return False  # no 32-byte secret encodes to these digits
    return checksum(key[:-CHECKSUM_LENGTH]) == key[-CHECKSUM_LENGTH:]


def _decode(digits: str) -> int:
    number = 0
    for character in digits:
        number = number * len(ALPHABET) + _DIGITS[character]
    return number


def key_hash(key: str) -> bytes:
    """What is stored of a key: its SHA-256 (see the module docstring for why that is enough)."""
    return hashlib.sha256(key.encode("ascii")).digest()


def display_prefix(key: str) -> str:
    """The start of a key that lists may show, e.g. ``w4r_AbCd1234``."""
    return key[: len(PREFIX) + DISPLAY_LENGTH]
