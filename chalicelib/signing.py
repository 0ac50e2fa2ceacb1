"""JWT signing keys, and the RS256 tokens they sign (through python-jose).

Keys are RSA pairs in the signing-keys table: the public half as a JWK, the
private half as PEM encrypted by the secrets KMS key, with the key id as
encryption context so that no ciphertext can pass for another key's. The
first token ever signed creates the first key. The newest active key signs;
`rotate` adds a key and retires the others, which stay published in the JWKS
and keep verifying until every token they signed has expired; then their
items expire.

Verification, in order: the header must name RS256, the expected `typ` and a
known `kid`; the signature must match that key; `iss`, `aud` and `exp` must
be right. Any failure is an UnauthorizedError.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jose import jwk, jwt
from jose.backends.base import Key
from jose.exceptions import ExpiredSignatureError, JWTClaimsError, JWTError
from pynamodb.exceptions import DoesNotExist

from chalicelib import aws
from chalicelib.errors import UnauthorizedError
from chalicelib.ids import now_iso, utc_now
from chalicelib.models import SigningKey
from chalicelib.settings import get_settings

logger = logging.getLogger(__name__)

ALGORITHM = "RS256"
KEY_BITS = 2048
PURPOSE = "jwt"
ACTIVE = "active"
RETIRED = "retired"
KMS_PURPOSE = "jwt-signing-key"
SIGNER_CACHE_SECONDS = 300
MAX_TOKEN_SECONDS = 3600
# A retired key may still sign for SIGNER_CACHE_SECONDS in processes that
# cached it, and those tokens live MAX_TOKEN_SECONDS; a day more is margin.
PUBLISHED_AFTER_RETIREMENT = timedelta(
    seconds=SIGNER_CACHE_SECONDS + MAX_TOKEN_SECONDS, days=1
)
KID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
DECODE_OPTIONS = {
    "require_exp": True,
    "require_iat": True,
    "require_iss": True,
    "require_aud": True,
    "require_sub": True,
    "require_jti": True,
    "leeway": 0,
}


@dataclass(frozen=True)
class _Signer:
    kid: str
    key: Key
    expires: float


class _Keys:
    """This process's decrypted signer and the public keys it has read."""

    def __init__(self) -> None:
        self.signer: _Signer | None = None
        self.public: dict[str, Key] = {}
        self.lock = threading.Lock()


_keys = _Keys()


def sign(claims: dict[str, Any], typ: str) -> str:
    """A compact JWS of `claims`, signed with the active key."""
    signer = _active_signer()
    headers = {"kid": signer.kid, "typ": typ}
    return jwt.encode(claims, signer.key, algorithm=ALGORITHM, headers=headers)


def verify(token: str, audience: str, typ: str) -> dict[str, Any]:
    """The claims of a token we signed for `audience`; raises UnauthorizedError."""
    try:
        header = jwt.get_unverified_header(token)
    except JWTError as exc:
        raise UnauthorizedError("The token is not a well-formed JWT") from exc
    if header.get("alg") != ALGORITHM:
        raise UnauthorizedError(f"Tokens must be signed with {ALGORITHM}")
    if header.get("typ") != typ:
        raise UnauthorizedError(f"The token is not of type {typ}")
    key = _public_key(header.get("kid"))
    if key is None:
        raise UnauthorizedError("The token names an unknown signing key")
    issuer = get_settings().oauth_issuer
    try:
        return jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            audience=audience,
            issuer=issuer,
            options=DECODE_OPTIONS,
        )
    except ExpiredSignatureError as exc:
        raise UnauthorizedError("The token has expired") from exc
    except JWTClaimsError as exc:
        raise UnauthorizedError("The token was not issued for this API") from exc
    except JWTError as exc:
        raise UnauthorizedError("The token's signature does not verify") from exc


def jwks() -> dict[str, list[dict[str, Any]]]:
    """The JSON Web Key Set: every key that may have signed a live token."""
    now = utc_now()
    published = [
        json.loads(record.public_jwk)
        for record in _all_keys()
        if record.status == ACTIVE or (record.expires_at and record.expires_at > now)
    ]
    return {"keys": published}


def rotate() -> SigningKey:
    """Make a new active key and retire the others; returns the new key."""
    created = create_key()
    retired_at = utc_now()
    for record in _all_keys():
        if record.id != created.id and record.status == ACTIVE:
            record.update(
                actions=[
                    SigningKey.status.set(RETIRED),
                    SigningKey.retired_at.set(now_iso()),
                    SigningKey.expires_at.set(retired_at + PUBLISHED_AFTER_RETIREMENT),
                ],
                condition=SigningKey.status == ACTIVE,
            )
            logger.info("signing key retired", extra={"kid": record.id})
    with _keys.lock:
        _keys.signer = None
    return created


def create_key() -> SigningKey:
    """Generate an active RSA key pair; the private half is stored encrypted."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    kid = f"{utc_now():%Y%m%d%H%M%S}-{secrets.token_hex(4)}"
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = jwk.construct(pem.decode(), ALGORITHM).public_key().to_dict()
    record = SigningKey(
        PURPOSE,
        kid,
        status=ACTIVE,
        public_jwk=json.dumps({**public, "kid": kid, "use": "sig"}),
        private_key_ciphertext=_encrypt(kid, pem),
        created_at=now_iso(),
    )
    record.save(condition=SigningKey.id.does_not_exist())
    logger.info("signing key created", extra={"kid": kid})
    return record


def _active_signer() -> _Signer:
    signer = _keys.signer
    if signer is not None and signer.expires > time.monotonic():
        return signer
    with _keys.lock:
        active = [k for k in _all_keys() if k.status == ACTIVE]
        record = max(active, key=lambda k: k.created_at) if active else create_key()
        pem = _decrypt(record.id, record.private_key_ciphertext)
        signer = _Signer(
            record.id,
            jwk.construct(pem.decode(), ALGORITHM),
            time.monotonic() + SIGNER_CACHE_SECONDS,
        )
        _keys.signer = signer
    return signer


def _public_key(kid: object) -> Key | None:
    if not isinstance(kid, str) or not KID.match(kid):
        return None
    key = _keys.public.get(kid)
    if key is not None:
        return key
    try:
        record = SigningKey.get(PURPOSE, kid)
    except DoesNotExist:
        return None
    key = jwk.construct(json.loads(record.public_jwk), ALGORITHM)
    _keys.public[kid] = key
    return key


def _all_keys() -> list[SigningKey]:
    return list(SigningKey.query(PURPOSE, scan_index_forward=False))


def _encryption_context(kid: str) -> dict[str, str]:
    return {"purpose": KMS_PURPOSE, "kid": kid}


def _kms_key() -> str:
    return f"alias/{get_settings().resource_name('secrets')}"


def _encrypt(kid: str, plaintext: bytes) -> str:
    blob = aws.client("kms").encrypt(
        KeyId=_kms_key(),
        Plaintext=plaintext,
        EncryptionContext=_encryption_context(kid),
    )["CiphertextBlob"]
    return base64.b64encode(blob).decode()


def _decrypt(kid: str, ciphertext: str) -> bytes:
    return aws.client("kms").decrypt(
        KeyId=_kms_key(),
        CiphertextBlob=base64.b64decode(ciphertext),
        EncryptionContext=_encryption_context(kid),
    )["Plaintext"]
