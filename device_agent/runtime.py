"""Run a script's node graph on one phone and say how it went.

A run goes through four stages:

1. Prepare: validate the graph with `chalicelib.nodes` (the API's own rules),
   decode every image the graph looks for, merge the execution's parameters
   over the script's variables and start the deadline from the job timeout.
2. Step: from the start node, run each node's action and follow the branch
   it took (`found`/`not_found`, `true`/`false`, else `next`). A stop request
   and the deadline are checked before every step and inside every wait and
   detection.
3. Report: before a step, progress and the current step go to the hooks;
   after it, one log line with its outcome and duration.
4. Result: an `end` node, or a node with nowhere to go, finishes the run. The
   counts of steps run, succeeded and failed, the final values of the
   declared variables and the protocol's error type make the JobResult.

Every node run counts as one action; a step that raises (the device failed,
the image never appeared, a stop arrived mid-wait) counts as failed, and the
run ends there. The device is anything with the `DeviceControl` methods, and
time comes from the hooks, so tests can run graphs on a fake phone and clock.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import numpy as np

from chalicelib import expressions, nodes
from chalicelib.errors import ValidationError
from chalicelib.protocol import MAX_LOG_MESSAGE, MAX_STEP_TEXT, JobResult, LogLine
from device_agent.errors import (
    AgentError,
    DetectionTimeoutError,
    RunTimeoutError,
    ScriptError,
    StoppedError,
)
from device_agent.vision import Match, VisionError, decode_image, find_template

logger = logging.getLogger(__name__)

# Pause between screenshots while an image has not appeared yet.
DETECTION_POLL_S = 0.2
# Longest uninterrupted sleep: how late a stop request or deadline may be seen.
STOP_CHECK_S = 0.1
# A click held longer than this is sent as a press of that duration.
TAP_MAX_MS = 100
# Start and end of a swipe per direction, as fractions of width and height.
SWIPE_FRACTIONS = {
    "up": (0.5, 0.75, 0.5, 0.25),
    "down": (0.5, 0.25, 0.5, 0.75),
    "left": (0.8, 0.5, 0.2, 0.5),
    "right": (0.2, 0.5, 0.8, 0.5),
}
# The error type of a run that reached an `end` node with status failure.
SCRIPT_FAILED = "script_failed"
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_BOUND_OPERATORS = {"<": False, "<=": False, ">": True, ">=": True}


class DeviceControl(Protocol):
    """What a run needs from a phone; `device.AndroidDevice` provides it."""

    def screen_size(self) -> tuple[int, int]: ...

    def screenshot(self) -> np.ndarray: ...

    def tap(self, x: int, y: int) -> None: ...

    def long_press(self, x: int, y: int, duration_ms: int) -> None: ...

    def swipe(self, x1: int, y1: int, x2: int, y2: int, duration_ms: int) -> None: ...

    def type_text(self, text: str) -> None: ...

    def key_event(self, key: str) -> None: ...

    def launch_app(self, package: str) -> None: ...


def _never() -> bool:
    return False


def _ignore(*_args: object) -> None:
    return None


@dataclass(frozen=True)
class RunHooks:
    """Time, stop requests and reporting, injected so tests can drive them."""

    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    should_stop: Callable[[], bool] = _never
    on_progress: Callable[[int, str], None] = _ignore
    on_log: Callable[[LogLine], None] = _ignore
    log_extra: Mapping[str, Any] = field(default_factory=dict)
    poll_interval_s: float = DETECTION_POLL_S


@dataclass(frozen=True)
class _Outcome:
    branch: str = "next"
    detail: str = ""


def run_script(
    script: Mapping[str, Any],
    device: DeviceControl,
    *,
    parameters: Mapping[str, Any] | None = None,
    assets: Mapping[str, bytes] | None = None,
    timeout_ms: int,
    hooks: RunHooks | None = None,
) -> JobResult:
    """Run the script's graph on the device; failures come back in the result."""
    run = _Run(script, device, dict(parameters or {}), dict(assets or {}), hooks)
    return run.execute(timeout_ms)


