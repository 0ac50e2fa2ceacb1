"""Condition expressions of `condition` nodes, parsed without `eval`.

The grammar is small on purpose:

    expression := comparison (("and" | "or") comparison)*
    comparison := operand [("==" | "!=" | "<" | "<=" | ">" | ">=") operand]
    operand    := variable name | number | 'text' | "text" | true | false

`and` binds tighter than `or`. The API validates expressions with `parse` and
the device agent evaluates the same tree with `evaluate`.
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass
from typing import Any

MAX_LENGTH = 500

_TOKEN = re.compile(
    r"\s*(?:(?P<number>-?\d+(?:\.\d+)?)"
    r"|(?P<string>'[^']*'|\"[^\"]*\")"
    r"|(?P<op>==|!=|<=|>=|<|>)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*))"
)
_COMPARATORS = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_LITERALS = {"true": True, "false": False}


class ExpressionError(ValueError):
    """The expression does not follow the grammar."""


@dataclass(frozen=True)
class Variable:
    name: str


@dataclass(frozen=True)
class Comparison:
    left: Any
    op: str | None
    right: Any


@dataclass(frozen=True)
class Junction:
    op: str
    parts: tuple


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    while position < len(text.rstrip()):
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:
            raise ExpressionError(f"unexpected text at position {position}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


def parse(text: str) -> Junction:
    """Parse a condition; raises ExpressionError naming what is wrong."""
    if not text.strip():
        raise ExpressionError("the expression is empty")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"the expression is longer than {MAX_LENGTH} characters")
    tokens = _tokens(text)
    alternatives, conjunction, position = [], [], 0
    while True:
        comparison, position = _comparison(tokens, position)
        conjunction.append(comparison)
        if position == len(tokens):
            break
        kind, word = tokens[position]
        if kind != "name" or word not in ("and", "or"):
            raise ExpressionError(f"expected 'and' or 'or', found {word!r}")
        if word == "or":
            alternatives.append(Junction("and", tuple(conjunction)))
            conjunction = []
        position += 1
    alternatives.append(Junction("and", tuple(conjunction)))
    return Junction("or", tuple(alternatives))


def _comparison(tokens: list, position: int) -> tuple[Comparison, int]:
    left, position = _operand(tokens, position)
    if position < len(tokens) and tokens[position][0] == "op":
        op = tokens[position][1]
        right, position = _operand(tokens, position + 1)
        return Comparison(left, op, right), position
    return Comparison(left, None, None), position


def _operand(tokens: list, position: int) -> tuple[Any, int]:
    if position >= len(tokens):
        raise ExpressionError("the expression ends too early")
    kind, text = tokens[position]
    if kind == "number":
        return (float(text) if "." in text else int(text)), position + 1
    if kind == "string":
        return text[1:-1], position + 1
    if kind == "name" and text in ("and", "or"):
        raise ExpressionError(f"expected a value, found {text!r}")
    if kind == "name":
        return _LITERALS.get(text, Variable(text)), position + 1
    raise ExpressionError(f"expected a value, found {text!r}")


def variables(tree: Junction) -> set[str]:
    """The variable names an expression reads."""
    names = set()
    for conjunction in tree.parts:
        for comparison in conjunction.parts:
            for side in (comparison.left, comparison.right):
                if isinstance(side, Variable):
                    names.add(side.name)
    return names


def evaluate(tree: Junction, values: dict[str, Any]) -> bool:
    """Evaluate against variable values; raises ExpressionError on a type clash."""
    return any(
        all(_compare(comparison, values) for comparison in conjunction.parts)
        for conjunction in tree.parts
    )


def _compare(comparison: Comparison, values: dict[str, Any]) -> bool:
    left = _value(comparison.left, values)
    if comparison.op is None:
        return bool(left)
    right = _value(comparison.right, values)
    try:
        return bool(_COMPARATORS[comparison.op](left, right))
    except TypeError as exc:
        raise ExpressionError(
            f"cannot compare {type(left).__name__} with {type(right).__name__}"
        ) from exc


def _value(operand: Any, values: dict[str, Any]) -> Any:
    if isinstance(operand, Variable):
        if operand.name not in values:
            raise ExpressionError(f"unknown variable {operand.name!r}")
        return values[operand.name]
    return operand
