"""Locate a template image on a phone screen across screen densities.

A template captured on one device must be found on screens where the same
element is drawn smaller or larger, recompressed as JPEG, and surrounded by
clutter and look-alikes (a feed shows a grey heart on every post and a red one
on the liked post). ``find_template`` runs five stages:

1. Normalise inputs: accept grayscale, BGR or BGRA ``uint8`` arrays, cut the
   screen down to the requested region, and keep a grayscale copy for shape
   matching and a BGR copy for colour checks.
2. Coarse search over scales: for each scale from ``MIN_SCALE`` to
   ``MAX_SCALE``, shrink the screen by an integer factor chosen so the scaled
   template keeps a useful size of about a dozen pixels, and correlate. Every
   local peak above a floor is a candidate.
3. Shortlist: merge candidates at the same place, score their colour against
   the template, and keep the few best by the lower of shape and colour score,
   so many grey look-alikes cannot crowd out the real target.
4. Fine refinement: at full resolution, correlate the template in a small
   window around each shortlisted candidate, stepping the scale up and down
   from the coarse estimate while the score improves.
5. Colour verification: compare the chroma of each refined match with the
   template's. The confidence is the lower of the shape and colour scores; the
   most confident match is returned if it reaches the threshold.

Shape scores come from ``cv2.TM_CCOEFF_NORMED`` on grayscale images, which is
insensitive to brightness and contrast. Colour checks are skipped when either
image is grayscale. Returned coordinates are full-screen pixels, whatever the
region.
"""

import math
from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np

__all__ = ["Match", "VisionError", "decode_image", "find_template"]

MIN_SCALE = 0.6
MAX_SCALE = 1.6
COARSE_SCALE_STEP = 1.1
# Per scale, the coarse search shrinks screen and template by an integer factor
# so the template keeps about this geometric-mean side (px), and its shorter
# side keeps at least MIN_COARSE_SIDE (px).
COARSE_TEMPLATE_SIDE = 10
MIN_COARSE_SIDE = 7
MIN_TEMPLATE_SIDE = 4
# Coarse scores run lower than full-resolution ones, so candidates are kept
# down to this far below the threshold.
COARSE_SLACK = 0.3
# How many coarse peaks per scale, distinct places checked for colour, and
# candidates refined at full resolution.
PEAKS_PER_SCALE = 16
COLOUR_CHECKED_CANDIDATES = 40
SHORTLIST_SIZE = 4
# Refinement changes the scale by this ratio per step, for at most
# FINE_MAX_STEPS steps each way, in a window FINE_MARGIN px wider than the
# coarse position error.
FINE_SCALE_STEP = 1.02
FINE_MAX_STEPS = 12
FINE_MARGIN = 4
# A template whose grayscale standard deviation is below this has no shape to
# correlate: TM_CCOEFF_NORMED scores it 1.0 everywhere.
FLAT_TEMPLATE_STD = 2.0
# Colour is compared as average chroma on a COLOUR_GRID x COLOUR_GRID grid.
COLOUR_GRID = 8
# Chroma (Lab a/b distance) assumed for a near-grey template, so JPEG colour
# noise does not dominate its colour score.
MIN_CHROMA = 20.0

Rect = tuple[int, int, int, int]


class VisionError(Exception):
    """An image or search argument cannot be used for detection."""


@dataclass(frozen=True, slots=True)
class Match:
    """Where a template was found.

    ``center`` and ``rect`` (x, y, width, height) are full-screen pixels;
    ``confidence`` (0..1) is the lower of the shape and colour scores; ``scale``
    is the size on screen relative to the template.
    """

    center: tuple[int, int]
    rect: Rect
    confidence: float
    scale: float


@dataclass(frozen=True, slots=True)
class _Image:
    gray: np.ndarray
    bgr: np.ndarray | None


@dataclass(frozen=True, slots=True)
class _Palette:
    """The template's colour layout, computed once per search."""

    grid: np.ndarray
    colourfulness: float


@dataclass(frozen=True, slots=True)
class _Level:
    """A shrunk copy of the search area and its size ratios to full resolution."""

    image: np.ndarray
    factor_x: float
    factor_y: float


@dataclass(frozen=True, slots=True)
class _Candidate:
    score: float
    scale: float
    center: tuple[float, float]
    step: int


@dataclass(frozen=True, slots=True)
class _Hit:
    score: float
    scale: float
    rect: Rect


def decode_image(data: bytes) -> np.ndarray:
    """Decode PNG or JPEG bytes into a BGR array; raise VisionError if invalid."""
    buffer = np.frombuffer(data, dtype=np.uint8)
    if buffer.size == 0:
        raise VisionError("image data is empty")
    try:
        image = cv2.imdecode(buffer, cv2.IMREAD_COLOR)
    except cv2.error as exc:
        raise VisionError("image data could not be decoded") from exc
    if image is None:
        raise VisionError("image data is not a decodable PNG or JPEG image")
    return image


