"""Jobs: one attempt of an execution, from dispatch to a device agent's result.

1. Queue: the state machine's queue phase sends `{phase: "queue",
   execution_id, attempt, task_token}` to the dispatch queue; `dispatch_job`
   turns it into a queued job (a duplicate delivery finds the job already
   there and changes nothing). Waiting for a device costs no heartbeats.
2. Claim: an agent long-polls for work with the serials it has free; a claim
   is one transaction that takes the job, locks the device and moves the
   execution to running, so two agents never run one job and a device runs
   one job at a time. The queue token is then answered, which starts the run
   phase. A job for a device that is offline waits, queued.
3. Run: the run phase's message attaches its token to the job. The agent's
   job heartbeats reach the state machine as task heartbeats (a silent agent
   times out) and answer whether a stop was asked.
4. Complete: the result is stored on the execution and the outcome on the
   job, the device is released, and whichever of the completion and the run
   token's arrival comes second answers the run token.

A message from an agent for a job it does not hold is refused with
ForbiddenError and changes nothing.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any

from botocore.exceptions import ClientError
from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError, UpdateError

from chalicelib import assets, aws, protocol
from chalicelib.agents import AgentPrincipal
from chalicelib.errors import ForbiddenError, NotFoundError, ValidationError
from chalicelib.ids import new_id, now_iso, parse_iso, utc_now
from chalicelib.models import Asset, Device, Execution, ExecutionLog, Job
from chalicelib.settings import get_settings

logger = logging.getLogger(__name__)

ACTIVE = ("queued", "running")
DEAD_TOKEN_ERRORS = ("TaskTimedOut", "TaskDoesNotExist", "InvalidToken")
CLAIM_POLL_SECONDS = 0.2
CANDIDATES_PER_POLL = 25
LOG_RETENTION_SECONDS = 90 * 24 * 3600
JOB_RETENTION_SECONDS = 30 * 24 * 3600


def dispatch_job(message: str) -> None:
    """Queue the job a dispatch message describes; idempotent per attempt."""
    body = json.loads(message)
    execution_id, attempt = body["execution_id"], int(body["attempt"])
    token = body["task_token"]
    if body.get("phase") == "run":
        _attach_run_token(_job_id(execution_id, attempt), token)
        return
    try:
        execution = Execution.get(execution_id)
    except DoesNotExist:
        _answer_failure(token, "stopped", "The execution no longer exists")
        return
    if execution.status not in ACTIVE:
        _answer_failure(token, "stopped", f"The execution is {execution.status}")
        return
    job = _queue(execution, attempt, token)
    if job is not None:
        _make_current(execution, job)


def _job_id(execution_id: str, attempt: int) -> str:
    return f"job_{execution_id.removeprefix('exec_')}_{attempt}"


def _queue(execution: Execution, attempt: int, token: str) -> Job | None:
    job = Job(
        _job_id(execution.id, attempt),
        org_id=execution.org_id,
        execution_id=execution.id,
        attempt=attempt,
        queue_token=token,
        status="queued",
        device_id=execution.device_id,
        queued_at=f"{now_iso()}#{uuid.uuid4().hex[:8]}",
        expires_at=int(time.time()) + JOB_RETENTION_SECONDS,
    )
    try:
        job.save(condition=Job.id.does_not_exist())
    except PutError as exc:
        if _conditional(exc):
            logger.info("duplicate dispatch ignored", extra={"job_id": job.id})
            return None
        raise
    logger.info("job queued", extra={"job_id": job.id, "attempt": attempt})
    return job


def _make_current(execution: Execution, job: Job) -> None:
    previous = execution.current_job_id
    step = "Waiting for a device"
    if job.attempt > 1:
        step += f" (attempt {job.attempt})"
    try:
        execution.update(
            actions=[
                Execution.current_job_id.set(job.id),
                Execution.attempt.set(job.attempt),
                Execution.current_step.set(step),
            ],
            condition=Execution.status.is_in(*ACTIVE),
        )
    except UpdateError as exc:
        if not _conditional(exc):
            raise
        _cancel(job)
        return
    if previous and previous != job.id:
        _lose(Job.get(previous))


def claim_job(
    agent: AgentPrincipal, body: dict[str, Any]
) -> protocol.JobAssignment | None:
    """Wait up to `wait_seconds` for a job one of the agent's free phones can run."""
    serials = body.get("devices")
    if not isinstance(serials, list) or not all(isinstance(s, str) for s in serials):
        raise ValidationError("devices", "must be a list of device serials")
    wait = body.get("wait_seconds", 0)
    if (
        isinstance(wait, bool)
        or not isinstance(wait, (int, float))
        or not (0 <= wait <= protocol.MAX_CLAIM_WAIT_SECONDS)
    ):
        raise ValidationError(
            "wait_seconds", f"must be 0 to {protocol.MAX_CLAIM_WAIT_SECONDS}"
        )
    deadline = time.monotonic() + wait
    while serials:
        claimed = _claim_one(agent, serials)
        if claimed is not None or time.monotonic() >= deadline:
            return claimed
        time.sleep(CLAIM_POLL_SECONDS)
    return None


