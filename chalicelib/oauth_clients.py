"""OAuth clients: the third-party applications an organization admits.

Admins (`integrations:manage`) register a client with its exact redirect URIs
and the scopes it may ever ask for. A confidential client (a server) gets a
secret, shown once and stored as a SHA-256; a public client (a mobile or
browser app) has none and must use PKCE. Only the users of the organization
that registered a client can authorize it. Deleting a client revokes every
grant it holds, and with them its access and refresh tokens.
"""

from __future__ import annotations

import base64
import binascii
import logging
from dataclasses import dataclass
from urllib.parse import unquote_plus, urlsplit

from pynamodb.exceptions import DoesNotExist

from chalicelib import auth, tokens
from chalicelib.errors import NotFoundError, OAuthError, ValidationError
from chalicelib.ids import new_id, now_iso
from chalicelib.models import OAuthClient, OAuthGrant

logger = logging.getLogger(__name__)

CONFIDENTIAL = "confidential"
PUBLIC = "public"
CLIENT_TYPES = (CONFIDENTIAL, PUBLIC)
CLIENT_CREDENTIAL_KIND = "tccs"
MAX_NAME = 100
MAX_REDIRECT_URIS = 10
MAX_URI_LENGTH = 2000
MAX_CLIENTS_LISTED = 500
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
CLIENT_AUTH_CHALLENGE = {"WWW-Authenticate": 'Basic realm="tapcraft-oauth"'}


@dataclass(frozen=True)
class NewClient:
    record: OAuthClient
    secret: str | None


def register_client(principal: auth.Principal, body: dict) -> NewClient:
    """Register a client of the caller's organization.

    Raises ForbiddenError without integrations:manage, ValidationError for a
    bad name, type, redirect URI or scope.
    """
    principal.require("integrations:manage")
    name = _name(body.get("name"))
    client_type = body.get("type", CONFIDENTIAL)
    if client_type not in CLIENT_TYPES:
        raise ValidationError("type", f"must be one of {', '.join(CLIENT_TYPES)}")
    redirect_uris = _redirect_uris(body.get("redirect_uris"))
    scopes = _scopes(body.get("scopes"), principal.permissions)

    minted = (
        tokens.mint(CLIENT_CREDENTIAL_KIND) if client_type == CONFIDENTIAL else None
    )
    record = OAuthClient(
        new_id("client"),
        org_id=principal.org_id,
        name=name,
        client_type=client_type,
        redirect_uris=redirect_uris,
        scopes=scopes,
        secret_prefix=minted.prefix if minted else None,
        secret_hash=minted.digest if minted else None,
        created_by=principal.user_id,
        created_at=now_iso(),
    )
    record.save(condition=OAuthClient.id.does_not_exist())
    logger.info("oauth client registered", extra={"client_id": record.id})
    return NewClient(record, minted.token if minted else None)