def find_template(
    screen: np.ndarray,
    template: np.ndarray,
    *,
    threshold: float = 0.8,
    region: Rect | None = None,
) -> Match | None:
    """Find the template on the screen at any supported scale, or return None.

    Raises VisionError for unusable images, a threshold outside 0..1, or a
    region that does not overlap the screen.
    """
    if not 0.0 <= threshold <= 1.0:
        raise VisionError(f"threshold must lie in 0..1, got {threshold}")
    screen = _validated(screen, "screen")
    wanted = _prepare(_validated(template, "template"))
    x, y, width, height = _clip_region(screen.shape, region)
    if _is_flat(wanted.gray):
        return None

    area = _prepare(screen[y : y + height, x : x + width])
    palette = _palette(wanted, area)
    found = _coarse_candidates(area.gray, wanted.gray, threshold - COARSE_SLACK)
    shortlist = _shortlist(found, area.bgr, wanted.gray.shape, palette)
    best = _best_verified(area, wanted.gray, palette, shortlist)
    if best is None or best[0] < threshold:
        return None

    confidence, hit = best
    return _to_match(hit, confidence, (x, y))


def _validated(image: np.ndarray, name: str) -> np.ndarray:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        raise VisionError(f"{name} must be a uint8 numpy array")
    if image.size == 0:
        raise VisionError(f"{name} is empty")
    if image.ndim == 2 or (image.ndim == 3 and image.shape[2] in (1, 3, 4)):
        return image
    raise VisionError(f"{name} must be grayscale, BGR or BGRA, got {image.shape}")


def _prepare(image: np.ndarray) -> _Image:
    if image.ndim == 2 or image.shape[2] == 1:
        return _Image(gray=image.reshape(image.shape[:2]), bgr=None)
    if image.shape[2] == 4:
        # NOTE: transparency is dropped, so transparent template pixels must
        # match the screen behind them; icons cut out with alpha match worse.
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    return _Image(gray=cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), bgr=image)


def _clip_region(shape: tuple[int, ...], region: Rect | None) -> Rect:
    height, width = shape[:2]
    if region is None:
        return (0, 0, width, height)

    x, y, w, h = (int(value) for value in region)
    left, top = max(x, 0), max(y, 0)
    right, bottom = min(x + w, width), min(y + h, height)
    if w <= 0 or h <= 0 or right <= left or bottom <= top:
        raise VisionError(
            f"region {region} does not overlap the {width}x{height} screen"
        )
    return (left, top, right - left, bottom - top)


def _is_flat(gray: np.ndarray) -> bool:
    return float(np.std(gray)) < FLAT_TEMPLATE_STD


def _palette(template: _Image, area: _Image) -> _Palette | None:
    if template.bgr is None or area.bgr is None:
        return None
    grid = _chroma_grid(template.bgr)
    colourfulness = float(np.linalg.norm(grid, axis=2).mean())
    return _Palette(grid=grid, colourfulness=colourfulness)


def _coarse_candidates(
    area: np.ndarray, template: np.ndarray, floor: float
) -> list[_Candidate]:
    steps = {
        scale: _decimation(template.shape, scale)
        for scale in _coarse_scales()
        if _fits(_scaled_size(template.shape, scale)[::-1], area.shape)
    }
    if not steps:
        return []
    levels = _shrink(area, set(steps.values()))

    found: list[_Candidate] = []
    for scale, step in steps.items():
        level = levels[step]
        small_template = _resize(template, scale / level.factor_x)
        if not _fits(small_template.shape, level.image.shape):
            continue
        realised = _realised_scale(template, small_template) * level.factor_x
        scores = _correlate(level.image, small_template)
        for score, (cx, cy) in _peaks(scores, small_template.shape, floor):
            center = (cx * level.factor_x, cy * level.factor_y)
            found.append(_Candidate(score, realised, center, step))
    return found


def _coarse_scales() -> list[float]:
    count = math.ceil(math.log(MAX_SCALE / MIN_SCALE, COARSE_SCALE_STEP)) + 1
    ratio = (MAX_SCALE / MIN_SCALE) ** (1 / (count - 1))
    return [MIN_SCALE * ratio**index for index in range(count)]


def _decimation(template_shape: tuple[int, ...], scale: float) -> int:
    """Return the integer factor that shrinks the scaled template to coarse size."""
    # NOTE: a template under about 30 px on its shorter side cannot be shrunk at
    # the smallest scales, so those are correlated at full resolution and a
    # full-screen search takes a few hundred milliseconds; pass a region to
    # keep such searches fast.
    height, width = template_shape[:2]
    by_area = math.sqrt(height * width) * scale / COARSE_TEMPLATE_SIDE
    by_short_side = min(height, width) * scale / MIN_COARSE_SIDE
    return max(1, math.floor(min(by_area, by_short_side)))


