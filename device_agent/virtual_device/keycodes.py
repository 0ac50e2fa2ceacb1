"""Android key codes understood by ``input keyevent``."""

import string

HOME = 3
BACK = 4
DPAD_UP = 19
DPAD_DOWN = 20
VOLUME_UP = 24
VOLUME_DOWN = 25
POWER = 26
TAB = 61
SPACE = 62
ENTER = 66
DEL = 67
MENU = 82
PAGE_UP = 92
PAGE_DOWN = 93
ESCAPE = 111
FORWARD_DEL = 112
VOLUME_MUTE = 164
APP_SWITCH = 187
SLEEP = 223
WAKEUP = 224

_NAMED = {
    "UNKNOWN": 0,
    "SOFT_LEFT": 1,
    "SOFT_RIGHT": 2,
    "HOME": HOME,
    "BACK": BACK,
    "CALL": 5,
    "ENDCALL": 6,
    "STAR": 17,
    "POUND": 18,
    "DPAD_UP": DPAD_UP,
    "DPAD_DOWN": DPAD_DOWN,
    "DPAD_LEFT": 21,
    "DPAD_RIGHT": 22,
    "DPAD_CENTER": 23,
    "VOLUME_UP": VOLUME_UP,
    "VOLUME_DOWN": VOLUME_DOWN,
    "POWER": POWER,
    "CAMERA": 27,
    "CLEAR": 28,
    "COMMA": 55,
    "PERIOD": 56,
    "TAB": TAB,
    "SPACE": SPACE,
    "ENTER": ENTER,
    "DEL": DEL,
    "AT": 77,
    "MENU": MENU,
    "SEARCH": 84,
    "MEDIA_PLAY_PAUSE": 85,
    "PAGE_UP": PAGE_UP,
    "PAGE_DOWN": PAGE_DOWN,
    "ESCAPE": ESCAPE,
    "FORWARD_DEL": FORWARD_DEL,
    "MOVE_HOME": 122,
    "MOVE_END": 123,
    "VOLUME_MUTE": VOLUME_MUTE,
    "APP_SWITCH": APP_SWITCH,
    "SLEEP": SLEEP,
    "WAKEUP": WAKEUP,
}
_NAMED.update({str(digit): 7 + digit for digit in range(10)})
_NAMED.update({letter: 29 + i for i, letter in enumerate(string.ascii_uppercase)})
_NAMES = {code: name for name, code in _NAMED.items()}

_CHARS = {SPACE: " ", 55: ",", 56: ".", 77: "@", 17: "*", 18: "#"}
_CHARS.update({7 + digit: str(digit) for digit in range(10)})
_CHARS.update({29 + i: letter for i, letter in enumerate(string.ascii_lowercase)})


def parse_keycode(token: str) -> int | None:
    """Return the code of ``3``, ``HOME`` or ``KEYCODE_HOME``; None if unknown."""
    if token.isdigit():
        return int(token)
    name = token.upper().removeprefix("KEYCODE_")
    return _NAMED.get(name)


def keycode_name(code: int) -> str:
    return "KEYCODE_" + _NAMES.get(code, str(code))


def char_for(code: int) -> str | None:
    """The character a key types into a focused text field, if any."""
    return _CHARS.get(code)
