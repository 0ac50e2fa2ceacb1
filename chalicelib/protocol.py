"""The job protocol between the API and device agents: one definition for both.

An agent
1. reports its phones with `POST /v1/agent/heartbeat` (a `DeviceReport` each);
2. long-polls `POST /v1/agent/jobs/claim` with the serials it has free and
   receives a `JobAssignment` (or none);
3. while running, calls the job heartbeat (whose answer says whether a stop
   was asked) and posts progress and log lines;
4. finishes with `POST /v1/agent/jobs/{job_id}/complete` and a `JobResult`.

A call for a job the agent no longer holds is refused with 403 FORBIDDEN and
changes nothing; the agent must then abandon the job. This module has no AWS
dependencies: the device agent imports it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from chalicelib.errors import ValidationError

HEARTBEAT_PATH = "/v1/agent/heartbeat"
CLAIM_PATH = "/v1/agent/jobs/claim"
JOB_HEARTBEAT_PATH = "/v1/agent/jobs/{job_id}/heartbeat"
JOB_EVENTS_PATH = "/v1/agent/jobs/{job_id}/events"
JOB_COMPLETE_PATH = "/v1/agent/jobs/{job_id}/complete"
JOB_ASSET_PATH = "/v1/agent/jobs/{job_id}/assets/{name}"

MAX_CLAIM_WAIT_SECONDS = 20
MAX_DEVICES = 64
MAX_LOG_LINES = 100
MAX_LOG_MESSAGE = 2000
MAX_STEP_TEXT = 200
LOG_LEVELS = ("debug", "info", "warning", "error")

ERROR_TYPES = (
    "detection_timeout",
    "app_not_found",
    "device_disconnected",
    "network_error",
    "timeout",
    "stopped",
    "invalid_script",
    "device_error",
    "agent_lost",
    "internal_error",
    # The script reached an `end` node whose status is failure.
    "script_failed",
)
# Failures of the infrastructure rather than of the script: the state machine
# retries these (with the script's retry settings); all others are final.
RETRYABLE_ERRORS = ("device_disconnected", "agent_lost")


@dataclass(frozen=True)
class DeviceReport:
    serial: str
    model: str = ""
    android_version: str = ""
    screen_width: int = 0
    screen_height: int = 0
    state: str = "device"

    @classmethod
    def from_json(cls, data: Any, where: str = "device") -> DeviceReport:
        if not isinstance(data, dict):
            raise ValidationError(where, "must be an object")
        serial = data.get("serial")
        if not isinstance(serial, str) or not 0 < len(serial) <= 128:
            raise ValidationError(f"{where}.serial", "must be 1-128 characters")
        return cls(
            serial=serial,
            model=_text(data, "model", where, 100),
            android_version=_text(data, "android_version", where, 20),
            screen_width=_count(data, "screen_width", where, 20000),
            screen_height=_count(data, "screen_height", where, 20000),
            state=_text(data, "state", where, 20) or "device",
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class JobAssignment:
    """What a claim hands to an agent: everything needed to run one attempt."""

    job_id: str
    execution_id: str
    attempt: int
    device_serial: str
    script: dict[str, Any]
    parameters: dict[str, Any]
    timeout_ms: int
    heartbeat_seconds: int
    assets: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> JobAssignment:
        return cls(**{name: data[name] for name in cls.__dataclass_fields__})


@dataclass(frozen=True)
class LogLine:
    timestamp: str
    level: str
    message: str

    @classmethod
    def from_json(cls, data: Any, where: str) -> LogLine:
        if not isinstance(data, dict):
            raise ValidationError(where, "must be an object")
        level = data.get("level", "info")
        if level not in LOG_LEVELS:
            raise ValidationError(
                f"{where}.level", "must be one of " + ", ".join(LOG_LEVELS)
            )
        message = data.get("message")
        if not isinstance(message, str) or not message:
            raise ValidationError(f"{where}.message", "must be a non-empty string")
        timestamp = data.get("timestamp")
        if not isinstance(timestamp, str) or len(timestamp) > 40:
            raise ValidationError(f"{where}.timestamp", "must be an ISO 8601 time")
        return cls(timestamp, level, message[:MAX_LOG_MESSAGE])


@dataclass(frozen=True)
class Progress:
    progress: int | None
    current_step: str | None
    logs: list[LogLine]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Progress:
        progress = data.get("progress")
        if progress is not None:
            progress = _count(data, "progress", "", 100)
        step = data.get("current_step")
        if step is not None and (
            not isinstance(step, str) or len(step) > MAX_STEP_TEXT
        ):
            raise ValidationError(
                "current_step", f"must be at most {MAX_STEP_TEXT} chars"
            )
        logs = data.get("logs", [])
        if not isinstance(logs, list) or len(logs) > MAX_LOG_LINES:
            raise ValidationError("logs", f"must be a list of at most {MAX_LOG_LINES}")
        lines = [LogLine.from_json(line, f"logs[{i}]") for i, line in enumerate(logs)]
        return cls(progress, step, lines)


@dataclass(frozen=True)
class JobResult:
    """How an attempt ended, as the agent reports it."""

    success: bool
    actions_executed: int = 0
    actions_successful: int = 0
    actions_failed: int = 0
    data_collected: dict[str, Any] = field(default_factory=dict)
    error_type: str | None = None
    error_message: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> JobResult:
        success = data.get("success")
        if not isinstance(success, bool):
            raise ValidationError("success", "must be true or false")
        counts = {
            name: _count(data, name, "", 10**9)
            for name in ("actions_executed", "actions_successful", "actions_failed")
        }
        collected = data.get("data_collected", {})
        if not isinstance(collected, dict) or len(collected) > 100:
            raise ValidationError("data_collected", "must be an object of at most 100")
        error_type = data.get("error_type")
        if not success and error_type not in ERROR_TYPES:
            raise ValidationError(
                "error_type", "must be one of " + ", ".join(ERROR_TYPES)
            )
        if success and error_type is not None:
            raise ValidationError("error_type", "is only for failures")
        message = data.get("error_message")
        if message is not None and not isinstance(message, str):
            raise ValidationError("error_message", "must be a string")
        return cls(
            success,
            **counts,
            data_collected=collected,
            error_type=error_type,
            error_message=(message or "")[:MAX_LOG_MESSAGE] or None,
        )


def _text(data: dict, name: str, where: str, limit: int) -> str:
    value = data.get(name, "")
    if not isinstance(value, str) or len(value) > limit:
        raise ValidationError(
            f"{where}.{name}".lstrip("."), f"must be text of at most {limit}"
        )
    return value


def _count(data: dict, name: str, where: str, limit: int) -> int:
    value = data.get(name, 0)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= limit:
        raise ValidationError(
            f"{where}.{name}".lstrip("."), f"must be an integer from 0 to {limit}"
        )
    return value
