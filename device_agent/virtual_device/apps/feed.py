"""The social feed: an endless column of posts, each with its own like button.

Posts are generated from their index, so post ``post-0007`` always shows the
same author, picture and caption. Likes live in the app's store and survive a
force-stop; the scroll position does not.
"""

import random
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import cv2
import numpy as np

from .. import drawing, keycodes
from ..geometry import Rect
from ..icons import LIKE_ICON_DP, comment_icon, like_icon, share_icon
from ..input_log import Hit
from .base import APP_BAR_DP, App, Scroller, avatar

HEADER_DP = 52
IMAGE_DP = 260
ACTIONS_DP = 44
LIKES_DP = 22
CAPTION_DP = 30
GAP_DP = 16
POST_DP = HEADER_DP + IMAGE_DP + ACTIONS_DP + LIKES_DP + CAPTION_DP + GAP_DP
ICON_LEFT_DP = 12
ICON_GAP_DP = 14
MAX_POSTS = 500

_AUTHORS = (
    "lena.travels",
    "mark_cooks",
    "sunny.days",
    "urban_sketch",
    "pixel.pete",
    "the.runner",
    "nora.plants",
    "coffee_chris",
    "mountain.mia",
    "daily.dose",
)
_CAPTIONS = (
    "Golden hour never gets old",
    "Weekend plans: this view",
    "New recipe turned out great",
    "Could not resist this shot",
    "Back where it all started",
    "Morning light over the hills",
    "Simple things, good things",
    "Take me back already",
)


@dataclass(frozen=True)
class Post:
    index: int
    post_id: str
    author: str
    caption: str
    base_likes: int


def make_post(index: int) -> Post:
    rng = random.Random(index * 7919 + 17)
    return Post(
        index=index,
        post_id=f"post-{index + 1:04d}",
        author=rng.choice(_AUTHORS),
        caption=rng.choice(_CAPTIONS),
        base_likes=rng.randint(12, 9800),
    )


