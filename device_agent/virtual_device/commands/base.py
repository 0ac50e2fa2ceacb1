"""The contract between the shell and the commands it runs."""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..phone import Phone


@dataclass(frozen=True)
class CommandResult:
    """What a command printed and its exit status."""

    stdout: bytes = b""
    stderr: bytes = b""
    exit_code: int = 0


@dataclass(frozen=True)
class Invocation:
    """One run of a command: its name, arguments, input and the phone."""

    name: str
    args: list[str]
    phone: "Phone"
    stdin: bytes = b""
    env: dict[str, str] = field(default_factory=dict)


Command = Callable[[Invocation], CommandResult]


def ok(text: str | bytes = "") -> CommandResult:
    """Exit 0 with ``text`` on stdout."""
    return CommandResult(stdout=_bytes(text))


def fail(message: str, exit_code: int = 1, stdout: str | bytes = "") -> CommandResult:
    """Exit non-zero with ``message`` on stderr (a newline is added)."""
    return CommandResult(_bytes(stdout), (message + "\n").encode(), exit_code)


def lines(rows: list[str]) -> str:
    """Join output rows the way commands print them, newline-terminated."""
    return "".join(row + "\n" for row in rows)


def _bytes(text: str | bytes) -> bytes:
    return text if isinstance(text, bytes) else text.encode()