def _shrink(area: np.ndarray, steps: set[int]) -> dict[int, _Level]:
    """Shrink the area once per factor, reading the full resolution only once."""
    first = min(steps)
    height, width = area.shape[:2]
    # Whole multiples of the factor let INTER_AREA take its fast averaging path.
    padded = _pad_to_multiple(area, first)
    base = _shrink_to(padded, padded.shape[1] // first, padded.shape[0] // first)

    levels = {first: _Level(base, float(first), float(first))}
    for step in steps - {first}:
        image = _shrink_to(base, math.ceil(width / step), math.ceil(height / step))
        factor_x = padded.shape[1] / image.shape[1]
        factor_y = padded.shape[0] / image.shape[0]
        levels[step] = _Level(image, factor_x, factor_y)
    return levels


def _pad_to_multiple(image: np.ndarray, step: int) -> np.ndarray:
    bottom, right = -image.shape[0] % step, -image.shape[1] % step
    if bottom == right == 0:
        return image
    return cv2.copyMakeBorder(image, 0, bottom, 0, right, cv2.BORDER_REPLICATE)


def _shrink_to(image: np.ndarray, width: int, height: int) -> np.ndarray:
    size = (max(width, 1), max(height, 1))
    if size == (image.shape[1], image.shape[0]):
        return image
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def _scaled_size(shape: tuple[int, ...], scale: float) -> tuple[int, int]:
    """Return the (width, height) of an image of this shape at scale."""
    height, width = shape[:2]
    return (max(1, round(width * scale)), max(1, round(height * scale)))


def _resize(image: np.ndarray, scale: float) -> np.ndarray:
    height, width = image.shape[:2]
    size = _scaled_size(image.shape, scale)
    if size == (width, height):
        return image
    shrinking = size[0] * size[1] < width * height
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    return cv2.resize(image, size, interpolation=interpolation)


def _fits(template_shape: tuple[int, ...], image_shape: tuple[int, ...]) -> bool:
    th, tw = template_shape[:2]
    ih, iw = image_shape[:2]
    return min(th, tw) >= MIN_TEMPLATE_SIDE and th <= ih and tw <= iw


def _correlate(image: np.ndarray, template: np.ndarray) -> np.ndarray:
    scores = cv2.matchTemplate(image, template, cv2.TM_CCOEFF_NORMED)
    # Flat windows can divide by zero; treat them as no resemblance.
    scores[~np.isfinite(scores)] = 0.0
    return np.clip(scores, -1.0, 1.0, out=scores)


def _peaks(
    scores: np.ndarray, template_shape: tuple[int, ...], floor: float
) -> Iterator[tuple[float, tuple[float, float]]]:
    """Yield the strongest local maxima at or above floor, with template centers."""
    th, tw = template_shape[:2]
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (tw, th))
    is_peak = (scores >= floor) & (scores >= cv2.dilate(scores, kernel))
    ys, xs = np.nonzero(is_peak)
    values = scores[ys, xs]
    strongest = np.argsort(values)[-PEAKS_PER_SCALE:]
    for y, x, value in zip(
        ys[strongest], xs[strongest], values[strongest], strict=True
    ):
        yield float(value), (float(x) + tw / 2, float(y) + th / 2)


def _shortlist(
    found: list[_Candidate],
    area_bgr: np.ndarray | None,
    template_shape: tuple[int, ...],
    palette: _Palette | None,
) -> list[_Candidate]:
    distinct = _distinct(found, template_shape, COLOUR_CHECKED_CANDIDATES)

    def rank(candidate: _Candidate) -> float:
        rect = _rect_around(candidate, template_shape)
        return min(candidate.score, _colour_score(area_bgr, palette, rect))

    return sorted(distinct, key=rank, reverse=True)[:SHORTLIST_SIZE]


def _distinct(
    found: list[_Candidate], template_shape: tuple[int, ...], limit: int
) -> list[_Candidate]:
    """Keep the best-scoring candidate per place, at most limit of them."""
    kept: list[_Candidate] = []
    for candidate in sorted(found, key=lambda item: item.score, reverse=True):
        radius = min(template_shape[:2]) * candidate.scale / 2
        if all(math.dist(candidate.center, other.center) > radius for other in kept):
            kept.append(candidate)
        if len(kept) == limit:
            break
    return kept


def _rect_around(candidate: _Candidate, template_shape: tuple[int, ...]) -> Rect:
    th, tw = template_shape[:2]
    width, height = round(tw * candidate.scale), round(th * candidate.scale)
    x = round(candidate.center[0] - width / 2)
    y = round(candidate.center[1] - height / 2)
    return (x, y, width, height)


