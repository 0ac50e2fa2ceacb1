"""Executions: starting a script on a device, following it, stopping it.

Starting an execution
1. validates the request against the script (it must be `active`) and its
   `notification_webhook`, which must be the URL of one of the organization's
   webhooks (`chalicelib.delivery` sends that webhook the outcome),
2. records the execution as `queued` with a snapshot of the script's graph,
3. starts the execution state machine (infra/statemachines/execution.asl.json)
   under the execution's id, which dispatches the job to the agents,
4. publishes `execution.started`.

States move one way: queued → running → completed, failed, stopped or
timed_out. The claim of a job moves an execution to running; the state
machine records every other end except `stopped`, which is recorded here.
Every transition is a conditional write, so nothing that arrives late can
overwrite an end.
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass
from functools import cache
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.exceptions import UpdateError

from chalicelib import (
    agents,
    aws,
    events,
    jobs,
    lookups,
    nodes,
    paging,
    scripts,
    webhooks,
)
from chalicelib.auth import Principal
from chalicelib.errors import (
    InternalError,
    InvalidRequestError,
    ScriptExecutionError,
    ValidationError,
)
from chalicelib.ids import new_id, now_iso, parse_iso, to_iso
from chalicelib.models import Execution, ExecutionLog
from chalicelib.settings import get_settings

logger = logging.getLogger(__name__)

ACTIVE = ("queued", "running")
ENDS = ("completed", "failed", "stopped", "timed_out")
STATUSES = ACTIVE + ENDS
MAX_PARAMETERS = 50
LOG_PAGE = 100
MAX_LIMIT = 100
SYNC_POLL_SECONDS = 0.25
IDEMPOTENCY_SECONDS = 24 * 3600


@dataclass(frozen=True)
class ExecuteRequest:
    parameters: dict[str, Any]
    wait: bool
    timeout_ms: int | None
    retry_on_failure: bool | None
    notification_webhook: str | None
    device_id: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "parameters": self.parameters,
            "options": {
                "async": not self.wait,
                "timeout": self.timeout_ms,
                "retry_on_failure": self.retry_on_failure,
                "notification_webhook": self.notification_webhook,
            },
            "device_id": self.device_id,
        }


def parse_execute_request(body: dict[str, Any] | None) -> ExecuteRequest:
    """Read an execute body; raises ValidationError naming the bad field."""
    body = body or {}
    unknown = sorted(set(body) - {"parameters", "options", "device_id"})
    if unknown:
        raise ValidationError(unknown[0], "is not an execute field")
    parameters = body.get("parameters", {})
    if not isinstance(parameters, dict) or len(parameters) > MAX_PARAMETERS:
        raise ValidationError(
            "parameters", f"must be an object of at most {MAX_PARAMETERS}"
        )
    for name, value in parameters.items():
        if not nodes.IDENTIFIER.match(name) or not nodes.is_scalar(value):
            raise ValidationError(
                f"parameters.{name}", "must be a scalar under a variable-like name"
            )
    options = body.get("options", {})
    if not isinstance(options, dict):
        raise ValidationError("options", "must be an object")
    return ExecuteRequest(
        parameters=parameters,
        wait=not _option(options, "async", bool, True),
        timeout_ms=_timeout(options.get("timeout")),
        retry_on_failure=_option(options, "retry_on_failure", bool, None),
        notification_webhook=_option(options, "notification_webhook", str, None),
        device_id=_device(body.get("device_id")),
    )


def _option(options: dict, name: str, kind: type, default: Any) -> Any:
    value = options.get(name, default)
    if value is not None and not isinstance(value, kind):
        raise ValidationError(f"options.{name}", f"must be a {kind.__name__}")
    return value


def _timeout(value: Any) -> int | None:
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not (1000 <= value <= 3600000)
    ):
        raise ValidationError("options.timeout", "must be 1000 to 3600000 milliseconds")
    return value


def _device(value: Any) -> str | None:
    if value is not None and (not isinstance(value, str) or not 0 < len(value) <= 128):
        raise ValidationError("device_id", "must be a device id from GET /v1/devices")
    return value


def start_execution(
    principal: Principal,
    script_id: str,
    body: dict[str, Any] | None,
    idempotency_key: str | None = None,
    lambda_context: Any = None,
) -> Execution:
    """Start a script; raises ValidationError, NotFoundError, InvalidRequestError,
    or ScriptExecutionError when a synchronous run fails."""
    principal.require("scripts:execute")
    request = parse_execute_request(body)
    if idempotency_key is None:
        execution_id = _start(principal, script_id, request)
    else:
        execution_id = _start_once(
            principal, script_id, request, idempotency_key, lambda_context
        )
    execution = load_execution(principal.org_id, execution_id)
    if request.wait:
        execution = _wait_for_end(execution)
    return execution


def _start(principal: Principal, script_id: str, request: ExecuteRequest) -> str:
    script = scripts.load_script(principal.org_id, script_id)
    if script.status != "active":
        raise InvalidRequestError(
            f"Script {script_id} is {script.status}; only active scripts can run"
        )
    if request.device_id:
        agents.get_device(principal.org_id, request.device_id)
    notified = None
    if request.notification_webhook:
        notified = webhooks.notification_target(
            principal.org_id, request.notification_webhook
        )
    definition = json.loads(script.definition)
    execution = Execution(
        new_id("exec"),
        org_id=principal.org_id,
        script_id=script.id,
        script_name=script.name,
        user_id=principal.user_id,
        status="queued",
        created_at=now_iso(),
        request=json.dumps({**request.to_json(), "definition": definition}),
        device_id=request.device_id,
        estimated_duration=round(script.average_duration, 2) or None,
        current_step="Waiting for a device",
        notification_webhook_id=notified,
    )
    execution.save(condition=Execution.id.does_not_exist())
    _start_state_machine(execution, definition["settings"], request)
    logger.info("execution started", extra={"execution_id": execution.id})
    events.publish_event("execution.started", principal.org_id, summary(execution))
    return execution.id


def _start_state_machine(
    execution: Execution, settings: dict[str, Any], request: ExecuteRequest
) -> None:
    config = get_settings()
    timeout_ms = request.timeout_ms or settings["execution_timeout"]
    retry = settings["retry_on_failure"]
    if request.retry_on_failure is not None:
        retry = request.retry_on_failure
    state = {
        "execution_id": execution.id,
        "script_id": execution.script_id,
        "org_id": execution.org_id,
        "timeout_seconds": math.ceil(timeout_ms / 1000),
        "heartbeat_seconds": config.job_heartbeat_seconds,
        "max_attempts": 1 + (settings["max_retries"] if retry else 0),
        "attempt": 1,
        "backoff_seconds": config.retry_backoff_seconds,
    }
    try:
        aws.client("stepfunctions").start_execution(
            stateMachineArn=state_machine_arn(),
            name=execution.id,
            input=json.dumps(state),
        )
    except (BotoCoreError, ClientError) as exc:
        execution.delete()
        raise InternalError("The execution could not be started") from exc


@cache
def state_machine_arn() -> str:
    settings = get_settings()
    name = settings.resource_name("execution")
    return f"arn:aws:states:{settings.region}:{aws.account_id()}:stateMachine:{name}"


def _start_once(
    principal: Principal,
    script_id: str,
    request: ExecuteRequest,
    key: str,
    lambda_context: Any,
) -> str:
    if not 0 < len(key) <= 255:
        raise ValidationError("Idempotency-Key", "must be 1 to 255 characters")
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyValidationError,
    )

    payload = {
        "key": f"{principal.org_id}:{key}",
        "script_id": script_id,
        "request": request.to_json(),
    }
    start, config = _idempotent_start()
    if lambda_context is not None:
        config.register_lambda_context(lambda_context)
    try:
        return start(payload=payload, principal=principal)
    except IdempotencyValidationError as exc:
        raise InvalidRequestError(
            "This Idempotency-Key was used with a different request"
        ) from exc
    except IdempotencyAlreadyInProgressError as exc:
        raise InvalidRequestError(
            "A request with this Idempotency-Key is still being processed"
        ) from exc


@cache
def _idempotent_start():
    """`_start` wrapped in Powertools' idempotency, built on first use."""
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )

    store = DynamoDBPersistenceLayer(
        table_name=get_settings().resource_name("idempotency"),
        boto3_session=None,
    )
    config = IdempotencyConfig(
        event_key_jmespath="key",
        payload_validation_jmespath="[script_id, request]",
        expires_after_seconds=IDEMPOTENCY_SECONDS,
        raise_on_no_idempotency_key=True,
    )

    @idempotent_function(
        data_keyword_argument="payload", persistence_store=store, config=config
    )
    def start(payload: dict[str, Any], principal: Principal) -> str:
        request = ExecuteRequest(
            parameters=payload["request"]["parameters"],
            wait=not payload["request"]["options"]["async"],
            timeout_ms=payload["request"]["options"]["timeout"],
            retry_on_failure=payload["request"]["options"]["retry_on_failure"],
            notification_webhook=payload["request"]["options"]["notification_webhook"],
            device_id=payload["request"]["device_id"],
        )
        return _start(principal, payload["script_id"], request)

    return start, config


