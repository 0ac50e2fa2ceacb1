"""Parse command lines the way the phone's ``/system/bin/sh`` reads them.

The supported subset covers what adb clients send: words with single quotes,
double quotes and backslash escapes; ``;``, ``&&``, ``||`` and newlines
between pipelines; ``|`` between commands; redirections ``>``, ``>>``, ``<``,
``2>``, ``2>&1``; expansions ``$?``, ``$$``, ``$NAME`` and ``${NAME}``.
Expansions are kept as parts of a word and resolved when the command runs, so
``false; echo $?`` prints 1.

NOTE: there is no globbing, command substitution, subshell, background job
or control flow (if/for/while); such lines are read as plain words and
usually end in "not found".
"""

from dataclasses import dataclass, field

from .errors import VirtualDeviceError

SEQUENCE = ";"
AND = "&&"
OR = "||"


class ShellSyntaxError(VirtualDeviceError):
    """The command line cannot be parsed."""


@dataclass(frozen=True)
class Variable:
    name: str


@dataclass
class Word:
    """A word as a list of literal strings and variables; ``quoted`` keeps ''."""

    parts: list[str | Variable] = field(default_factory=list)
    quoted: bool = False

    def add(self, part: str | Variable) -> None:
        if isinstance(part, str) and self.parts and isinstance(self.parts[-1], str):
            self.parts[-1] += part
        else:
            self.parts.append(part)

    @property
    def empty(self) -> bool:
        return not self.parts and not self.quoted


@dataclass(frozen=True)
class Redirect:
    """``fd`` goes to ``target``: ``>`` replace, ``>>`` append, ``>&`` dup, ``<`` in."""

    fd: int
    op: str
    target: Word


@dataclass
class Command:
    words: list[Word] = field(default_factory=list)
    redirects: list[Redirect] = field(default_factory=list)


@dataclass
class Pipeline:
    commands: list[Command]


@dataclass(frozen=True)
class _Op:
    text: str


def parse(line: str) -> list[tuple[str, Pipeline]]:
    """Split a line into (connector, pipeline) pairs; raises ShellSyntaxError."""
    items: list[tuple[str, Pipeline]] = []
    connector = SEQUENCE
    commands: list[Command] = []
    current = Command()
    tokens = iter(_tokenize(line))
    for token in tokens:
        if isinstance(token, Word):
            current.words.append(token)
        elif token.text[0].isdigit():
            current.redirects.append(_redirect(token.text, next(tokens, None)))
        elif token.text == "|":
            commands.append(_finish(current))
            current = Command()
        else:
            if current.words or current.redirects or commands:
                commands.append(_finish(current))
                items.append((connector, Pipeline(commands)))
            elif token.text != SEQUENCE:
                raise ShellSyntaxError(f"syntax error: unexpected '{token.text}'")
            connector, commands, current = token.text, [], Command()
    if current.words or current.redirects or commands:
        commands.append(_finish(current))
        items.append((connector, Pipeline(commands)))
    elif connector in (AND, OR):
        raise ShellSyntaxError(f"syntax error: unexpected end after '{connector}'")
    return items


def _finish(command: Command) -> Command:
    if not command.words and not command.redirects:
        raise ShellSyntaxError("syntax error: empty command")
    return command


def _redirect(op: str, target: Word | _Op | None) -> Redirect:
    if not isinstance(target, Word):
        raise ShellSyntaxError("syntax error: redirection without a target")
    fd = int(op[0])
    return Redirect(fd, op[1:], target)


def _tokenize(line: str) -> list[Word | _Op]:
    return _Tokenizer(line).run()


class _Tokenizer:
    def __init__(self, line: str) -> None:
        self.line = line
        self.pos = 0
        self.tokens: list[Word | _Op] = []
        self.word = Word()

    def run(self) -> list[Word | _Op]:
        while self.pos < len(self.line):
            self._step(self.line[self.pos])
        self._end_word()
        return self.tokens

    def _step(self, char: str) -> None:
        if char in " \t":
            self._end_word()
            self.pos += 1
        elif char == "#" and self.word.empty:
            self.pos = len(self.line)
        elif char in ";\n&|<>":
            self._operator(char)
        elif char == "'":
            self._single_quoted()
        elif char == '"':
            self._double_quoted()
        elif char == "\\":
            self.word.add(self.line[self.pos + 1 : self.pos + 2])
            self.pos += 2
        elif char == "$":
            self._dollar()
        else:
            self.word.add(char)
            self.pos += 1

    def _operator(self, char: str) -> None:
        pair = self.line[self.pos : self.pos + 2]
        if char in "<>":
            self._redirection(pair)
            return
        self._end_word()
        if pair in (AND, OR):
            self.tokens.append(_Op(pair))
            self.pos += 2
            return
        # NOTE: a trailing '&' runs the command in the foreground, not as a job.
        self.tokens.append(_Op("|" if char == "|" else SEQUENCE))
        self.pos += 1

    def _redirection(self, pair: str) -> None:
        fd = "0" if pair[0] == "<" else "1"
        if self.word.parts in ([], ["1"], ["2"], ["0"]) and not self.word.quoted:
            fd = self.word.parts[0] if self.word.parts else fd
            self.word = Word()
        else:
            self._end_word()
        op = pair if pair in (">>", ">&") else pair[0]
        self.tokens.append(_Op(fd + op))
        self.pos += len(op)

    def _single_quoted(self) -> None:
        end = self.line.find("'", self.pos + 1)
        if end < 0:
            raise ShellSyntaxError("syntax error: unterminated quoted string")
        self.word.add(self.line[self.pos + 1 : end])
        self.word.quoted = True
        self.pos = end + 1

    def _double_quoted(self) -> None:
        self.word.quoted = True
        self.pos += 1
        while self.pos < len(self.line):
            char = self.line[self.pos]
            if char == '"':
                self.pos += 1
                return
            if char == "\\" and self.line[self.pos + 1 : self.pos + 2] in (
                '"',
                "\\",
                "$",
                "`",
            ):
                self.word.add(self.line[self.pos + 1])
                self.pos += 2
            elif char == "$":
                self._dollar()
            else:
                self.word.add(char)
                self.pos += 1
        raise ShellSyntaxError("syntax error: unterminated quoted string")

    def _dollar(self) -> None:
        rest = self.line[self.pos + 1 :]
        if rest[:1] in ("?", "$", "#"):
            self.word.add(Variable(rest[0]))
            self.pos += 2
        elif rest.startswith("{") and "}" in rest:
            name = rest[1 : rest.index("}")]
            self.word.add(Variable(name))
            self.pos += len(name) + 3
        else:
            name = _leading_name(rest)
            self.word.add(Variable(name) if name else "$")
            self.pos += 1 + len(name)

    def _end_word(self) -> None:
        if not self.word.empty:
            self.tokens.append(self.word)
        self.word = Word()


def _leading_name(text: str) -> str:
    length = 0
    while length < len(text) and (text[length].isalnum() or text[length] == "_"):
        length += 1
    if length and text[0].isdigit():
        return ""
    return text[:length]
