"""Webhook delivery through the local stack to real receivers on loopback.

Events go the whole way: published to the events topic, fanned out by the
webhook-events handler, attempted by the webhook-deliveries handler over
HTTP. Retries are compressed by tests/conftest.py: a 2 s timeout, retries
after about 1 s and 2 s, three attempts in all.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from jsonschema import Draft202012Validator

from chalicelib import event_types
from tests import reference
from tests.played_agent import PlayedAgent, wait_for
from tests.receivers import Answer, closed_port_url, receiving
from tests.webhook_tools import (
    deliveries,
    ping,
    register,
    verify_standard_webhook,
    verify_webhook_signature,
    wait_for_delivery,
)

SCRIPT_EVENTS = ["script.created", "script.updated", "script.deleted"]


def envelope_validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(
        event_types.envelope_schema(event_types.CATALOGUE[name])
    )


def test_every_delivery_verifies_and_a_tampered_body_does_not(tenant):
    chosen = "your_webhook_secret_0123"
    with receiving() as first, receiving() as second:
        mine = register(tenant, first.url, SCRIPT_EVENTS, secret=chosen)
        generated = register(tenant, second.url, SCRIPT_EVENTS)
        created = tenant.client.post("/scripts", json=reference.CREATE_SCRIPT)
        script = f"/scripts/{created.json()['data']['script']['id']}"
        tenant.client.put(script, json={"description": "changed"})
        tenant.client.delete(script)
        pairs = [(mine["secret"], r) for r in first.wait_for(3)]
        pairs += [(generated["secret"], r) for r in second.wait_for(3)]

    assert mine["secret"] == chosen
    assert generated["secret"].startswith("whsec_")
    for secret, request in pairs:
        body = json.loads(request.body)
        signature = request.headers["x-tapcraft-signature"]
        assert verify_webhook_signature(request.text, signature, secret)
        assert not verify_webhook_signature(
            request.text.replace('"event"', '"Event"'), signature, secret
        )
        assert not verify_webhook_signature(request.text, signature, secret + "x")
        assert request.headers["webhook-id"] == body["id"]
        assert request.headers["content-type"] == "application/json"
        envelope_validator(body["event"]).validate(body)
    standard = [(s, r) for s, r in pairs if s.startswith("whsec_")]
    assert all(verify_standard_webhook(s, r.headers, r.body) for s, r in standard)
    assert not any(
        verify_standard_webhook(s, r.headers, r.body + b" ") for s, r in standard
    )
    assert sorted(json.loads(r.body)["event"] for _, r in pairs) == sorted(
        SCRIPT_EVENTS * 2
    )


def test_a_failing_receiver_is_retried_with_growing_delays(tenant):
    with receiving(500, 503, 200) as receiver:
        webhook = register(tenant, receiver.url)
        queued = ping(tenant, webhook["id"])
        requests = receiver.wait_for(3)
        done = wait_for_delivery(tenant, webhook["id"], queued["id"])

    first_gap = requests[1].at - requests[0].at
    second_gap = requests[2].at - requests[1].at
    assert 0.7 < first_gap < second_gap
    assert {r.headers["webhook-id"] for r in requests} == {queued["event_id"]}
    assert len({r.body for r in requests}) == 1
    assert done["status"] == "succeeded"
    assert [a["status_code"] for a in done["attempts"]] == [500, 503, 200]
    assert [a["attempt"] for a in done["attempts"]] == [1, 2, 3]
    assert all(a["duration_ms"] >= 0 and a["at"] for a in done["attempts"])
    assert done["attempts"][0]["error"] == "the receiver answered HTTP 500"
    assert done["attempts"][2]["error"] is None


def test_a_dead_receiver_ends_in_the_dead_letter_queue(stack, tenant):
    webhook = register(tenant, closed_port_url())
    queued = ping(tenant, webhook["id"])

    failed = wait_for_delivery(tenant, webhook["id"], queued["id"], timeout=20)
    dead = dead_letters(stack, queued["id"])
    described = tenant.client.get(f"/webhooks/{webhook['id']}").json()["data"]

    assert failed["status"] == "failed"
    assert failed["completed_at"]
    assert [a["attempt"] for a in failed["attempts"]] == [1, 2, 3]
    assert all(a["status_code"] is None for a in failed["attempts"])
    assert all(a["error"] == "connection refused" for a in failed["attempts"])
    assert dead["webhook_id"] == webhook["id"]
    assert dead["attempts"] == 3
    assert json.loads(dead["payload"])["event"] == "ping"
    assert described["webhook"]["failing_since"]
    assert described["webhook"]["active"] is True


def dead_letters(stack, delivery_id: str) -> dict:
    """The dead-letter queue's message for a delivery, left in the queue."""
    sqs = stack.client("sqs")
    url = sqs.get_queue_url(QueueName="tapcraft-local-webhook-deliveries-dlq")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        messages = sqs.receive_message(
            QueueUrl=url["QueueUrl"],
            MaxNumberOfMessages=10,
            VisibilityTimeout=0,
            WaitTimeSeconds=1,
        ).get("Messages", [])
        for message in messages:
            body = json.loads(message["Body"])
            if body.get("delivery_id") == delivery_id:
                return body
    raise AssertionError(f"{delivery_id} is not in the dead-letter queue")