def _best_verified(
    area: _Image,
    template: np.ndarray,
    palette: _Palette | None,
    shortlist: list[_Candidate],
) -> tuple[float, _Hit] | None:
    best: tuple[float, _Hit] | None = None
    for candidate in shortlist:
        hit = _refine(area.gray, template, candidate)
        if hit is None:
            continue
        confidence = min(hit.score, _colour_score(area.bgr, palette, hit.rect))
        if best is None or confidence > best[0]:
            best = (confidence, hit)
    return best


def _refine(
    area: np.ndarray, template: np.ndarray, candidate: _Candidate
) -> _Hit | None:
    """Step the scale up, then down, from the coarse estimate while it helps."""
    # NOTE: refinement always runs at full resolution, so a template covering a
    # third of the screen or more takes a few hundred milliseconds to find.
    margin = 2 * candidate.step + FINE_MARGIN
    largest = min(area.shape[0] / template.shape[0], area.shape[1] / template.shape[1])
    scale = min(candidate.scale, largest)
    best = _match_near(area, template, scale, candidate.center, margin)
    if best is None:
        return None
    for ratio in (FINE_SCALE_STEP, 1 / FINE_SCALE_STEP):
        best = _climb(area, template, best, ratio, margin)
    return best


def _climb(
    area: np.ndarray, template: np.ndarray, start: _Hit, ratio: float, margin: int
) -> _Hit:
    best = start
    for _ in range(FINE_MAX_STEPS):
        scale = _next_scale(template.shape, best.scale, ratio)
        hit = _match_near(area, template, scale, _rect_center(best.rect), margin)
        if hit is None or hit.score <= best.score:
            break
        best = hit
    return best


def _next_scale(shape: tuple[int, ...], scale: float, ratio: float) -> float:
    """Step the scale by ratio, further if needed to change the pixel size."""
    longest = max(shape[:2])
    size = round(longest * scale)
    stepped = scale * ratio
    while round(longest * stepped) == size:
        stepped *= ratio
    return stepped


def _rect_center(rect: Rect) -> tuple[float, float]:
    x, y, w, h = rect
    return (x + w / 2, y + h / 2)


def _match_near(
    area: np.ndarray,
    template: np.ndarray,
    scale: float,
    center: tuple[float, float],
    margin: int,
) -> _Hit | None:
    """Correlate the scaled template in a small window around center."""
    scaled = _resize(template, scale)
    th, tw = scaled.shape[:2]
    left = max(round(center[0] - tw / 2) - margin, 0)
    top = max(round(center[1] - th / 2) - margin, 0)
    window = area[top : top + th + 2 * margin, left : left + tw + 2 * margin]
    if not _fits(scaled.shape, window.shape):
        return None

    _, score, _, (px, py) = cv2.minMaxLoc(_correlate(window, scaled))
    realised = _realised_scale(template, scaled)
    return _Hit(float(score), realised, (left + px, top + py, tw, th))


def _realised_scale(original: np.ndarray, scaled: np.ndarray) -> float:
    height, width = original.shape[:2]
    return (scaled.shape[0] / height + scaled.shape[1] / width) / 2


def _colour_score(
    area_bgr: np.ndarray | None, palette: _Palette | None, rect: Rect
) -> float:
    """Score 0..1 how closely the colours inside rect follow the template's."""
    if area_bgr is None or palette is None:
        return 1.0
    x, y, w, h = rect
    patch = area_bgr[max(y, 0) : y + h, max(x, 0) : x + w]
    if patch.size == 0:
        return 0.0

    difference = float(
        np.linalg.norm(_chroma_grid(patch) - palette.grid, axis=2).mean()
    )
    return max(0.0, 1.0 - difference / max(palette.colourfulness, MIN_CHROMA))


def _chroma_grid(bgr: np.ndarray) -> np.ndarray:
    """Average the Lab chroma (a, b) over a coarse grid, without the outer ring."""
    cells = cv2.resize(bgr, (COLOUR_GRID, COLOUR_GRID), interpolation=cv2.INTER_AREA)
    lab = cv2.cvtColor(cells, cv2.COLOR_BGR2Lab)
    # JPEG keeps colour at half resolution in 16-pixel blocks, so colours from
    # around the target bleed into its edge; the outer ring of cells is skipped.
    return lab[1:-1, 1:-1, 1:].astype(np.float32) - 128.0


def _to_match(hit: _Hit, confidence: float, offset: tuple[int, int]) -> Match:
    x, y, w, h = hit.rect
    left, top = x + offset[0], y + offset[1]
    return Match(
        center=(left + w // 2, top + h // 2),
        rect=(left, top, w, h),
        confidence=confidence,
        scale=hit.scale,
    )
