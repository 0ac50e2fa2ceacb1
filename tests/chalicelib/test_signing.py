"""Access tokens: which JWTs the API refuses, key rotation, keys at rest.

Each forged token differs from a genuine one in one respect only, and the
genuine claims re-signed with the real key are shown to pass, so every
refusal below is due to that one respect.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jose import jwk, jws, jwt

from chalicelib import signing
from chalicelib.models import SigningKey
from tests.conftest import ApiClient
from tests.oauth_flow import owner_email, register, set_owner_password


@pytest.fixture
def genuine(tenant):
    """A real access token of the tenant's owner and its claims."""
    app = register(tenant, "public")
    token = app.tokens(set_owner_password(tenant))["access_token"]
    return token, jwt.get_unverified_claims(token)


def b64(data: dict | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def real_kid(token: str) -> str:
    return jwt.get_unverified_header(token)["kid"]


def a_stranger_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def forge(token: str, claims: dict, how: str) -> str:
    kid = real_kid(token)
    header = {"kid": kid, "typ": "at+jwt"}
    if how == "none":
        return f"{b64({**header, 'alg': 'none'})}.{b64(claims)}."
    if how == "hmac with the public key":
        public = json.loads(SigningKey.get("jwt", kid).public_jwk)
        secret = jwk.construct(public, "RS256").to_pem()
        signing_input = f"{b64({**header, 'alg': 'HS256'})}.{b64(claims)}"
        mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{b64(mac)}"
    if how == "hmac":
        return jws.sign(claims, "shared secret", headers=header, algorithm="HS256")
    if how == "stranger key":
        return jwt.encode(claims, a_stranger_key(), "RS256", headers=header)
    if how == "unknown kid":
        headers = {**header, "kid": "no-such-key"}
        return jwt.encode(claims, a_stranger_key(), "RS256", headers=headers)
    if how == "no kid":
        return jwt.encode(claims, a_stranger_key(), "RS256", headers={"typ": "at+jwt"})
    if how == "altered payload":
        head, _, signature = token.split(".")
        return f"{head}.{b64({**claims, 'scope': 'team:manage'})}.{signature}"
    return signing.sign(claims, "at+jwt")


def test_the_genuine_claims_re_signed_pass(tenant, genuine):
    token, claims = genuine

    again = forge(token, claims, "re-signed")

    assert ApiClient(tenant.base_url, again).get("/scripts").status_code == 200


@pytest.mark.parametrize(
    "how",
    [
        "none",
        "hmac with the public key",
        "hmac",
        "stranger key",
        "unknown kid",
        "no kid",
        "altered payload",
    ],
)
def test_forged_signatures_are_refused(tenant, genuine, how):
    token, claims = genuine

    response = ApiClient(tenant.base_url, forge(token, claims, how)).get("/scripts")

    assert response.status_code == 401, how
    assert response.json()["error"]["code"] == "UNAUTHORIZED"
    assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"iss": "https://evil.example"}, "not issued for this API"),
        ({"aud": "https://other-api.example"}, "not issued for this API"),
        ({"exp": int(time.time()) - 1}, "expired"),
        ({"grant_id": "grant_unknown"}, "revoked"),
    ],
)
def test_properly_signed_tokens_with_wrong_claims_are_refused(
    tenant, genuine, change, reason
):
    token, claims = genuine

    forged = forge(token, {**claims, **change}, "re-signed")
    response = ApiClient(tenant.base_url, forged).get("/scripts")

    assert response.status_code == 401
    assert reason in response.json()["error"]["details"]


def test_a_consent_form_token_is_no_access_token(tenant):
    app = register(tenant, "confidential")

    page = app.open_page(requests.Session())
    form_token = page.text.split('name="form_token" value="')[1].split('"')[0]

    response = ApiClient(tenant.base_url, form_token).get("/scripts")

    assert response.status_code == 401


def test_keys_rotate_while_older_tokens_stay_valid(tenant, genuine):
    old_token, _ = genuine
    app = register(tenant, "public")
    email = owner_email(tenant)

    rotated = signing.rotate()
    new_token = app.tokens(email)["access_token"]

    assert real_kid(new_token) == rotated.id != real_kid(old_token)
    for token in (old_token, new_token):
        assert ApiClient(tenant.base_url, token).get("/scripts").status_code == 200
    published = ApiClient(tenant.base_url.removesuffix("/v1")).get(
        "/.well-known/jwks.json"
    )
    kids = [key["kid"] for key in published.json()["keys"]]
    assert real_kid(old_token) in kids and rotated.id in kids
    assert published.headers["Cache-Control"].startswith("public")
    retired = SigningKey.get("jwt", real_kid(old_token))
    assert retired.status == "retired" and retired.expires_at is not None


def test_private_keys_are_kept_encrypted_and_never_published(tenant, genuine, stack):
    token, _ = genuine
    kid = real_kid(token)
    record = SigningKey.get("jwt", kid)
    ciphertext = base64.b64decode(record.private_key_ciphertext)
    kms = stack.client("kms")

    with pytest.raises(kms.exceptions.InvalidCiphertextException):
        kms.decrypt(CiphertextBlob=ciphertext)
    plaintext = kms.decrypt(
        CiphertextBlob=ciphertext,
        EncryptionContext={"purpose": "jwt-signing-key", "kid": kid},
    )["Plaintext"]

    assert b"PRIVATE KEY" in plaintext
    assert b"PRIVATE KEY" not in ciphertext
    published = ApiClient(tenant.base_url.removesuffix("/v1")).get(
        "/.well-known/jwks.json"
    )
    for key in published.json()["keys"]:
        assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key)
