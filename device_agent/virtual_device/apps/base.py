"""What every simulated app offers the phone: drawing and input handling.

Apps work in content coordinates: (0, 0) is the top-left pixel below the status
bar. The phone translates screen coordinates before calling them.
"""

from typing import Any

import cv2
import numpy as np

from .. import drawing
from ..config import AppSpec
from ..drawing import Color
from ..geometry import Geometry, Rect
from ..input_log import MISSED, Hit

APP_BAR_DP = 56


class App:
    """A simulated app; subclasses override what they react to."""

    dark_status_bar = False

    def __init__(
        self, spec: AppSpec, geometry: Geometry, store: dict[str, Any]
    ) -> None:
        self.spec = spec
        self.geometry = geometry
        # ``store`` survives force-stop (it plays the app's server-side data);
        # attributes of the instance are UI state and are lost on force-stop.
        self.store = store

    @property
    def size(self) -> tuple[int, int]:
        """Width and height of the content area in pixels."""
        content = self.geometry.content
        return content.width, content.height

    def px(self, dp: float) -> int:
        return self.geometry.px(dp)

    def write(
        self,
        canvas: np.ndarray,
        content: str,
        origin: tuple[int, int],
        size_dp: float,
        colour: Color = drawing.TEXT_PRIMARY,
        bold: bool = False,
        max_width: int | None = None,
    ) -> None:
        """Draw text sized in dp at a pixel baseline, shortened to ``max_width``."""
        size = self.px(size_dp)
        if max_width is not None:
            content = drawing.fit(content, size, max_width, bold)
        drawing.text(canvas, content, origin, size, colour, bold)

    def render(self, canvas: np.ndarray) -> None:
        """Draw the app into ``canvas``, the content area."""
        canvas[:] = drawing.WHITE

    def tap(self, x: int, y: int) -> Hit:
        return MISSED

    def long_press(self, x: int, y: int) -> Hit:
        return MISSED

    def scroll(self, dy: int) -> Hit:
        """Move content up by ``dy`` pixels (negative moves it down)."""
        return MISSED

    def type_text(self, text: str) -> Hit:
        return Hit(outcome="no_focused_field")

    def key(self, code: int) -> Hit | None:
        """React to a key the phone does not handle; None if not consumed."""
        return None

    def back(self) -> bool:
        """Handle BACK inside the app; False lets the phone go home."""
        return False

    def state(self) -> dict[str, Any]:
        return {}

    def app_bar(self, canvas: np.ndarray, title: str, back_arrow: bool = False) -> None:
        """Draw the standard top bar with a title and an optional back arrow."""
        bar = Rect(0, 0, self.size[0], self.px(APP_BAR_DP))
        drawing.fill(canvas, bar, drawing.WHITE)
        title_x = self.px(16)
        if back_arrow:
            draw_back_arrow(canvas, self.back_arrow_rect(), drawing.TEXT_PRIMARY)
            title_x = self.px(64)
        baseline = bar.height // 2 + self.px(8)
        drawing.text(
            canvas, title, (title_x, baseline), self.px(17), drawing.TEXT_PRIMARY, True
        )
        drawing.fill(
            canvas,
            Rect(0, bar.y2 - 1, bar.width, max(1, self.px(0.5))),
            drawing.DIVIDER,
        )

    def back_arrow_rect(self) -> Rect:
        return Rect(0, 0, self.px(56), self.px(APP_BAR_DP))


class Scroller:
    """A vertical scroll offset in pixels, clamped to the content's length."""

    def __init__(self, max_offset: int) -> None:
        self.offset = 0
        self.max_offset = max(0, max_offset)

    def scroll(self, dy: int) -> int:
        """Scroll by ``dy`` pixels and return how far the content really moved."""
        before = self.offset
        self.offset = min(max(self.offset + dy, 0), self.max_offset)
        return self.offset - before


def draw_back_arrow(canvas: np.ndarray, area: Rect, color: Color) -> None:
    cx, cy = area.center
    half = area.height // 5
    thickness = max(2, area.height // 24)
    points = [(cx + half, cy), (cx - half, cy)]
    cv2.line(canvas, points[0], points[1], color, thickness, cv2.LINE_AA)
    cv2.line(canvas, points[1], (cx, cy - half), color, thickness, cv2.LINE_AA)
    cv2.line(canvas, points[1], (cx, cy + half), color, thickness, cv2.LINE_AA)


def avatar(canvas: np.ndarray, center: tuple[int, int], radius: int, name: str) -> None:
    """A coloured disc with the name's initial, as contact pictures are drawn."""
    drawing.disc(canvas, center, radius, colour_for(name))
    size = max(6, round(radius * 0.8))
    initial = name[:1].upper() or "?"
    width = drawing.text_width(initial, size, bold=True)
    origin = (center[0] - width // 2, center[1] + size // 2)
    drawing.text(canvas, initial, origin, size, drawing.WHITE, bold=True)


def colour_for(name: str) -> Color:
    palette: list[Color] = [
        (180, 105, 255),
        (0, 140, 255),
        (60, 180, 75),
        (200, 130, 0),
        (75, 25, 230),
        (145, 30, 180),
        (48, 130, 245),
        (128, 128, 0),
    ]
    return palette[sum(name.encode()) % len(palette)]
