"""Text filters for pipelines: grep, head, tail, wc."""

import re

from .base import CommandResult, Invocation, fail, ok


def run_grep(call: Invocation) -> CommandResult:
    flags = "".join(
        arg[1:] for arg in call.args if arg.startswith("-") and len(arg) > 1
    )
    words = [arg for arg in call.args if not arg.startswith("-")]
    if not words:
        return fail("usage: grep [-iveFco] PATTERN", 2)
    pattern = re.escape(words[0]) if "F" in flags else words[0]
    try:
        regex = re.compile(pattern, re.IGNORECASE if "i" in flags else 0)
    except re.error:
        return fail(f"grep: bad regex '{words[0]}'", 2)
    rows = call.stdin.decode("utf-8", "replace").splitlines()
    matches = [row for row in rows if bool(regex.search(row)) != ("v" in flags)]
    if "c" in flags:
        return CommandResult(
            f"{len(matches)}\n".encode(), exit_code=0 if matches else 1
        )
    if "o" in flags and "v" not in flags:
        matches = [found.group(0) for row in matches for found in regex.finditer(row)]
    output = "".join(row + "\n" for row in matches)
    return CommandResult(output.encode(), exit_code=0 if matches else 1)


def _count(args: list[str], default: int) -> int:
    """The line count of ``-n N``, ``-n +N`` or ``-N``."""
    for position, arg in enumerate(args):
        if arg == "-n":
            following = args[position + 1 : position + 2]
            value = following[0].lstrip("+-") if following else ""
        elif arg.startswith("-"):
            value = arg[1:]
        else:
            continue
        if value.isdigit():
            return int(value)
    return default


def run_head(call: Invocation) -> CommandResult:
    rows = call.stdin.splitlines(keepends=True)
    return ok(b"".join(rows[: _count(call.args, 10)]))


def run_tail(call: Invocation) -> CommandResult:
    rows = call.stdin.splitlines(keepends=True)
    count = _count(call.args, 10)
    return ok(b"".join(rows[-count:] if count else []))


def run_wc(call: Invocation) -> CommandResult:
    data = call.stdin
    newlines = data.count(b"\n")
    if "-l" in call.args:
        return ok(f"{newlines}\n")
    if "-c" in call.args:
        return ok(f"{len(data)}\n")
    return ok(f"{newlines} {len(data.split())} {len(data)}\n")
