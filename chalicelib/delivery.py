"""Webhook delivery: from an event on the topic to a signed POST, retried.

Each stage is a queue handler of its own, so no receiver waits on another:

1. Fan-out (`fan_out`, on the webhook-events queue the events topic feeds):
   find the organization's active webhooks subscribed to the event and, for
   an execution's outcome, the webhook its `notification_webhook` named;
   record one delivery for each (its id derives from the webhook and the
   event, so an event seen twice makes no second delivery) and queue one
   message per delivery: on the webhook-deliveries queue, or on the
   webhook-retries queue when the webhook is failing already.
2. Attempt (`attempt_delivery`, on both queues, every message of a batch at
   once): claim the attempt with a conditional write, check the URL's
   addresses again, sign the stored body and POST it with a short timeout,
   following no redirect (`chalicelib.egress`). Retries and failing
   webhooks have a queue of their own, so the attempts that wait out their
   timeout never share a batch with first attempts to healthy receivers.
3. Decide: a 2xx ends the delivery. Timeouts, connection errors, 408, 429
   and 5xx are retried with exponential backoff and jitter, or after the
   receiver's Retry-After if that is longer; the next attempt is queued
   before this one is recorded, hopping through SQS's 15-minute delay limit
   as often as needed. Any other answer, a refused address or the last
   attempt ends the delivery as failed and copies it to the dead-letter
   queue; the delivery log keeps every attempt either way.
4. Health: a webhook whose attempts keep failing for the configured number
   of hours is disabled, with the time and the reason kept on it.

Delivery is at least once: `webhook-id` is the event's id on every attempt
and redelivery, so receivers drop duplicates by it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import random
import re
import secrets
import time
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.exceptions import DoesNotExist, PutError, UpdateError

from chalicelib import aws, egress, event_types, logs, webhook_secrets
from chalicelib.errors import InternalError
from chalicelib.ids import new_id, now_iso, parse_iso, to_iso, utc_now
from chalicelib.models import (
    DeliveryAttempt,
    Execution,
    Webhook,
    WebhookDelivery,
)
from chalicelib.settings import get_settings

logger = logging.getLogger(__name__)

EVENTS_QUEUE = "webhook-events"
DELIVERIES_QUEUE = "webhook-deliveries"
RETRIES_QUEUE = "webhook-retries"
DEAD_LETTER_QUEUE = "webhook-deliveries-dlq"

PENDING = "pending"
DELIVERING = "delivering"
RETRYING = "retrying"
SUCCEEDED = "succeeded"
FAILED = "failed"
STATUSES = (PENDING, DELIVERING, RETRYING, SUCCEEDED, FAILED)
FINAL = (SUCCEEDED, FAILED)

BACKOFF_FACTOR = 2
JITTER = 0.25
RETRYABLE_STATUSES = frozenset({408, 429})
MAX_RETRY_AFTER_SECONDS = 6 * 3600
MAX_SQS_DELAY_SECONDS = 900
# Delayed messages are asked for this much early and the handler waits out
# the rest, so that attempts start on time even where a queue notices a
# delayed message late; a message earlier than WAIT_LIMIT goes back.
EARLY_SECONDS = 1
WAIT_LIMIT_SECONDS = 2.0
LEASE_MARGIN_SECONDS = 30
RETENTION = timedelta(days=30)
USER_AGENT = "TapCraft-Webhooks/1.0"
PING_MESSAGE = "TapCraft webhook test"


class DeliveryBusyError(Exception):
    """Another worker holds this delivery now; the message comes back later."""


@dataclass(frozen=True)
class AttemptMessage:
    """What the delivery queues carry: which attempt of which delivery."""

    webhook_id: str
    delivery_id: str
    attempt: int
    not_before: float = 0.0

    @classmethod
    def from_json(cls, body: str) -> AttemptMessage:
        fields = json.loads(body)
        return cls(
            webhook_id=str(fields["webhook_id"]),
            delivery_id=str(fields["delivery_id"]),
            attempt=int(fields["attempt"]),
            not_before=float(fields.get("not_before", 0.0)),
        )


@dataclass(frozen=True)
class Attempt:
    """The outcome of one HTTP attempt."""

    number: int
    at: str
    status_code: int | None
    duration_ms: float
    error: str | None
    retryable: bool
    retry_after: float | None = None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def fan_out(body: str) -> None:
    """Record and queue one delivery per webhook an event concerns."""
    event = json.loads(body)
    kind = event.get("event")
    if kind not in event_types.SUBSCRIBABLE:
        logger.warning("event not in the catalogue", extra={"event": kind})
        return
    org_id = event["org_id"]
    targets = {w.id: w for w in _subscribers(org_id, kind)}
    if kind in event_types.OUTCOME_EVENTS:
        event, notified = _with_execution(event)
        if notified and notified not in targets:
            targets.update({w.id: w for w in _active_webhook(notified, org_id)})

    payload = render_payload(event)
    queued = sum(_record(webhook, event, payload) for webhook in targets.values())
    logger.info(
        "event fanned out",
        extra={"event": kind, "event_id": event["id"], "deliveries": queued},
    )


def render_payload(event: dict[str, Any]) -> str:
    """The body every attempt of the event's deliveries sends, byte for byte."""
    return json.dumps(
        {
            "id": event["id"],
            "event": event["event"],
            "timestamp": event["timestamp"],
            "data": event.get("data") or {},
        },
        separators=(",", ":"),
    )


