"""The node types of a script and the validation of a script's graph.

This module is the one definition of what a script may contain: the API
validates scripts with it and the device agent runs them by it. It has no
AWS dependencies. Validation goes through four stages:

1. shape: nodes, connections and variables are lists and maps of the right
   sizes, with unique, well-formed node ids;
2. config: each node's config against its type's fields, defaults filled in;
3. wiring: connections join existing nodes through branches their types
   offer, and exactly one start node reaches every node;
4. loops: every cycle holds a `condition` on a counter that the cycle
   increments, with a way out of the cycle.

Each stage raises ValidationError naming the node and the field at fault.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from chalicelib import expressions
from chalicelib.errors import ValidationError

MAX_NODES = 200
MAX_CONNECTIONS = 400
MAX_VARIABLES = 50
MAX_TEXT_LENGTH = 1000

NODE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
PACKAGE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)+$")
ASSET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}\.(png|jpg|jpeg)$", re.I)
KEY_NAME = re.compile(r"^(KEYCODE_[A-Z0-9_]{1,40}|[0-9]{1,3})$")


@dataclass(frozen=True)
class Field:
    kind: str
    required: bool = False
    default: Any = None
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    pattern: re.Pattern | None = None
    description: str = ""


@dataclass(frozen=True)
class NodeType:
    name: str
    description: str
    fields: dict[str, Field]
    branches: tuple[str, ...] = ()
    terminal: bool = False


def _ms(default: int | None, maximum: int, required: bool = False) -> Field:
    return Field("integer", required, default, 0, maximum, description="milliseconds")


def _coordinate() -> Field:
    return Field("integer", minimum=0, maximum=10000, description="screen pixels")


NODE_TYPES: dict[str, NodeType] = {
    t.name: t
    for t in (
        NodeType(
            "app_launch",
            "Start an app and wait for it to settle.",
            {
                "package_name": Field("string", True, pattern=PACKAGE_NAME),
                "wait_time": _ms(2000, 60000),
            },
        ),
        NodeType(
            "image_detection",
            "Look for an asset image on screen until found or timed out.",
            {
                "target_image": Field("string", True, pattern=ASSET_NAME),
                "threshold": Field("number", default=0.8, minimum=0.1, maximum=1.0),
                "timeout": _ms(5000, 120000),
                "region": Field("region"),
            },
            branches=("found", "not_found"),
        ),
        NodeType(
            "click",
            "Tap the detected element or given coordinates.",
            {
                "target": Field(
                    "string",
                    default="detected_element",
                    choices=("detected_element", "coordinates"),
                ),
                "x": _coordinate(),
                "y": _coordinate(),
                "duration": _ms(100, 10000),
            },
        ),
        NodeType(
            "long_press",
            "Press and hold the detected element or given coordinates.",
            {
                "target": Field(
                    "string",
                    default="detected_element",
                    choices=("detected_element", "coordinates"),
                ),
                "x": _coordinate(),
                "y": _coordinate(),
                "duration": _ms(1000, 10000),
            },
        ),
        NodeType(
            "swipe",
            "Swipe in a direction across the screen, or between two points.",
            {
                "direction": Field("string", choices=("up", "down", "left", "right")),
                "x1": _coordinate(),
                "y1": _coordinate(),
                "x2": _coordinate(),
                "y2": _coordinate(),
                "duration": _ms(300, 10000),
            },
        ),
        NodeType(
            "type_text",
            "Type text into the focused field; {{name}} inserts a variable.",
            {"text": Field("string", True)},
        ),
        NodeType(
            "key_event",
            "Press a key, by Android key code name or number.",
            {"key": Field("string", True, pattern=KEY_NAME)},
        ),
        NodeType("wait", "Pause.", {"duration": _ms(None, 600000, required=True)}),
        NodeType(
            "set_variable",
            "Set a declared variable to a value.",
            {
                "name": Field("string", True, pattern=IDENTIFIER),
                "value": Field("scalar", True),
            },
        ),
        NodeType(
            "increment_variable",
            "Add to a declared numeric variable.",
            {
                "name": Field("string", True, pattern=IDENTIFIER),
                "by": Field("number", default=1, minimum=-1e9, maximum=1e9),
            },
        ),
        NodeType(
            "condition",
            "Branch on an expression over variables.",
            {"expression": Field("string", True)},
            branches=("true", "false"),
        ),
        NodeType(
            "end",
            "Finish the run with a success or a failure.",
            {
                "status": Field(
                    "string", default="success", choices=("success", "failure")
                )
            },
            terminal=True,
        ),
    )
}


@dataclass
class Graph:
    """A validated graph: nodes by id, edges by (node id, branch)."""

    nodes: dict[str, dict]
    edges: dict[tuple[str, str], str] = field(default_factory=dict)
    start: str = ""

    def successors(self, node_id: str) -> list[str]:
        return [to for (source, _), to in self.edges.items() if source == node_id]

    def next_node(self, node_id: str, branch: str = "next") -> str | None:
        return self.edges.get((node_id, branch))


def validate_graph(nodes: Any, connections: Any, variables: Any) -> Graph:
    """Validate a script's graph and return it with config defaults filled in.

    Raises ValidationError naming the node and field at fault.
    """
    _check_shape(nodes, connections, variables)
    graph = Graph({n["id"]: _check_node(i, n, variables) for i, n in enumerate(nodes)})
    _wire(graph, connections)
    _check_loops(graph)
    return graph


def validate_variables(variables: Any) -> dict[str, Any]:
    if not isinstance(variables, dict):
        raise ValidationError("variables", "must be an object")
    if len(variables) > MAX_VARIABLES:
        raise ValidationError("variables", f"at most {MAX_VARIABLES} are allowed")
    for name, value in variables.items():
        if not IDENTIFIER.match(name):
            raise ValidationError(f"variables.{name}", "is not a valid variable name")
        if not is_scalar(value):
            raise ValidationError(
                f"variables.{name}", "must be a string, number or boolean"
            )
    return variables


def is_scalar(value: Any) -> bool:
    if isinstance(value, str):
        return len(value) <= MAX_TEXT_LENGTH
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, (bool, int))


def _check_shape(nodes: Any, connections: Any, variables: Any) -> None:
    if not isinstance(nodes, list) or not nodes:
        raise ValidationError("nodes", "must be a non-empty list")
    if len(nodes) > MAX_NODES:
        raise ValidationError("nodes", f"at most {MAX_NODES} nodes are allowed")
    if not isinstance(connections, list):
        raise ValidationError("connections", "must be a list")
    if len(connections) > MAX_CONNECTIONS:
        raise ValidationError("connections", f"at most {MAX_CONNECTIONS} allowed")
    validate_variables(variables)
    seen = set()
    for index, node in enumerate(nodes):
        if not isinstance(node, dict):
            raise ValidationError(f"nodes[{index}]", "must be an object")
        node_id = node.get("id")
        if not isinstance(node_id, str) or not NODE_ID.match(node_id):
            raise ValidationError(
                f"nodes[{index}].id", "must be 1-64 letters, digits, '_' or '-'"
            )
        if node_id in seen:
            raise ValidationError(f"nodes[{index}].id", f"duplicate node id {node_id}")
        seen.add(node_id)


def _check_node(index: int, node: dict, variables: dict) -> dict:
    where = f"nodes[{index}] ({node['id']})"
    node_type = NODE_TYPES.get(node.get("type"))  # type: ignore[arg-type]
    if node_type is None:
        raise ValidationError(
            f"{where}.type",
            f"unknown node type {node.get('type')!r}; known: " + ", ".join(NODE_TYPES),
        )
    config = node.get("config", {})
    if not isinstance(config, dict):
        raise ValidationError(f"{where}.config", "must be an object")
    unknown = set(config) - set(node_type.fields)
    if unknown:
        raise ValidationError(
            f"{where}.config.{sorted(unknown)[0]}",
            f"is not a field of {node_type.name}",
        )
    checked = {
        name: _check_value(f"{where}.config.{name}", spec, config.get(name))
        for name, spec in node_type.fields.items()
    }
    checked = {k: v for k, v in checked.items() if v is not None}
    _check_node_rules(where, node_type.name, checked, variables)
    result = {"id": node["id"], "type": node_type.name, "config": checked}
    if "position" in node:
        result["position"] = _check_position(f"{where}.position", node["position"])
    return result


def _check_value(where: str, spec: Field, value: Any) -> Any:
    if value is None:
        if spec.required:
            raise ValidationError(where, "is required")
        return spec.default
    checker = _KIND_CHECKS[spec.kind]
    checker(where, spec, value)
    if spec.choices and value not in spec.choices:
        raise ValidationError(where, "must be one of " + ", ".join(spec.choices))
    if spec.pattern is not None and not spec.pattern.match(value):
        raise ValidationError(where, f"{value!r} is not in the expected form")
    return value


def _check_string(where: str, spec: Field, value: Any) -> None:
    if not isinstance(value, str) or not value:
        raise ValidationError(where, "must be a non-empty string")
    if len(value) > MAX_TEXT_LENGTH:
        raise ValidationError(where, f"must be at most {MAX_TEXT_LENGTH} characters")


def _check_number(where: str, spec: Field, value: Any) -> None:
    integral = spec.kind == "integer"
    valid_type = isinstance(value, int if integral else (int, float))
    if isinstance(value, bool) or not valid_type or not math.isfinite(value):
        raise ValidationError(
            where, f"must be {'an integer' if integral else 'a number'}"
        )
    if spec.minimum is not None and value < spec.minimum:
        raise ValidationError(where, f"must be at least {spec.minimum:g}")
    if spec.maximum is not None and value > spec.maximum:
        raise ValidationError(where, f"must be at most {spec.maximum:g}")


def _check_scalar(where: str, spec: Field, value: Any) -> None:
    if not is_scalar(value):
        raise ValidationError(where, "must be a string, number or boolean")


def _check_region(where: str, spec: Field, value: Any) -> None:
    if not isinstance(value, dict) or set(value) != {"x", "y", "width", "height"}:
        raise ValidationError(where, "must be an object with x, y, width and height")
    for name in ("x", "y", "width", "height"):
        minimum = 1 if name in ("width", "height") else 0
        _check_number(
            f"{where}.{name}",
            Field("integer", minimum=minimum, maximum=10000),
            value[name],
        )


_KIND_CHECKS = {
    "string": _check_string,
    "integer": _check_number,
    "number": _check_number,
    "scalar": _check_scalar,
    "region": _check_region,
}


def _check_position(where: str, position: Any) -> dict:
    if not isinstance(position, dict) or set(position) - {"x", "y"}:
        raise ValidationError(where, "must be an object with x and y")
    for axis in ("x", "y"):
        _check_number(
            f"{where}.{axis}",
            Field("number", minimum=-1e6, maximum=1e6),
            position.get(axis, 0),
        )
    return position


def _check_node_rules(
    where: str, type_name: str, config: dict, variables: dict
) -> None:
    if type_name in ("click", "long_press") and config["target"] == "coordinates":
        for axis in ("x", "y"):
            if axis not in config:
                raise ValidationError(
                    f"{where}.config.{axis}", "is required for coordinates"
                )
    if type_name == "swipe":
        points = [config.get(k) for k in ("x1", "y1", "x2", "y2")]
        if "direction" not in config and None in points:
            raise ValidationError(
                f"{where}.config", "needs a direction or all of x1, y1, x2 and y2"
            )
    if type_name in ("set_variable", "increment_variable"):
        _check_declared(f"{where}.config.name", config["name"], variables)
    if type_name == "increment_variable":
        current = variables[config["name"]]
        if isinstance(current, bool) or not isinstance(current, (int, float)):
            raise ValidationError(
                f"{where}.config.name", f"variable {config['name']} is not a number"
            )
    if type_name == "condition":
        for name in _expression_variables(where, config["expression"]):
            _check_declared(f"{where}.config.expression", name, variables)


def _expression_variables(where: str, text: str) -> set[str]:
    try:
        return expressions.variables(expressions.parse(text))
    except expressions.ExpressionError as exc:
        raise ValidationError(f"{where}.config.expression", str(exc)) from exc


def _check_declared(where: str, name: str, variables: dict) -> None:
    if name not in variables:
        raise ValidationError(where, f"variable {name!r} is not declared in variables")


def _wire(graph: Graph, connections: list) -> None:
    incoming: dict[str, int] = dict.fromkeys(graph.nodes, 0)
    for index, connection in enumerate(connections):
        source, branch, target = _check_connection(graph, index, connection)
        if (source, branch) in graph.edges:
            raise ValidationError(
                f"connections[{index}]", f"{source} already has a {branch} connection"
            )
        graph.edges[(source, branch)] = target
        incoming[target] += 1
    starts = [node_id for node_id, count in incoming.items() if count == 0]
    if len(starts) != 1:
        problem = "no node" if not starts else "several nodes: " + ", ".join(starts)
        raise ValidationError(
            "connections",
            f"the graph needs exactly one start node; {problem} "
            "has no incoming connection",
        )
    graph.start = starts[0]
    unreachable = set(graph.nodes) - _reachable(graph, graph.start)
    if unreachable:
        raise ValidationError(
            f"nodes ({sorted(unreachable)[0]})", "cannot be reached from the start node"
        )


def _check_connection(
    graph: Graph, index: int, connection: Any
) -> tuple[str, str, str]:
    where = f"connections[{index}]"
    if not isinstance(connection, dict):
        raise ValidationError(where, "must be an object with from and to")
    source, target = connection.get("from"), connection.get("to")
    for name, node_id in (("from", source), ("to", target)):
        if node_id not in graph.nodes:
            raise ValidationError(f"{where}.{name}", f"node {node_id!r} does not exist")
    node_type = NODE_TYPES[graph.nodes[source]["type"]]
    if node_type.terminal:
        raise ValidationError(f"{where}.from", f"{source} is an end node")
    branch = connection.get("branch")
    if not node_type.branches:
        if branch not in (None, "next"):
            raise ValidationError(f"{where}.branch", f"{source} has no branches")
        return source, "next", target
    branch = node_type.branches[0] if branch is None else branch
    if branch not in node_type.branches:
        raise ValidationError(
            f"{where}.branch", "must be one of " + ", ".join(node_type.branches)
        )
    return source, branch, target


def _reachable(graph: Graph, start: str) -> set[str]:
    seen, stack = {start}, [start]
    while stack:
        for successor in graph.successors(stack.pop()):
            if successor not in seen:
                seen.add(successor)
                stack.append(successor)
    return seen


def _check_loops(graph: Graph) -> None:
    for component in _cycles(graph):
        if not _is_bounded(graph, component):
            raise ValidationError(
                f"nodes ({', '.join(sorted(component))})",
                "form a loop that nothing bounds; add a condition node on a "
                "counter the loop increments, with a branch leaving the loop",
            )


def _is_bounded(graph: Graph, component: set[str]) -> bool:
    counters = {
        graph.nodes[n]["config"]["name"]
        for n in component
        if graph.nodes[n]["type"] == "increment_variable"
    }
    for node_id in component:
        node = graph.nodes[node_id]
        if node["type"] != "condition":
            continue
        leaves = any(s not in component for s in graph.successors(node_id))
        reads = expressions.variables(expressions.parse(node["config"]["expression"]))
        if leaves and reads & counters:
            return True
    return False


def _cycles(graph: Graph) -> Iterable[set[str]]:
    """Strongly connected components that contain a cycle (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []

    def visit(node_id: str) -> None:
        index[node_id] = low[node_id] = len(index)
        stack.append(node_id)
        on_stack.add(node_id)
        for successor in graph.successors(node_id):
            if successor not in index:
                visit(successor)
                low[node_id] = min(low[node_id], low[successor])
            elif successor in on_stack:
                low[node_id] = min(low[node_id], index[successor])
        if low[node_id] == index[node_id]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node_id:
                    break
            looped = len(component) > 1 or node_id in graph.successors(node_id)
            if looped:
                found.append(component)

    for node_id in graph.nodes:
        if node_id not in index:
            visit(node_id)
    return found


def referenced_assets(nodes: list[dict]) -> set[str]:
    """The asset names that a graph's image_detection nodes look for."""
    return {
        node["config"]["target_image"]
        for node in nodes
        if node.get("type") == "image_detection"
        and isinstance(node.get("config"), dict)
        and "target_image" in node["config"]
    }


def describe_node_types() -> list[dict[str, Any]]:
    """The node registry as the API shows it."""
    return [
        {
            "type": node_type.name,
            "description": node_type.description,
            "branches": list(node_type.branches),
            "fields": {
                name: {
                    "kind": spec.kind,
                    "required": spec.required,
                    **({"default": spec.default} if spec.default is not None else {}),
                    **({"choices": list(spec.choices)} if spec.choices else {}),
                    **({"minimum": spec.minimum} if spec.minimum is not None else {}),
                    **({"maximum": spec.maximum} if spec.maximum is not None else {}),
                    **({"unit": spec.description} if spec.description else {}),
                }
                for name, spec in node_type.fields.items()
            },
        }
        for node_type in NODE_TYPES.values()
    ]
