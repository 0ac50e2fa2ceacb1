"""Organizations, their users and the users' passwords (for OAuth sign-in)."""

from __future__ import annotations

import logging
import re

from chalicelib import api_keys, auth, events, lookups, passwords, plans
from chalicelib.errors import NotFoundError, UnauthorizedError, ValidationError
from chalicelib.ids import new_id, now_iso
from chalicelib.models import Organization, User, UsersByOrg

logger = logging.getLogger(__name__)

TIERS = plans.TIERS
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
    events.publish_event(
        "user.created",
        org.id,
        {
            "user_id": user.id,
            "email": user.email,
            "name": user.name,
            "role": user.role,
            "created_at": user.created_at,
        },
    )
    return user


def get_user(org_id: str, user_id: str) -> User:
    """A user of `org_id`; raises NotFoundError for anyone else's."""
    return lookups.owned(User, org_id, user_id, "User")


def bootstrap_organization(
    org_name: str, email: str, name: str, tier: str = "free"
) -> tuple[Organization, User, api_keys.NewApiKey]:
    """An organization, its owner and the owner's first key with every permission."""
    org = create_organization(org_name, tier)
    owner = create_user(org, email, name, "owner")
    key = api_keys.create_api_key(owner, "bootstrap", sorted(auth.PERMISSIONS))
    return org, owner, key


def set_password(user: User, password: object) -> None:
    """Store a new password for `user`; raises ValidationError if too weak."""
    hashed = passwords.hash_password(passwords.validate_password(password))
    user.update(
        actions=[
            User.password_hash.set(hashed),
            User.password_changed_at.set(now_iso()),
        ]
    )
    logger.info("password set", extra={"user_id": user.id})


def set_own_password(principal: auth.Principal, body: dict) -> None:
    """The caller sets their password; the current one is needed once one exists.

    Raises ForbiddenError through an OAuth token, ValidationError for a weak
    password, UnauthorizedError for a wrong current password.
    """
    principal.require_api_key("Setting a password")
    user = get_user(principal.org_id, principal.user_id)
    if user.password_hash:
        current = body.get("current_password")
        if not isinstance(current, str) or not passwords.verify_password(
            current, user.password_hash
        ):
            raise UnauthorizedError("current_password is missing or wrong")
    set_password(user, body.get("password"))


def find_user(org_id: str, email: str) -> User:
    """A user of `org_id` by email; raises NotFoundError."""
    email = email.strip().lower()
    found = list(User.by_org.query(org_id, UsersByOrg.email == email, limit=1))
    if not found:
        raise NotFoundError(f"No user {email} in organization {org_id}")
    return found[0]


# NOTE: sign-in attempts are not throttled per account or address; scrypt's
# cost (about a quarter second per attempt) is the only brake on guessing, and
# a flood of attempts spends the API's CPU.
def sign_in(org_id: str, email: str, password: str) -> User | None:
    """The active user of `org_id` with this email and password, or None.

    An unknown email costs the same hashing time as a wrong password.
    """
    try:
        user = find_user(org_id, email)
    except NotFoundError:
        passwords.verify_password(password, None)
        return None
    if not passwords.verify_password(password, user.password_hash):
        logger.info("sign-in refused", extra={"user_id": user.id})
        return None
    if user.status != "active":
        return None
    return user
