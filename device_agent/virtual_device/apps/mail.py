"""The mail app: an inbox list and a message view.

Opening a message marks it read; read marks live in the store and survive a
force-stop, like a mail server's would.
"""

import random
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import drawing, keycodes
from ..geometry import Rect
from ..input_log import Hit
from .base import APP_BAR_DP, App, Scroller, avatar

ROW_DP = 76
MESSAGE_COUNT = 30

_SENDERS = (
    "Alice Martin",
    "Bank Alerts",
    "Carlos Diaz",
    "Team Calendar",
    "Dana Kim",
    "Travel Deals",
    "Evan Price",
    "Newsletter",
)
_SUBJECTS = (
    ("Lunch on Friday?", "Are you free around noon? There is a new place"),
    ("Your statement is ready", "Your monthly statement can now be viewed"),
    ("Project update", "Attached are the notes from today's meeting"),
    ("Invitation: Weekly sync", "You have been invited to a recurring event"),
    ("Photos from the trip", "Finally sorted them, here are my favourites"),
    ("Flash sale ends tonight", "Up to 40% off selected destinations"),
    ("Quick question", "Do you still have the slides from the workshop"),
    ("This week in tech", "The stories you missed, in five minutes"),
)


@dataclass(frozen=True)
class MailMessage:
    index: int
    message_id: str
    sender: str
    subject: str
    snippet: str
    time_label: str
    initially_unread: bool


def make_message(index: int) -> MailMessage:
    rng = random.Random(index * 31337 + 5)
    subject, snippet = rng.choice(_SUBJECTS)
    hour = 11 - index // 3
    minute = 50 - (index % 3) * 17
    time_label = f"{hour}:{minute:02d} AM" if hour > 0 else f"Jan {28 - index % 27}"
    return MailMessage(
        index=index,
        message_id=f"msg-{index + 1:04d}",
        sender=rng.choice(_SENDERS),
        subject=subject,
        snippet=snippet,
        time_label=time_label,
        initially_unread=index % 3 != 2,
    )


class MailApp(App):
    """Inbox list; tapping a row opens the message, BACK returns to the list."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.store.setdefault("read", set())
        self._open: MailMessage | None = None
        self._list_top = self.px(APP_BAR_DP)
        self._row_px = self.px(ROW_DP)
        visible = self.size[1] - self._list_top
        self._scroller = Scroller(self._row_top_unscrolled(MESSAGE_COUNT) - visible)

    def render(self, canvas: np.ndarray) -> None:
        canvas[:] = drawing.WHITE
        if self._open is not None:
            self._draw_message(canvas, self._open)
            return
        for index in self._visible_indices():
            self._draw_row(canvas, make_message(index))
        self.app_bar(canvas, "Inbox")

    def tap(self, x: int, y: int) -> Hit:
        if self._open is not None:
            if self.back_arrow_rect().contains(x, y):
                return self._close_message()
            return Hit("mail_body", self._open.message_id, "ignored")
        if y < self._list_top:
            return Hit(target="app_bar", outcome="ignored")
        for index in self._visible_indices():
            if self._row_rect(index).contains(x, y):
                return self._open_message(make_message(index))
        return Hit(target="inbox", outcome="ignored")

    def scroll(self, dy: int) -> Hit:
        if self._open is not None:
            return Hit("mail_body", self._open.message_id, "ignored")
        moved = self._scroller.scroll(dy)
        outcome = "scrolled" if moved else ("at_top" if dy < 0 else "at_end")
        visible = [make_message(i).message_id for i in self._visible_indices()]
        details = {
            "moved_px": moved,
            "offset_px": self._scroller.offset,
            "visible": visible,
        }
        return Hit(target="inbox", outcome=outcome, details=details)

    def key(self, code: int) -> Hit | None:
        if code in (keycodes.PAGE_DOWN, keycodes.DPAD_DOWN):
            return self.scroll(self._row_px * 3)
        if code in (keycodes.PAGE_UP, keycodes.DPAD_UP):
            return self.scroll(-self._row_px * 3)
        return None

    def back(self) -> bool:
        if self._open is None:
            return False
        self._open = None
        return True

    def state(self) -> dict[str, Any]:
        visible = [make_message(i).message_id for i in self._visible_indices()]
        return {
            "open_message": self._open.message_id if self._open else None,
            "visible_messages": [] if self._open else visible,
            "read_messages": sorted(self.store["read"]),
            "offset_px": self._scroller.offset,
        }

    def _open_message(self, message: MailMessage) -> Hit:
        self._open = message
        self.store["read"].add(message.message_id)
        details = {"subject": message.subject, "sender": message.sender}
        return Hit("mail_message", message.message_id, "opened", details)

    def _close_message(self) -> Hit:
        message_id = self._open.message_id if self._open else None
        self._open = None
        return Hit("back_arrow", message_id, "closed")

    def _is_unread(self, message: MailMessage) -> bool:
        return message.initially_unread and message.message_id not in self.store["read"]

    def _row_top_unscrolled(self, index: int) -> int:
        return self._list_top + round(index * ROW_DP * self.geometry.scale)

    def _row_rect(self, index: int) -> Rect:
        top = self._row_top_unscrolled(index) - self._scroller.offset
        return Rect(0, top, self.size[0], self._row_px)

    def _visible_indices(self) -> list[int]:
        return [
            index
            for index in range(MESSAGE_COUNT)
            if self._row_rect(index).y2 > self._list_top
            and self._row_rect(index).y < self.size[1]
        ]

    def _draw_row(self, canvas: np.ndarray, message: MailMessage) -> None:
        row = self._row_rect(message.index)
        unread = self._is_unread(message)
        radius = self.px(20)
        center = (self.px(16) + radius, row.y + row.height // 2)
        avatar(canvas, center, radius, message.sender)
        left = self.px(72)
        width = self.size[0] - left - self.px(16)
        time_width = drawing.text_width(message.time_label, self.px(10))
        time_x = self.size[0] - self.px(16) - time_width
        grey = drawing.TEXT_SECONDARY
        self.write(canvas, message.time_label, (time_x, row.y + self.px(26)), 10, grey)
        sender_width = width - time_width - self.px(8)
        sender_origin = (left, row.y + self.px(26))
        self.write(
            canvas,
            message.sender,
            sender_origin,
            13,
            bold=unread,
            max_width=sender_width,
        )
        subject_origin = (left, row.y + self.px(46))
        self.write(
            canvas, message.subject, subject_origin, 11, bold=unread, max_width=width
        )
        snippet_origin = (left, row.y + self.px(64))
        self.write(canvas, message.snippet, snippet_origin, 11, grey, max_width=width)

    def _draw_message(self, canvas: np.ndarray, message: MailMessage) -> None:
        self.app_bar(canvas, "", back_arrow=True)
        left = self.px(16)
        width = self.size[0] - 2 * left
        top = self.px(APP_BAR_DP)
        self.write(
            canvas, message.subject, (left, top + self.px(44)), 18, max_width=width
        )
        radius = self.px(20)
        avatar(canvas, (left + radius, top + self.px(92)), radius, message.sender)
        name_x = left + self.px(52)
        self.write(canvas, message.sender, (name_x, top + self.px(90)), 13, bold=True)
        grey = drawing.TEXT_SECONDARY
        self.write(canvas, "to me", (name_x, top + self.px(110)), 11, grey)
        body = [message.snippet + ".", "", "Best regards,", message.sender.split()[0]]
        for line_no, line in enumerate(body):
            origin = (left, top + self.px(160 + 24 * line_no))
            self.write(canvas, line, origin, 13, max_width=width)
