"""Webhook signing secrets: made, checked, sealed with KMS, and signed with.

A secret is shown to its owner once, when the webhook is created, and kept
only as KMS ciphertext under the secrets key, with the webhook's id as
encryption context so that no ciphertext can pass for another webhook's.
It cannot be hashed: every delivery is signed with it. Decrypted secrets are
kept in memory for `CACHE_SECONDS` so that deliveries do not each call KMS.

Signatures (`signature_headers`):

- `X-TapCraft-Signature: sha256=<hex>`, the HMAC-SHA256 of the exact body
  keyed with the secret's UTF-8 bytes, as the API reference verifies it;
- Standard Webhooks' `webhook-id`, `webhook-timestamp` and
  `webhook-signature: v1,<base64>`, the HMAC-SHA256 of `id.timestamp.body`.
  Its key is the base64 part of a generated `whsec_` secret, which is what
  the Standard Webhooks libraries expect, or the UTF-8 bytes of a secret the
  user chose in another form.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import threading
import time

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib import aws
from chalicelib.errors import InternalError, ValidationError
from chalicelib.settings import get_settings

PREFIX = "whsec_"
GENERATED_BYTES = 32
MIN_LENGTH = 16
MAX_LENGTH = 256
KMS_PURPOSE = "webhook-secret"
CACHE_SECONDS = 300
CACHE_ENTRIES = 1000

_cache: dict[tuple[str, str], tuple[str, float]] = {}
_cache_lock = threading.Lock()


def generate_secret() -> str:
    """A new random secret in the Standard Webhooks form (`whsec_<base64>`)."""
    return PREFIX + base64.b64encode(secrets.token_bytes(GENERATED_BYTES)).decode()


def validate_secret(value: object, field: str = "secret") -> str:
    """A secret the user chose; raises ValidationError naming `field`."""
    if not isinstance(value, str) or not MIN_LENGTH <= len(value) <= MAX_LENGTH:
        raise ValidationError(
            field, f"must be text of {MIN_LENGTH} to {MAX_LENGTH} characters"
        )
    if not value.isprintable() or value != value.strip():
        raise ValidationError(field, "must be printable, without surrounding spaces")
    if value.startswith(PREFIX) and _standard_key(value) is None:
        raise ValidationError(field, f"a {PREFIX} secret must be base64 after it")
    return value


def seal(webhook_id: str, secret: str) -> str:
    """The secret encrypted for storage; raises InternalError if KMS fails."""
    try:
        blob = aws.client("kms").encrypt(
            KeyId=_key_alias(),
            Plaintext=secret.encode(),
            EncryptionContext=_context(webhook_id),
        )["CiphertextBlob"]
    except (BotoCoreError, ClientError) as exc:
        raise InternalError("The webhook secret could not be stored") from exc
    return base64.b64encode(blob).decode()


def reveal(webhook_id: str, ciphertext: str) -> str:
    """The plaintext of a sealed secret; raises InternalError if KMS fails."""
    now = time.monotonic()
    with _cache_lock:
        cached = _cache.get((webhook_id, ciphertext))
    if cached and cached[1] > now:
        return cached[0]
    try:
        plaintext = aws.client("kms").decrypt(
            KeyId=_key_alias(),
            CiphertextBlob=base64.b64decode(ciphertext),
            EncryptionContext=_context(webhook_id),
        )["Plaintext"]
    except (BotoCoreError, ClientError) as exc:
        raise InternalError("The webhook secret could not be read") from exc
    secret = plaintext.decode()
    with _cache_lock:
        if len(_cache) >= CACHE_ENTRIES:
            _cache.clear()
        _cache[(webhook_id, ciphertext)] = (secret, now + CACHE_SECONDS)
    return secret


def signature_headers(
    secret: str, message_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """The signature headers of one request carrying `body`."""
    legacy = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    key = _standard_key(secret) or secret.encode()
    signed = f"{message_id}.{timestamp}.".encode() + body
    standard = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest())
    return {
        "X-TapCraft-Signature": f"sha256={legacy}",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": f"v1,{standard.decode()}",
    }


def _standard_key(secret: str) -> bytes | None:
    if not secret.startswith(PREFIX):
        return None
    try:
        key = base64.b64decode(secret.removeprefix(PREFIX), validate=True)
    except (binascii.Error, ValueError):
        return None
    return key or None


def _context(webhook_id: str) -> dict[str, str]:
    return {"purpose": KMS_PURPOSE, "webhook_id": webhook_id}


def _key_alias() -> str:
    return f"alias/{get_settings().resource_name('secrets')}"
