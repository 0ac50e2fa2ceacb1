"""The record of every input the virtual phone received, in arrival order."""

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

# Kinds of recorded events.
TAP = "tap"
LONG_PRESS = "long_press"
SWIPE = "swipe"
TEXT = "text"
KEY = "key"
LAUNCH = "launch"
STOP = "stop"


@dataclass(frozen=True)
class Hit:
    """What an input landed on, as decided by the app that received it.

    ``target`` names the element ("like_button", "mail_message", "form_field",
    "app_icon", ...), ``target_id`` identifies it ("post-0002", "email", a
    package name) and ``outcome`` says what happened ("liked", "opened", ...).
    """

    target: str | None = None
    target_id: str | None = None
    outcome: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


MISSED = Hit(outcome="ignored")


@dataclass(frozen=True)
class InputEvent:
    """One recorded input, with what it hit."""

    seq: int
    kind: str
    timestamp: float
    package: str
    params: Mapping[str, Any]
    target: str | None = None
    target_id: str | None = None
    outcome: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["params"] = dict(self.params)
        data["details"] = dict(self.details)
        return data


class InputLog:
    """Thread-safe, append-only list of InputEvent."""

    def __init__(self) -> None:
        self._events: list[InputEvent] = []
        self._next_seq = 1
        self._cond = threading.Condition()

    def record(
        self, kind: str, package: str, params: Mapping[str, Any], hit: Hit = MISSED
    ) -> InputEvent:
        with self._cond:
            event = InputEvent(
                seq=self._next_seq,
                kind=kind,
                timestamp=time.time(),
                package=package,
                params=dict(params),
                target=hit.target,
                target_id=hit.target_id,
                outcome=hit.outcome,
                details=dict(hit.details),
            )
            self._events.append(event)
            self._next_seq += 1
            self._cond.notify_all()
            return event

    def events(self, kind: str | None = None) -> list[InputEvent]:
        with self._cond:
            return [e for e in self._events if kind is None or e.kind == kind]

    def clear(self) -> None:
        with self._cond:
            self._events.clear()

    def wait_for(
        self, predicate: Callable[[InputEvent], bool], timeout_s: float
    ) -> InputEvent | None:
        """The first event matching ``predicate``, waiting up to ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while True:
                match = next((e for e in self._events if predicate(e)), None)
                remaining = deadline - time.monotonic()
                if match is not None or remaining <= 0:
                    return match
                self._cond.wait(remaining)
