"""Organizations and their users."""

from __future__ import annotations

import logging
import re

from pynamodb.exceptions import DoesNotExist

from chalicelib import api_keys, auth
from chalicelib.errors import NotFoundError, ValidationError
from chalicelib.ids import new_id, now_iso
from chalicelib.models import Organization, User, UsersByOrg

logger = logging.getLogger(__name__)

TIERS = ("free", "pro", "business", "enterprise")
EMAIL_PATTERN = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{2,}$")


def create_organization(name: str, tier: str = "free") -> Organization:
    """Create an organization; raises ValidationError for a bad name or tier."""
    if not name.strip() or len(name) > 200:
        raise ValidationError("name", "must be 1 to 200 characters")
    if tier not in TIERS:
        raise ValidationError("tier", f"must be one of {', '.join(TIERS)}")
    org = Organization(new_id("org"), name=name, tier=tier, created_at=now_iso())
    org.save(condition=Organization.id.does_not_exist())
    logger.info("organization created", extra={"org_id": org.id})
    return org


def create_user(org: Organization, email: str, name: str, role: str) -> User:
    """Add a user to `org`; raises ValidationError for bad fields or a taken email."""
    email = email.strip().lower()
    if not EMAIL_PATTERN.match(email):
        raise ValidationError("email", "must be an email address")
    if role not in auth.ROLES:
        raise ValidationError("role", f"must be one of {', '.join(auth.ROLES)}")
    if User.by_org.count(org.id, UsersByOrg.email == email, limit=1):
        raise ValidationError("email", f"{email} is already a member")
    user = User(
        new_id("user"),
        org_id=org.id,
        email=email,
        name=name.strip() or email,
        role=role,
        created_at=now_iso(),
    )
    user.save(condition=User.id.does_not_exist())
    logger.info("user created", extra={"user_id": user.id, "org_id": org.id})
    return user


def get_user(org_id: str, user_id: str) -> User:
    """A user of `org_id`; raises NotFoundError for anyone else's."""
    try:
        user = User.get(user_id)
    except DoesNotExist as exc:
        raise NotFoundError(f"User {user_id} was not found") from exc
    if user.org_id != org_id:
        raise NotFoundError(f"User {user_id} was not found")
    return user


def bootstrap_organization(
    org_name: str, email: str, name: str, tier: str = "free"
) -> tuple[Organization, User, api_keys.NewApiKey]:
    """An organization, its owner and the owner's first key with every permission."""
    org = create_organization(org_name, tier)
    owner = create_user(org, email, name, "owner")
    key = api_keys.create_api_key(owner, "bootstrap", sorted(auth.PERMISSIONS))
    return org, owner, key