def _claim_one(
    agent: AgentPrincipal, serials: list[str]
) -> protocol.JobAssignment | None:
    candidates = Job.queued.query(agent.org_id, limit=CANDIDATES_PER_POLL)
    for job in candidates:
        able = [job.device_id] if job.device_id in serials else []
        if job.device_id is None:
            able = serials
        for serial in able:
            if _take(agent, job, serial):
                if _answer_claim(job):
                    return _assignment(job, serial)
                break
    return None


def _answer_claim(job: Job) -> bool:
    """Start the run phase; False if the queue phase already ended."""
    try:
        aws.client("stepfunctions").send_task_success(
            taskToken=job.queue_token, output=json.dumps({"job_id": job.id})
        )
    except ClientError as exc:
        if _error_code(exc) not in DEAD_TOKEN_ERRORS:
            raise
        _lose(job)
        return False
    return True


def _attach_run_token(job_id: str, token: str) -> None:
    try:
        job = Job.get(job_id)
    except DoesNotExist:
        _answer_failure(token, "agent_lost", "The job no longer exists")
        return
    job.update(actions=[Job.run_token.set(token)])
    if job.status == "done":
        _answer_outcome(job)
    elif job.status in ("lost", "cancelled"):
        _answer_failure(token, "agent_lost", f"The job was {job.status}")


def _take(agent: AgentPrincipal, job: Job, serial: str) -> bool:
    now = now_iso()
    try:
        with aws.transaction() as transaction:
            transaction.update(
                job,
                actions=[
                    Job.status.set("claimed"),
                    Job.agent_id.set(agent.agent_id),
                    Job.device_serial.set(serial),
                    Job.claimed_at.set(now),
                    Job.queued_at.remove(),
                ],
                condition=Job.status == "queued",
            )
            transaction.update(
                Device(agent.org_id, serial),
                actions=[Device.current_job.set(job.id)],
                condition=(Device.agent_id == agent.agent_id)
                & Device.current_job.does_not_exist(),
            )
            transaction.update(
                Execution(job.execution_id),
                actions=[
                    Execution.status.set("running"),
                    Execution.started_at.set(Execution.started_at | now),
                    Execution.agent_id.set(agent.agent_id),
                    Execution.device_serial.set(serial),
                    Execution.current_step.set(f"Starting on {serial}"),
                ],
                condition=Execution.status.is_in(*ACTIVE)
                & (Execution.current_job_id == job.id),
            )
    except TransactWriteError:
        return False
    logger.info("job claimed", extra={"job_id": job.id, "agent_id": agent.agent_id})
    return True


def _assignment(job: Job, serial: str) -> protocol.JobAssignment:
    execution = Execution.get(job.execution_id)
    request = json.loads(execution.request)
    definition = request["definition"]
    timeout_ms = (
        request["options"]["timeout"] or definition["settings"]["execution_timeout"]
    )
    names = [
        a.name for a in Asset.query(execution.script_id, attributes_to_get=["name"])
    ]
    return protocol.JobAssignment(
        job_id=job.id,
        execution_id=execution.id,
        attempt=int(job.attempt),
        device_serial=serial,
        script=definition,
        parameters=request["parameters"],
        timeout_ms=int(timeout_ms),
        heartbeat_seconds=get_settings().job_heartbeat_seconds,
        assets=names,
    )


