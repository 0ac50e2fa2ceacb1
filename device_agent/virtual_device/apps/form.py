"""The form app: three text fields and a submit button.

A tap on a field focuses it; ``input text`` and character keys then append to
it, DEL removes the last character, ENTER and TAB move to the next field.
Submitted forms are kept in the store.
"""

from typing import Any

import numpy as np

from .. import drawing, keycodes
from ..geometry import Rect
from ..input_log import Hit
from .base import App

FIELDS = (("name", "Full name"), ("email", "Email"), ("message", "Message"))
FIRST_FIELD_DP = 84
FIELD_STEP_DP = 88
FIELD_BOX_DP = 48
LABEL_GAP_DP = 24
MARGIN_DP = 16
VALUE_DP = 13


class FormApp(App):
    """A sign-up form whose fields receive typed text once focused."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.store.setdefault("submissions", [])
        self._values = {name: "" for name, _ in FIELDS}
        self._focus: str | None = None
        self._banner: str | None = None

    def render(self, canvas: np.ndarray) -> None:
        canvas[:] = drawing.WHITE
        self.app_bar(canvas, "Sign up")
        for name, label in FIELDS:
            self._draw_field(canvas, name, label)
        self._draw_submit(canvas)
        if self._banner:
            origin = (self.px(MARGIN_DP), self._submit_rect().y2 + self.px(40))
            drawing.text(canvas, self._banner, origin, self.px(14), (80, 160, 40), True)

    def tap(self, x: int, y: int) -> Hit:
        for name, _ in FIELDS:
            if self._box_rect(name).contains(x, y):
                self._focus = name
                return Hit("form_field", name, "focused")
        if self._submit_rect().contains(x, y):
            return self._submit()
        self._focus = None
        return Hit(target="form", outcome="unfocused")

    def type_text(self, text: str) -> Hit:
        if self._focus is None:
            return Hit(target="form", outcome="no_focused_field")
        self._values[self._focus] += text
        return Hit(
            "form_field", self._focus, "typed", {"value": self._values[self._focus]}
        )

    def key(self, code: int) -> Hit | None:
        if self._focus is None:
            return None
        if code == keycodes.DEL:
            self._values[self._focus] = self._values[self._focus][:-1]
            return Hit(
                "form_field",
                self._focus,
                "deleted",
                {"value": self._values[self._focus]},
            )
        if code in (keycodes.ENTER, keycodes.TAB):
            return self._focus_next()
        char = keycodes.char_for(code)
        return self.type_text(char) if char is not None else None

    def back(self) -> bool:
        if self._focus is None:
            return False
        # The first BACK hides the keyboard, as on a phone.
        self._focus = None
        return True

    def state(self) -> dict[str, Any]:
        return {
            "values": dict(self._values),
            "focused_field": self._focus,
            "submissions": [dict(s) for s in self.store["submissions"]],
        }

    def field_rect(self, name: str) -> Rect:
        """The text box of a field, in content coordinates."""
        return self._box_rect(name)

    def submit_rect(self) -> Rect:
        return self._submit_rect()

    def _focus_next(self) -> Hit:
        names = [name for name, _ in FIELDS]
        position = names.index(self._focus) if self._focus in names else -1
        self._focus = names[position + 1] if position + 1 < len(names) else None
        return Hit("form_field", self._focus, "focused" if self._focus else "unfocused")

    def _submit(self) -> Hit:
        values = dict(self._values)
        self.store["submissions"].append(values)
        self._focus = None
        self._banner = f"Thanks, {values['name'] or 'friend'}!"
        return Hit("submit_button", None, "submitted", {"values": values})

    def _label_top(self, name: str) -> int:
        index = [field for field, _ in FIELDS].index(name)
        return self.px(FIRST_FIELD_DP + index * FIELD_STEP_DP)

    def _box_rect(self, name: str) -> Rect:
        top = self._label_top(name) + self.px(LABEL_GAP_DP)
        left = self.px(MARGIN_DP)
        return Rect(left, top, self.size[0] - 2 * left, self.px(FIELD_BOX_DP))

    def _submit_rect(self) -> Rect:
        last = self._box_rect(FIELDS[-1][0])
        left = self.px(MARGIN_DP)
        return Rect(
            left, last.y2 + self.px(32), self.size[0] - 2 * left, self.px(FIELD_BOX_DP)
        )

    def _draw_field(self, canvas: np.ndarray, name: str, label: str) -> None:
        focused = name == self._focus
        colour = drawing.ACCENT if focused else drawing.TEXT_SECONDARY
        label_origin = (self.px(MARGIN_DP), self._label_top(name) + self.px(14))
        self.write(canvas, label, label_origin, 11, colour)
        box = self._box_rect(name)
        drawing.outline(canvas, box, colour, max(1, self.px(2 if focused else 1)))
        shown = self._visible_tail(self._values[name], box.width - self.px(24))
        baseline = box.y + box.height // 2 + self.px(VALUE_DP) // 2
        self.write(canvas, shown, (box.x + self.px(12), baseline), VALUE_DP)
        if focused:
            self._draw_cursor(canvas, box, shown)

    def _visible_tail(self, value: str, width: int) -> str:
        """The end of the value that fits the box, as a scrolled text field shows."""
        while value and drawing.text_width(value, self.px(VALUE_DP)) > width:
            value = value[1:]
        return value

    def _draw_cursor(self, canvas: np.ndarray, box: Rect, shown: str) -> None:
        x = box.x + self.px(13) + drawing.text_width(shown, self.px(VALUE_DP))
        height = box.height - self.px(24)
        cursor = Rect(x, box.y + self.px(12), max(1, self.px(1.5)), height)
        drawing.fill(canvas, cursor, drawing.ACCENT)

    def _draw_submit(self, canvas: np.ndarray) -> None:
        button = self._submit_rect()
        drawing.rounded(canvas, button, self.px(8), drawing.ACCENT)
        size = self.px(14)
        width = drawing.text_width("SUBMIT", size, bold=True)
        origin = (
            button.x + (button.width - width) // 2,
            button.y + button.height // 2 + size // 2,
        )
        drawing.text(canvas, "SUBMIT", origin, size, drawing.WHITE, bold=True)
