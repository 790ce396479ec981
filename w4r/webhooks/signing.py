"""Signing secrets: how they are made, kept at rest, and used to sign a delivery.

A subscription's secret (``whsec_`` + 43 URL-safe characters, 256 bits) is shown once, when
the subscription is created. It must be stored to sign later deliveries, so it is stored
encrypted: AES-256-GCM under the deployment's webhook key (``W4R_WEBHOOK_SECRET_KEY``), with
a fresh nonce and the subscription's id as associated data, so a ciphertext copied onto
another subscription does not decrypt. A database dump alone reveals no secret.

A request is signed Standard-Webhooks/Stripe style: ``W4R-Webhook-Signature: v1=<hex>``,
the HMAC-SHA256, keyed with the secret's UTF-8 bytes, of ``"<timestamp>.<raw body>"``, where
the timestamp is the ``W4R-Webhook-Timestamp`` header (Unix seconds). docs/webhooks.md gives
the receiver's side of the recipe.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Final
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

SECRET_PREFIX: Final = "whsec_"
KEY_BYTES: Final = 32
NONCE_BYTES: Final = 12
SIGNATURE_VERSION: Final = "v1"

ID_HEADER: Final = "W4R-Webhook-Id"
EVENT_HEADER: Final = "W4R-Webhook-Event"
TIMESTAMP_HEADER: Final = "W4R-Webhook-Timestamp"
SIGNATURE_HEADER: Final = "W4R-Webhook-Signature"


class SecretKeyError(ValueError):
    """The configured webhook key is not 32 bytes in hex."""


class SealedSecretError(ValueError):
    """A stored secret does not decrypt with this key (another key, or another row's)."""


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(KEY_BYTES)


def parse_secret_key(value: str) -> bytes:
    """The key from its hex form (64 hex digits)."""
    try:
        key = bytes.fromhex(value.strip())
    except ValueError as error:
        raise SecretKeyError(
            "W4R_WEBHOOK_SECRET_KEY must be 32 bytes in hex: `openssl rand -hex 32`."
        ) from error
    if len(key) != KEY_BYTES:
        raise SecretKeyError(
            f"W4R_WEBHOOK_SECRET_KEY must be {KEY_BYTES} bytes ({2 * KEY_BYTES} hex digits), "
            f"not {len(key)}: `openssl rand -hex 32`."
        )
    return key


class SecretBox:
    """Encrypts and decrypts subscriptions' secrets with the deployment's webhook key."""

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise SecretKeyError(f"The webhook secret key must be {KEY_BYTES} bytes.")
        self._aead = AESGCM(key)

    @staticmethod
    def _associated(subscription_id: UUID) -> bytes:
        return b"w4r-webhook-secret:" + subscription_id.bytes

    def seal(self, secret: str, subscription_id: UUID) -> bytes:
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, secret.encode(), self._associated(subscription_id))
        return nonce + sealed

    def open(self, sealed: bytes, subscription_id: UUID) -> str:
        nonce, ciphertext = sealed[:NONCE_BYTES], sealed[NONCE_BYTES:]
        try:
            plain = self._aead.decrypt(nonce, ciphertext, self._associated(subscription_id))
        except InvalidTag as error:
            raise SealedSecretError(
                f"The secret of webhook {subscription_id} does not decrypt: was "
                "W4R_WEBHOOK_SECRET_KEY changed? Delete the webhook and create it again."
            ) from error
        return plain.decode()


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``"<timestamp>.<body>"`` keyed with the secret."""
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signed_headers(
    *, delivery_id: UUID, event: str, secret: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """Every header a delivery request carries besides the content type."""
    return {
        ID_HEADER: str(delivery_id),
        EVENT_HEADER: event,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: f"{SIGNATURE_VERSION}={signature(secret, timestamp, body)}",
    }
