"""``tapcraft-virtual``: lets tests in another process inspect the phone.

``tapcraft-virtual inputs`` prints the input log as a JSON array,
``clear-inputs`` empties it, ``state`` prints the phone state as JSON and
``like-icon [--liked]`` prints the like button PNG at this screen's density.
"""

import json

from ..icons import like_icon_png
from .base import CommandResult, Invocation, fail, ok

USAGE = "usage: tapcraft-virtual [inputs|clear-inputs|state|like-icon [--liked]]"


def run_tapcraft(call: Invocation) -> CommandResult:
    if not call.args:
        return fail(USAGE, 1)
    phone = call.phone
    verb = call.args[0]
    if verb == "inputs":
        events = [event.to_dict() for event in phone.inputs.events()]
        return ok(json.dumps(events) + "\n")
    if verb == "clear-inputs":
        phone.inputs.clear()
        return ok()
    if verb == "state":
        return ok(json.dumps(phone.state()) + "\n")
    if verb == "like-icon":
        return ok(
            like_icon_png(phone.config.density_scale, liked="--liked" in call.args)
        )
    return fail(USAGE, 1)
