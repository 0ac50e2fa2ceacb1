"""Condition expressions are parsed and evaluated without eval."""

from __future__ import annotations

import pytest

from chalicelib import expressions


@pytest.mark.parametrize(
    ("text", "values", "expected"),
    [
        ("like_count < max_likes", {"like_count": 3, "max_likes": 10}, True),
        ("like_count >= 10", {"like_count": 10}, True),
        ("name == 'bob'", {"name": "bob"}, True),
        ('name != "bob"', {"name": "bob"}, False),
        ("a < 1 or b < 1 and c", {"a": 5, "b": 0, "c": False}, False),
        ("a < 1 or b < 1 and c", {"a": 0, "b": 9, "c": False}, True),
        ("done", {"done": True}, True),
        ("ratio > 0.5", {"ratio": 0.75}, True),
        ("flag == false", {"flag": False}, True),
    ],
)
def test_evaluates(text, values, expected):
    assert expressions.evaluate(expressions.parse(text), values) is expected


@pytest.mark.parametrize(
    "text",
    ["", "a <", "__import__('os').system('x')", "a < < b", "a b", "and", "a < 1 or"],
)
def test_refuses_what_the_grammar_does_not_allow(text):
    with pytest.raises(expressions.ExpressionError):
        expressions.parse(text)


def test_variables_lists_names_read():
    tree = expressions.parse("a < b and c == 'd' or e")

    assert expressions.variables(tree) == {"a", "b", "c", "e"}


def test_comparing_text_with_a_number_is_an_error_not_a_crash():
    with pytest.raises(expressions.ExpressionError):
        expressions.evaluate(expressions.parse("a < 3"), {"a": "x"})
