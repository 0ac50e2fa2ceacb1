"""Reading infra/template.yaml: its resources with intrinsics resolved.

CloudFormation's short-form tags (`!Ref`, `!Sub`, `!GetAtt`, ...) become
their long forms on load; `Resolver` then evaluates them against parameter
values and the attributes of resources created so far.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

TEMPLATE_PATH = Path(__file__).resolve().parents[1] / "template.yaml"
_SHORT_FORMS = ("Ref", "Sub", "GetAtt", "Join", "Not", "Equals", "If", "Select")


class TemplateError(ValueError):
    """The template uses something the local stack cannot evaluate."""


class _Loader(yaml.SafeLoader):
    pass


def _long_form(name: str) -> Callable:
    key = name if name == "Ref" else f"Fn::{name}"

    def construct(loader: yaml.Loader, node: yaml.Node) -> dict:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
            if name == "GetAtt":
                value = value.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return {key: value}

    return construct


for _name in _SHORT_FORMS:
    _Loader.add_constructor(f"!{_name}", _long_form(_name))


def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        return yaml.load(handle, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass


@dataclass
class Resolver:
    """Evaluates intrinsics against parameters and created resources."""

    parameters: dict[str, str]
    refs: dict[str, str]
    attributes: dict[tuple[str, str], str]

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            handler = _INTRINSICS.get(key)
            if handler is not None:
                return handler(self, argument)
        return {k: self.resolve(v) for k, v in value.items()}

    def ref(self, name: str) -> str:
        if name in self.parameters:
            return self.parameters[name]
        if name in self.refs:
            return self.refs[name]
        raise TemplateError(f"!Ref {name} names nothing created yet")

    def sub(self, argument: Any) -> str:
        text, extra = (argument, {}) if isinstance(argument, str) else argument
        extra = {k: self.resolve(v) for k, v in extra.items()}

        def replace(match: re.Match) -> str:
            name = match.group(1)
            if name in extra:
                return str(extra[name])
            if "." in name:
                logical, attribute = name.split(".", 1)
                return self.attributes[(logical, attribute)]
            return self.ref(name)

        return re.sub(r"\$\{([^}!]+)\}", replace, text)

    def get_att(self, argument: list[str]) -> str:
        logical, attribute = argument
        try:
            return self.attributes[(logical, attribute)]
        except KeyError as exc:
            raise TemplateError(f"!GetAtt {logical}.{attribute} is unknown") from exc


_INTRINSICS: dict[str, Callable[[Resolver, Any], Any]] = {
    "Ref": lambda r, a: r.ref(a),
    "Fn::Sub": lambda r, a: r.sub(a),
    "Fn::GetAtt": lambda r, a: r.get_att(a),
    "Fn::Join": lambda r, a: a[0].join(str(r.resolve(v)) for v in a[1]),
    "Fn::Equals": lambda r, a: r.resolve(a[0]) == r.resolve(a[1]),
    "Fn::Not": lambda r, a: not r.resolve(a[0]),
}


def references(value: Any) -> set[str]:
    """The logical ids a property value refers to."""
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= references(item)
    elif isinstance(value, dict):
        for key, argument in value.items():
            if key == "Ref" and isinstance(argument, str):
                found.add(argument)
            elif key == "Fn::GetAtt":
                found.add(argument[0])
            elif key == "Fn::Sub":
                text = argument if isinstance(argument, str) else argument[0]
                found |= {m.split(".")[0] for m in re.findall(r"\$\{([^}!]+)\}", text)}
                found |= references(argument)
            else:
                found |= references(argument)
    return found