def _name(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError("name", "is required and must be a non-empty string")
    if len(value) > MAX_NAME:
        raise ValidationError("name", f"must be at most {MAX_NAME} characters")
    return value.strip()


def _redirect_uris(value: object) -> list[str]:
    if not isinstance(value, list) or not 0 < len(value) <= MAX_REDIRECT_URIS:
        raise ValidationError(
            "redirect_uris", f"must be a list of 1 to {MAX_REDIRECT_URIS} URIs"
        )
    for index, uri in enumerate(value):
        problem = _redirect_problem(uri)
        if problem:
            raise ValidationError(f"redirect_uris[{index}]", problem)
    return list(dict.fromkeys(value))


def _redirect_problem(uri: object) -> str | None:
    if not isinstance(uri, str) or not 0 < len(uri) <= MAX_URI_LENGTH:
        return f"must be a URI of at most {MAX_URI_LENGTH} characters"
    try:
        parts = urlsplit(uri)
        host = parts.hostname
    except ValueError:
        return "is not a valid URI"
    if parts.fragment or "#" in uri:
        return "must not contain a fragment"
    if not host or parts.username or parts.password:
        return "must name a host and no user information"
    if parts.scheme == "https" or (parts.scheme == "http" and host in LOOPBACK_HOSTS):
        return None
    return "must use https (plain http only for a loopback address)"


def _scopes(value: object, grantable: frozenset[str]) -> set[str]:
    if not isinstance(value, list) or not value:
        raise ValidationError("scopes", "must be a non-empty list of permissions")
    for scope in value:
        if scope not in auth.PERMISSIONS:
            raise ValidationError(
                "scopes",
                f"unknown scope {scope!r}; known: {', '.join(auth.PERMISSIONS)}",
            )
        if scope not in grantable:
            raise ValidationError("scopes", f"{scope} exceeds what you hold")
    return set(value)


def list_clients(principal: auth.Principal) -> list[OAuthClient]:
    """The organization's clients, newest first."""
    principal.require("integrations:manage")
    return list(
        OAuthClient.by_org.query(
            principal.org_id, scan_index_forward=False, limit=MAX_CLIENTS_LISTED
        )
    )


def delete_client(principal: auth.Principal, client_id: str) -> OAuthClient:
    """Delete a client and revoke its grants; raises NotFoundError."""
    principal.require("integrations:manage")
    record = find_client(client_id)
    if record is None or record.org_id != principal.org_id:
        raise NotFoundError(f"OAuth client {client_id} was not found")
    record.delete()
    revoked = _revoke_grants(record.id)
    logger.info(
        "oauth client deleted", extra={"client_id": record.id, "grants": revoked}
    )
    return record


def _revoke_grants(client_id: str) -> int:
    # NOTE: one write per grant within this request; a client with tens of
    # thousands of grants would outlast the API's 29 s and need a queue.
    count = 0
    for grant in OAuthGrant.by_client.query(client_id):
        OAuthGrant(grant.id).update(
            actions=[OAuthGrant.revoked_at.set(now_iso())],
            condition=OAuthGrant.id.exists(),
        )
        count += 1
    return count


def find_client(client_id: str) -> OAuthClient | None:
    if not client_id.startswith("client_") or len(client_id) > 64:
        return None
    try:
        return OAuthClient.get(client_id)
    except DoesNotExist:
        return None


def authenticate_client(
    client_id: str | None, client_secret: str | None, authorization: str | None
) -> OAuthClient:
    """The client making a token or revocation request.

    Confidential clients prove themselves with their secret, in the form
    (`client_secret_post`) or HTTP Basic (`client_secret_basic`); public
    clients name themselves only. Raises OAuthError `invalid_client` (401).
    """
    if authorization and authorization.lower().startswith("basic "):
        if client_secret is not None:
            raise OAuthError(
                "invalid_request", "Use one client authentication method, not two"
            )
        basic_id, client_secret = _basic_credentials(authorization)
        if client_id is not None and client_id != basic_id:
            raise _invalid_client("client_id differs from the Basic credentials")
        client_id = basic_id
    record = find_client(client_id or "")
    if record is None:
        raise _invalid_client("The client is unknown")
    if record.client_type == PUBLIC:
        if client_secret is not None:
            raise _invalid_client("A public client has no secret")
        return record
    if client_secret is None or not tokens.matches(record.secret_hash, client_secret):
        raise _invalid_client("The client secret is missing or wrong")
    return record


def _basic_credentials(authorization: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(authorization.split(" ", 1)[1], validate=True)
        client_id, _, secret = decoded.decode().partition(":")
    except (binascii.Error, UnicodeDecodeError, IndexError) as exc:
        raise _invalid_client("The Basic credentials are malformed") from exc
    return unquote_plus(client_id), unquote_plus(secret)


def _invalid_client(description: str) -> OAuthError:
    return OAuthError(
        "invalid_client", description, status=401, headers=dict(CLIENT_AUTH_CHALLENGE)
    )


def describe_client(record: OAuthClient) -> dict:
    return {
        "id": record.id,
        "name": record.name,
        "type": record.client_type,
        "redirect_uris": list(record.redirect_uris),
        "scopes": sorted(record.scopes),
        "secret_prefix": record.secret_prefix,
        "created_by": record.created_by,
        "created_at": record.created_at,
    }