def test_a_client_error_is_not_retried(tenant):
    with receiving(400) as receiver:
        webhook = register(tenant, receiver.url)
        queued = ping(tenant, webhook["id"])
        failed = wait_for_delivery(tenant, webhook["id"], queued["id"])
        time.sleep(1.5)

        assert len(receiver.received) == 1
    assert failed["status"] == "failed"
    assert [a["status_code"] for a in failed["attempts"]] == [400]
    assert failed["next_attempt_at"] is None


def test_retry_after_is_honoured(tenant):
    with receiving(Answer(429, {"Retry-After": "2"}), 200) as receiver:
        webhook = register(tenant, receiver.url)
        queued = ping(tenant, webhook["id"])
        first, second = receiver.wait_for(2)
        done = wait_for_delivery(tenant, webhook["id"], queued["id"])

    assert second.at - first.at >= 1.95
    assert [a["status_code"] for a in done["attempts"]] == [429, 200]


def test_redelivery_sends_the_same_event_again(tenant):
    with receiving(400, 200) as receiver:
        webhook = register(tenant, receiver.url)
        original = ping(tenant, webhook["id"])
        wait_for_delivery(tenant, webhook["id"], original["id"])
        path = f"/webhooks/{webhook['id']}/deliveries/{original['id']}/redeliver"
        response = tenant.client.post(path)
        again = response.json()["data"]["delivery"]
        done = wait_for_delivery(tenant, webhook["id"], again["id"])
        first, second = receiver.wait_for(2)

    assert response.status_code == 202
    assert again["redelivery_of"] == original["id"]
    assert again["id"] != original["id"]
    assert again["event_id"] == original["event_id"]
    assert done["status"] == "succeeded"
    assert first.body == second.body
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    log = [d["id"] for d in deliveries(tenant, webhook["id"])]
    assert log == [again["id"], original["id"]]


def test_redelivery_waits_for_the_delivery_to_end(tenant):
    with receiving(Answer(200, delay=1.0)) as receiver:
        webhook = register(tenant, receiver.url)
        queued = ping(tenant, webhook["id"])
        receiver.wait_for(1)
        path = f"/webhooks/{webhook['id']}/deliveries/{queued['id']}/redeliver"
        early = tenant.client.post(path)
        missing = tenant.client.post(
            f"/webhooks/{webhook['id']}/deliveries/dlv_0/redeliver"
        )
        wait_for_delivery(tenant, webhook["id"], queued["id"])

    assert early.status_code == 400
    assert "still" in early.json()["error"]["details"]
    assert missing.status_code == 404


