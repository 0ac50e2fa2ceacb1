"""Password hashing with scrypt from the standard library.

A stored hash reads `scrypt$<n>$<r>$<p>$<salt>$<digest>` (base64 without
padding), so the cost can rise later while old hashes still verify. The
parameters are one of OWASP's scrypt settings (N=2^14, r=8, p=5: 16 MiB of
memory), sized to fit a Lambda function's memory.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from chalicelib.errors import ValidationError

SCHEME = "scrypt"
COST_N = 2**14
BLOCK_SIZE_R = 8
PARALLELISM_P = 5
SALT_BYTES = 16
DIGEST_BYTES = 32
MAX_MEMORY_BYTES = 64 * 1024 * 1024
MIN_LENGTH = 12
MAX_LENGTH = 256

# Verified against when no user matches, so that an unknown email costs as much
# time as a wrong password and sign-in timing reveals no accounts.
_DECOY = f"{SCHEME}${COST_N}${BLOCK_SIZE_R}${PARALLELISM_P}$AAAAAAAAAAAAAAAAAAAAAA$"


def validate_password(password: object, field: str = "password") -> str:
    """The password if acceptable; raises ValidationError."""
    if not isinstance(password, str):
        raise ValidationError(field, "must be a string")
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise ValidationError(
            field, f"must be {MIN_LENGTH} to {MAX_LENGTH} characters long"
        )
    if not password.strip():
        raise ValidationError(field, "must not be only spaces")
    return password


def hash_password(password: str) -> str:
    """A salted scrypt hash of `password` in the stored form."""
    salt = secrets.token_bytes(SALT_BYTES)
    digest = _scrypt(password, salt, COST_N, BLOCK_SIZE_R, PARALLELISM_P)
    return "$".join(
        [
            SCHEME,
            str(COST_N),
            str(BLOCK_SIZE_R),
            str(PARALLELISM_P),
            _encode(salt),
            _encode(digest),
        ]
    )


def verify_password(password: str, stored: str | None) -> bool:
    """Whether `password` matches `stored`; a missing hash matches nothing."""
    scheme, n, r, p, salt, expected = (stored or _DECOY).split("$")
    if scheme != SCHEME:
        return False
    digest = _scrypt(password, _decode(salt), int(n), int(r), int(p))
    return hmac.compare_digest(digest, _decode(expected)) and stored is not None


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode(),
        salt=salt,
        n=n,
        r=r,
        p=p,
        maxmem=MAX_MEMORY_BYTES,
        dklen=DIGEST_BYTES,
    )


def _encode(raw: bytes) -> str:
    return base64.b64encode(raw).decode().rstrip("=")


def _decode(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))
