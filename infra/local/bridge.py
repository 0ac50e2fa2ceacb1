"""Delivers SQS, SNS and schedule events to the app's handlers, as Lambda does.

`chalice local` runs no event sources, so the local stack runs this bridge.
For each event source the app registers it runs one poller thread:

- SQS: long-polls the queue, hands up to `batch_size` messages to the handler
  as one event, then deletes the messages the handler did not report in
  `batchItemFailures` (all of them if it raised, none), leaving failures to
  reappear after the queue's visibility timeout, as Lambda's event source
  mapping does with ReportBatchItemFailures on;
- SNS: subscribes a private queue to the topic and invokes the handler with
  one SNS record per event, retrying a failing event twice more, as Lambda's
  asynchronous invocation does;
- schedules: evaluates `rate(...)` and `cron(...)` expressions and invokes
  the handler with a Scheduled Event when they fall due.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from chalice import Chalice
from chalice.app import ScheduledEventConfig, SNSEventConfig, SQSEventConfig

from infra.local import schedules
from infra.local.lambda_context import LocalLambdaContext

logger = logging.getLogger(__name__)

POLL_WAIT_SECONDS = 1
# Lambda's event source mapping starts with several concurrent pollers per
# queue; batches are handled in parallel, as they are there.
SQS_POLLERS = 4
SNS_ATTEMPTS = 3


@dataclass
class EventBridge:
    """Runs one poller per event source of `app` until `stop()`."""

    app: Chalice
    sqs: Any
    sns: Any
    region: str = "us-east-1"
    account_id: str = "123456789012"
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    _stopping: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _schedule_due: dict[str, datetime] = field(default_factory=dict)

    def start(self) -> None:
        for source in self.app.event_sources:
            target = self._poller(source)
            if target is None:
                logger.warning("event source not bridged", extra={"name": source.name})
                continue
            pollers = SQS_POLLERS if isinstance(source, SQSEventConfig) else 1
            for number in range(pollers):
                thread = threading.Thread(
                    target=target, name=f"bridge-{source.name}-{number}", daemon=True
                )
                thread.start()
                self._threads.append(thread)

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        for thread in self._threads:
            thread.join(timeout)

    def _poller(self, source: Any) -> Callable[[], None] | None:
        if isinstance(source, SQSEventConfig):
            url = self.sqs.get_queue_url(QueueName=source.queue)["QueueUrl"]
            return lambda: self._poll_sqs(source, url)
        if isinstance(source, SNSEventConfig):
            url = self._subscribe_private_queue(source)
            return lambda: self._poll_sns(source, url)
        if isinstance(source, ScheduledEventConfig):
            return lambda: self._run_schedule(source)
        return None

    def _invoke(self, name: str, event: dict[str, Any]) -> Any:
        context = LocalLambdaContext(
            function_name=name, region=self.region, account_id=self.account_id
        )
        return self.app.handler_map[name](event, context)

    def _poll_sqs(self, source: SQSEventConfig, url: str) -> None:
        arn = self._queue_arn(url)
        while not self._stopping.is_set():
            messages = self._receive(url, source.batch_size)
            if messages:
                self.deliver_sqs_batch(source, url, arn, messages)

    def _receive(self, url: str, count: int) -> list[dict[str, Any]]:
        try:
            return self.sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=min(count, 10),
                WaitTimeSeconds=POLL_WAIT_SECONDS,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
        except Exception:
            if not self._stopping.is_set():
                logger.exception("queue poll failed", extra={"queue_url": url})
                self._stopping.wait(1)
            return []

    def deliver_sqs_batch(
        self, source: SQSEventConfig, url: str, arn: str, messages: list[dict[str, Any]]
    ) -> set[str]:
        """Invoke the handler on one batch; returns the ids left for retry."""
        event = {"Records": [self._sqs_record(m, arn) for m in messages]}
        try:
            result = self._invoke(source.name, event)
            failed = {
                item["itemIdentifier"]
                for item in (result or {}).get("batchItemFailures", [])
            }
        except Exception:
            logger.exception("sqs handler raised", extra={"handler": source.name})
            failed = {m["MessageId"] for m in messages}
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            self.sqs.delete_message_batch(
                QueueUrl=url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                    for i, m in enumerate(done)
                ],
            )
        logger.info(
            "sqs batch delivered",
            extra={
                "handler": source.name,
                "messages": len(messages),
                "failed": len(failed),
            },
        )
        return failed

    def _sqs_record(self, message: dict[str, Any], arn: str) -> dict[str, Any]:
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": {
                name: {
                    "stringValue": value.get("StringValue"),
                    "binaryValue": value.get("BinaryValue"),
                    "dataType": value["DataType"],
                    "stringListValues": [],
                    "binaryListValues": [],
                }
                for name, value in message.get("MessageAttributes", {}).items()
            },
            "md5OfBody": message.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": arn,
            "awsRegion": self.region,
        }

    def _queue_arn(self, url: str) -> str:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["QueueArn"]
        )
        return attributes["Attributes"]["QueueArn"]

    def _subscribe_private_queue(self, source: SNSEventConfig) -> str:
        topic_arn = (
            source.topic
            if source.topic.startswith("arn:")
            else f"arn:aws:sns:{self.region}:{self.account_id}:{source.topic}"
        )
        name = f"bridge-{source.name}"[:80]
        url = self.sqs.create_queue(
            QueueName=name, Attributes={"VisibilityTimeout": "2"}
        )["QueueUrl"]
        self.sns.subscribe(
            TopicArn=topic_arn, Protocol="sqs", Endpoint=self._queue_arn(url)
        )
        return url

    def _poll_sns(self, source: SNSEventConfig, url: str) -> None:
        while not self._stopping.is_set():
            for message in self._receive(url, 10):
                self._deliver_sns(source, url, message)

    def _deliver_sns(
        self, source: SNSEventConfig, url: str, message: dict[str, Any]
    ) -> None:
        notification = {**_SNS_DEFAULTS, **json.loads(message["Body"])}
        attempt = int(message.get("Attributes", {}).get("ApproximateReceiveCount", 1))
        try:
            self._invoke(
                source.name,
                {
                    "Records": [
                        {
                            "EventSource": "aws:sns",
                            "EventVersion": "1.0",
                            "EventSubscriptionArn": (
                                f"{notification['TopicArn']}:{source.name}"
                            ),
                            "Sns": notification,
                        }
                    ]
                },
            )
        except Exception:
            logger.exception(
                "sns handler raised", extra={"handler": source.name, "attempt": attempt}
            )
            if attempt < SNS_ATTEMPTS:
                return
        self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    def _run_schedule(self, source: ScheduledEventConfig) -> None:
        while not self._stopping.wait(0.5):
            self.run_due_schedule(source)

    def run_due_schedule(self, source: ScheduledEventConfig) -> bool:
        """Invoke a scheduled handler if its time has come; True if it ran."""
        now = self.clock()
        expression = _expression_text(source.schedule_expression)
        due = self._schedule_due.setdefault(
            source.name, schedules.next_time(expression, now)
        )
        if now < due:
            return False
        self._schedule_due[source.name] = schedules.next_time(
            expression, due + timedelta(seconds=1)
        )
        event = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": self.account_id,
            "time": due.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": self.region,
            "resources": [
                f"arn:aws:events:{self.region}:{self.account_id}:rule/{source.name}"
            ],
            "detail": {},
        }
        try:
            self._invoke(source.name, event)
        except Exception:
            logger.exception("scheduled handler raised", extra={"handler": source.name})
        return True


_SNS_DEFAULTS = {
    "Type": "Notification",
    "Subject": None,
    "MessageAttributes": {},
    "SignatureVersion": "1",
    "Signature": "",
    "SigningCertUrl": "",
    "UnsubscribeUrl": "",
}


def _expression_text(expression: Any) -> str:
    return expression if isinstance(expression, str) else expression.to_string()
