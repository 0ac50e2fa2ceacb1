"""The status bar and the three-button navigation bar around every app."""

import cv2
import numpy as np

from . import drawing, keycodes
from .apps.launcher import WALLPAPER_TOP
from .geometry import Geometry, Rect

NAV_INK = (225, 225, 225)
_NAV_KEYS = (keycodes.BACK, keycodes.HOME, keycodes.APP_SWITCH)


def nav_key_at(geometry: Geometry, x: int) -> int:
    """The key a tap at ``x`` on the navigation bar presses: BACK, HOME or recents."""
    third = geometry.width / 3
    return _NAV_KEYS[min(int(x // third), 2)]


def draw_status_bar(frame: np.ndarray, geometry: Geometry, dark: bool) -> None:
    """Clock and battery; light on the wallpaper colour when ``dark``."""
    bar = geometry.status_bar
    background = WALLPAPER_TOP if dark else drawing.WHITE
    ink = drawing.WHITE if dark else drawing.TEXT_PRIMARY
    drawing.fill(frame, bar, background)
    size = geometry.px(10)
    baseline = bar.height // 2 + size // 2
    drawing.text(frame, "12:00", (geometry.px(16), baseline), size, ink)
    battery = Rect(
        bar.width - geometry.px(36),
        bar.height // 2 - geometry.px(5),
        geometry.px(20),
        geometry.px(10),
    )
    drawing.outline(frame, battery, ink, max(1, geometry.px(1)))
    level_width = (battery.width - 4) * 4 // 5
    drawing.fill(
        frame, Rect(battery.x + 2, battery.y + 2, level_width, battery.height - 4), ink
    )


def draw_nav_bar(frame: np.ndarray, geometry: Geometry) -> None:
    """Back triangle, home circle and recents square on black."""
    bar = geometry.nav_bar
    drawing.fill(frame, bar, drawing.BLACK)
    cy = bar.y + bar.height // 2
    third = bar.width // 3
    half = geometry.px(8)
    thickness = max(1, geometry.px(1.5))
    back_x = third // 2
    triangle = np.array(
        [[back_x + half, cy - half], [back_x + half, cy + half], [back_x - half, cy]],
        dtype=np.int32,
    )
    cv2.polylines(frame, [triangle], True, NAV_INK, thickness, cv2.LINE_AA)
    cv2.circle(frame, (bar.width // 2, cy), half, NAV_INK, thickness, cv2.LINE_AA)
    recents = Rect(bar.width - third // 2 - half, cy - half, 2 * half, 2 * half)
    drawing.outline(frame, recents, NAV_INK, thickness)
