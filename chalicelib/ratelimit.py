"""Request limits per organization over fixed UTC windows: minute, hour, day.

Stages of `consume`:

1. the organization's plan names its limits; an unlimited plan costs nothing
   (no write at all);
2. one conditional UpdateItem on the organization's counter item of the UTC
   day adds one to the counters of the current minute (`m<minute of day>`),
   hour (`h<hour of day>`) and day (`d`), unless one of them is already at its
   limit. DynamoDB applies a conditional update atomically, so parallel
   requests never overshoot, and a refused request counts nothing;
3. the counters it returns (or, on refusal, the ones that stopped it) give the
   tightest window: its limit, what remains of it and when it resets.

The same write drops the previous minute's counter, so under steady traffic
the item stays a few dozen bytes; the item expires through the table's TTL a
day after its own day ends.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from chalicelib import aws, plans
from chalicelib.settings import get_settings

TABLE_SUFFIX = "rate-limits"
DAY_SECONDS = 86400
KEEP_AFTER_DAY_SECONDS = DAY_SECONDS


@dataclass(frozen=True)
class Usage:
    """Where an organization stands in its tightest window after a request."""

    window: str
    limit: int
    remaining: int
    reset: int
    retry_after: int
    allowed: bool


@dataclass(frozen=True)
class _Window:
    name: str
    limit: int
    attribute: str
    reset: int


def consume(
    org_id: str, plan: plans.Plan | None = None, now: float | None = None
) -> Usage:
    """Count one request of `org_id`.

    An unlimited plan writes nothing and reports -1 as its limit and what
    remains, the reference's notation for "no limit".

    `plan` defaults to the organization's own and `now` to the clock, both
    injectable for tests.
    """
    plan = plan or plans.plan_for(org_id)
    moment = time.time() if now is None else now
    if not plan.windows():
        minute_end = int(moment) - int(moment) % 60 + 60
        return Usage("minute", -1, -1, minute_end, 0, allowed=True)
    day = int(moment // DAY_SECONDS)
    windows = _windows(plan, moment)
    if any(w.limit <= 0 for w in windows):
        return _usage(windows, {}, moment, allowed=False)
    try:
        counts = _increment(f"{org_id}#{day}", windows, moment, day)
    except _Refused as refused:
        return _usage(windows, refused.counts, moment, allowed=False)
    return _usage(windows, counts, moment, allowed=True)


def _windows(plan: plans.Plan, moment: float) -> list[_Window]:
    second_of_day = int(moment) % DAY_SECONDS
    found = []
    for name, length, limit in plan.windows():
        start = int(moment) - int(moment) % length
        index = "" if name == "day" else str(second_of_day // length)
        attribute = f"{name[0]}{index}"
        found.append(_Window(name, limit, attribute, start + length))
    return found


class _Refused(Exception):
    def __init__(self, counts: dict[str, int]):
        super().__init__("limit reached")
        self.counts = counts


def _increment(
    key: str, windows: list[_Window], moment: float, day: int
) -> dict[str, int]:
    names = {f"#w{i}": w.attribute for i, w in enumerate(windows)}
    values: dict[str, Any] = {":one": {"N": "1"}}
    conditions = []
    for i, window in enumerate(windows):
        values[f":l{i}"] = {"N": str(window.limit)}
        conditions.append(f"(attribute_not_exists(#w{i}) OR #w{i} < :l{i})")
    update = "ADD " + ", ".join(f"#w{i} :one" for i in range(len(windows)))
    update += " SET expires_at = :ttl"
    values[":ttl"] = {"N": str((day + 1) * DAY_SECONDS + KEEP_AFTER_DAY_SECONDS)}
    previous = _previous_minute(windows, moment)
    if previous:
        names["#old"] = previous
        update += " REMOVE #old"
    arguments = {
        "TableName": get_settings().resource_name(TABLE_SUFFIX),
        "Key": {"id": {"S": key}},
        "UpdateExpression": update,
        "ConditionExpression": " AND ".join(conditions),
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
        "ReturnValues": "UPDATED_NEW",
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }
    try:
        result = aws.client("dynamodb").update_item(**arguments)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        raise _Refused(_counts(exc.response.get("Item", {}))) from exc
    return _counts(result.get("Attributes", {}))


def _previous_minute(windows: list[_Window], moment: float) -> str | None:
    """The counter of the minute before, unless this is the day's first minute."""
    minute_of_day = int(moment) % DAY_SECONDS // 60
    has_minute = any(w.name == "minute" for w in windows)
    return f"m{minute_of_day - 1}" if has_minute and minute_of_day else None


def _counts(item: dict[str, Any]) -> dict[str, int]:
    return {name: int(value["N"]) for name, value in item.items() if "N" in value}


def _usage(
    windows: list[_Window], counts: dict[str, int], moment: float, allowed: bool
) -> Usage:
    def standing(window: _Window) -> tuple[int, int]:
        remaining = max(0, window.limit - counts.get(window.attribute, 0))
        return remaining, -window.reset

    tightest = min(windows, key=standing)
    remaining = standing(tightest)[0]
    return Usage(
        window=tightest.name,
        limit=tightest.limit,
        remaining=remaining,
        reset=tightest.reset,
        retry_after=max(1, math.ceil(tightest.reset - moment)),
        allowed=allowed,
    )
