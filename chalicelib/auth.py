"""Who is calling, and what they may do.

A caller is resolved from `Authorization: Bearer <credential>` into a
`Principal`. Its permissions are those its credential was granted, capped by
what its user's role allows, so a key never outlives a demotion's limits.
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.errors import ForbiddenError, UnauthorizedError

PERMISSIONS: dict[str, str] = {
    "scripts:read": "View script data",
    "scripts:write": "Create and modify scripts",
    "scripts:execute": "Execute scripts remotely",
    "analytics:read": "Access analytics data",
    "team:manage": "Manage team members",
    "integrations:manage": "Configure integrations",
}

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "owner": frozenset(PERMISSIONS),
    "admin": frozenset(PERMISSIONS),
    "editor": frozenset(
        {"scripts:read", "scripts:write", "scripts:execute", "analytics:read"}
    ),
    "viewer": frozenset({"scripts:read", "analytics:read"}),
}

ROLES = tuple(ROLE_PERMISSIONS)
VIA_API_KEY = "api_key"
VIA_OAUTH = "oauth"


@dataclass(frozen=True)
class Principal:
    org_id: str
    user_id: str
    role: str
    permissions: frozenset[str]
    credential_id: str
    credential_type: str = VIA_API_KEY

    def can(self, permission: str) -> bool:
        return permission in self.permissions

    def require_api_key(self, action: str) -> None:
        """Raises ForbiddenError when the caller acts through an OAuth token.

        Delegated access must not mint credentials that outlive its grant.
        """
        if self.credential_type != VIA_API_KEY:
            raise ForbiddenError(f"{action} needs an API key, not an OAuth token")

    def require(self, permission: str) -> None:
        """Raises ForbiddenError unless the caller holds `permission`."""
        if not self.can(permission):
            raise ForbiddenError(f"This operation requires the {permission} permission")


def effective_permissions(granted: frozenset[str] | set[str], role: str) -> frozenset:
    return frozenset(granted) & ROLE_PERMISSIONS.get(role, frozenset())


def bearer_token(header: str | None) -> str:
    """The credential of an Authorization header; raises UnauthorizedError."""
    if not header:
        raise UnauthorizedError("Send your API key as 'Authorization: Bearer <key>'")
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise UnauthorizedError("The Authorization header must use the Bearer scheme")
    return token.strip()
