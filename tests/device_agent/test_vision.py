"""Unit tests for device_agent.vision on phone screens drawn with OpenCV."""

import math

import cv2
import numpy as np
import pytest

from device_agent.vision import Match, VisionError, decode_image, find_template

SCREEN_WIDTH, SCREEN_HEIGHT = 1080, 2400
ICON_SIDE = 72
RED = (60, 40, 225)
BLUE = (220, 90, 30)
WHITE = (255, 255, 255)
INK = (30, 30, 30)
# A grey as bright as RED: identical to the target once converted to grayscale.
GREY = (int(cv2.cvtColor(np.uint8([[RED]]), cv2.COLOR_BGR2GRAY)[0, 0]),) * 3

Point = tuple[int, int]


def draw_heart(image: np.ndarray, corner: Point, side: int, colour: tuple) -> None:
    """Draw a heart icon with a highlight inside a white square of ``side`` px."""
    x, y = corner
    cv2.rectangle(image, (x, y), (x + side - 1, y + side - 1), WHITE, -1)
    radius = side * 0.22
    lobes = [(x + side * 0.31, y + side * 0.36), (x + side * 0.69, y + side * 0.36)]
    for lobe in lobes:
        cv2.circle(image, _fixed(lobe), round(radius * 16), colour, -1, cv2.LINE_AA, 4)
    tip = np.array(
        [
            _fixed((x + side * 0.11, y + side * 0.44)),
            _fixed((x + side * 0.89, y + side * 0.44)),
            _fixed((x + side * 0.5, y + side * 0.88)),
        ]
    )
    cv2.fillPoly(image, [tip], colour, cv2.LINE_AA, shift=4)
    glint = _fixed((x + side * 0.26, y + side * 0.3))
    cv2.circle(image, glint, round(side * 0.06 * 16), WHITE, -1, cv2.LINE_AA, 4)


def _fixed(point: tuple[float, float]) -> Point:
    """Convert to OpenCV's 4-bit fixed-point coordinates (shift=4)."""
    return (round(point[0] * 16), round(point[1] * 16))


def heart_template(colour: tuple = RED) -> np.ndarray:
    template = np.zeros((ICON_SIDE, ICON_SIDE, 3), dtype=np.uint8)
    draw_heart(template, (0, 0), ICON_SIDE, colour)
    return template


def feed_screen(seed: int, dark_hearts: bool = True) -> np.ndarray:
    """Draw a social-feed screen with photos, icons and text, but no red heart."""
    rng = np.random.default_rng(seed)
    screen = np.full((SCREEN_HEIGHT, SCREEN_WIDTH, 3), 248, dtype=np.uint8)
    cv2.rectangle(screen, (0, 0), (SCREEN_WIDTH, 70), INK, -1)
    top = 160
    while top < SCREEN_HEIGHT - 200:
        top = _draw_post(rng, screen, top, dark_hearts)
    return screen


def _draw_post(
    rng: np.random.Generator, screen: np.ndarray, top: int, dark_heart: bool
) -> int:
    avatar = tuple(int(value) for value in rng.integers(0, 256, 3))
    cv2.circle(screen, (70, top + 50), 40, avatar, -1, cv2.LINE_AA)
    _draw_text(rng, screen, (130, top + 65))

    photo_top, photo_bottom = top + 110, top + 110 + int(rng.integers(500, 800))
    _draw_photo(rng, screen, photo_top, min(photo_bottom, SCREEN_HEIGHT))
    icons = photo_bottom + 30
    if dark_heart:
        # The "not liked yet" heart: same shape as the target, but dark.
        draw_heart(screen, (40, icons), 64, INK)
    cv2.circle(screen, (175, icons + 36), 30, INK, 4, cv2.LINE_AA)
    cv2.rectangle(screen, (960, icons + 5), (1000, icons + 70), INK, 4)
    _draw_text(rng, screen, (30, icons + 150))
    return icons + 220


