"""What the benchmarks share: a local stack, AWS call counting and statistics."""

from __future__ import annotations

import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import botocore.client

from infra.local.stack import LocalStack

WARM_UP = 3


@contextmanager
def local_stack(with_bridge: bool = True) -> Iterator[LocalStack]:
    """A fresh local stack for one benchmark run, stopped afterwards."""
    stack = LocalStack().start(with_bridge=with_bridge)
    try:
        yield stack
    finally:
        stack.stop()


@contextmanager
def counted_aws_calls() -> Iterator[Counter]:
    """Counts this process's AWS calls, keyed `service:Operation`."""
    calls: Counter = Counter()
    original = botocore.client.BaseClient._make_api_call

    def counting(client, operation: str, parameters: dict):
        calls[f"{client.meta.service_model.service_name}:{operation}"] += 1
        return original(client, operation, parameters)

    botocore.client.BaseClient._make_api_call = counting
    try:
        yield calls
    finally:
        botocore.client.BaseClient._make_api_call = original


def by_service(calls: Counter) -> Counter:
    """`service:Operation` counts summed per service."""
    totals: Counter = Counter()
    for key, count in calls.items():
        totals[key.split(":")[0]] += count
    return totals


def median_ms(action: Callable[[], object], repeat: int) -> float:
    """Median milliseconds of `action` over `repeat` runs, after a warm-up."""
    for _ in range(WARM_UP):
        action()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]
