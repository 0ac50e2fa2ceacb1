"""The Webhooks API: register, read, change and delete webhooks; the catalogue."""

from __future__ import annotations

import base64

import pytest

from tests.receivers import receiving
from tests.webhook_tools import deliveries, ping, register, wait_for_delivery

REFERENCE_EVENTS = [
    "script.executed",
    "script.failed",
    "user.created",
    "integration.connected",
]
REQUIRED_EVENTS = {
    "script.executed",
    "script.failed",
    "script.created",
    "script.updated",
    "script.deleted",
    "execution.started",
    "execution.stopped",
    "user.created",
    "integration.connected",
    "team.member_invited",
    "report.ready",
}


@pytest.fixture(scope="module")
def hook_url():
    with receiving() as receiver:
        yield receiver.url


def test_create_answers_as_the_reference_shows(tenant, hook_url):
    body = {
        "url": hook_url,
        "events": REFERENCE_EVENTS,
        "secret": "your_webhook_secret",
        "active": True,
    }

    response = tenant.client.post("/webhooks", json=body)
    webhook = response.json()["data"]["webhook"]

    assert response.status_code == 201
    assert response.headers["Location"] == f"/v1/webhooks/{webhook['id']}"
    assert webhook["id"].startswith("webhook_")
    assert webhook["url"] == hook_url
    assert webhook["events"] == REFERENCE_EVENTS
    assert webhook["secret"] == "your_webhook_secret"
    assert webhook["active"] is True
    assert webhook["created_at"].endswith("Z")


def test_the_secret_is_shown_once_and_stored_encrypted(stack, tenant, hook_url):
    created = register(tenant, hook_url, ["script.created"])
    path = f"/webhooks/{created['id']}"

    shown = [
        tenant.client.get(path).json()["data"]["webhook"],
        tenant.client.get("/webhooks").json()["data"]["webhooks"][0],
        tenant.client.put(path, json={"events": []}).json()["data"]["webhook"],
    ]
    item = stack.client("dynamodb").get_item(
        TableName="tapcraft-local-webhooks", Key={"id": {"S": created["id"]}}
    )["Item"]
    ciphertext = base64.b64decode(item["secret_ciphertext"]["S"])
    plaintext = stack.client("kms").decrypt(
        CiphertextBlob=ciphertext,
        EncryptionContext={"purpose": "webhook-secret", "webhook_id": created["id"]},
    )["Plaintext"]

    assert created["secret"].startswith("whsec_")
    assert len(base64.b64decode(created["secret"].removeprefix("whsec_"))) == 32
    assert all("secret" not in webhook for webhook in shown)
    assert created["secret"] not in str(item)
    assert plaintext.decode() == created["secret"]


def test_generated_secrets_differ(tenant, hook_url):
    first = register(tenant, hook_url, [])
    second = register(tenant, hook_url, [])

    assert first["secret"] != second["secret"]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"events": []}, "url"),
        ({"url": "ftp://example.com/x", "events": []}, "url: must use"),
        ({"url": "not a url", "events": []}, "url: must use"),
        ({"url": "http://user:pw@127.0.0.1/", "events": []}, "url: must not carry"),
        ({"url": "{url}", "events": "script.created"}, "events: must be a list"),
        ({"url": "{url}", "events": ["script.exploded"]}, "events: unknown"),
        ({"url": "{url}", "events": ["ping"]}, "events: unknown"),
        ({"url": "{url}", "events": [], "secret": "short"}, "secret: must be"),
        ({"url": "{url}", "events": [], "secret": "whsec_***notbase64***"}, "secret"),
        ({"url": "{url}", "events": [], "active": "yes"}, "active: must be"),
        ({"url": "{url}", "events": [], "colour": "red"}, "colour: is not"),
    ],
)
def test_bad_webhooks_are_refused_with_details(tenant, hook_url, body, field):
    body = {
        k: v.replace("{url}", hook_url) if k == "url" else v for k, v in body.items()
    }

    response = tenant.client.post("/webhooks", json=body)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "INVALID_REQUEST"
    assert response.json()["error"]["details"].startswith(field)


def test_unknown_event_names_are_listed_with_the_known_ones(tenant, hook_url):
    response = tenant.client.post(
        "/webhooks",
        json={"url": hook_url, "events": ["script.created", "sript.deleted", "x"]},
    )
    details = response.json()["error"]["details"]

    assert "'sript.deleted', 'x'" in details
    assert "known: script.executed, script.failed" in details


