"""Exponential backoff shared by the device layer and the agent loop.

Every retry waits a little longer than the last, up to a ceiling, and is
announced with one WARNING line naming what is retried, the attempt and the
delay, so an operator can see a flapping phone or API in the logs.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)

JITTER_FRACTION = 0.1


@dataclass
class Backoff:
    """Delays of initial_s, doubling up to maximum_s, with a little jitter."""

    initial_s: float
    maximum_s: float
    factor: float = 2.0
    attempt: int = field(default=0, init=False)

    def next_delay_s(self) -> float:
        delay = min(self.initial_s * self.factor**self.attempt, self.maximum_s)
        self.attempt += 1
        return delay * (1 + random.uniform(-JITTER_FRACTION, JITTER_FRACTION))

    def reset(self) -> None:
        self.attempt = 0

    def wait(
        self,
        what: str,
        reason: object,
        interrupt: threading.Event | None = None,
        **extra: object,
    ) -> bool:
        """Log the retry and sleep; returns False if interrupt was set meanwhile."""
        delay_s = self.next_delay_s()
        logger.warning(
            "retrying",
            extra={
                "what": what,
                "reason": str(reason),
                "attempt": self.attempt,
                "delay_s": round(delay_s, 3),
                **extra,
            },
        )
        if interrupt is None:
            time.sleep(delay_s)
            return True
        return not interrupt.wait(delay_s)