def held_job(agent: AgentPrincipal, job_id: str) -> Job:
    """The job if this agent holds it; raises NotFoundError or ForbiddenError."""
    try:
        job = Job.get(job_id)
    except DoesNotExist as exc:
        raise NotFoundError(f"Job {job_id} was not found") from exc
    if job.org_id != agent.org_id:
        raise NotFoundError(f"Job {job_id} was not found")
    if job.agent_id != agent.agent_id or job.status != "claimed":
        raise ForbiddenError(f"This agent does not hold job {job_id}")
    return job


def job_asset(agent: AgentPrincipal, job_id: str, name: str) -> tuple[Asset, bytes]:
    """An image of the job's script; raises NotFoundError or ForbiddenError."""
    job = held_job(agent, job_id)
    execution = Execution.get(job.execution_id)
    return assets.read_asset(execution.script_id, name)


def heartbeat(agent: AgentPrincipal, job_id: str) -> bool:
    """Keep the job alive; returns whether a stop was asked."""
    job = held_job(agent, job_id)
    if job.run_token:
        try:
            aws.client("stepfunctions").send_task_heartbeat(taskToken=job.run_token)
        except ClientError as exc:
            _refuse_if_dead(job, exc)
    return bool(job.stop_requested)


def record_progress(agent: AgentPrincipal, job_id: str, body: dict[str, Any]) -> None:
    """Store progress, current step and log lines of a running job."""
    job = held_job(agent, job_id)
    progress = protocol.Progress.from_json(body)
    actions = []
    if progress.progress is not None:
        actions.append(Execution.progress.set(progress.progress))
    if progress.current_step is not None:
        actions.append(Execution.current_step.set(progress.current_step))
    if actions:
        try:
            Execution(job.execution_id).update(
                actions=actions,
                condition=(Execution.status == "running")
                & (Execution.current_job_id == job.id),
            )
        except UpdateError as exc:
            if not _conditional(exc):
                raise
    _store_logs(job, progress.logs)


def _store_logs(job: Job, lines: list[protocol.LogLine]) -> None:
    expires = int(time.time()) + LOG_RETENTION_SECONDS
    stamp = time.time_ns()
    with ExecutionLog.batch_write() as batch:
        for index, line in enumerate(lines):
            batch.save(
                ExecutionLog(
                    job.execution_id,
                    f"{stamp:020d}#{index:03d}",
                    timestamp=line.timestamp,
                    level=line.level,
                    message=line.message,
                    expires_at=expires,
                )
            )


def complete(agent: AgentPrincipal, job_id: str, body: dict[str, Any]) -> None:
    """Record how the attempt ended and answer the state machine.

    Raises ForbiddenError when the job is no longer this agent's.
    """
    job = held_job(agent, job_id)
    result = protocol.JobResult.from_json(body)
    execution = Execution.get(job.execution_id)
    duration = _duration(execution)
    _store_result(execution, job, result, duration)
    outcome = {
        "success": result.success,
        "duration": duration,
        "error_type": result.error_type,
        "error_message": result.error_message,
    }
    try:
        job.update(
            actions=[Job.outcome.set(json.dumps(outcome)), Job.status.set("done")],
            condition=(Job.status == "claimed") & (Job.agent_id == agent.agent_id),
        )
    except UpdateError as exc:
        if _conditional(exc):
            raise ForbiddenError(f"This agent does not hold job {job_id}") from exc
        raise
    _release_device(job)
    if job.run_token:
        _answer_outcome(job)
    logger.info("job completed", extra={"job_id": job.id, "success": result.success})


def _answer_outcome(job: Job) -> None:
    """Answer the run phase with the outcome the agent reported."""
    outcome = json.loads(job.outcome)
    sfn = aws.client("stepfunctions")
    try:
        if outcome["success"]:
            sfn.send_task_success(
                taskToken=job.run_token,
                output=json.dumps({"duration": outcome["duration"]}),
            )
        else:
            sfn.send_task_failure(
                taskToken=job.run_token,
                error=outcome["error_type"] or "internal_error",
                cause=(outcome["error_message"] or "")[:1000],
            )
    except ClientError as exc:
        if _error_code(exc) not in DEAD_TOKEN_ERRORS:
            raise
        logger.warning("outcome arrived after the run ended", extra={"job_id": job.id})


def _duration(execution: Execution) -> float:
    started = parse_iso(execution.started_at or execution.created_at)
    return round((utc_now() - started).total_seconds(), 3)