def _subscribers(org_id: str, kind: str) -> list[Webhook]:
    return [
        webhook
        for webhook in Webhook.by_org.query(org_id)
        if webhook.active and kind in (webhook.events or [])
    ]


def _active_webhook(webhook_id: str, org_id: str) -> list[Webhook]:
    webhook = _find_webhook(webhook_id)
    if webhook is None or webhook.org_id != org_id or not webhook.active:
        return []
    return [webhook]


def _with_execution(event: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """The outcome event with every documented field, and its notified webhook.

    The state machine's timeout event knows less than the agent's report;
    the execution record fills in what it lacks.
    """
    data = dict(event.get("data") or {})
    try:
        execution = Execution.get(str(data.get("execution_id")))
    except DoesNotExist:
        return event, None
    if execution.org_id != event["org_id"]:
        return event, None
    known = {
        "execution_id": execution.id,
        "status": execution.status,
        "script_id": execution.script_id,
        "script_name": execution.script_name,
        "user_id": execution.user_id,
        "duration": execution.duration,
        "success": False,
        "actions_executed": execution.actions_executed,
        "result": {},
        "error": execution.error_type,
    }
    merged = {**known, **data}
    if merged["result"] is None:
        merged["result"] = {}
    return {**event, "data": merged}, execution.notification_webhook_id


def _record(webhook: Webhook, event: dict[str, Any], payload: str) -> int:
    """Record the delivery and queue its first attempt; 0 if already under way."""
    delivery = _new_delivery(webhook, event, payload, delivery_id_for(webhook, event))
    try:
        delivery.save(condition=WebhookDelivery.id.does_not_exist())
    except PutError as exc:
        if not _conditional(exc):
            raise
        delivery.refresh()
        if delivery.status != PENDING or delivery.attempt_count:
            return 0
    _enqueue(AttemptMessage(webhook.id, delivery.id, 1), _lane(webhook))
    return 1


def _lane(webhook: Webhook) -> str:
    """The queue for a first attempt: a failing webhook's go with the retries."""
    # NOTE: a receiver that dies unnoticed is "failing" only once its first
    # attempt has timed out; until then its first attempts share batches with
    # healthy ones, and each such batch ends only when its timeout passes.
    return RETRIES_QUEUE if webhook.failing_since else DELIVERIES_QUEUE


def delivery_id_for(webhook: Webhook, event: dict[str, Any]) -> str:
    """The same id for the same event and webhook, ordered by the event's time."""
    stamp = re.sub(r"\D", "", str(event["timestamp"]))[:17].ljust(17, "0")
    digest = hashlib.sha256(f"{webhook.id}:{event['id']}".encode()).hexdigest()
    return f"dlv_{stamp}{digest[:12]}"


def _fresh_delivery_id() -> str:
    stamp = re.sub(r"\D", "", now_iso())[:17]
    return f"dlv_{stamp}{secrets.token_hex(6)}"


def _new_delivery(
    webhook: Webhook, event: dict[str, Any], payload: str, delivery_id: str
) -> WebhookDelivery:
    return WebhookDelivery(
        webhook.id,
        delivery_id,
        org_id=webhook.org_id,
        event_id=event["id"],
        event_type=event["event"],
        payload=payload,
        status=PENDING,
        attempt_count=0,
        attempts=[],
        created_at=now_iso(),
        expires_at=utc_now() + RETENTION,
    )


def schedule_ping(webhook: Webhook) -> WebhookDelivery:
    """Queue a signed `ping` event to the webhook; raises InternalError."""
    event = {
        "id": new_id("evt"),
        "event": event_types.PING,
        "timestamp": now_iso(),
        "data": {"webhook_id": webhook.id, "message": PING_MESSAGE},
    }
    payload = render_payload(event)
    delivery = _new_delivery(webhook, event, payload, _fresh_delivery_id())
    return _schedule(webhook, delivery)


def schedule_redelivery(webhook: Webhook, original: WebhookDelivery) -> WebhookDelivery:
    """Queue the original's exact body again, as a new delivery."""
    event = {"id": original.event_id, "event": original.event_type}
    delivery = _new_delivery(webhook, event, original.payload, _fresh_delivery_id())
    delivery.redelivery_of = original.id
    return _schedule(webhook, delivery)


def _schedule(webhook: Webhook, delivery: WebhookDelivery) -> WebhookDelivery:
    delivery.save(condition=WebhookDelivery.id.does_not_exist())
    _enqueue(AttemptMessage(webhook.id, delivery.id, 1), _lane(webhook))
    logger.info(
        "delivery scheduled",
        extra={"delivery_id": delivery.id, "event": delivery.event_type},
    )
    return delivery


def attempt_delivery(body: str) -> None:
    """Make one attempt of a delivery and decide what follows.

    Raises DeliveryBusyError when another worker holds the delivery, so that
    the message is tried again after the queue's visibility timeout.
    """
    message = AttemptMessage.from_json(body)
    if not _due(message):
        return
    with logs.correlated(
        delivery_id=message.delivery_id, webhook_id=message.webhook_id
    ):
        webhook = _find_webhook(message.webhook_id)
        if webhook is None:
            logger.info("webhook deleted; delivery dropped")
            return
        claimed = _claim(message)
        if claimed is None:
            return
        delivery, lease = claimed
        attempt = _try(webhook, delivery, message.attempt)
        _conclude(webhook, delivery, attempt, lease)


def _due(message: AttemptMessage) -> bool:
    """True when the attempt may start; puts an early message back."""
    remaining = message.not_before - time.time()
    if remaining > WAIT_LIMIT_SECONDS:
        _enqueue(message, RETRIES_QUEUE)
        return False
    if remaining > 0:
        time.sleep(remaining)
    return True


def _find_webhook(webhook_id: str) -> Webhook | None:
    try:
        return Webhook.get(webhook_id)
    except DoesNotExist:
        return None


def _claim(message: AttemptMessage) -> tuple[WebhookDelivery, float] | None:
    """Take the message's attempt for this worker, with the lease that marks it.

    The claim is the read: one conditional write answers with the delivery.
    None when the attempt was made already (or the delivery is gone).
    """
    now = time.time()
    lease = now + get_settings().webhook_timeout_seconds + LEASE_MARGIN_SECONDS
    delivery = WebhookDelivery(message.webhook_id, message.delivery_id)
    try:
        delivery.update(
            actions=[
                WebhookDelivery.status.set(DELIVERING),
                WebhookDelivery.lease_until.set(lease),
            ],
            condition=(WebhookDelivery.attempt_count == message.attempt - 1)
            & (
                WebhookDelivery.status.is_in(PENDING, RETRYING)
                | (WebhookDelivery.lease_until < now)
            ),
        )
    except UpdateError as exc:
        if not _conditional(exc):
            raise
        _explain_refusal(message)
        return None
    return delivery, lease


def _explain_refusal(message: AttemptMessage) -> None:
    """Return quietly if the attempt is not to be made; raise if it is not yet."""
    try:
        current = WebhookDelivery.get(message.webhook_id, message.delivery_id)
    except DoesNotExist:
        return
    if current.status in FINAL or current.attempt_count >= message.attempt:
        return
    if current.attempt_count < message.attempt - 1:
        raise DeliveryBusyError("the previous attempt is not recorded yet")
    raise DeliveryBusyError("another worker holds this delivery")


def _try(webhook: Webhook, delivery: WebhookDelivery, number: int) -> Attempt:
    at = now_iso()
    if not webhook.active and delivery.event_type != event_types.PING:
        return Attempt(number, at, None, 0.0, "the webhook is inactive", False)
    secret = webhook_secrets.reveal(webhook.id, webhook.secret_ciphertext)
    body = delivery.payload.encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-TapCraft-Event": delivery.event_type,
        "X-TapCraft-Delivery": delivery.id,
        **webhook_secrets.signature_headers(
            secret, delivery.event_id, int(time.time()), body
        ),
    }
    started = time.monotonic()
    try:
        answer = egress.post(
            webhook.url, body, headers, get_settings().webhook_timeout_seconds
        )
    except egress.EgressError as exc:
        elapsed = round((time.monotonic() - started) * 1000, 1)
        return Attempt(number, at, None, elapsed, str(exc), exc.retryable)
    return Attempt(
        number,
        at,
        answer.status,
        answer.duration_ms,
        _status_problem(answer.status),
        answer.status in RETRYABLE_STATUSES or answer.status >= 500,
        answer.retry_after,
    )


