"""Plans: what each tier may do, in one place.

The request limits are the API reference's, window by window; `UNLIMITED`
(-1, as the reference writes it) means no limit. The usage quotas are this
service's own. An organization has a tier and, where its contract departs
from the tier, overrides of single limits (set by operators with
`python -m infra.admin set-plan`).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from dataclasses import dataclass

from pynamodb.exceptions import DoesNotExist

from chalicelib.errors import NotFoundError, ValidationError
from chalicelib.models import Organization, PlanOverrides

logger = logging.getLogger(__name__)

UNLIMITED = -1
LIMIT_FIELDS = (
    "requests_per_minute",
    "requests_per_hour",
    "requests_per_day",
    "max_scripts",
)
PLAN_CACHE_SECONDS = 60.0
PLAN_CACHE_SIZE = 10_000


@dataclass(frozen=True)
class Plan:
    tier: str
    requests_per_minute: int
    requests_per_hour: int
    requests_per_day: int
    max_scripts: int

    def windows(self) -> tuple[tuple[str, int, int], ...]:
        """(name, length in seconds, limit) of every limited request window."""
        windows = (
            ("minute", 60, self.requests_per_minute),
            ("hour", 3600, self.requests_per_hour),
            ("day", 86400, self.requests_per_day),
        )
        return tuple(w for w in windows if w[2] != UNLIMITED)


PLANS: dict[str, Plan] = {
    "free": Plan("free", 60, 1_000, 10_000, max_scripts=10),
    "pro": Plan("pro", 300, 10_000, 100_000, max_scripts=500),
    "business": Plan("business", 1_000, 50_000, 1_000_000, max_scripts=5_000),
    "enterprise": Plan(
        "enterprise", UNLIMITED, UNLIMITED, UNLIMITED, max_scripts=UNLIMITED
    ),
}
TIERS = tuple(PLANS)


class _PlanCache:
    """Plans by organization, each kept for PLAN_CACHE_SECONDS."""

    def __init__(self) -> None:
        self._plans: dict[str, tuple[float, Plan]] = {}
        self._lock = threading.Lock()

    def get(self, org_id: str) -> Plan | None:
        found = self._plans.get(org_id)
        if found is None or found[0] < time.monotonic():
            return None
        return found[1]

    def put(self, org_id: str, plan: Plan) -> None:
        with self._lock:
            if len(self._plans) >= PLAN_CACHE_SIZE:
                self._plans.clear()
            self._plans[org_id] = (time.monotonic() + PLAN_CACHE_SECONDS, plan)

    def forget(self, org_id: str) -> None:
        with self._lock:
            self._plans.pop(org_id, None)


# NOTE: each process keeps an organization's plan for up to PLAN_CACHE_SECONDS,
# which spares a read on every request; a tier change or override therefore
# reaches other running Lambda containers only after that long.
_cache = _PlanCache()


def plan_for(org_id: str) -> Plan:
    """The plan in force for an organization; raises NotFoundError."""
    plan = _cache.get(org_id)
    if plan is None:
        plan = plan_of(_load(org_id))
        _cache.put(org_id, plan)
    return plan


def plan_of(org: Organization) -> Plan:
    """An organization's tier with its overrides applied."""
    plan = PLANS.get(org.tier, PLANS["free"])
    overrides = org.plan_overrides
    if overrides is None:
        return plan
    changes = {
        name: int(getattr(overrides, name))
        for name in LIMIT_FIELDS
        if getattr(overrides, name) is not None
    }
    return dataclasses.replace(plan, **changes)


def set_plan(org_id: str, tier: str, overrides: dict[str, int] | None = None) -> Plan:
    """Put an organization on `tier`, with `overrides` of single limits.

    Raises ValidationError for an unknown tier or limit, NotFoundError for an
    unknown organization.
    """
    if tier not in PLANS:
        raise ValidationError("tier", f"must be one of {', '.join(TIERS)}")
    stored = _validated_overrides(overrides or {})
    org = _load(org_id)
    keep = Organization.plan_overrides
    org.update(
        actions=[
            Organization.tier.set(tier),
            keep.set(stored) if stored else keep.remove(),
        ]
    )
    _cache.forget(org_id)
    logger.info("plan set", extra={"org_id": org_id, "tier": tier})
    return plan_of(org)


def _validated_overrides(overrides: dict[str, int]) -> PlanOverrides | None:
    for name, value in overrides.items():
        if name not in LIMIT_FIELDS:
            raise ValidationError(name, f"is not a limit; known: {LIMIT_FIELDS}")
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError(name, "must be an integer")
        if value < 0 and value != UNLIMITED:
            raise ValidationError(name, f"must be at least 0, or {UNLIMITED}")
    return PlanOverrides(**overrides) if overrides else None


def _load(org_id: str) -> Organization:
    try:
        return Organization.get(org_id)
    except DoesNotExist as exc:
        raise NotFoundError(f"Organization {org_id} was not found") from exc
