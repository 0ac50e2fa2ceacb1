"""What webhook tests share: registering, waiting on the log, verifying."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any

from tests.conftest import Tenant


# The API reference's verification function, copied as it is printed there.
# fmt: off
def verify_webhook_signature(payload, signature, secret):
    expected_signature = hmac.new(
        secret.encode('utf-8'),
        payload.encode('utf-8'),
        hashlib.sha256
    ).hexdigest()

    return hmac.compare_digest(
        f"sha256={expected_signature}",
        signature
    )
# fmt: on


def verify_standard_webhook(
    secret: str, headers: dict[str, str], body: bytes, tolerance: int = 300
) -> bool:
    """Standard Webhooks' check, written from its specification."""
    message_id = headers["webhook-id"]
    timestamp = headers["webhook-timestamp"]
    if abs(time.time() - int(timestamp)) > tolerance:
        return False
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{message_id}.{timestamp}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest())
    offered = headers["webhook-signature"].split(" ")
    return any(hmac.compare_digest(f"v1,{expected.decode()}", item) for item in offered)


def register(tenant: Tenant, url: str, events: list[str] | None = None, **fields):
    """Register a webhook through the API; returns its JSON, secret included."""
    body = {"url": url, "events": events if events is not None else [], **fields}
    response = tenant.client.post("/webhooks", json=body)
    assert response.status_code == 201, response.text
    return response.json()["data"]["webhook"]


def ping(tenant: Tenant, webhook_id: str) -> dict[str, Any]:
    response = tenant.client.post(f"/webhooks/{webhook_id}/test")
    assert response.status_code == 202, response.text
    return response.json()["data"]["delivery"]


def deliveries(tenant: Tenant, webhook_id: str, **query: Any) -> list[dict]:
    response = tenant.client.get(f"/webhooks/{webhook_id}/deliveries", params=query)
    assert response.status_code == 200, response.text
    return response.json()["data"]["deliveries"]


def wait_for_delivery(
    tenant: Tenant,
    webhook_id: str,
    delivery_id: str,
    statuses: tuple[str, ...] = ("succeeded", "failed"),
    timeout: float = 15.0,
) -> dict[str, Any]:
    """The delivery once its status is one of `statuses`."""
    deadline = time.monotonic() + timeout
    while True:
        found = {d["id"]: d for d in deliveries(tenant, webhook_id, limit=100)}
        current = found.get(delivery_id)
        if current and current["status"] in statuses:
            return current
        assert time.monotonic() < deadline, f"delivery still {current}"
        time.sleep(0.1)