def _wait_for_end(execution: Execution) -> Execution:
    deadline = time.monotonic() + get_settings().sync_wait_seconds
    while execution.status in ACTIVE and time.monotonic() < deadline:
        time.sleep(SYNC_POLL_SECONDS)
        execution.refresh()
    if execution.status in ("failed", "timed_out"):
        raise ScriptExecutionError(
            f"Execution {execution.id} {execution.status}: "
            f"{execution.error_type or 'error'}"
            + (f" ({execution.error_message})" if execution.error_message else "")
        )
    return execution


def load_execution(org_id: str, execution_id: str) -> Execution:
    """An execution of `org_id`; raises NotFoundError for anyone else's."""
    return lookups.owned(Execution, org_id, execution_id, "Execution")


def get_execution(principal: Principal, execution_id: str) -> Execution:
    principal.require("scripts:read")
    return load_execution(principal.org_id, execution_id)


def stop_execution(principal: Principal, execution_id: str, reason: Any) -> Execution:
    """Stop a queued or running execution.

    Raises NotFoundError, or InvalidRequestError when it has already ended.
    """
    principal.require("scripts:execute")
    if reason is not None and (not isinstance(reason, str) or len(reason) > 500):
        raise ValidationError("reason", "must be text of at most 500 characters")
    execution = load_execution(principal.org_id, execution_id)
    try:
        execution.update(
            actions=[
                Execution.status.set("stopped"),
                Execution.stopped_at.set(now_iso()),
                Execution.reason.set(reason or "User requested stop"),
                Execution.current_step.set("Stopped"),
            ],
            condition=Execution.status.is_in(*ACTIVE),
        )
    except UpdateError as exc:
        execution.refresh()
        raise InvalidRequestError(
            f"Execution {execution_id} has already ended ({execution.status})"
        ) from exc
    jobs.request_stop(execution)
    logger.info("execution stopped", extra={"execution_id": execution.id})
    events.publish_event("execution.stopped", principal.org_id, summary(execution))
    return execution


