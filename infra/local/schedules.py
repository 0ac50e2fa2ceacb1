"""When EventBridge `rate(...)` and `cron(...)` schedule expressions fire."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_UNITS = {"minute": 60, "hour": 3600, "day": 86400}
_CRON_LIMIT = timedelta(days=366 * 2)


class ScheduleError(ValueError):
    """The expression is not a schedule EventBridge would accept."""


def next_time(expression: str, after: datetime) -> datetime:
    """The first moment at or after `after` when `expression` fires."""
    rate = _RATE.match(expression)
    if rate:
        seconds = int(rate.group(1)) * _UNITS[rate.group(2).rstrip("s")]
        return after + timedelta(seconds=seconds)
    if expression.startswith("cron(") and expression.endswith(")"):
        return _next_cron(expression[5:-1].split(), after)
    raise ScheduleError(f"unsupported schedule {expression!r}")


def _next_cron(fields: list[str], after: datetime) -> datetime:
    if len(fields) != 6:
        raise ScheduleError("cron() takes six fields")
    minute, hour, day, month, weekday, year = fields
    moment = after.replace(second=0, microsecond=0)
    if moment < after:
        moment += timedelta(minutes=1)
    end = after + _CRON_LIMIT
    while moment <= end:
        if (
            _matches(minute, moment.minute, 0)
            and _matches(hour, moment.hour, 0)
            and _matches(day, moment.day, 1)
            and _matches(month, moment.month, 1)
            and _matches(weekday, moment.isoweekday() % 7 + 1, 1)
            and _matches(year, moment.year, 1970)
        ):
            return moment
        moment += timedelta(minutes=1)
    raise ScheduleError("the cron expression never fires")


def _matches(field: str, value: int, first: int) -> bool:
    if field in ("*", "?"):
        return True
    for part in field.split(","):
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if base in ("*", "?"):
            low, high = first, 10**4
        elif "-" in base:
            low_text, high_text = base.split("-")
            low, high = int(low_text), int(high_text)
        else:
            low = int(base)
            high = low if not step_text else 10**4
        if low <= value <= high and (value - low) % step == 0:
            return True
    return False