def _status_problem(status: int) -> str | None:
    if 200 <= status < 300:
        return None
    if 300 <= status < 400:
        return f"redirects are not followed (HTTP {status})"
    return f"the receiver answered HTTP {status}"


def _conclude(
    webhook: Webhook, delivery: WebhookDelivery, attempt: Attempt, lease: float
) -> None:
    settings = get_settings()
    status, delay = SUCCEEDED, None
    if not attempt.succeeded:
        last = attempt.number >= settings.webhook_max_attempts
        status = FAILED if last or not attempt.retryable else RETRYING
    if status == RETRYING:
        delay = backoff(attempt.number, attempt.retry_after)
        due = time.time() + delay
        following = AttemptMessage(webhook.id, delivery.id, attempt.number + 1, due)
        _enqueue(following, RETRIES_QUEUE)

    _store_attempt(delivery, attempt, status, lease, delay)
    if status == FAILED:
        _dead_letter(delivery, attempt)
    if webhook.active:
        _track_health(webhook, attempt)
    logger.info(
        "delivery attempted",
        extra={
            "event": delivery.event_type,
            "attempt": attempt.number,
            "status_code": attempt.status_code,
            "outcome": status,
            "duration_ms": attempt.duration_ms,
            "error": attempt.error,
            "retry_in_s": round(delay, 1) if delay is not None else None,
        },
    )


