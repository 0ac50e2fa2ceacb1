"""The event bridge delivers SQS, SNS and schedule events as Lambda would."""

from __future__ import annotations

import queue
import time
from datetime import UTC, datetime, timedelta

import pytest
from chalice import Chalice, Rate

from infra.local.bridge import EventBridge

probe = Chalice(app_name="bridge-probe")
received: queue.Queue = queue.Queue()


@probe.on_sqs_message(queue="probe-jobs", batch_size=5)
def take_jobs(event):
    failures = []
    for record in event:
        raw = record.to_dict()
        received.put(("sqs", record.body, raw["eventSource"], raw["eventSourceARN"]))
        if record.body.startswith("fail"):
            failures.append({"itemIdentifier": raw["messageId"]})
    return {"batchItemFailures": failures}


@probe.on_sns_message(topic="probe-topic")
def take_notes(event):
    received.put(("sns", event.message, event.subject))


@probe.schedule(Rate(5, unit=Rate.MINUTES))
def tick(event):
    received.put(("schedule", event.to_dict()["detail-type"]))


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(scope="module")
def bridge(stack):
    sqs, sns = stack.client("sqs"), stack.client("sns")
    url = sqs.create_queue(
        QueueName="probe-jobs", Attributes={"VisibilityTimeout": "1"}
    )["QueueUrl"]
    sns.create_topic(Name="probe-topic")
    clock = Clock()
    running = EventBridge(probe, sqs=sqs, sns=sns, clock=clock)
    running.start()
    yield running, url, clock
    running.stop()
    sqs.delete_queue(QueueUrl=url)


def collect(kind: str, count: int, seconds: float = 15) -> list[tuple]:
    found: list[tuple] = []
    deadline = time.monotonic() + seconds
    while len(found) < count and time.monotonic() < deadline:
        try:
            item = received.get(timeout=0.2)
        except queue.Empty:
            continue
        if item[0] == kind:
            found.append(item)
        else:
            received.put(item)
            time.sleep(0.05)
    return found


def test_sqs_batches_honour_partial_failures(bridge, stack):
    _, url, _ = bridge
    sqs = stack.client("sqs")
    for body in ("ok-1", "ok-2", "fail-1", "ok-3"):
        sqs.send_message(QueueUrl=url, MessageBody=body)

    deliveries = collect("sqs", 6)

    bodies = [d[1] for d in deliveries]
    assert sorted(b for b in bodies if b.startswith("ok")) == ["ok-1", "ok-2", "ok-3"]
    assert bodies.count("fail-1") >= 2, "a failed message must come back"
    assert {d[2] for d in deliveries} == {"aws:sqs"}
    assert deliveries[0][3].endswith(":probe-jobs")
    attributes = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=[
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
        ],
    )["Attributes"]
    left = sum(int(v) for v in attributes.values())
    assert left == 1, "only the failing message stays queued"


def test_sns_notifications_reach_the_handler(bridge, stack):
    sns = stack.client("sns")
    arn = sns.create_topic(Name="probe-topic")["TopicArn"]

    sns.publish(TopicArn=arn, Message="hello", Subject="greeting")

    assert collect("sns", 1) == [("sns", "hello", "greeting")]


def test_schedules_fire_when_due(bridge):
    _, _, clock = bridge
    time.sleep(0.8)
    assert collect("schedule", 1, seconds=1) == []

    clock.now += timedelta(minutes=5)

    assert collect("schedule", 1) == [("schedule", "Scheduled Event")]
    assert collect("schedule", 1, seconds=1) == []