class _Run:
    """The state of one run: graph, variables, last detection and counts."""

    def __init__(
        self,
        script: Mapping[str, Any],
        device: DeviceControl,
        parameters: dict[str, Any],
        assets: dict[str, bytes],
        hooks: RunHooks | None,
    ) -> None:
        self._script = script
        self._device = device
        self._parameters = parameters
        self._assets = assets
        self._hooks = hooks or RunHooks()
        self._graph = nodes.Graph({})
        self._templates: dict[str, np.ndarray] = {}
        self._declared: tuple[str, ...] = ()
        self._variables: dict[str, Any] = {}
        self._detected: Match | None = None
        self._visited: set[str] = set()
        self._deadline = 0.0
        self._percent = 0
        self._loop_anchor: float | None = None
        self._executed = self._successful = self._failed = 0
        self._handlers: dict[str, Callable[[dict], _Outcome]] = {
            "app_launch": self._app_launch,
            "image_detection": self._image_detection,
            "click": self._click,
            "long_press": self._long_press,
            "swipe": self._swipe,
            "type_text": self._type_text,
            "key_event": self._key_event,
            "wait": self._wait,
            "set_variable": self._set_variable,
            "increment_variable": self._increment_variable,
            "condition": self._condition,
            "end": self._end,
        }

    def execute(self, timeout_ms: int) -> JobResult:
        self._deadline = self._hooks.clock() + timeout_ms / 1000
        try:
            self._prepare()
            status = self._walk()
        except AgentError as exc:
            return self._result(exc.error_type, str(exc))
        except Exception as exc:
            logger.exception("run crashed", extra=dict(self._hooks.log_extra))
            return self._result("internal_error", f"internal error: {exc!r}")
        if status == "failure":
            return self._result(SCRIPT_FAILED, "the script ended with status failure")
        self._hooks.on_progress(100, "finished")
        return self._result(None, None)

    # Stages

    def _prepare(self) -> None:
        script = self._script
        try:
            self._graph = nodes.validate_graph(
                script.get("nodes"),
                script.get("connections", []),
                script.get("variables", {}),
            )
        except ValidationError as exc:
            raise ScriptError(f"the script cannot run: {exc.details}") from exc
        variables = dict(script.get("variables", {}))
        self._declared = tuple(variables)
        self._variables = {**variables, **self._parameters}
        for name in sorted(nodes.referenced_assets(list(self._graph.nodes.values()))):
            self._templates[name] = self._decoded_asset(name)

    def _walk(self) -> str:
        node_id: str | None = self._graph.start
        while node_id is not None:
            outcome = self._step(node_id)
            if self._graph.nodes[node_id]["type"] == "end":
                return outcome.branch
            node_id = self._graph.next_node(node_id, outcome.branch)
        return "success"

    def _step(self, node_id: str) -> _Outcome:
        node = self._graph.nodes[node_id]
        self._checkpoint()
        self._visited.add(node_id)
        self._hooks.on_progress(self._progress(), _step_label(node))
        started = self._hooks.clock()
        self._executed += 1
        try:
            outcome = self._handlers[node["type"]](node)
        except Exception as exc:
            self._failed += 1
            self._report_step(node, "failed", started, str(exc), "error")
            raise
        self._successful += 1
        branch = outcome.branch if outcome.branch != "next" else "done"
        self._report_step(node, branch, started, outcome.detail, "info")
        return outcome

    def _result(self, error_type: str | None, message: str | None) -> JobResult:
        return JobResult(
            success=error_type is None,
            actions_executed=self._executed,
            actions_successful=self._successful,
            actions_failed=self._failed,
            data_collected={name: self._variables[name] for name in self._declared},
            error_type=error_type,
            error_message=message[:MAX_LOG_MESSAGE] if message else None,
        )

    # Node actions

    def _app_launch(self, node: dict) -> _Outcome:
        config = node["config"]
        self._device.launch_app(config["package_name"])
        self._pause(config["wait_time"] / 1000)
        return _Outcome(detail=config["package_name"])

    def _image_detection(self, node: dict) -> _Outcome:
        config = node["config"]
        name = config["target_image"]
        started = self._hooks.clock()
        timeout_s = config["timeout"] / 1000
        screenshots = 0
        while True:
            self._checkpoint()
            screenshots += 1
            match = self._find(self._templates[name], config)
            if match is not None:
                self._detected = match
                return _Outcome("found", _found_text(name, match, screenshots))
            remaining_s = started + timeout_s - self._hooks.clock()
            if remaining_s <= 0:
                break
            self._pause(min(self._hooks.poll_interval_s, remaining_s))
        self._detected = None
        detail = f"{name} not seen in {screenshots} screenshot(s)"
        if self._graph.next_node(node["id"], "not_found") is None:
            raise DetectionTimeoutError(f"{detail} within {config['timeout']} ms")
        return _Outcome("not_found", detail)

    def _click(self, node: dict) -> _Outcome:
        x, y = self._target(node)
        duration_ms = node["config"]["duration"]
        if duration_ms <= TAP_MAX_MS:
            self._device.tap(x, y)
        else:
            self._device.long_press(x, y, duration_ms)
        return _Outcome(detail=f"at ({x}, {y})")

    def _long_press(self, node: dict) -> _Outcome:
        x, y = self._target(node)
        self._device.long_press(x, y, node["config"]["duration"])
        return _Outcome(detail=f"at ({x}, {y})")

    def _swipe(self, node: dict) -> _Outcome:
        config = node["config"]
        if "direction" in config:
            width, height = self._device.screen_size()
            fx1, fy1, fx2, fy2 = SWIPE_FRACTIONS[config["direction"]]
            points = (fx1 * width, fy1 * height, fx2 * width, fy2 * height)
            x1, y1, x2, y2 = (round(value) for value in points)
        else:
            x1, y1, x2, y2 = (config[key] for key in ("x1", "y1", "x2", "y2"))
        self._device.swipe(x1, y1, x2, y2, config["duration"])
        return _Outcome(detail=f"({x1}, {y1}) to ({x2}, {y2})")

    def _type_text(self, node: dict) -> _Outcome:
        text = _PLACEHOLDER.sub(self._substitute, node["config"]["text"])
        self._device.type_text(text)
        return _Outcome(detail=f"{len(text)} characters")

    def _key_event(self, node: dict) -> _Outcome:
        self._device.key_event(node["config"]["key"])
        return _Outcome(detail=node["config"]["key"])

    def _wait(self, node: dict) -> _Outcome:
        self._pause(node["config"]["duration"] / 1000)
        return _Outcome()

    def _set_variable(self, node: dict) -> _Outcome:
        config = node["config"]
        self._variables[config["name"]] = config["value"]
        return _Outcome(detail=f"{config['name']} = {config['value']!r}")

    def _increment_variable(self, node: dict) -> _Outcome:
        name, by = node["config"]["name"], node["config"]["by"]
        value = self._variables[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ScriptError(f"variable {name} holds {value!r}, not a number")
        self._variables[name] = value + by
        return _Outcome(detail=f"{name} = {self._variables[name]!r}")

    def _condition(self, node: dict) -> _Outcome:
        expression = node["config"]["expression"]
        try:
            verdict = expressions.evaluate(
                expressions.parse(expression), self._variables
            )
        except expressions.ExpressionError as exc:
            raise ScriptError(f"condition {expression!r}: {exc}") from exc
        return _Outcome("true" if verdict else "false", expression)

    def _end(self, node: dict) -> _Outcome:
        return _Outcome(node["config"]["status"])

    # Helpers

    def _checkpoint(self) -> None:
        if self._hooks.should_stop():
            raise StoppedError("the run was asked to stop")
        if self._hooks.clock() >= self._deadline:
            raise RunTimeoutError("the job ran out of time")

    def _pause(self, seconds: float) -> None:
        """Sleep in short slices, so a stop request or deadline cuts it short."""
        end = self._hooks.clock() + seconds
        while True:
            self._checkpoint()
            remaining_s = end - self._hooks.clock()
            if remaining_s <= 0:
                return
            self._hooks.sleep(min(remaining_s, STOP_CHECK_S))

    def _find(self, template: np.ndarray, config: dict) -> Match | None:
        try:
            return find_template(
                self._device.screenshot(),
                template,
                threshold=config["threshold"],
                region=_region(config.get("region")),
            )
        except VisionError as exc:
            raise ScriptError(f"image detection cannot run: {exc}") from exc

    def _target(self, node: dict) -> tuple[int, int]:
        config = node["config"]
        if config["target"] == "coordinates":
            return config["x"], config["y"]
        if self._detected is None:
            raise ScriptError(
                f"{node['id']} targets the detected element, but no image_detection "
                "found one before it"
            )
        return self._detected.center

    def _substitute(self, placeholder: re.Match) -> str:
        name = placeholder.group(1)
        if name not in self._variables:
            raise ScriptError(f"text uses {{{{{name}}}}}, which is not a variable")
        return _as_text(self._variables[name])

    def _decoded_asset(self, name: str) -> np.ndarray:
        if name not in self._assets:
            raise ScriptError(f"the image {name} did not come with the job")
        try:
            return decode_image(self._assets[name])
        except VisionError as exc:
            raise ScriptError(f"the image {name} cannot be used: {exc}") from exc

    def _progress(self) -> int:
        """Percent done, never going back: nodes reached, then loop counters."""
        # NOTE: progress is an estimate. Until a condition comparing a counter
        # with `<`, `<=`, `>` or `>=` is reached it counts the nodes reached;
        # after that the rest of the way follows the least advanced counter. A
        # loop bounded any other way holds its percent until the run ends.
        fractions = [
            fraction
            for node_id in self._visited
            if self._graph.nodes[node_id]["type"] == "condition"
            and (
                fraction := _counter_progress(
                    self._graph.nodes[node_id], self._variables
                )
            )
            is not None
        ]
        if not fractions:
            estimate = len(self._visited) / max(len(self._graph.nodes), 1)
        else:
            if self._loop_anchor is None:
                self._loop_anchor = self._percent / 100
            estimate = self._loop_anchor + (1 - self._loop_anchor) * min(fractions)
        self._percent = max(self._percent, min(99, int(estimate * 100)))
        return self._percent

    def _report_step(
        self, node: dict, outcome: str, started: float, detail: str, level: str
    ) -> None:
        duration_ms = round((self._hooks.clock() - started) * 1000)
        message = f"{_step_label(node)} {outcome} in {duration_ms} ms"
        if detail:
            message += f": {detail}"
        self._hooks.on_log(LogLine(_now_iso(), level, message[:MAX_LOG_MESSAGE]))
        extra = {
            **self._hooks.log_extra,
            "node_id": node["id"],
            "node_type": node["type"],
            "outcome": outcome,
            "duration_ms": duration_ms,
        }
        severity = logging.ERROR if level == "error" else logging.INFO
        logger.log(severity, "step finished", extra=extra)


def _counter_progress(node: dict, variables: Mapping[str, Any]) -> float | None:
    """How far `count < limit` style comparisons have come, None if none does."""
    tree = expressions.parse(node["config"]["expression"])
    fractions = []
    for conjunction in tree.parts:
        for comparison in conjunction.parts:
            reversed_ = _BOUND_OPERATORS.get(comparison.op)
            if reversed_ is None:
                continue
            count, limit = comparison.left, comparison.right
            if reversed_:
                count, limit = limit, count
            fractions.append(_fraction(count, limit, variables))
    known = [fraction for fraction in fractions if fraction is not None]
    return min(known) if known else None


def _fraction(count: Any, limit: Any, variables: Mapping[str, Any]) -> float | None:
    values = [
        variables.get(side.name) if isinstance(side, expressions.Variable) else side
        for side in (count, limit)
    ]
    if not all(_is_number(value) for value in values) or values[1] <= 0:
        return None
    return max(0.0, min(1.0, values[0] / values[1]))


def _region(region: dict | None) -> tuple[int, int, int, int] | None:
    # NOTE: a region is taken in the running phone's pixels, not scaled from
    # the screen the script was written on; on a phone of another resolution
    # it covers a different part of the screen.
    if region is None:
        return None
    return (region["x"], region["y"], region["width"], region["height"])


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _found_text(name: str, match: Match, screenshots: int) -> str:
    x, y = match.center
    return (
        f"{name} at ({x}, {y}), confidence {match.confidence:.3f}, "
        f"{screenshots} screenshot(s)"
    )


def _step_label(node: dict) -> str:
    return f"{node['id']} ({node['type']})"[:MAX_STEP_TEXT]


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
