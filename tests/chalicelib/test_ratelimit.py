"""Rate limits: each tier's windows, exact under concurrency, on every answer.

The window tests drive the limiter with an injected clock against the real
counter table; the rest go through HTTP like any client.
"""

from __future__ import annotations

import io
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from PIL import Image

from chalicelib import plans, ratelimit
from tests import reference
from tests.conftest import ApiClient

TABLE = "tapcraft-local-rate-limits"
DAY = 86400
# 10:30:05 UTC on some day, so that no window is about to end.
T0 = 1_800_000_000 - 1_800_000_000 % DAY + 10 * 3600 + 30 * 60 + 5
LENGTHS = {"minute": 60, "hour": 3600, "day": DAY}


def limit_of(plan: plans.Plan, window: str) -> int:
    return getattr(plan, f"requests_per_{window}")


def a_new_org() -> str:
    return f"org_test{uuid.uuid4().hex[:16]}"


def seed(stack, org_id: str, moment: float, window: str, count: int) -> None:
    """Store `count` earlier requests in `window`, as the limiter keeps them."""
    second_of_day = int(moment) % DAY
    attribute = {
        "minute": f"m{second_of_day // 60}",
        "hour": f"h{second_of_day // 3600}",
        "day": "d",
    }[window]
    stack.client("dynamodb").put_item(
        TableName=TABLE,
        Item={
            "id": {"S": f"{org_id}#{int(moment // DAY)}"},
            attribute: {"N": str(count)},
            "expires_at": {"N": str(int(moment) + 2 * DAY)},
        },
    )


def counter_item(stack, org_id: str, moment: float) -> dict:
    return (
        stack.client("dynamodb")
        .get_item(TableName=TABLE, Key={"id": {"S": f"{org_id}#{int(moment // DAY)}"}})
        .get("Item", {})
    )


@pytest.mark.parametrize("window", ["minute", "hour", "day"])
@pytest.mark.parametrize("tier", ["free", "pro", "business"])
def test_each_window_of_each_tier_stops_at_its_limit_until_it_resets(
    stack, tier, window
):
    plan = plans.PLANS[tier]
    limit, length = limit_of(plan, window), LENGTHS[window]
    window_end = T0 - T0 % length + length
    org = a_new_org()
    seed(stack, org, T0, window, limit - 1)

    last = ratelimit.consume(org, plan, now=T0)
    refused = ratelimit.consume(org, plan, now=T0 + 1)
    still = ratelimit.consume(org, plan, now=window_end - 1)
    reopened = ratelimit.consume(org, plan, now=window_end)

    assert last.allowed
    assert (last.window, last.limit, last.remaining) == (window, limit, 0)
    assert last.reset == window_end
    assert not refused.allowed
    assert refused.remaining == 0
    assert refused.retry_after == window_end - (T0 + 1)
    assert not still.allowed
    assert reopened.allowed


def test_the_free_minute_counts_every_request_and_refusals_count_nothing(stack):
    plan = plans.PLANS["free"]
    org = a_new_org()

    answers = [ratelimit.consume(org, plan, now=T0 + i * 0.5) for i in range(61)]
    next_minute = ratelimit.consume(org, plan, now=T0 + 60)

    assert [a.remaining for a in answers[:60]] == list(range(59, -1, -1))
    assert all(a.allowed for a in answers[:60])
    assert not answers[60].allowed
    assert next_minute.allowed
    assert next_minute.window == "minute" and next_minute.remaining == 59
    item = counter_item(stack, org, T0)
    assert item["d"] == {"N": "61"}
    assert item[f"h{(T0 % DAY) // 3600}"] == {"N": "61"}


def test_the_longest_exhausted_window_decides_when_to_retry(stack):
    plan = plans.Plan("custom", 5, 5, 1000, max_scripts=10)
    org = a_new_org()

    for i in range(5):
        assert ratelimit.consume(org, plan, now=T0 + i).allowed
    refused = ratelimit.consume(org, plan, now=T0 + 10)

    hour_end = T0 - T0 % 3600 + 3600
    assert not refused.allowed
    assert (refused.window, refused.reset) == ("hour", hour_end)
    assert refused.retry_after == hour_end - (T0 + 10)


def test_an_unlimited_plan_writes_nothing_and_reports_minus_one(stack):
    org = a_new_org()

    usage = ratelimit.consume(org, plans.PLANS["enterprise"], now=T0)

    assert usage.allowed
    assert (usage.limit, usage.remaining) == (-1, -1)
    assert usage.reset == T0 - T0 % 60 + 60
    assert counter_item(stack, org, T0) == {}