def test_update_changes_only_what_is_sent(tenant, hook_url):
    created = register(tenant, hook_url, ["script.created"])
    path = f"/webhooks/{created['id']}"

    paused = tenant.client.put(path, json={"active": False}).json()["data"]["webhook"]
    changed = tenant.client.put(
        path, json={"events": ["script.deleted", "script.deleted"]}
    ).json()["data"]["webhook"]
    refused = tenant.client.put(path, json={"url": "http://10.1.1.1/"})
    rotated = tenant.client.put(path, json={"secret": "a-new-secret-of-mine"})

    assert paused["active"] is False
    assert changed["events"] == ["script.deleted"]
    assert changed["active"] is False
    assert changed["url"] == hook_url
    assert refused.status_code == 400
    assert rotated.status_code == 200
    assert "secret" not in rotated.json()["data"]["webhook"]


def test_a_rotated_secret_signs_the_next_delivery(tenant):
    from tests.webhook_tools import verify_webhook_signature

    with receiving() as receiver:
        created = register(tenant, receiver.url)
        new_secret = "rotated-secret-0123456789"
        tenant.client.put(f"/webhooks/{created['id']}", json={"secret": new_secret})
        ping(tenant, created["id"])
        (request,) = receiver.wait_for(1)

    signature = request.headers["x-tapcraft-signature"]
    assert verify_webhook_signature(request.text, signature, new_secret)
    assert not verify_webhook_signature(request.text, signature, created["secret"])


def test_delete_removes_the_webhook(tenant, hook_url):
    created = register(tenant, hook_url, ["script.created"])
    path = f"/webhooks/{created['id']}"

    deleted = tenant.client.delete(path)
    after = [tenant.client.get(path), tenant.client.get(f"{path}/deliveries")]

    assert deleted.status_code == 200
    assert deleted.json()["data"]["message"] == "Webhook deleted successfully"
    assert [r.status_code for r in after] == [404, 404]


def test_webhooks_are_the_organizations_own(tenant, other_tenant, hook_url):
    created = register(tenant, hook_url, [])
    path = f"/webhooks/{created['id']}"

    answers = [
        other_tenant.client.get(path),
        other_tenant.client.put(path, json={"active": False}),
        other_tenant.client.delete(path),
        other_tenant.client.post(f"{path}/test"),
        other_tenant.client.get(f"{path}/deliveries"),
    ]
    listed = other_tenant.client.get("/webhooks").json()["data"]["webhooks"]

    assert [a.status_code for a in answers] == [404] * 5
    assert created["id"] not in [w["id"] for w in listed]


def test_managing_webhooks_needs_integrations_manage(tenant, hook_url):
    editor = tenant.member("editor")

    answers = [
        editor.get("/webhooks"),
        editor.post("/webhooks", json={"url": hook_url, "events": []}),
    ]

    assert [a.status_code for a in answers] == [403, 403]
    assert "integrations:manage" in answers[0].json()["error"]["details"]


def test_the_event_catalogue_is_published(tenant):
    response = tenant.client.get("/event-types")
    catalogue = {e["name"]: e for e in response.json()["data"]["event_types"]}

    assert response.status_code == 200
    assert set(catalogue) >= REQUIRED_EVENTS
    assert catalogue["ping"]["subscribable"] is False
    assert catalogue["script.executed"]["data_schema"]["required"] == [
        "execution_id",
        "script_id",
        "script_name",
        "user_id",
        "status",
        "duration",
        "success",
        "actions_executed",
        "result",
        "error",
    ]


def test_the_delivery_log_pages_newest_first(tenant):
    with receiving() as receiver:
        created = register(tenant, receiver.url)
        queued = [ping(tenant, created["id"]) for _ in range(3)]
        for delivery in queued:
            wait_for_delivery(tenant, created["id"], delivery["id"])
        path = f"/webhooks/{created['id']}/deliveries"

        first = tenant.client.get(path, params={"limit": 2}).json()["data"]
        rest = tenant.client.get(
            path, params={"limit": 2, "cursor": first["next_cursor"]}
        ).json()["data"]
        failed = deliveries(tenant, created["id"], status="failed")
        bad = tenant.client.get(path, params={"status": "lost"})

    ids = [d["id"] for d in first["deliveries"] + rest["deliveries"]]
    assert ids == [d["id"] for d in reversed(queued)]
    assert rest["next_cursor"] is None
    assert failed == []
    assert bad.status_code == 400


def test_the_openapi_document_describes_every_event(anonymous):
    from chalicelib import event_types

    document = anonymous.get("/openapi.json").json()
    schemas = document["components"]["schemas"]

    assert set(document["webhooks"]) == set(event_types.CATALOGUE)
    for name, operation in document["webhooks"].items():
        body = operation["post"]["requestBody"]["content"]["application/json"]
        schema = schemas[body["schema"]["$ref"].rsplit("/", 1)[1]]
        assert schema["properties"]["event"] == {"const": name}
        headers = {p["name"] for p in operation["post"]["parameters"]}
        assert "X-TapCraft-Signature" in headers
        assert {"webhook-id", "webhook-timestamp", "webhook-signature"} <= headers
