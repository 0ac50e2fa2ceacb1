"""``input``: taps, swipes, text and key events injected into the phone."""

from .. import keycodes
from .base import CommandResult, Invocation, fail, ok

SOURCES = frozenset(
    {
        "keyboard",
        "mouse",
        "joystick",
        "touchnavigation",
        "touchpad",
        "trackball",
        "dpad",
        "stylus",
        "gamepad",
        "touchscreen",
        "rotaryencoder",
    }
)
DEFAULT_SWIPE_MS = 300
USAGE = """Usage: input [<source>] [-d DISPLAY_ID] <command> [<arg>...]

The commands and default sources are:
      text <string> (Default: keyboard)
      keyevent [--longpress] <key code number or name> ... (Default: keyboard)
      tap <x> <y> (Default: touchscreen)
      swipe <x1> <y1> <x2> <y2> [duration(ms)] (Default: touchscreen)
      draganddrop <x1> <y1> <x2> <y2> [duration(ms)] (Default: touchscreen)
"""


def run_input(call: Invocation) -> CommandResult:
    args = _strip_source_and_display(list(call.args))
    if not args:
        return fail(USAGE.rstrip(), 1)
    handlers = {
        "tap": _tap,
        "swipe": _swipe,
        "draganddrop": _swipe,
        "text": _text,
        "keyevent": _keyevent,
    }
    handler = handlers.get(args[0])
    if handler is None:
        return fail(f"Error: Unknown command: {args[0]}\n{USAGE.rstrip()}", 1)
    return handler(call, args[1:])


def _strip_source_and_display(args: list[str]) -> list[str]:
    if args and args[0] in SOURCES:
        args = args[1:]
    if len(args) >= 2 and args[0] == "-d":
        args = args[2:]
    return args


def _numbers(values: list[str]) -> list[float] | None:
    try:
        return [float(value) for value in values]
    except ValueError:
        return None


def _tap(call: Invocation, args: list[str]) -> CommandResult:
    point = _numbers(args)
    if point is None or len(point) != 2:
        return _invalid("tap")
    call.phone.tap(point[0], point[1])
    return ok()


def _swipe(call: Invocation, args: list[str]) -> CommandResult:
    values = _numbers(args)
    if values is None or len(values) not in (4, 5):
        return _invalid("swipe")
    duration = int(values[4]) if len(values) == 5 else DEFAULT_SWIPE_MS
    call.phone.swipe(values[0], values[1], values[2], values[3], max(duration, 0))
    return ok()


def _text(call: Invocation, args: list[str]) -> CommandResult:
    if not args:
        return _invalid("text")
    call.phone.type_text(" ".join(args).replace("%s", " "))
    return ok()


def _keyevent(call: Invocation, args: list[str]) -> CommandResult:
    long = "--longpress" in args
    codes: list[int] = []
    for name in (arg for arg in args if not arg.startswith("--")):
        code = keycodes.parse_keycode(name)
        if code is None:
            return fail(f"Error: Unknown keycode: {name}", 1)
        codes.append(code)
    if not codes:
        return _invalid("keyevent")
    for code in codes:
        call.phone.key(code, long=long)
    return ok()


def _invalid(command: str) -> CommandResult:
    return fail(f"Error: Invalid arguments for command: {command}\n{USAGE.rstrip()}", 1)
