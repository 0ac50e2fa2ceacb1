"""A placeholder screen for installed apps that are not simulated in detail."""

import numpy as np

from .. import drawing
from .base import App


class GenericApp(App):
    """Shows the app's name; every input on it is recorded as ignored."""

    def render(self, canvas: np.ndarray) -> None:
        canvas[:] = drawing.WHITE
        self.app_bar(canvas, self.spec.label)
        size = self.px(14)
        message = f"{self.spec.label} is not simulated"
        x = (self.size[0] - drawing.text_width(message, size)) // 2
        drawing.text(
            canvas,
            message,
            (max(0, x), self.size[1] // 2),
            size,
            drawing.TEXT_SECONDARY,
        )
