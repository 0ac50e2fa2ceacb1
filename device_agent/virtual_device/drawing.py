"""Drawing primitives shared by every simulated screen (OpenCV, BGR order)."""

from functools import lru_cache

import cv2
import numpy as np

from .geometry import Rect

Color = tuple[int, int, int]

WHITE: Color = (255, 255, 255)
BLACK: Color = (0, 0, 0)
TEXT_PRIMARY: Color = (38, 38, 38)
TEXT_SECONDARY: Color = (142, 142, 142)
DIVIDER: Color = (219, 219, 219)
ACCENT: Color = (246, 149, 0)
LIKE_RED: Color = (86, 73, 237)

_FONT = cv2.FONT_HERSHEY_SIMPLEX


def blank(width: int, height: int, color: Color = WHITE) -> np.ndarray:
    image = np.empty((height, width, 3), dtype=np.uint8)
    image[:] = color
    return image


def fill(image: np.ndarray, rect: Rect, color: Color) -> None:
    cv2.rectangle(image, (rect.x, rect.y), (rect.x2 - 1, rect.y2 - 1), color, -1)


def outline(image: np.ndarray, rect: Rect, color: Color, thickness: int) -> None:
    cv2.rectangle(
        image,
        (rect.x, rect.y),
        (rect.x2 - 1, rect.y2 - 1),
        color,
        thickness,
        cv2.LINE_AA,
    )


def rounded(image: np.ndarray, rect: Rect, radius: int, color: Color) -> None:
    """Fill a rectangle with rounded corners."""
    radius = max(0, min(radius, rect.width // 2, rect.height // 2))
    inner_x = Rect(rect.x + radius, rect.y, rect.width - 2 * radius, rect.height)
    inner_y = Rect(rect.x, rect.y + radius, rect.width, rect.height - 2 * radius)
    fill(image, inner_x, color)
    fill(image, inner_y, color)
    for cx in (rect.x + radius, rect.x2 - radius - 1):
        for cy in (rect.y + radius, rect.y2 - radius - 1):
            cv2.circle(image, (cx, cy), radius, color, -1, cv2.LINE_AA)


def disc(image: np.ndarray, center: tuple[int, int], radius: int, color: Color) -> None:
    cv2.circle(image, center, radius, color, -1, cv2.LINE_AA)


def text(
    image: np.ndarray,
    content: str,
    origin: tuple[int, int],
    size_px: int,
    color: Color,
    bold: bool = False,
) -> None:
    """Draw text whose capital letters are ``size_px`` tall; origin is the baseline."""
    scale = size_px / _cap_height()
    thickness = _thickness(size_px, bold)
    cv2.putText(
        image, printable(content), origin, _FONT, scale, color, thickness, cv2.LINE_AA
    )


def text_width(content: str, size_px: int, bold: bool = False) -> int:
    scale = size_px / _cap_height()
    thickness = _thickness(size_px, bold)
    (width, _), _ = cv2.getTextSize(printable(content), _FONT, scale, thickness)
    return width


def fit(content: str, size_px: int, max_width: int, bold: bool = False) -> str:
    """Shorten text with an ellipsis until it fits ``max_width`` pixels."""
    if text_width(content, size_px, bold) <= max_width:
        return content
    while content and text_width(content + "...", size_px, bold) > max_width:
        content = content[:-1]
    return content + "..."


def printable(content: str) -> str:
    # NOTE: OpenCV's Hershey fonts only have ASCII glyphs, so any other
    # character typed into the form is stored correctly but drawn as "?".
    return "".join(ch if 32 <= ord(ch) < 127 else "?" for ch in content)


def paste(image: np.ndarray, tile: np.ndarray, x: int, y: int) -> None:
    """Copy ``tile`` onto ``image`` at (x, y), clipped to the image bounds."""
    height, width = image.shape[:2]
    tile_h, tile_w = tile.shape[:2]
    left, top = max(x, 0), max(y, 0)
    right, bottom = min(x + tile_w, width), min(y + tile_h, height)
    if left >= right or top >= bottom:
        return
    image[top:bottom, left:right] = tile[top - y : bottom - y, left - x : right - x]


def vertical_gradient(width: int, height: int, top: Color, bottom: Color) -> np.ndarray:
    ramp = np.linspace(0.0, 1.0, max(height, 1), dtype=np.float32)[:, None, None]
    start = np.array(top, dtype=np.float32)
    end = np.array(bottom, dtype=np.float32)
    column = (start + (end - start) * ramp).astype(np.uint8)
    return np.repeat(column, width, axis=1)


@lru_cache(maxsize=1)
def _cap_height() -> int:
    (_, height), _ = cv2.getTextSize("H", _FONT, 1.0, 1)
    return height


def _thickness(size_px: int, bold: bool) -> int:
    return max(1, round(size_px / (9 if bold else 16)))