def _draw_photo(
    rng: np.random.Generator, screen: np.ndarray, top: int, bottom: int
) -> None:
    if bottom <= top:
        return
    screen[top:bottom] = rng.integers(60, 200, 3).astype(np.uint8)
    for _ in range(12):
        colour = tuple(int(value) for value in rng.integers(0, 256, 3))
        center = (int(rng.integers(0, SCREEN_WIDTH)), int(rng.integers(top, bottom)))
        size = int(rng.integers(20, 200))
        if rng.random() < 0.5:
            cv2.circle(screen, center, size, colour, -1, cv2.LINE_AA)
        else:
            corner = (center[0] + size, center[1] + size // 2)
            cv2.rectangle(screen, center, corner, colour, -1)
    noise = rng.normal(0, 8, screen[top:bottom].shape)
    screen[top:bottom] = np.clip(screen[top:bottom] + noise, 0, 255).astype(np.uint8)


def _draw_text(rng: np.random.Generator, screen: np.ndarray, origin: Point) -> None:
    words = ["liked", "by", "friends", "and", "others", "sunset", "#travel", "view"]
    text = " ".join(rng.choice(words, 5))
    cv2.putText(
        screen, text, origin, cv2.FONT_HERSHEY_SIMPLEX, 1.4, INK, 3, cv2.LINE_AA
    )


def place_heart(
    screen: np.ndarray, corner: Point, scale: float = 1.0, colour: tuple = RED
) -> Point:
    """Draw the heart at ``scale`` with its top-left at ``corner``; return center."""
    side = round(ICON_SIDE * scale)
    draw_heart(screen, corner, side, colour)
    return (corner[0] + side // 2, corner[1] + side // 2)


def jpeg(image: np.ndarray, quality: int = 60) -> np.ndarray:
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return cv2.imdecode(encoded, cv2.IMREAD_COLOR)


def assert_near(match: Match | None, center: Point, tolerance: float = 3.0) -> None:
    assert match is not None, f"target at {center} was not found"
    assert math.dist(match.center, center) <= tolerance, (match.center, center)


def test_target_at_native_size_is_found_at_its_exact_center() -> None:
    screen = feed_screen(seed=1)
    center = place_heart(screen, (500, 1300))

    match = find_template(screen, heart_template())

    assert match is not None
    assert match.center == center
    assert match.rect == (500, 1300, ICON_SIDE, ICON_SIDE)
    assert match.scale == pytest.approx(1.0)
    assert match.confidence > 0.95


@pytest.mark.parametrize("scale", [0.6, 0.8, 1.25, 1.6])
def test_target_drawn_for_another_screen_density_is_found(scale: float) -> None:
    screen = feed_screen(seed=2)
    center = place_heart(screen, (300, 900), scale)

    match = find_template(screen, heart_template())

    assert_near(match, center)
    assert match is not None
    assert match.scale == pytest.approx(scale, rel=0.06)
    assert match.rect[2] == pytest.approx(ICON_SIDE * scale, rel=0.06)


@pytest.mark.parametrize("scale", [0.7, 1.0, 1.4])
def test_target_is_found_in_a_jpeg_screenshot(scale: float) -> None:
    screen = feed_screen(seed=3)
    center = place_heart(screen, (820, 1710), scale)

    match = find_template(jpeg(screen, quality=60), heart_template())

    assert_near(match, center)


@pytest.mark.parametrize("seed", [10, 11, 12, 13, 14])
def test_screen_without_target_reports_no_match(seed: int) -> None:
    screen = jpeg(feed_screen(seed))

    assert find_template(screen, heart_template()) is None


@pytest.mark.parametrize(
    "colour",
    [BLUE, GREY, (70, 170, 240)],
    ids=["blue", "grey-same-brightness", "orange"],
)
def test_differently_coloured_copy_is_not_the_target(colour: tuple) -> None:
    screen = feed_screen(seed=4)
    place_heart(screen, (400, 1000), colour=colour)

    assert find_template(jpeg(screen), heart_template()) is None


def test_real_target_wins_over_a_grey_look_alike() -> None:
    screen = feed_screen(seed=5)
    place_heart(screen, (100, 400), colour=GREY)
    center = place_heart(screen, (700, 1900), scale=0.9)

    match = find_template(jpeg(screen), heart_template())

    assert_near(match, center)


def follow_button(label: str, scale: float = 1.0) -> np.ndarray:
    """Draw a blue button with a white label, resampled as for another density."""
    button = np.full((64, 260, 3), (230, 140, 40), dtype=np.uint8)
    font = cv2.FONT_HERSHEY_SIMPLEX
    cv2.putText(button, label, (24, 44), font, 1.1, WHITE, 2, cv2.LINE_AA)
    shrinking = scale < 1
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC
    return cv2.resize(button, None, fx=scale, fy=scale, interpolation=interpolation)


@pytest.mark.parametrize(("scale", "row"), [(0.7, 3), (1.0, 0), (1.5, 2), (1.6, 5)])
def test_button_is_told_apart_from_buttons_with_similar_labels(
    scale: float, row: int
) -> None:
    screen = feed_screen(seed=20)
    labels = ["Following", "Message", "Follow back", "Unfollow", "Following"]
    labels.insert(row, "Follow")
    for index, label in enumerate(labels):
        button = follow_button(label, scale)
        top, left = 250 + index * 330, 60 + index % 2 * 300
        screen[top : top + button.shape[0], left : left + button.shape[1]] = button
    height, width = follow_button("Follow", scale).shape[:2]
    center = (60 + row % 2 * 300 + width // 2, 250 + row * 330 + height // 2)

    match = find_template(jpeg(screen), follow_button("Follow"))

    assert_near(match, center)


def test_region_limits_the_search_and_reports_full_screen_coordinates() -> None:
    screen = feed_screen(seed=6)
    place_heart(screen, (100, 300))
    lower = place_heart(screen, (800, 2000), scale=1.2)

    match = find_template(screen, heart_template(), region=(600, 1800, 480, 500))

    assert_near(match, lower)


@pytest.mark.parametrize("scale", [0.6, 1.0, 1.6])
def test_region_fitting_the_target_exactly_still_finds_it(scale: float) -> None:
    screen = feed_screen(seed=19)
    center = place_heart(screen, (300, 500), scale)
    side = round(ICON_SIDE * scale)

    match = find_template(screen, heart_template(), region=(300, 500, side, side))

    assert_near(match, center, tolerance=1.0)


def test_region_without_the_target_reports_no_match() -> None:
    screen = feed_screen(seed=7)
    place_heart(screen, (100, 300))

    assert find_template(screen, heart_template(), region=(0, 1200, 1080, 1200)) is None


def test_region_outside_the_screen_is_rejected() -> None:
    with pytest.raises(VisionError):
        find_template(feed_screen(seed=8), heart_template(), region=(2000, 0, 100, 100))


def test_template_larger_than_the_region_reports_no_match() -> None:
    screen = feed_screen(seed=9)
    place_heart(screen, (100, 300))

    assert find_template(screen, heart_template(), region=(100, 300, 30, 30)) is None


def test_flat_template_reports_no_match_instead_of_failing() -> None:
    screen = feed_screen(seed=15)
    flat = np.full((40, 40, 3), 248, dtype=np.uint8)

    assert find_template(screen, flat) is None


def test_small_icon_is_found() -> None:
    screen = feed_screen(seed=16)
    icon = np.full((14, 14, 3), WHITE, dtype=np.uint8)
    cv2.rectangle(icon, (3, 3), (10, 10), RED, -1)
    cv2.line(icon, (3, 10), (10, 3), INK, 2)
    screen[1500:1514, 640:654] = icon

    match = find_template(screen, icon)

    assert match is not None
    assert match.center == (647, 1507)


def test_grayscale_images_are_matched_by_shape() -> None:
    # Without colour, the dark hearts of the feed would be as good a match.
    screen = feed_screen(seed=17, dark_hearts=False)
    center = place_heart(screen, (250, 700), scale=1.1)
    gray_screen = cv2.cvtColor(screen, cv2.COLOR_BGR2GRAY)
    gray_template = cv2.cvtColor(heart_template(), cv2.COLOR_BGR2GRAY)

    assert_near(find_template(gray_screen, gray_template), center)


def test_bgra_images_are_accepted() -> None:
    screen = feed_screen(seed=17)
    center = place_heart(screen, (250, 700), scale=1.1)
    bgra_screen = cv2.cvtColor(screen, cv2.COLOR_BGR2BGRA)
    bgra_template = cv2.cvtColor(heart_template(), cv2.COLOR_BGR2BGRA)

    assert_near(find_template(bgra_screen, bgra_template), center)


def test_screenshot_bytes_decode_to_the_same_pixels() -> None:
    screen = feed_screen(seed=18)
    ok, png = cv2.imencode(".png", screen)
    assert ok

    assert np.array_equal(decode_image(png.tobytes()), screen)


@pytest.mark.parametrize("data", [b"", b"not an image at all", b"\x89PNG\r\n\x1a\n"])
def test_undecodable_bytes_raise_vision_error(data: bytes) -> None:
    with pytest.raises(VisionError):
        decode_image(data)


@pytest.mark.parametrize(
    ("screen", "threshold"),
    [
        (np.zeros((100, 100), dtype=np.float32), 0.8),
        (np.zeros((100, 100, 3), dtype=np.uint8), 1.5),
    ],
    ids=["float-image", "threshold-above-one"],
)
def test_invalid_search_arguments_raise_vision_error(
    screen: np.ndarray, threshold: float
) -> None:
    with pytest.raises(VisionError):
        find_template(screen, heart_template(), threshold=threshold)
