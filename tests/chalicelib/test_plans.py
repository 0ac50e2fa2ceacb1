"""Plans: the reference's limits per tier, quotas, and per-organization overrides."""

from __future__ import annotations

import copy
from concurrent.futures import ThreadPoolExecutor

import pytest

from chalicelib import plans
from chalicelib.errors import NotFoundError, ValidationError
from tests import reference
from tests.conftest import ApiClient, new_tenant

# The API reference's "Rate Limits" table, copied as it stands.
REFERENCE_LIMITS = {
    "free": (60, 1000, 10000),
    "pro": (300, 10000, 100000),
    "business": (1000, 50000, 1000000),
    "enterprise": (-1, -1, -1),
}


def test_the_tiers_have_exactly_the_references_limits():
    assert set(plans.PLANS) == set(REFERENCE_LIMITS)
    for tier, (minute, hour, day) in REFERENCE_LIMITS.items():
        plan = plans.PLANS[tier]
        assert (
            plan.requests_per_minute,
            plan.requests_per_hour,
            plan.requests_per_day,
        ) == (minute, hour, day), tier
    assert plans.PLANS["enterprise"].windows() == ()


def test_script_quotas_grow_with_the_tier():
    quotas = [plans.PLANS[t].max_scripts for t in ("free", "pro", "business")]

    assert quotas == sorted(quotas)
    assert plans.PLANS["enterprise"].max_scripts == plans.UNLIMITED


def create(client: ApiClient, name: str = "s"):
    body = {**copy.deepcopy(reference.CREATE_SCRIPT), "name": name}
    return client.post("/scripts", json=body)


def test_the_free_plan_stops_at_its_script_quota_until_one_is_deleted(tenant):
    quota = plans.PLANS["free"].max_scripts
    made = [create(tenant.client, f"s{i}") for i in range(quota)]

    over = create(tenant.client, "one too many")
    tenant.client.delete(f"/scripts/{made[0].json()['data']['script']['id']}")
    again = create(tenant.client, "fits again")

    assert all(r.status_code == 201 for r in made)
    assert over.status_code == 402
    error = over.json()["error"]
    assert error["code"] == "QUOTA_EXCEEDED"
    assert f"{quota} scripts" in error["details"]
    assert again.status_code == 201


def test_parallel_creates_never_overshoot_the_quota(tenant):
    plans.set_plan(tenant.org_id, "free", {"max_scripts": 5})

    def attempt(i: int):
        return create(ApiClient(tenant.base_url, tenant.key), f"p{i}")

    with ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(attempt, range(12)))

    assert sorted(a.status_code for a in answers) == [201] * 5 + [402] * 7
    listed = tenant.client.get("/scripts").json()["data"]["pagination"]
    assert listed["total"] == 5


def test_an_operator_moves_an_organization_to_another_plan(api_url):
    tenant = new_tenant(api_url, "free")
    plans.set_plan(tenant.org_id, "free", {"max_scripts": 1})
    assert create(tenant.client).status_code == 201
    assert create(tenant.client).status_code == 402

    moved = plans.set_plan(tenant.org_id, "enterprise")

    assert moved.max_scripts == plans.UNLIMITED
    assert create(tenant.client).status_code == 201
    assert tenant.client.get("/scripts").headers["X-RateLimit-Limit"] == "-1"


@pytest.mark.parametrize(
    ("tier", "overrides"),
    [
        ("platinum", {}),
        ("pro", {"requests_per_week": 5}),
        ("pro", {"max_scripts": -5}),
        ("pro", {"max_scripts": "many"}),
    ],
)
def test_bad_plans_are_refused(tenant, tier, overrides):
    with pytest.raises(ValidationError):
        plans.set_plan(tenant.org_id, tier, overrides)


def test_an_unknown_organization_has_no_plan():
    with pytest.raises(NotFoundError):
        plans.set_plan("org_missing", "pro")
