"""Icons of the feed's action row, drawn once per size and reused.

The like button of every post is exactly the tile returned by ``like_icon``:
a heart on the action row's white background, outlined in dark grey when the
post is not liked and filled red when it is. ``like_icon_png`` exports the
same pixels so that scripts can use them as a template-matching target.
"""

from functools import lru_cache

import cv2
import numpy as np

from .drawing import LIKE_RED, TEXT_PRIMARY, WHITE, blank
from .errors import ConfigError

# Side of the like button's icon, in dp; its touch target is the whole row.
LIKE_ICON_DP = 28
_SUPERSAMPLE = 4
_STROKE_DP = 2.0


def like_icon(size_px: int, liked: bool) -> np.ndarray:
    """The like button tile (BGR, ``size_px`` square) exactly as the feed draws it."""
    return _heart(size_px, liked).copy()


def like_icon_png(scale: float = 3.0, liked: bool = False) -> bytes:
    """PNG bytes of the like button at ``scale`` pixels per dp.

    Scale 3.0 matches a 1080 px wide screen, 2.0 a 720 px one, 4.0 a 1440 px
    one (the device's ``density_scale``). Raises ConfigError for a scale that
    gives an icon under 8 px.
    """
    size_px = round(LIKE_ICON_DP * scale)
    if size_px < 8:
        raise ConfigError(f"like icon scale too small: {scale}")
    ok, encoded = cv2.imencode(".png", _heart(size_px, liked))
    if not ok:
        raise ConfigError("PNG encoding of the like icon failed")
    return encoded.tobytes()


def comment_icon(size_px: int) -> np.ndarray:
    return _comment(size_px).copy()


def share_icon(size_px: int) -> np.ndarray:
    return _share(size_px).copy()


@lru_cache(maxsize=16)
def _heart(size_px: int, liked: bool) -> np.ndarray:
    big = size_px * _SUPERSAMPLE
    canvas = blank(big, big, WHITE)
    points = _heart_outline(big)
    if liked:
        cv2.fillPoly(canvas, [points], LIKE_RED, cv2.LINE_AA)
    else:
        stroke = _stroke(size_px)
        cv2.polylines(canvas, [points], True, TEXT_PRIMARY, stroke, cv2.LINE_AA)
    return _downsample(canvas, size_px)


def _heart_outline(big: int) -> np.ndarray:
    # The classic parametric heart, fitted into the tile with a margin so the
    # outline stroke is never clipped.
    t = np.linspace(0.0, 2.0 * np.pi, 240, endpoint=False)
    x = 16.0 * np.sin(t) ** 3
    y = -(13.0 * np.cos(t) - 5.0 * np.cos(2 * t) - 2.0 * np.cos(3 * t) - np.cos(4 * t))
    margin = big * 0.12
    span = big - 2.0 * margin
    x = (x - x.min()) / (x.max() - x.min()) * span + margin
    y = (y - y.min()) / (y.max() - y.min()) * span * 0.92 + margin + span * 0.04
    return np.stack([x, y], axis=1).round().astype(np.int32)


@lru_cache(maxsize=8)
def _comment(size_px: int) -> np.ndarray:
    big = size_px * _SUPERSAMPLE
    canvas = blank(big, big, WHITE)
    stroke = _stroke(size_px)
    center = (big // 2, big // 2)
    radius = round(big * 0.36)
    cv2.ellipse(
        canvas, center, (radius, radius), 0, 30, 330, TEXT_PRIMARY, stroke, cv2.LINE_AA
    )
    tail = np.array(
        [
            [center[0] + radius * 0.87, center[1] + radius * 0.5],
            [big * 0.9, big * 0.9],
            [center[0] + radius * 0.5, center[1] + radius * 0.87],
        ],
        dtype=np.int32,
    )
    cv2.polylines(canvas, [tail], False, TEXT_PRIMARY, stroke, cv2.LINE_AA)
    return _downsample(canvas, size_px)


@lru_cache(maxsize=8)
def _share(size_px: int) -> np.ndarray:
    big = size_px * _SUPERSAMPLE
    canvas = blank(big, big, WHITE)
    stroke = _stroke(size_px)
    plane = np.array(
        [[0.1, 0.15], [0.9, 0.15], [0.45, 0.88], [0.38, 0.45]], dtype=np.float32
    )
    points = (plane * big).round().astype(np.int32)
    cv2.polylines(canvas, [points], True, TEXT_PRIMARY, stroke, cv2.LINE_AA)
    fold = np.array([points[3], points[1]], dtype=np.int32)
    cv2.polylines(canvas, [fold], False, TEXT_PRIMARY, stroke, cv2.LINE_AA)
    return _downsample(canvas, size_px)


def _stroke(size_px: int) -> int:
    dp_per_px = LIKE_ICON_DP / size_px
    return max(_SUPERSAMPLE, round(_STROKE_DP / dp_per_px * _SUPERSAMPLE))


def _downsample(canvas: np.ndarray, size_px: int) -> np.ndarray:
    small = cv2.resize(canvas, (size_px, size_px), interpolation=cv2.INTER_AREA)
    small.setflags(write=False)
    return small
