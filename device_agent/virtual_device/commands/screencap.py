"""``screencap``: the screen as PNG (``-p`` or a .png file) or raw RGBA."""

from .. import capture
from ..errors import FileSystemError
from .base import CommandResult, Invocation, fail, ok

USAGE = "usage: screencap [-hp] [-d display-id] [FILENAME]"


def run_screencap(call: Invocation) -> CommandResult:
    args = list(call.args)
    png = False
    paths: list[str] = []
    while args:
        arg = args.pop(0)
        if arg == "-p":
            png = True
        elif arg == "-d":
            if not args:
                return fail(USAGE, 1)
            args.pop(0)
        elif arg.startswith("-"):
            return fail(USAGE, 1)
        else:
            paths.append(arg)
    if len(paths) > 1:
        return fail(USAGE, 1)
    frame = call.phone.render()
    if paths and paths[0].endswith(".png"):
        png = True
    data = capture.png_bytes(frame) if png else capture.raw_screencap(frame)
    if not paths:
        return ok(data)
    try:
        call.phone.files.write(paths[0], data)
    except FileSystemError as exc:
        return fail(f"Error opening file: {paths[0]} ({exc.reason})", 1)
    return CommandResult()