def test_ping_is_a_signed_test_event(tenant):
    with receiving() as receiver:
        webhook = register(tenant, receiver.url, ["script.created"])
        queued = ping(tenant, webhook["id"])
        (request,) = receiver.wait_for(1)
        done = wait_for_delivery(tenant, webhook["id"], queued["id"])

    body = json.loads(request.body)
    assert queued["status"] == "pending"
    assert queued["event"] == "ping"
    assert body["event"] == "ping"
    assert body["data"]["webhook_id"] == webhook["id"]
    assert request.headers["x-tapcraft-event"] == "ping"
    assert request.headers["x-tapcraft-delivery"] == queued["id"]
    assert request.headers["user-agent"].startswith("TapCraft-Webhooks/")
    assert verify_webhook_signature(
        request.text, request.headers["x-tapcraft-signature"], webhook["secret"]
    )
    assert verify_standard_webhook(webhook["secret"], request.headers, request.body)
    envelope_validator("ping").validate(body)
    assert done["status"] == "succeeded"


def test_a_slow_receiver_does_not_delay_another(tenant):
    with (
        receiving(final=Answer(200, delay=3.0)) as slow,
        receiving() as fast,
    ):
        stuck = register(tenant, slow.url, ["script.created"])
        register(tenant, fast.url, ["script.created"])
        sent = time.monotonic()
        tenant.client.post("/scripts", json=reference.CREATE_SCRIPT)
        (quick,) = fast.wait_for(1)
        slow.wait_for(1)
        first = wait_for_attempts(tenant, stuck["id"], 1)

    assert quick.at - sent < 1.5
    assert first["attempts"][0]["error"] == "no answer within 2 s"
    assert first["attempts"][0]["status_code"] is None
    assert first["status"] in ("retrying", "delivering")


def wait_for_attempts(tenant, webhook_id: str, count: int) -> dict:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for found in deliveries(tenant, webhook_id):
            if found["attempt_count"] >= count:
                return found
        time.sleep(0.1)
    raise AssertionError(f"no delivery of {webhook_id} has {count} attempts")


def test_an_execution_outcome_reaches_its_notification_webhook(tenant):
    with receiving() as receiver:
        register(tenant, receiver.url, [])
        script_id = active_script(tenant)
        agent = PlayedAgent(tenant, "notify", ["emulator-notify"])
        options = {"notification_webhook": receiver.url}
        started = tenant.client.post(
            f"/scripts/{script_id}/execute", json={"options": options}
        )
        execution_id = started.json()["data"]["execution"]["id"]
        job = agent.claim()
        agent.complete(job["job_id"], data_collected={"likes_given": 3})
        wait_for(tenant.client, execution_id, ("completed",))
        (request,) = receiver.wait_for(1)
        unregistered = tenant.client.post(
            f"/scripts/{script_id}/execute",
            json={"options": {"notification_webhook": "https://elsewhere.test/x"}},
        )

    body = json.loads(request.body)
    assert started.status_code == 202
    assert body["event"] == "script.executed"
    assert body["data"]["execution_id"] == execution_id
    assert body["data"]["result"] == {"likes_given": 3}
    assert body["data"]["success"] is True
    envelope_validator("script.executed").validate(body)
    assert unregistered.status_code == 400
    assert "options.notification_webhook" in unregistered.json()["error"]["details"]


def active_script(tenant) -> str:
    body = {**reference.CREATE_SCRIPT, "variables": {"count": 0}}
    created = tenant.client.post("/scripts", json=body).json()["data"]["script"]
    activated = tenant.client.put(
        f"/scripts/{created['id']}", json={"status": "active"}
    )
    assert activated.status_code == 200, activated.text
    return created["id"]