def backoff(attempt: int, retry_after: float | None = None) -> float:
    """Seconds before the attempt after `attempt`: doubling, with jitter."""
    base = get_settings().webhook_retry_base_seconds
    delay = base * BACKOFF_FACTOR ** (attempt - 1)
    delay *= random.uniform(1 - JITTER, 1 + JITTER)
    if retry_after is not None:
        delay = max(delay, min(retry_after, MAX_RETRY_AFTER_SECONDS))
    return delay


def _store_attempt(
    delivery: WebhookDelivery,
    attempt: Attempt,
    status: str,
    lease: float,
    delay: float | None,
) -> None:
    entry = DeliveryAttempt(
        attempt=attempt.number,
        at=attempt.at,
        status_code=attempt.status_code,
        duration_ms=attempt.duration_ms,
        error=attempt.error,
    )
    actions = [
        WebhookDelivery.attempts.set(WebhookDelivery.attempts.append([entry])),
        WebhookDelivery.attempt_count.set(attempt.number),
        WebhookDelivery.status.set(status),
        WebhookDelivery.lease_until.remove(),
    ]
    if delay is not None:
        due = utc_now() + timedelta(seconds=delay)
        actions.append(WebhookDelivery.next_attempt_at.set(to_iso(due)))
    else:
        actions.append(WebhookDelivery.next_attempt_at.remove())
    if status in FINAL:
        actions.append(WebhookDelivery.completed_at.set(now_iso()))
    try:
        delivery.update(
            actions=actions,
            condition=(WebhookDelivery.attempt_count == attempt.number - 1)
            & (WebhookDelivery.lease_until == lease),
        )
    except UpdateError as exc:
        if not _conditional(exc):
            raise
        raise DeliveryBusyError("the attempt's lease was taken over") from exc


