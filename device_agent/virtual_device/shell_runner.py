"""Run parsed command lines against the virtual phone.

A line runs in three stages:

1. Parse: ``shell_parser`` turns the text into pipelines joined by ``;``,
   ``&&`` and ``||``.
2. Execute: each pipeline whose connector allows it runs its commands in
   order, the stdout of one becoming the stdin of the next; words are expanded
   just before their command runs, so ``$?`` sees the previous status.
3. Route: redirections send each command's stdout and stderr to the next
   command, the terminal, a file or ``/dev/null``.

Output is returned as ordered (fd, bytes) chunks so that the caller can frame
them for the raw shell or for shell protocol v2.
"""

import logging
import posixpath
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .commands import CommandResult, Invocation, lookup
from .errors import FileSystemError
from .shell_parser import (
    AND,
    OR,
    Command,
    Pipeline,
    ShellSyntaxError,
    Variable,
    Word,
    parse,
)

if TYPE_CHECKING:
    from .phone import Phone

logger = logging.getLogger(__name__)

STDOUT = 1
STDERR = 2
SHELL_PID = 6211
_NULL = "/dev/null"
# Redirect targets that are not files; the NUL byte keeps them apart from paths.
_PIPE = "\0pipe"
_TERMINAL_OUT = "\0out"
_TERMINAL_ERR = "\0err"


@dataclass
class ShellOutput:
    """Chunks written to the terminal and the exit status of the last pipeline."""

    chunks: list[tuple[int, bytes]] = field(default_factory=list)
    exit_code: int = 0

    def stdout(self) -> bytes:
        return b"".join(data for fd, data in self.chunks if fd == STDOUT)

    def stderr(self) -> bytes:
        return b"".join(data for fd, data in self.chunks if fd == STDERR)

    def combined(self) -> bytes:
        return b"".join(data for _, data in self.chunks)


@dataclass
class _Targets:
    """Where fd 1 and fd 2 of a command go.

    Each is the terminal's stdout or stderr, the next command's stdin (the
    pipe), or a file path (/dev/null included).
    """

    out: str = _PIPE
    err: str = _TERMINAL_ERR
    stdin_path: str | None = None


class ShellRunner:
    """A shell session; it keeps ``$?`` between lines, like an interactive shell."""

    def __init__(self, phone: "Phone", env: dict[str, str]) -> None:
        self._phone = phone
        self._env = dict(env)
        self.status = 0

    def run(self, line: str) -> ShellOutput:
        output = ShellOutput()
        try:
            items = parse(line)
        except ShellSyntaxError as exc:
            self.status = 2
            output.chunks.append((STDERR, f"/system/bin/sh: {exc}\n".encode()))
            output.exit_code = 2
            return output
        for connector, pipeline in items:
            if (connector == AND and self.status != 0) or (
                connector == OR and self.status == 0
            ):
                continue
            self.status = self._run_pipeline(pipeline, output)
        output.exit_code = self.status
        return output

    def _run_pipeline(self, pipeline: Pipeline, output: ShellOutput) -> int:
        piped = b""
        status = 0
        last = len(pipeline.commands) - 1
        for position, command in enumerate(pipeline.commands):
            piped, status = self._run_command(command, piped, output, position == last)
        return status

    def _run_command(
        self, command: Command, stdin: bytes, output: ShellOutput, last: bool
    ) -> tuple[bytes, int]:
        """Run one command; return what it pipes to the next one and its status."""
        words = [
            w for w in (self._expand(word) for word in command.words) if w is not None
        ]
        try:
            targets = self._targets(command, last)
            if targets.stdin_path is not None:
                stdin = self._read_input(targets.stdin_path)
        except FileSystemError as exc:
            output.chunks.append((STDERR, f"/system/bin/sh: {exc}\n".encode()))
            return b"", 1
        result = self._invoke(words, stdin) if words else CommandResult()
        piped = self._route(result.stdout, targets.out, output)
        piped += self._route(result.stderr, targets.err, output)
        return piped, result.exit_code

    def _invoke(self, words: list[str], stdin: bytes) -> CommandResult:
        name = posixpath.basename(words[0])
        command = lookup(name)
        if command is None:
            message = f"/system/bin/sh: {words[0]}: inaccessible or not found\n"
            return CommandResult(stderr=message.encode(), exit_code=127)
        invocation = Invocation(name, words[1:], self._phone, stdin, dict(self._env))
        try:
            return command(invocation)
        except Exception:
            # A bug in a simulated command must not kill the shell session; the
            # client sees a failing command, the log keeps the traceback.
            logger.exception("command failed", extra={"command": name})
            return CommandResult(
                stderr=f"{name}: internal error\n".encode(), exit_code=1
            )

    def _targets(self, command: Command, last: bool) -> _Targets:
        targets = _Targets(out=_TERMINAL_OUT if last else _PIPE)
        for redirect in command.redirects:
            target = self._expand(redirect.target) or ""
            if redirect.op == "<":
                targets.stdin_path = target
            elif redirect.op == ">&":
                value = {"1": targets.out, "2": targets.err}.get(target, targets.err)
                self._assign(targets, redirect.fd, value)
            else:
                self._assign(targets, redirect.fd, target)
                self._open_for_write(target, append=redirect.op == ">>")
        return targets

    def _assign(self, targets: _Targets, fd: int, value: str) -> None:
        if fd == STDERR:
            targets.err = value
        else:
            targets.out = value

    def _open_for_write(self, path: str, append: bool) -> None:
        if path == _NULL:
            return
        files = self._phone.files
        if not append or files.stat(path) is None:
            files.write(path, b"")

    def _route(self, data: bytes, target: str, output: ShellOutput) -> bytes:
        if not data or target == _NULL:
            return b""
        if target == _PIPE:
            return data
        if target in (_TERMINAL_OUT, _TERMINAL_ERR):
            output.chunks.append((STDOUT if target == _TERMINAL_OUT else STDERR, data))
            return b""
        self._phone.files.append(target, data)
        return b""

    def _read_input(self, path: str) -> bytes:
        if path == _NULL:
            return b""
        return self._phone.files.read(path)

    def _expand(self, word: Word) -> str | None:
        text = "".join(
            part if isinstance(part, str) else self._variable(part)
            for part in word.parts
        )
        if not text and not word.quoted:
            return None
        return text

    def _variable(self, variable: Variable) -> str:
        if variable.name == "?":
            return str(self.status)
        if variable.name == "$":
            return str(SHELL_PID)
        if variable.name == "#":
            return "0"
        return self._env.get(variable.name, "")