def test_a_timed_out_outcome_carries_every_documented_field(tenant):
    from chalicelib import delivery
    from chalicelib.ids import new_id, now_iso
    from chalicelib.models import Execution

    execution = Execution(
        new_id("exec"),
        org_id=tenant.org_id,
        script_id="script_gone",
        script_name="Feed liker",
        user_id=tenant.owner_id,
        status="timed_out",
        created_at=now_iso(),
        request="{}",
    )
    execution.save()
    event = {
        "id": new_id("evt"),
        "event": "script.failed",
        "timestamp": now_iso(),
        "org_id": tenant.org_id,
        "data": {
            "execution_id": execution.id,
            "script_id": "script_gone",
            "status": "timed_out",
            "success": False,
            "error": "timeout",
        },
    }
    with receiving() as receiver:
        register(tenant, receiver.url, ["script.failed"])
        delivery.fan_out(json.dumps(event))
        delivery.fan_out(json.dumps(event))
        (request,) = receiver.wait_for(1)
        time.sleep(1.0)
        count = len(receiver.received)

    data = json.loads(request.body)["data"]
    envelope_validator("script.failed").validate(json.loads(request.body))
    assert data["script_name"] == "Feed liker"
    assert data["user_id"] == tenant.owner_id
    assert data["status"] == "timed_out"
    assert data["error"] == "timeout"
    assert data["result"] == {}
    assert count == 1


def test_a_webhook_failing_for_days_is_disabled(tenant):
    from chalicelib.ids import to_iso, utc_now
    from chalicelib.models import Webhook

    with receiving(final=400) as receiver:
        webhook = register(tenant, receiver.url, ["script.created"])
        four_days_ago = to_iso(utc_now() - timedelta(days=4))
        Webhook(webhook["id"]).update(
            actions=[
                Webhook.failing_since.set(four_days_ago),
                Webhook.consecutive_failures.set(40),
            ]
        )
        queued = ping(tenant, webhook["id"])
        wait_for_delivery(tenant, webhook["id"], queued["id"])
        disabled = tenant.client.get(f"/webhooks/{webhook['id']}").json()["data"]
        tenant.client.post("/scripts", json=reference.CREATE_SCRIPT)
        time.sleep(1.0)
        after_disabling = len(receiver.received)
        enabled = tenant.client.put(
            f"/webhooks/{webhook['id']}", json={"active": True}
        ).json()["data"]

    assert disabled["webhook"]["active"] is False
    assert disabled["webhook"]["disabled_at"]
    assert "72 hours" in disabled["webhook"]["disabled_reason"]
    assert four_days_ago in disabled["webhook"]["disabled_reason"]
    assert after_disabling == 1
    assert enabled["webhook"]["active"] is True
    assert enabled["webhook"]["disabled_at"] is None
    assert enabled["webhook"]["failing_since"] is None


def test_a_new_user_is_announced(tenant):
    with receiving() as receiver:
        register(tenant, receiver.url, ["user.created"])
        tenant.member("editor")
        (request,) = receiver.wait_for(1)

    body = json.loads(request.body)
    envelope_validator("user.created").validate(body)
    assert body["data"]["role"] == "editor"
    assert body["data"]["email"].endswith("@example.test")


@pytest.mark.parametrize("name", sorted(event_types.CATALOGUE))
def test_every_catalogued_example_fits_its_schema(name):
    kind = event_types.CATALOGUE[name]
    schema = dict(kind.data, required=[])

    Draft202012Validator(schema).validate(kind.example)
    Draft202012Validator.check_schema(event_types.envelope_schema(kind))


def test_the_production_schedule_doubles_with_jitter_over_hours(monkeypatch):
    from chalicelib import delivery
    from chalicelib.settings import Settings

    production = Settings(stage="prod")
    monkeypatch.setattr(delivery, "get_settings", lambda: production)
    retries = range(1, production.webhook_max_attempts)

    nominal = [60 * 2 ** (n - 1) for n in retries]
    drawn = [delivery.backoff(n) for n in retries]
    honoured = delivery.backoff(1, retry_after=1800)
    capped = delivery.backoff(1, retry_after=10**6)

    assert all(0.75 * d <= x <= 1.25 * d for d, x in zip(nominal, drawn, strict=True))
    assert 8 * 3600 < sum(nominal) < 9 * 3600
    assert honoured == 1800
    assert capped == delivery.MAX_RETRY_AFTER_SECONDS
