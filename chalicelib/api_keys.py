"""API keys: creation, lookup on every request, listing and revocation.

A key reads `tcpk_<key id>_<secret>`. The key id finds the record with one
GetItem; the record holds only the SHA-256 of the whole key, compared in
constant time. The full key is returned once, by `create_api_key`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from pynamodb.exceptions import DoesNotExist

from chalicelib import auth, tokens
from chalicelib.errors import NotFoundError, UnauthorizedError, ValidationError
from chalicelib.ids import now_iso, parse_iso, to_iso, utc_now
from chalicelib.models import ApiKey, User

logger = logging.getLogger(__name__)

KEY_PREFIX = "tcpk"
MAX_KEYS_LISTED = 500
LAST_USED_RESOLUTION = timedelta(minutes=1)
MAX_NAME_LENGTH = 100


@dataclass(frozen=True)
class NewApiKey:
    record: ApiKey
    key: str


def create_api_key(
    user: User,
    name: object,
    permissions: object,
    grantable: frozenset[str] | None = None,
) -> NewApiKey:
    """Create a key for `user` holding `permissions`.

    `grantable` caps the grant further (a key may not mint a stronger key).
    Raises ValidationError for a bad name or a permission beyond the caps.
    """
    _validate_name(name)
    allowed = auth.ROLE_PERMISSIONS[user.role]
    if grantable is not None:
        allowed = allowed & grantable
    granted = _validate_permissions(permissions, allowed)
    minted = tokens.mint(KEY_PREFIX)
    record = ApiKey(
        f"key_{minted.token_id}",
        org_id=user.org_id,
        user_id=user.id,
        role=user.role,
        name=name,
        prefix=minted.prefix,
        secret_hash=minted.digest,
        permissions=granted,
        created_at=now_iso(),
    )
    record.save(condition=ApiKey.id.does_not_exist())
    logger.info("api key created", extra={"key_id": record.id, "org_id": user.org_id})
    return NewApiKey(record, minted.token)


def create_own_api_key(
    principal: auth.Principal, name: object, permissions: object
) -> NewApiKey:
    """The caller makes a key for themself, never stronger than their own.

    Raises ForbiddenError through an OAuth token (a key would outlive the
    grant's revocation), ValidationError as `create_api_key` does.
    """
    principal.require_api_key("Creating an API key")
    try:
        user = User.get(principal.user_id)
    except DoesNotExist as exc:
        raise UnauthorizedError("The caller's user no longer exists") from exc
    return create_api_key(user, name, permissions, principal.permissions)


def _validate_name(name: object) -> None:
    if not isinstance(name, str) or not name.strip():
        raise ValidationError("name", "is required and must be a non-empty string")
    if len(name) > MAX_NAME_LENGTH:
        raise ValidationError("name", f"must be at most {MAX_NAME_LENGTH} characters")


def _validate_permissions(permissions: object, allowed: frozenset[str]) -> set[str]:
    if not isinstance(permissions, list) or not permissions:
        raise ValidationError("permissions", "must be a non-empty list")
    for permission in permissions:
        if permission not in auth.PERMISSIONS:
            raise ValidationError(
                "permissions",
                f"unknown permission {permission!r}; known: "
                + ", ".join(auth.PERMISSIONS),
            )
        if permission not in allowed:
            raise ValidationError(
                "permissions", f"{permission} exceeds what the caller may grant"
            )
    return set(permissions)


def authenticate(key: str) -> auth.Principal:
    """The principal behind an API key; raises UnauthorizedError."""
    if tokens.token_id(KEY_PREFIX, key) is None:
        raise UnauthorizedError("The API key is malformed")
    record = tokens.find_record(ApiKey, KEY_PREFIX, key, "key")
    if record is None:
        raise UnauthorizedError("The API key is not valid")
    if record.revoked_at:
        raise UnauthorizedError("The API key has been revoked")
    _touch(record)
    return auth.Principal(
        org_id=record.org_id,
        user_id=record.user_id,
        role=record.role,
        permissions=auth.effective_permissions(record.permissions, record.role),
        credential_id=record.id,
    )


def _touch(record: ApiKey) -> None:
    """Record use at most once per LAST_USED_RESOLUTION, to spare writes."""
    now = utc_now()
    if record.last_used_at and now - parse_iso(record.last_used_at) < (
        LAST_USED_RESOLUTION
    ):
        return
    record.update(actions=[ApiKey.last_used_at.set(to_iso(now))])


def list_api_keys(principal: auth.Principal) -> list[ApiKey]:
    """The caller's keys, or every key of the organization for team managers."""
    keys = ApiKey.by_org.query(
        principal.org_id, scan_index_forward=False, limit=MAX_KEYS_LISTED
    )
    if principal.can("team:manage"):
        return list(keys)
    return [k for k in keys if k.user_id == principal.user_id]


def revoke_api_key(principal: auth.Principal, key_id: str) -> ApiKey:
    """Revoke a key; raises NotFoundError for keys the caller cannot see."""
    record = _visible_key(principal, key_id)
    if not record.revoked_at:
        record.update(actions=[ApiKey.revoked_at.set(now_iso())])
        logger.info("api key revoked", extra={"key_id": record.id})
    return record


def _visible_key(principal: auth.Principal, key_id: str) -> ApiKey:
    try:
        record = ApiKey.get(key_id)
    except DoesNotExist as exc:
        raise NotFoundError(f"API key {key_id} was not found") from exc
    mine = record.user_id == principal.user_id
    if record.org_id != principal.org_id or not (mine or principal.can("team:manage")):
        raise NotFoundError(f"API key {key_id} was not found")
    return record


def describe_api_key(record: ApiKey) -> dict:
    return {
        "id": record.id,
        "name": record.name,
        "prefix": record.prefix,
        "user_id": record.user_id,
        "permissions": sorted(record.permissions),
        "status": "revoked" if record.revoked_at else "active",
        "created_at": record.created_at,
        "last_used_at": record.last_used_at,
        "revoked_at": record.revoked_at,
    }
