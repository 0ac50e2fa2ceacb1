"""Schedule expressions fire when EventBridge would fire them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from infra.local.schedules import ScheduleError, next_time

START = datetime(2026, 3, 4, 10, 17, 30, tzinfo=UTC)  # a Wednesday


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("rate(1 minute)", datetime(2026, 3, 4, 10, 18, 30, tzinfo=UTC)),
        ("rate(2 hours)", datetime(2026, 3, 4, 12, 17, 30, tzinfo=UTC)),
        ("cron(0 12 * * ? *)", datetime(2026, 3, 4, 12, 0, tzinfo=UTC)),
        ("cron(0/15 * * * ? *)", datetime(2026, 3, 4, 10, 30, tzinfo=UTC)),
        ("cron(0 9 ? * 2 *)", datetime(2026, 3, 9, 9, 0, tzinfo=UTC)),
        ("cron(30 6 1 * ? *)", datetime(2026, 4, 1, 6, 30, tzinfo=UTC)),
    ],
)
def test_next_time(expression, expected):
    assert next_time(expression, START) == expected


@pytest.mark.parametrize("expression", ["every day", "cron(* * *)", "rate(5 weeks)"])
def test_unsupported_expressions_are_refused(expression):
    with pytest.raises(ScheduleError):
        next_time(expression, START)