def test_enterprise_answers_carry_unlimited_headers(api_url):
    from tests.conftest import new_tenant

    enterprise = new_tenant(api_url, tier="enterprise")

    response = enterprise.client.get("/scripts")

    assert response.headers["X-RateLimit-Limit"] == "-1"
    assert response.headers["X-RateLimit-Remaining"] == "-1"
    assert int(response.headers["X-RateLimit-Reset"]) > 0
    assert response.json()["meta"]["rate_limit"]["remaining"] == -1


def test_a_limit_of_zero_refuses_every_request(stack):
    plan = plans.Plan("closed", 0, 100, 1000, max_scripts=0)
    org = a_new_org()

    refused = ratelimit.consume(org, plan, now=T0)

    assert not refused.allowed
    assert counter_item(stack, org, T0) == {}


def test_counters_expire_by_themselves_and_old_minutes_are_dropped(stack):
    plan = plans.PLANS["pro"]
    org = a_new_org()
    minute = (T0 % DAY) // 60

    ratelimit.consume(org, plan, now=T0)
    ratelimit.consume(org, plan, now=T0 + 60)

    item = counter_item(stack, org, T0)
    assert f"m{minute}" not in item
    assert item[f"m{minute + 1}"] == {"N": "1"}
    day_end = T0 - T0 % DAY + DAY
    assert int(item["expires_at"]["N"]) >= day_end


def rate_headers(response) -> tuple[int, int, int]:
    headers = response.headers
    return (
        int(headers["X-RateLimit-Limit"]),
        int(headers["X-RateLimit-Remaining"]),
        int(headers["X-RateLimit-Reset"]),
    )


def test_every_answer_to_a_caller_carries_its_limit(tenant, anonymous):
    script = tenant.client.post("/scripts", json=reference.INSTAGRAM_SCRIPT).json()
    path = f"/scripts/{script['data']['script']['id']}"
    png = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(png, format="PNG")
    tenant.client.put(
        f"{path}/assets/heart_icon.png",
        data=png.getvalue(),
        headers={"Content-Type": "image/png"},
    )
    viewer = tenant.member("viewer")

    answers = [
        tenant.client.get("/scripts"),
        tenant.client.get("/scripts/script_nope"),
        tenant.client.post("/scripts", json={"name": ""}),
        tenant.client.post("/scripts", data=b"{", headers={"Content-Type": JSON}),
        viewer.delete(path),
    ]
    image = tenant.client.get(f"{path}/assets/heart_icon.png")

    assert [a.status_code for a in answers] == [200, 404, 400, 400, 403]
    for answer in answers:
        limit, remaining, reset = rate_headers(answer)
        assert limit == 60
        assert answer.json()["meta"]["rate_limit"] == {
            "remaining": remaining,
            "reset": reset,
        }
        assert 0 < reset - time.time() <= 60
    assert rate_headers(image)[0] == 60
    assert "X-RateLimit-Limit" not in anonymous.get("/health").headers
    assert "X-RateLimit-Limit" not in anonymous.get("/scripts").headers


JSON = "application/json"


def wait_for_a_fresh_minute_if_needed(margin: float = 8.0) -> None:
    """Keep a burst inside one minute window, so the count is the minute's."""
    into_minute = time.time() % 60
    if into_minute > 60 - margin:
        time.sleep(60 - into_minute + 0.5)


def test_fifty_parallel_requests_against_twenty_let_exactly_twenty_through(tenant):
    plans.set_plan(tenant.org_id, "free", {"requests_per_minute": 20})
    wait_for_a_fresh_minute_if_needed()

    def call(_: int):
        return ApiClient(tenant.base_url, tenant.key).get("/scripts")

    with ThreadPoolExecutor(50) as pool:
        answers = list(pool.map(call, range(50)))

    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200] * 20 + [429] * 30
    for refused in (a for a in answers if a.status_code == 429):
        assert refused.json()["error"]["code"] == "RATE_LIMITED"
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert rate_headers(refused)[:2] == (20, 0)
        assert refused.json()["meta"]["rate_limit"]["remaining"] == 0
    remaining = sorted(rate_headers(a)[1] for a in answers if a.status_code == 200)
    assert remaining == list(range(20))


def test_limits_count_per_organization_across_its_keys(tenant, other_tenant):
    plans.set_plan(tenant.org_id, "free", {"requests_per_minute": 3})
    wait_for_a_fresh_minute_if_needed()
    editor = tenant.member("editor")

    first = [tenant.client.get("/scripts"), editor.get("/scripts")]
    third = tenant.client.get("/scripts")
    fourth = editor.get("/scripts")

    assert [a.status_code for a in first] == [200, 200]
    assert third.status_code == 200
    assert fourth.status_code == 429
    assert "per minute" in fourth.json()["error"]["details"]
    assert other_tenant.client.get("/scripts").status_code == 200
