"""In-memory stand-ins for a phone and a clock, for runtime unit tests."""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from device_agent.errors import AppNotFoundError, DeviceDisconnectedError
from device_agent.virtual_device import like_icon_png


@dataclass
class FakeClock:
    """Time that moves only when someone sleeps (or a test advances it)."""

    now: float = 1000.0
    slept: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class FakePhone:
    """A screen that shows an icon at a spot (or nothing) and records calls."""

    def __init__(
        self,
        width: int = 720,
        height: int = 1600,
        installed: frozenset[str] = frozenset({"com.instagram.android"}),
        screenshot_s: float = 0.05,
        clock: FakeClock | None = None,
    ) -> None:
        self.width, self.height = width, height
        self.installed = installed
        self.calls: list[tuple] = []
        self.icon_at: tuple[int, int] | None = None
        self.unplugged = False
        self._screenshot_s = screenshot_s
        self._clock = clock
        self._icon = cv2.imdecode(
            np.frombuffer(like_icon_png(3.0), np.uint8), cv2.IMREAD_COLOR
        )

    def screen_size(self) -> tuple[int, int]:
        return self.width, self.height

    def screenshot(self) -> np.ndarray:
        self._record("screenshot")
        if self._clock is not None:
            self._clock.sleep(self._screenshot_s)
        frame = np.full((self.height, self.width, 3), 235, np.uint8)
        cv2.putText(frame, "feed", (40, 120), cv2.FONT_HERSHEY_SIMPLEX, 3, 0, 5)
        if self.icon_at is not None:
            x, y = self.icon_at
            side = self._icon.shape[0]
            frame[y : y + side, x : x + side] = self._icon
        return frame

    def tap(self, x: int, y: int) -> None:
        self._record("tap", x, y)

    def long_press(self, x: int, y: int, duration_ms: int) -> None:
        self._record("long_press", x, y, duration_ms)

    def swipe(self, x1: int, y1: int, x2: int, y2: int, duration_ms: int) -> None:
        self._record("swipe", x1, y1, x2, y2, duration_ms)

    def type_text(self, text: str) -> None:
        self._record("type_text", text)

    def key_event(self, key: str) -> None:
        self._record("key_event", key)

    def launch_app(self, package: str) -> None:
        self._record("launch_app", package)
        if package not in self.installed:
            raise AppNotFoundError(f"{package} is not installed")

    def icon_center(self) -> tuple[int, int]:
        assert self.icon_at is not None
        side = self._icon.shape[0]
        return self.icon_at[0] + side // 2, self.icon_at[1] + side // 2

    def actions(self, name: str) -> list[tuple]:
        return [call[1:] for call in self.calls if call[0] == name]

    def _record(self, name: str, *args: object) -> None:
        if self.unplugged:
            raise DeviceDisconnectedError("the fake phone is unplugged")
        self.calls.append((name, *args))
