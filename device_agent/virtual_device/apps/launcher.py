"""The home screen: a clock and a grid of the installed apps' icons."""

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .. import drawing
from ..config import AppSpec
from ..geometry import Rect
from ..input_log import Hit
from .base import App, colour_for

COLUMNS = 4
GRID_TOP_DP = 230
CELL_HEIGHT_DP = 100
ICON_RADIUS_DP = 28
WALLPAPER_TOP = (90, 50, 20)
WALLPAPER_BOTTOM = (150, 60, 110)


class LauncherApp(App):
    """Home screen; tapping an icon asks the phone to launch that app."""

    dark_status_bar = True

    def __init__(
        self,
        *args: Any,
        icons: Callable[[], Sequence[AppSpec]],
        launch: Callable[[str], bool],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._icons = icons
        self._launch = launch

    def render(self, canvas: np.ndarray) -> None:
        width, height = self.size
        canvas[:] = drawing.vertical_gradient(
            width, height, WALLPAPER_TOP, WALLPAPER_BOTTOM
        )
        self._draw_clock(canvas)
        for position, app in enumerate(self._icons()):
            self._draw_icon(canvas, position, app)
        self._draw_search_bar(canvas)

    def tap(self, x: int, y: int) -> Hit:
        for position, app in enumerate(self._icons()):
            if self._cell_rect(position).contains(x, y):
                launched = self._launch(app.package)
                outcome = "launched" if launched else "launch_failed"
                return Hit("app_icon", app.package, outcome, {"label": app.label})
        return Hit(target="home_screen", outcome="ignored")

    def icon_rect(self, package: str) -> Rect | None:
        """The touch area of an app's icon, in content coordinates."""
        for position, app in enumerate(self._icons()):
            if app.package == package:
                return self._cell_rect(position)
        return None

    def _cell_rect(self, position: int) -> Rect:
        row, column = divmod(position, COLUMNS)
        cell_width = self.size[0] // COLUMNS
        top = self.px(GRID_TOP_DP + row * CELL_HEIGHT_DP)
        return Rect(column * cell_width, top, cell_width, self.px(CELL_HEIGHT_DP))

    def _draw_icon(self, canvas: np.ndarray, position: int, app: AppSpec) -> None:
        cell = self._cell_rect(position)
        radius = self.px(ICON_RADIUS_DP)
        center = (cell.center[0], cell.y + self.px(8) + radius)
        drawing.disc(canvas, center, radius, colour_for(app.package))
        glyph_size = self.px(22)
        glyph = app.label[:1].upper()
        glyph_x = center[0] - drawing.text_width(glyph, glyph_size, True) // 2
        drawing.text(
            canvas,
            glyph,
            (glyph_x, center[1] + glyph_size // 2),
            glyph_size,
            drawing.WHITE,
            True,
        )
        label_size = self.px(10)
        label = drawing.fit(app.label, label_size, cell.width - self.px(8))
        label_x = center[0] - drawing.text_width(label, label_size) // 2
        label_y = center[1] + radius + self.px(20)
        drawing.text(canvas, label, (label_x, label_y), label_size, drawing.WHITE)

    def _draw_clock(self, canvas: np.ndarray) -> None:
        # The clock is frozen so that screenshots of the same state are identical.
        size = self.px(48)
        clock_x = (self.size[0] - drawing.text_width("12:00", size)) // 2
        drawing.text(canvas, "12:00", (clock_x, self.px(110)), size, drawing.WHITE)
        date = "Monday, January 1"
        date_size = self.px(12)
        date_x = (self.size[0] - drawing.text_width(date, date_size)) // 2
        drawing.text(canvas, date, (date_x, self.px(140)), date_size, drawing.WHITE)

    def _draw_search_bar(self, canvas: np.ndarray) -> None:
        height = self.px(48)
        bar = Rect(
            self.px(24),
            self.size[1] - height - self.px(24),
            self.size[0] - self.px(48),
            height,
        )
        drawing.rounded(canvas, bar, height // 2, (245, 240, 240))
        drawing.text(
            canvas,
            "Search",
            (bar.x + self.px(20), bar.y + height // 2 + self.px(6)),
            self.px(13),
            drawing.TEXT_SECONDARY,
        )
