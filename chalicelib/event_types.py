"""The catalogue of events: every type a webhook can receive, with its payload.

Publishers (`chalicelib.events`, the execution state machine) may only send
types named here; webhooks may only subscribe to them; the OpenAPI document
and README describe them from this module. Each delivery's body is

    {"id": "evt_...", "event": "<type>", "timestamp": "<ISO 8601>", "data": {...}}

with `data` as the type's schema (JSON Schema 2020-12) below says.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chalicelib import auth

PING = "ping"
OUTCOME_EVENTS = ("script.executed", "script.failed")

_STRING = {"type": "string"}
_TIMESTAMP = {"type": "string", "format": "date-time"}
_NULLABLE_STRING = {"type": ["string", "null"]}
_NULLABLE_NUMBER = {"type": ["number", "null"]}


def _shape(**properties: Any) -> dict[str, Any]:
    """An object schema whose every listed property is present."""
    return {"type": "object", "required": list(properties), "properties": properties}


@dataclass(frozen=True)
class EventType:
    name: str
    description: str
    data: dict[str, Any]
    example: dict[str, Any] = field(default_factory=dict)
    # False for types no capability publishes yet: they can be subscribed to
    # already and will arrive in this shape once their feature exists.
    produced: bool = True
    subscribable: bool = True


_SCRIPT = _shape(
    id=_STRING,
    name=_STRING,
    description=_STRING,
    category=_STRING,
    tags={"type": "array", "items": _STRING},
    status={"enum": ["draft", "active", "archived"]},
    version={"type": "integer"},
    created_at=_TIMESTAMP,
    updated_at=_TIMESTAMP,
    execution_count={"type": "integer"},
    success_rate={"type": "number"},
    average_duration={"type": "number"},
)
_OUTCOME = _shape(
    execution_id=_STRING,
    script_id=_STRING,
    script_name=_STRING,
    user_id=_STRING,
    status={"enum": ["completed", "failed", "timed_out"]},
    duration=_NULLABLE_NUMBER,
    success={"type": "boolean"},
    actions_executed={"type": ["integer", "null"]},
    result={"type": "object"},
    error=_NULLABLE_STRING,
)
_EXECUTION = _shape(
    id=_STRING,
    script_id=_STRING,
    script_name=_STRING,
    status=_STRING,
    started_at=_TIMESTAMP,
    duration=_NULLABLE_NUMBER,
    success={"type": ["boolean", "null"]},
    actions_executed={"type": "integer"},
)
_OUTCOME_EXAMPLE = {
    "execution_id": "exec_123456789",
    "script_id": "script_123456",
    "script_name": "Instagram Auto-Like",
    "user_id": "user_123456",
    "status": "completed",
    "duration": 150,
    "success": True,
    "actions_executed": 15,
    "result": {"likes_given": 10, "posts_processed": 10},
    "error": None,
}

CATALOGUE: dict[str, EventType] = {
    t.name: t
    for t in (
        EventType(
            "script.executed",
            "An execution ended successfully; `result` holds the data it collected.",
            _OUTCOME,
            _OUTCOME_EXAMPLE,
        ),
        EventType(
            "script.failed",
            "An execution failed or timed out; `error` names the error type.",
            _OUTCOME,
            {
                **_OUTCOME_EXAMPLE,
                "status": "failed",
                "success": False,
                "actions_executed": 4,
                "result": {},
                "error": "detection_timeout",
            },
        ),
        EventType(
            "script.created",
            "A script was created (as a draft).",
            _SCRIPT,
            {"id": "script_123456", "name": "New Automation Script"},
        ),
        EventType(
            "script.updated",
            "A script changed; `version` is its new version.",
            _SCRIPT,
            {"id": "script_123456", "version": 2, "status": "active"},
        ),
        EventType(
            "script.deleted",
            "A script and its assets were deleted.",
            _shape(id=_STRING),
            {"id": "script_123456"},
        ),
        EventType(
            "execution.started",
            "An execution was queued for a device.",
            _EXECUTION,
            {"id": "exec_123456789", "script_id": "script_123456", "status": "queued"},
        ),
        EventType(
            "execution.stopped",
            "A user stopped an execution.",
            _EXECUTION,
            {"id": "exec_123456789", "script_id": "script_123456", "status": "stopped"},
        ),
        EventType(
            "user.created",
            "A user joined the organization.",
            _shape(
                user_id=_STRING,
                email=_STRING,
                name=_STRING,
                role={"enum": list(auth.ROLES)},
                created_at=_TIMESTAMP,
            ),
            {"user_id": "user_123456", "email": "ana@example.com", "role": "editor"},
        ),
        EventType(
            "integration.connected",
            "An integration was connected to the organization.",
            _shape(
                integration_id=_STRING,
                provider=_STRING,
                name=_STRING,
                connected_by=_STRING,
                connected_at=_TIMESTAMP,
            ),
            {"integration_id": "intg_123456", "provider": "slack"},
            produced=False,
        ),
        EventType(
            "team.member_invited",
            "Someone was invited to join the organization.",
            _shape(
                invitation_id=_STRING,
                email=_STRING,
                role=_STRING,
                invited_by=_STRING,
                expires_at=_TIMESTAMP,
            ),
            {"invitation_id": "inv_123456", "email": "bo@example.com"},
            produced=False,
        ),
        EventType(
            "report.ready",
            "A requested analytics report can be downloaded.",
            _shape(
                report_id=_STRING,
                report_type=_STRING,
                period_start=_TIMESTAMP,
                period_end=_TIMESTAMP,
                download_url=_STRING,
                expires_at=_TIMESTAMP,
            ),
            {"report_id": "report_123456", "report_type": "executions"},
            produced=False,
        ),
        EventType(
            PING,
            "Sent by `POST /v1/webhooks/{id}/test` only; needs no subscription.",
            _shape(webhook_id=_STRING, message=_STRING),
            {"webhook_id": "webhook_123456", "message": "TapCraft webhook test"},
            subscribable=False,
        ),
    )
}

SUBSCRIBABLE: tuple[str, ...] = tuple(
    name for name, kind in CATALOGUE.items() if kind.subscribable
)


def envelope_schema(event_type: EventType) -> dict[str, Any]:
    """The JSON Schema of a whole delivery body of `event_type`."""
    return _shape(
        id={"type": "string", "pattern": "^evt_"},
        event={"const": event_type.name},
        timestamp=_TIMESTAMP,
        data=event_type.data,
    )


def schema_name(name: str) -> str:
    """`script.executed` -> `ScriptExecutedEvent`, for the OpenAPI components."""
    words = name.replace("_", ".").split(".")
    return "".join(word.title() for word in words) + "Event"


def describe_event_types() -> list[dict[str, Any]]:
    """The catalogue as `GET /v1/event-types` shows it."""
    return [
        {
            "name": kind.name,
            "description": kind.description,
            "subscribable": kind.subscribable,
            "produced": kind.produced,
            "data_schema": kind.data,
            "example": kind.example,
        }
        for kind in CATALOGUE.values()
    ]
