"""Compare find_template with single-scale matchTemplate on synthetic screens.

Run from the repository root with ``python -m benchmarks.vision``. The run has
three stages:

1. Build screens: for each resolution, draw phone-like feed screens (photos,
   avatars, text, outline icons), insert the red heart target at scales from
   0.6 to 1.6, or leave it out and sometimes draw a differently coloured heart
   instead, and pass every screen through JPEG compression.
2. Search: run ``find_template`` and a plain full-screen ``cv2.matchTemplate``
   (TM_CCOEFF_NORMED, threshold 0.8) on every screen, timing each search.
3. Report: print hit rate, false-positive rate, median and p95 search time per
   resolution and method, and the ratio of the median times.

This is a measurement, not a test: nothing here passes or fails.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np

from device_agent.vision import find_template

SEED = 1729
RESOLUTIONS = ((720, 1600), (1080, 2400), (1440, 3200))
TARGET_SCALES = (0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.25, 1.4, 1.6)
PLACEMENTS_PER_SCALE = 2
SCREENS_WITHOUT_TARGET = 8
TEMPLATE_SIDE = 80
JPEG_QUALITY = 60
THRESHOLD = 0.8
HEART_RED = (70, 50, 235)
LOOK_ALIKE_COLOURS = ((235, 110, 40), (120, 120, 120), (60, 180, 60))
OUTLINE = (20, 20, 90)
WHITE = (255, 255, 255)
INK = (40, 40, 40)

Point = tuple[int, int]
Colour = tuple[int, int, int]
Search = Callable[[np.ndarray, np.ndarray], Point | None]


@dataclass(frozen=True)
class Screen:
    image: np.ndarray
    target_center: Point | None = None
    target_side: int = 0


@dataclass
class Tally:
    hits: int = 0
    positives: int = 0
    false_positives: int = 0
    negatives: int = 0
    milliseconds: list[float] = field(default_factory=list)

    def record(self, screen: Screen, found: Point | None, elapsed_ms: float) -> None:
        self.milliseconds.append(elapsed_ms)
        if screen.target_center is None:
            self.negatives += 1
            self.false_positives += found is not None
        else:
            self.positives += 1
            self.hits += _is_on_target(screen, found)

    def add(self, other: "Tally") -> None:
        self.hits += other.hits
        self.positives += other.positives
        self.false_positives += other.false_positives
        self.negatives += other.negatives
        self.milliseconds.extend(other.milliseconds)

    def median_ms(self) -> float:
        return float(np.median(self.milliseconds))

    def p95_ms(self) -> float:
        return float(np.percentile(self.milliseconds, 95))


def main() -> None:
    rng = np.random.default_rng(SEED)
    template = draw_template()
    searches: dict[str, Search] = {
        "find_template": _multi_scale_search,
        "matchTemplate": _single_scale_search,
    }
    totals = {name: Tally() for name in searches}

    print(f"template {TEMPLATE_SIDE}x{TEMPLATE_SIDE} px, JPEG quality {JPEG_QUALITY}")
    print(_row("screen", "method", "hits", "false+", "median ms", "p95 ms"))
    for width, height in RESOLUTIONS:
        screens = build_screens(rng, width, height)
        for name, search in searches.items():
            tally = _run(search, screens, template)
            totals[name].add(tally)
            print(_describe(f"{width}x{height}", name, tally))
    for name, tally in totals.items():
        print(_describe("all", name, tally))

    ratio = totals["matchTemplate"].median_ms() / totals["find_template"].median_ms()
    print(f"median time matchTemplate / find_template: {ratio:.1f}x")


def build_screens(rng: np.random.Generator, width: int, height: int) -> list[Screen]:
    screens = [
        _screen_with_target(rng, width, height, scale)
        for scale in TARGET_SCALES
        for _ in range(PLACEMENTS_PER_SCALE)
    ]
    for index in range(SCREENS_WITHOUT_TARGET):
        image = draw_feed(rng, width, height)
        if index % 2:
            colour = LOOK_ALIKE_COLOURS[index // 2 % len(LOOK_ALIKE_COLOURS)]
            _place_heart(rng, image, float(rng.uniform(0.6, 1.6)), colour)
        screens.append(Screen(image=_jpeg(image)))
    return screens


def draw_template() -> np.ndarray:
    template = np.full((TEMPLATE_SIDE, TEMPLATE_SIDE, 3), WHITE, dtype=np.uint8)
    draw_heart(template, (0, 0), TEMPLATE_SIDE, HEART_RED)
    return template


def draw_heart(image: np.ndarray, corner: Point, side: int, colour: Colour) -> None:
    """Draw a filled, outlined heart centered in a square of ``side`` px."""
    angles = np.linspace(0, 2 * np.pi, 120, endpoint=False)
    curve_x = 16 * np.sin(angles) ** 3
    curve_y = -(
        13 * np.cos(angles)
        - 5 * np.cos(2 * angles)
        - 2 * np.cos(3 * angles)
        - np.cos(4 * angles)
    )
    unit = side * 0.8 / 34
    center_x = corner[0] + side / 2
    center_y = corner[1] + side / 2 + unit
    points = np.stack([center_x + curve_x * unit, center_y + curve_y * unit], axis=1)
    # Sub-pixel vertices (shift=4) keep the shape faithful at every size.
    polygon = np.round(points * 16).astype(np.int32).reshape(-1, 1, 2)
    outline = max(1, round(side / 24))
    cv2.fillPoly(image, [polygon], colour, cv2.LINE_AA, shift=4)
    cv2.polylines(image, [polygon], True, OUTLINE, outline, cv2.LINE_AA, shift=4)
    glint = (round(center_x - 8 * unit), round(center_y - 5 * unit))
    cv2.circle(image, glint, max(1, round(2.5 * unit)), WHITE, -1, cv2.LINE_AA)


def draw_feed(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """Draw a social-feed screen: status bar, posts with photos, icons, text."""
    screen = np.full((height, width, 3), 250, dtype=np.uint8)
    unit = width / 360
    cv2.rectangle(screen, (0, 0), (width, round(24 * unit)), INK, -1)
    top = round(60 * unit)
    while top < height:
        top = _draw_post(rng, screen, top, unit)
    return screen


def _draw_post(
    rng: np.random.Generator, screen: np.ndarray, top: int, unit: float
) -> int:
    avatar_center = (round(24 * unit), top + round(18 * unit))
    cv2.circle(screen, avatar_center, round(14 * unit), _random_colour(rng), -1)
    _draw_text(rng, screen, (round(46 * unit), top + round(23 * unit)), unit)

    photo_top = top + round(40 * unit)
    photo_bottom = min(photo_top + round(rng.uniform(180, 300) * unit), screen.shape[0])
    if photo_bottom > photo_top:
        _draw_photo(rng, screen[photo_top:photo_bottom])

    icons_top = photo_bottom + round(10 * unit)
    _draw_icons(rng, screen, icons_top, unit)
    for line in range(int(rng.integers(1, 4))):
        baseline = icons_top + round((44 + line * 18) * unit)
        _draw_text(rng, screen, (round(12 * unit), baseline), unit)
    return icons_top + round(110 * unit)


def _draw_photo(rng: np.random.Generator, photo: np.ndarray) -> None:
    height, width = photo.shape[:2]
    base = rng.integers(40, 220, 3).astype(np.float32)
    ramp = np.linspace(0.6, 1.2, height, dtype=np.float32)[:, None, None]
    photo[:] = np.clip(base * ramp, 0, 255).astype(np.uint8)
    for _ in range(int(rng.integers(4, 12))):
        center = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        radius = int(rng.integers(10, max(11, height // 3)))
        if rng.random() < 0.5:
            cv2.circle(photo, center, radius, _random_colour(rng), -1, cv2.LINE_AA)
        else:
            corner = (center[0] + radius, center[1] + radius // 2)
            cv2.rectangle(photo, center, corner, _random_colour(rng), -1)
    noisy = photo + rng.normal(0, 6, photo.shape)
    photo[:] = np.clip(noisy, 0, 255).astype(np.uint8)


def _draw_icons(
    rng: np.random.Generator, screen: np.ndarray, top: int, unit: float
) -> None:
    side = round(24 * unit)
    thickness = max(1, round(1.5 * unit))
    left = round(12 * unit)
    if rng.random() < 0.5:
        # An unliked heart: the target's shape without its red fill.
        draw_heart(screen, (left, top), side, (250, 250, 250))
    bubble = (left + round(48 * unit), top + side // 2)
    cv2.circle(screen, bubble, side // 2 - thickness, INK, thickness, cv2.LINE_AA)
    plane = np.array([[84, 4], [106, 12], [88, 22]], dtype=np.float32) * unit
    plane_points = ((*plane, left, top)).astype(np.int32)
    cv2.polylines(screen, [plane_points], True, INK, thickness, cv2.LINE_AA)
    flag_left = screen.shape[1] - round(30 * unit)
    flag_corner = (flag_left + side // 2, top + side)
    cv2.rectangle(screen, (flag_left, top + 2), flag_corner, INK, thickness)


def _draw_text(
    rng: np.random.Generator, screen: np.ndarray, origin: Point, unit: float
) -> None:
    letters = list("abcdefghijklmnopqrstuvwxyz     ")
    text = "".join(rng.choice(letters, int(rng.integers(8, 30))))
    weight = max(1, round(unit))
    font = cv2.FONT_HERSHEY_SIMPLEX
    cv2.putText(screen, text, origin, font, 0.45 * unit, INK, weight, cv2.LINE_AA)


def _random_colour(rng: np.random.Generator) -> Colour:
    blue, green, red = (int(value) for value in rng.integers(0, 256, 3))
    return (blue, green, red)


def _screen_with_target(
    rng: np.random.Generator, width: int, height: int, scale: float
) -> Screen:
    image = draw_feed(rng, width, height)
    center, side = _place_heart(rng, image, scale, HEART_RED)
    return Screen(image=_jpeg(image), target_center=center, target_side=side)


def _place_heart(
    rng: np.random.Generator, image: np.ndarray, scale: float, colour: Colour
) -> tuple[Point, int]:
    height, width = image.shape[:2]
    side = round(TEMPLATE_SIDE * scale)
    x = int(rng.integers(0, width - side))
    y = int(rng.integers(round(height * 0.05), height - side))
    cv2.rectangle(image, (x, y), (x + side - 1, y + side - 1), WHITE, -1)
    draw_heart(image, (x, y), side, colour)
    return (x + side // 2, y + side // 2), side


def _jpeg(image: np.ndarray) -> np.ndarray:
    _, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    return cv2.imdecode(encoded, cv2.IMREAD_COLOR)


def _multi_scale_search(screen: np.ndarray, template: np.ndarray) -> Point | None:
    match = find_template(screen, template, threshold=THRESHOLD)
    return None if match is None else match.center


def _single_scale_search(screen: np.ndarray, template: np.ndarray) -> Point | None:
    scores = cv2.matchTemplate(screen, template, cv2.TM_CCOEFF_NORMED)
    _, best, _, (x, y) = cv2.minMaxLoc(scores)
    if best < THRESHOLD:
        return None
    return (x + template.shape[1] // 2, y + template.shape[0] // 2)


def _run(search: Search, screens: list[Screen], template: np.ndarray) -> Tally:
    tally = Tally()
    for screen in screens:
        started = time.perf_counter()
        found = search(screen.image, template)
        tally.record(screen, found, (time.perf_counter() - started) * 1000)
    return tally


def _is_on_target(screen: Screen, found: Point | None) -> bool:
    if found is None or screen.target_center is None:
        return False
    tolerance = max(3.0, screen.target_side * 0.1)
    offset = np.subtract(found, screen.target_center)
    return float(np.hypot(*offset)) <= tolerance


def _describe(screen: str, name: str, tally: Tally) -> str:
    hits = f"{tally.hits}/{tally.positives}"
    false_positives = f"{tally.false_positives}/{tally.negatives}"
    median, p95 = f"{tally.median_ms():.1f}", f"{tally.p95_ms():.1f}"
    return _row(screen, name, hits, false_positives, median, p95)


def _row(*cells: str) -> str:
    screen, method, *figures = cells
    return f"{screen:<11}{method:<15}" + "".join(f"{cell:>11}" for cell in figures)


if __name__ == "__main__":
    main()