@dataclass(frozen=True)
class ExecutionQuery:
    script_id: str | None
    status: str | None
    start_date: str | None
    end_date: str | None
    page: int
    limit: int
    cursor: str | None


def parse_list_query(params: dict[str, list[str]]) -> ExecutionQuery:
    def first(name: str) -> str | None:
        values = params.get(name) or params.get(f"filter[{name}]")
        return values[-1] if values else None

    status = first("status")
    if status is not None and status not in STATUSES:
        raise ValidationError("status", "must be one of " + ", ".join(STATUSES))
    return ExecutionQuery(
        script_id=first("script_id"),
        status=status,
        start_date=_date("start_date", first("start_date")),
        end_date=_date("end_date", first("end_date")),
        page=paging.int_param("page", first("page"), 1, 1, 100000),
        limit=paging.int_param("limit", first("limit"), 20, 1, MAX_LIMIT),
        cursor=first("cursor"),
    )


def _date(name: str, text: str | None) -> str | None:
    if text is None:
        return None
    try:
        return to_iso(parse_iso(text))
    except ValueError as exc:
        raise ValidationError(name, "must be an ISO 8601 date-time") from exc


@dataclass(frozen=True)
class ExecutionPage:
    executions: list[Execution]
    total: int
    next_cursor: str | None