def _dead_letter(delivery: WebhookDelivery, attempt: Attempt) -> None:
    """Copy a delivery that will not be tried again to the dead-letter queue."""
    record = {
        "webhook_id": delivery.webhook_id,
        "delivery_id": delivery.id,
        "org_id": delivery.org_id,
        "event_id": delivery.event_id,
        "event": delivery.event_type,
        "attempts": attempt.number,
        "last_status_code": attempt.status_code,
        "last_error": attempt.error,
        "payload": delivery.payload,
    }
    _send(DEAD_LETTER_QUEUE, json.dumps(record), 0)
    logger.warning(
        "delivery dead-lettered",
        extra={"attempts": attempt.number, "error": attempt.error},
    )


def _track_health(webhook: Webhook, attempt: Attempt) -> None:
    """Note a failing streak, end it on success, disable after too long."""
    if attempt.succeeded:
        if webhook.failing_since or webhook.consecutive_failures:
            _update_if_present(
                webhook,
                [Webhook.failing_since.remove(), Webhook.consecutive_failures.set(0)],
            )
        return
    noted = _update_if_present(
        webhook,
        [
            Webhook.failing_since.set(Webhook.failing_since | attempt.at),
            Webhook.consecutive_failures.set(Webhook.consecutive_failures + 1),
        ],
    )
    hours = get_settings().webhook_disable_after_hours
    overdue = utc_now() - timedelta(hours=hours)
    if noted and parse_iso(webhook.failing_since) <= overdue:
        _disable(webhook, hours, attempt)


def _update_if_present(webhook: Webhook, actions: list[Any]) -> bool:
    """Apply `actions` unless the webhook was deleted meanwhile."""
    try:
        webhook.update(actions=actions, condition=Webhook.id.exists())
    except UpdateError as exc:
        if not _conditional(exc):
            raise
        return False
    return True


def _disable(webhook: Webhook, hours: int, attempt: Attempt) -> None:
    reason = (
        f"Every delivery attempt failed for more than {hours} hours, since "
        f"{webhook.failing_since} ({int(webhook.consecutive_failures)} attempts); "
        f"the last: {attempt.error}"
    )
    now = now_iso()
    try:
        webhook.update(
            actions=[
                Webhook.active.set(False),
                Webhook.disabled_at.set(now),
                Webhook.disabled_reason.set(reason),
                Webhook.updated_at.set(now),
            ],
            condition=Webhook.active == True,  # noqa: E712 - a condition, not a test
        )
    except UpdateError as exc:
        if not _conditional(exc):
            raise
        return
    logger.warning(
        "webhook disabled",
        extra={
            "failing_since": webhook.failing_since,
            "attempts": int(webhook.consecutive_failures),
        },
    )


def _enqueue(message: AttemptMessage, queue: str) -> None:
    remaining = message.not_before - time.time()
    delay = math.floor(min(MAX_SQS_DELAY_SECONDS, remaining - EARLY_SECONDS))
    _send(queue, json.dumps(asdict(message)), max(0, delay))


def _send(queue: str, body: str, delay: int) -> None:
    try:
        aws.client("sqs").send_message(
            QueueUrl=aws.queue_url(queue), MessageBody=body, DelaySeconds=delay
        )
    except (BotoCoreError, ClientError) as exc:
        raise InternalError("The delivery could not be queued") from exc


def _conditional(exc: Exception) -> bool:
    return (
        getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"
    )
