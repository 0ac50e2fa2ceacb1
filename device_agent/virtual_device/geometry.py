"""Screen geometry: dp-to-pixel scaling and rectangles.

Every layout is written in dp on a 360 dp wide screen and scaled by the real
width, so the same content looks the same at 720, 1080 or 1440 px wide.
"""

from dataclasses import dataclass

from .config import BASE_WIDTH_DP

STATUS_BAR_DP = 24
NAV_BAR_DP = 48


@dataclass(frozen=True)
class Rect:
    """An axis-aligned pixel rectangle; ``x2``/``y2`` are exclusive."""

    x: int
    y: int
    width: int
    height: int

    @property
    def x2(self) -> int:
        return self.x + self.width

    @property
    def y2(self) -> int:
        return self.y + self.height

    @property
    def center(self) -> tuple[int, int]:
        return self.x + self.width // 2, self.y + self.height // 2

    def contains(self, x: float, y: float) -> bool:
        return self.x <= x < self.x2 and self.y <= y < self.y2

    def shifted(self, dx: int = 0, dy: int = 0) -> "Rect":
        return Rect(self.x + dx, self.y + dy, self.width, self.height)


@dataclass(frozen=True)
class Geometry:
    """Pixel size of the screen and of its fixed bars."""

    width: int
    height: int

    @property
    def scale(self) -> float:
        return self.width / BASE_WIDTH_DP

    def px(self, dp: float) -> int:
        return round(dp * self.scale)

    @property
    def status_bar(self) -> Rect:
        return Rect(0, 0, self.width, self.px(STATUS_BAR_DP))

    @property
    def nav_bar(self) -> Rect:
        height = self.px(NAV_BAR_DP)
        return Rect(0, self.height - height, self.width, height)

    @property
    def content(self) -> Rect:
        """The app area between the status bar and the navigation bar."""
        top = self.status_bar.y2
        return Rect(0, top, self.width, self.nav_bar.y - top)