def _store_result(
    execution: Execution, job: Job, result: protocol.JobResult, duration: float
) -> None:
    event = _outcome_event(execution, result, duration)
    actions = [
        Execution.result.set(json.dumps(result.to_json())),
        Execution.duration.set(duration),
        Execution.actions_executed.set(result.actions_executed),
        Execution.outcome_event.set(json.dumps(event)),
    ]
    if result.success:
        actions.append(Execution.progress.set(100))
    else:
        actions.append(Execution.error_message.set(result.error_message or ""))
    try:
        execution.update(
            actions=actions,
            condition=(Execution.current_job_id == job.id)
            & Execution.status.is_in("queued", "running", "stopped"),
        )
    except UpdateError as exc:
        if _conditional(exc):
            raise ForbiddenError(f"This agent does not hold job {job.id}") from exc
        raise


def _outcome_event(
    execution: Execution, result: protocol.JobResult, duration: float
) -> dict[str, Any]:
    """The script.executed or script.failed event the state machine publishes."""
    status = "completed" if result.success else "failed"
    return {
        "id": new_id("evt"),
        "event": "script.executed" if result.success else "script.failed",
        "timestamp": now_iso(),
        "org_id": execution.org_id,
        "data": {
            "execution_id": execution.id,
            "script_id": execution.script_id,
            "script_name": execution.script_name,
            "user_id": execution.user_id,
            "status": status,
            "duration": duration,
            "success": result.success,
            "actions_executed": result.actions_executed,
            "result": result.data_collected,
            "error": result.error_type,
        },
    }


def request_stop(execution: Execution) -> None:
    """Tell the current job to stop: a queued one ends now, a claimed one is
    told at its next heartbeat."""
    if execution.current_job_id:
        job = Job.get(execution.current_job_id)
        if job.status == "queued" and _cancel(job):
            return
        if job.status == "claimed":
            job.update(actions=[Job.stop_requested.set(True)])
    try:
        aws.client("stepfunctions").stop_execution(
            executionArn=_execution_arn(execution.id), cause="User requested stop"
        )
    except ClientError as exc:
        logger.warning("stop execution failed", extra={"error": str(exc)})


def _execution_arn(execution_id: str) -> str:
    from chalicelib.executions import state_machine_arn

    return (
        f"{state_machine_arn().replace(':stateMachine:', ':execution:')}:{execution_id}"
    )


def _cancel(job: Job) -> bool:
    """End a job nobody claimed yet; False if an agent took it meanwhile."""
    try:
        job.update(
            actions=[Job.status.set("cancelled"), Job.queued_at.remove()],
            condition=Job.status == "queued",
        )
    except UpdateError as exc:
        if _conditional(exc):
            return False
        raise
    _answer_failure(job.queue_token, "stopped", "The execution was stopped")
    return True


def _error_code(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "")


def _refuse_if_dead(job: Job, exc: ClientError) -> None:
    if _error_code(exc) not in DEAD_TOKEN_ERRORS:
        raise exc
    _lose(job)
    raise ForbiddenError(f"This agent does not hold job {job.id}") from exc


def _lose(job: Job) -> None:
    """Take a job from its agent (it timed out or was superseded)."""
    _finish(job, "lost")


def _finish(job: Job, status: str) -> None:
    try:
        job.update(
            actions=[Job.status.set(status)],
            condition=Job.status.is_in("claimed", "queued"),
        )
    except UpdateError as exc:
        if not _conditional(exc):
            raise
        return
    _release_device(job)
    if status == "lost" and job.run_token:
        _answer_failure(job.run_token, "agent_lost", "The job was taken back")


def _release_device(job: Job) -> None:
    if job.device_serial:
        try:
            Device(job.org_id, job.device_serial).update(
                actions=[Device.current_job.remove()],
                condition=Device.current_job == job.id,
            )
        except UpdateError as exc:
            if not _conditional(exc):
                raise


def _answer_failure(token: str, error: str, cause: str) -> None:
    try:
        aws.client("stepfunctions").send_task_failure(
            taskToken=token, error=error, cause=cause
        )
    except ClientError as exc:
        if _error_code(exc) not in DEAD_TOKEN_ERRORS:
            raise


def _conditional(exc: Exception) -> bool:
    return (
        getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"
    )