class FeedApp(App):
    """Scrollable posts; tapping a heart toggles the post's like."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.store.setdefault("liked", set())
        self._list_top = self.px(APP_BAR_DP)
        self._post_px = self.px(POST_DP)
        visible = self.size[1] - self._list_top
        self._scroller = Scroller(self._post_top_unscrolled(MAX_POSTS) - visible)

    def render(self, canvas: np.ndarray) -> None:
        canvas[:] = drawing.WHITE
        for index in self._visible_indices():
            self._draw_post(canvas, make_post(index))
        self.app_bar(canvas, self.spec.label)

    def tap(self, x: int, y: int) -> Hit:
        if y < self._list_top:
            return Hit(target="app_bar", outcome="ignored")
        for index in self._visible_indices():
            post = make_post(index)
            if self._like_target(index).contains(x, y):
                return self._toggle_like(post)
            if self._post_rect(index).contains(x, y):
                return Hit(target="post", target_id=post.post_id, outcome="ignored")
        return Hit(target="feed", outcome="ignored")

    def long_press(self, x: int, y: int) -> Hit:
        if y >= self._list_top:
            for index in self._visible_indices():
                if self._post_rect(index).contains(x, y):
                    post_id = make_post(index).post_id
                    return Hit(target="post", target_id=post_id, outcome="ignored")
        return Hit(target="feed", outcome="ignored")

    def scroll(self, dy: int) -> Hit:
        moved = self._scroller.scroll(dy)
        outcome = "scrolled" if moved else ("at_top" if dy < 0 else "at_end")
        details = {"moved_px": moved, "offset_px": self._scroller.offset}
        details["visible_posts"] = [
            make_post(i).post_id for i in self._visible_indices()
        ]
        return Hit(target="feed", outcome=outcome, details=details)

    def key(self, code: int) -> Hit | None:
        steps = {keycodes.PAGE_DOWN: 1, keycodes.DPAD_DOWN: 1, keycodes.PAGE_UP: -1}
        steps[keycodes.DPAD_UP] = -1
        if code not in steps:
            return None
        return self.scroll(steps[code] * self._post_px // 2)

    def state(self) -> dict[str, Any]:
        return {
            "offset_px": self._scroller.offset,
            "visible_posts": [make_post(i).post_id for i in self._visible_indices()],
            "liked_posts": sorted(self.store["liked"]),
        }

    def like_buttons(self) -> list[tuple[str, Rect, bool]]:
        """Visible like buttons: post id, icon rectangle (content coords), liked."""
        buttons = []
        for index in self._visible_indices():
            post_id = make_post(index).post_id
            rect = self._like_icon_rect(index)
            if rect.y >= self._list_top and rect.y2 <= self.size[1]:
                buttons.append((post_id, rect, post_id in self.store["liked"]))
        return buttons

    def _toggle_like(self, post: Post) -> Hit:
        liked: set[str] = self.store["liked"]
        if post.post_id in liked:
            liked.discard(post.post_id)
            outcome = "unliked"
        else:
            liked.add(post.post_id)
            outcome = "liked"
        likes = post.base_likes + (post.post_id in liked)
        return Hit("like_button", post.post_id, outcome, {"likes": likes})

    def _post_top_unscrolled(self, index: int) -> int:
        return self._list_top + round(index * POST_DP * self.geometry.scale)

    def _post_top(self, index: int) -> int:
        return self._post_top_unscrolled(index) - self._scroller.offset

    def _post_rect(self, index: int) -> Rect:
        return Rect(0, self._post_top(index), self.size[0], self._post_px)

    def _visible_indices(self) -> range:
        scale = self.geometry.scale
        first = max(0, int(self._scroller.offset / (POST_DP * scale)) - 1)
        indices = []
        for index in range(first, min(first + 8, MAX_POSTS)):
            rect = self._post_rect(index)
            if rect.y2 > self._list_top and rect.y < self.size[1]:
                indices.append(index)
        return range(indices[0], indices[-1] + 1) if indices else range(0)

    def _actions_top(self, index: int) -> int:
        return self._post_top(index) + self.px(HEADER_DP + IMAGE_DP)

    def _like_icon_rect(self, index: int) -> Rect:
        size = self.px(LIKE_ICON_DP)
        top = self._actions_top(index) + (self.px(ACTIONS_DP) - size) // 2
        return Rect(self.px(ICON_LEFT_DP), top, size, size)

    def _like_target(self, index: int) -> Rect:
        icon = self._like_icon_rect(index)
        pad = self.px(8)
        return Rect(0, self._actions_top(index), icon.x2 + pad, self.px(ACTIONS_DP))

    def _draw_post(self, canvas: np.ndarray, post: Post) -> None:
        top = self._post_top(post.index)
        self._draw_header(canvas, post, top)
        image_top = top + self.px(HEADER_DP)
        drawing.paste(
            canvas,
            post_picture(post.index, self.size[0], self.px(IMAGE_DP)),
            0,
            image_top,
        )
        self._draw_actions(canvas, post)
        self._draw_texts(
            canvas, post, self._actions_top(post.index) + self.px(ACTIONS_DP)
        )

    def _draw_header(self, canvas: np.ndarray, post: Post, top: int) -> None:
        radius = self.px(16)
        center_y = top + self.px(HEADER_DP) // 2
        avatar(canvas, (self.px(12) + radius, center_y), radius, post.author)
        self.write(
            canvas, post.author, (self.px(56), center_y + self.px(5)), 12, bold=True
        )
        for step in range(3):
            dot = (self.size[0] - self.px(24) + step * self.px(6), center_y)
            drawing.disc(canvas, dot, max(1, self.px(1.5)), drawing.TEXT_PRIMARY)

    def _draw_actions(self, canvas: np.ndarray, post: Post) -> None:
        icon = self._like_icon_rect(post.index)
        liked = post.post_id in self.store["liked"]
        drawing.paste(canvas, like_icon(icon.width, liked), icon.x, icon.y)
        step = icon.width + self.px(ICON_GAP_DP)
        drawing.paste(canvas, comment_icon(icon.width), icon.x + step, icon.y)
        drawing.paste(canvas, share_icon(icon.width), icon.x + 2 * step, icon.y)

    def _draw_texts(self, canvas: np.ndarray, post: Post, top: int) -> None:
        likes = post.base_likes + (post.post_id in self.store["liked"])
        left = self.px(12)
        likes_origin = (left, top + self.px(LIKES_DP) - self.px(6))
        self.write(canvas, f"{likes:,} likes", likes_origin, 12, bold=True)
        caption = f"{post.author}  {post.caption}"
        caption_origin = (left, top + self.px(LIKES_DP + CAPTION_DP) - self.px(12))
        self.write(
            canvas, caption, caption_origin, 12, max_width=self.size[0] - 2 * left
        )


@lru_cache(maxsize=12)
def post_picture(index: int, width: int, height: int) -> np.ndarray:
    """A deterministic landscape: sky gradient, sun and two mountain ranges."""
    rng = random.Random(index * 104729 + 3)
    sky_top = (rng.randint(150, 255), rng.randint(90, 200), rng.randint(40, 140))
    sky_bottom = (rng.randint(120, 230), rng.randint(170, 240), rng.randint(200, 255))
    picture = drawing.vertical_gradient(width, height, sky_top, sky_bottom)
    sun = (int(width * rng.uniform(0.2, 0.8)), int(height * rng.uniform(0.2, 0.45)))
    drawing.disc(picture, sun, int(height * rng.uniform(0.08, 0.14)), (90, 220, 255))
    for layer, shade in ((0.55, 0.55), (0.7, 0.35)):
        colour = tuple(
            int(c * shade) for c in (rng.randint(60, 160), rng.randint(90, 170), 60)
        )
        picture_mountains(picture, rng, layer, colour)
    picture.setflags(write=False)
    return picture


def picture_mountains(
    picture: np.ndarray, rng: random.Random, level: float, colour: tuple[int, ...]
) -> None:
    """A jagged ridge filled down to the bottom edge, its peaks around ``level``."""
    height, width = picture.shape[:2]
    points = [(0, height)]
    for step in range(7):
        x = int(width * step / 6)
        y = int(height * (level + rng.uniform(-0.15, 0.12)))
        points.append((x, y))
    points.append((width, height))
    cv2.fillPoly(picture, [np.array(points, dtype=np.int32)], colour, cv2.LINE_AA)