def list_executions(principal: Principal, query: ExecutionQuery) -> ExecutionPage:
    """A page of executions, newest first, served by index queries."""
    principal.require("scripts:read")
    if query.script_id:
        scripts.load_script(principal.org_id, query.script_id)
        index, partition = Execution.by_script, ("script_id", query.script_id)
    else:
        index, partition = Execution.by_org, ("org_id", principal.org_id)
    arguments = _query_arguments(query)
    total = index.count(partition[1], **arguments)
    start_key = paging.decode_cursor(query.cursor, partition) if query.cursor else None
    skip = 0 if query.cursor else (query.page - 1) * query.limit
    results = index.query(
        partition[1],
        scan_index_forward=False,
        last_evaluated_key=start_key,
        limit=skip + query.limit + 1,
        **arguments,
    )
    found = list(results)[skip:]
    page = found[: query.limit]
    cursor = None
    if len(found) > query.limit:
        last = page[-1]
        cursor = paging.encode_cursor({"created_at": last.created_at, "id": last.id})
    return ExecutionPage(page, total, cursor)


def _query_arguments(query: ExecutionQuery) -> dict[str, Any]:
    arguments: dict[str, Any] = {}
    if query.start_date and query.end_date:
        arguments["range_key_condition"] = Execution.created_at.between(
            query.start_date, query.end_date
        )
    elif query.start_date:
        arguments["range_key_condition"] = Execution.created_at >= query.start_date
    elif query.end_date:
        arguments["range_key_condition"] = Execution.created_at <= query.end_date
    if query.status:
        arguments["filter_condition"] = Execution.status == query.status
    return arguments


def list_logs(
    principal: Principal, execution_id: str, cursor: str | None, limit: int = LOG_PAGE
) -> tuple[list[ExecutionLog], str | None]:
    principal.require("scripts:read")
    load_execution(principal.org_id, execution_id)
    return logs_page(execution_id, cursor, limit)


def logs_page(
    execution_id: str, cursor: str | None, limit: int = LOG_PAGE
) -> tuple[list[ExecutionLog], str | None]:
    start = (
        paging.decode_cursor(cursor, ("execution_id", execution_id)) if cursor else None
    )
    found = list(
        ExecutionLog.query(execution_id, last_evaluated_key=start, limit=limit + 1)
    )
    page = found[:limit]
    following = None
    if len(found) > limit:
        following = paging.encode_cursor({"position": page[-1].position})
    return page, following


def summary(execution: Execution) -> dict[str, Any]:
    """The listing shape of an execution."""
    result = json.loads(execution.result) if execution.result else None
    return {
        "id": execution.id,
        "script_id": execution.script_id,
        "script_name": execution.script_name,
        "status": execution.status,
        "started_at": execution.started_at or execution.created_at,
        "duration": _seconds(execution.duration),
        "success": (result or {}).get("success"),
        "actions_executed": (result or {}).get("actions_executed", 0),
    }


def describe(execution: Execution, with_logs: bool = True) -> dict[str, Any]:
    """The full shape of an execution, first page of logs included."""
    result = json.loads(execution.result) if execution.result else None
    described = {
        **summary(execution),
        "created_at": execution.created_at,
        "completed_at": execution.completed_at,
        "stopped_at": execution.stopped_at,
        "reason": execution.reason,
        "estimated_duration": _seconds(execution.estimated_duration),
        "progress": int(execution.progress or 0),
        "current_step": execution.current_step,
        "attempt": int(execution.attempt or 0),
        "device_id": execution.device_serial or execution.device_id,
        "result": _result(result),
        "error": _error(execution),
    }
    if with_logs:
        lines, cursor = logs_page(execution.id, None)
        described["logs"] = [describe_log(line) for line in lines]
        described["logs_next_cursor"] = cursor
    return described


def _result(result: dict[str, Any] | None) -> dict[str, Any] | None:
    if result is None:
        return None
    keys = ("success", "actions_executed", "actions_successful", "actions_failed")
    return {**{k: result[k] for k in keys}, "data_collected": result["data_collected"]}


def _error(execution: Execution) -> dict[str, Any] | None:
    if execution.status not in ("failed", "timed_out"):
        return None
    return {"type": execution.error_type, "message": execution.error_message}


def describe_log(line: ExecutionLog) -> dict[str, str]:
    return {"timestamp": line.timestamp, "level": line.level, "message": line.message}


def _seconds(value: float | None) -> float | None:
    return None if value is None else round(float(value), 3)
