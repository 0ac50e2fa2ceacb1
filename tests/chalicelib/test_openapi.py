"""The OpenAPI document covers every route, and real responses match it."""

from __future__ import annotations

import io

import pytest
from jsonschema import Draft202012Validator
from PIL import Image

from chalicelib.models import User
from tests import reference
from tests.conftest import ApiClient
from tests.oauth_flow import pkce_pair, redirect_query


@pytest.fixture(scope="module")
def document(api_url):
    import requests

    return requests.get(f"{api_url}/openapi.json", timeout=10).json()


def test_every_route_of_the_app_is_documented(stack, document):
    documented = {
        (path, method.upper())
        for path, operations in document["paths"].items()
        for method in operations
    }
    routed = {
        (path, method)
        for path, methods in stack.app.routes.items()
        for method in methods
    }

    assert document["openapi"] == "3.1.0"
    assert routed == documented


def test_schemas_are_valid_json_schema(document):
    for schema in document["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)


def test_private_routes_declare_bearer_security(document):
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            public = path in ("/v1/health", "/v1/openapi.json") or (
                not path.startswith("/v1/")
            )
            assert (operation["security"] == []) is public, (method, path)


class Checker:
    """Validates responses against the document's schema for their route."""

    def __init__(self, document):
        self.document = document
        self.checked: set[tuple[str, str]] = set()

    def __call__(self, route: str, method: str, response):
        operation = self.document["paths"][route][method.lower()]
        status = str(response.status_code)
        spec = operation["responses"].get(status) or operation["responses"]["default"]
        if "content" not in spec:
            assert not response.content
            self.checked.add((route, method))
            return response
        content_type = response.headers["Content-Type"].split(";")[0]
        schema = dict(spec["content"][content_type]["schema"])
        if schema.get("type") == "string":
            assert isinstance(response.content, bytes)
        else:
            schema["components"] = self.document["components"]
            Draft202012Validator(schema).validate(response.json())
        self.checked.add((route, method))
        return response


def test_real_responses_validate(tenant, document):
    check = Checker(document)
    client = tenant.client
    png = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(png, format="PNG")

    check("/v1/health", "GET", client.get("/health"))
    check("/v1/openapi.json", "GET", client.get("/openapi.json"))
    check("/v1/node-types", "GET", client.get("/node-types"))
    created = check(
        "/v1/scripts", "POST", client.post("/scripts", json=reference.INSTAGRAM_SCRIPT)
    ).json()["data"]["script"]
    script = f"/scripts/{created['id']}"
    check("/v1/scripts", "GET", client.get("/scripts"))
    check("/v1/scripts", "POST", client.post("/scripts", json={"name": ""}))
    check("/v1/scripts/{script_id}", "GET", client.get(script))
    check("/v1/scripts/{script_id}", "PUT", client.put(script, json={"name": "n"}))
    asset = f"{script}/assets/heart_icon.png"
    check(
        "/v1/scripts/{script_id}/assets/{name}",
        "PUT",
        client.put(asset, data=png.getvalue(), headers={"Content-Type": "image/png"}),
    )
    check("/v1/scripts/{script_id}/assets", "GET", client.get(f"{script}/assets"))
    check("/v1/scripts/{script_id}/assets/{name}", "GET", client.get(asset))
    check("/v1/scripts/{script_id}/assets/{name}", "DELETE", client.delete(asset))
    check("/v1/scripts/{script_id}", "DELETE", client.delete(script))
    check("/v1/scripts/{script_id}", "GET", client.get(script))
    key = check(
        "/v1/api-keys",
        "POST",
        client.post("/api-keys", json={"name": "k", "permissions": ["scripts:read"]}),
    )
    check("/v1/api-keys", "GET", client.get("/api-keys"))
    key_id = key.json()["data"]["api_key"]["id"]
    check("/v1/api-keys/{key_id}", "DELETE", client.delete(f"/api-keys/{key_id}"))

    assert check.checked == routes_tagged(document, FOUNDATION_TAGS)


FOUNDATION_TAGS = {"general", "scripts", "assets", "api-keys"}
EXECUTION_TAGS = {"executions", "devices", "agents", "agent protocol"}
AUTH_TAGS = {"oauth", "users"}
WEBHOOK_TAGS = {"webhooks"}
WALKED_TAGS = FOUNDATION_TAGS | EXECUTION_TAGS | AUTH_TAGS | WEBHOOK_TAGS


def routes_tagged(document, tags):
    return {
        (path, method.upper())
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if set(operation["tags"]) & tags
    }


def test_every_route_is_walked_by_a_test_below(document):
    tags = {
        tag
        for operations in document["paths"].values()
        for operation in operations.values()
        for tag in operation["tags"]
    }

    assert tags <= WALKED_TAGS


def test_execution_responses_validate(tenant, document):
    from tests.played_agent import PlayedAgent

    check = Checker(document)
    client = tenant.client
    png = io.BytesIO()
    Image.new("RGB", (8, 8), "blue").save(png, format="PNG")
    agent = PlayedAgent(tenant, "openapi", ["emulator-openapi"])
    bot = agent.client
    created = client.post("/scripts", json=reference.INSTAGRAM_SCRIPT)
    script_id = created.json()["data"]["script"]["id"]
    client.put(
        f"/scripts/{script_id}/assets/heart_icon.png",
        data=png.getvalue(),
        headers={"Content-Type": "image/png"},
    )
    client.put(f"/scripts/{script_id}", json={"status": "active"})

    check("/v1/agents", "POST", client.post("/agents", json={"name": "spare"}))
    check("/v1/agents", "GET", client.get("/agents"))
    check(
        "/v1/agent/heartbeat",
        "POST",
        bot.post(
            "/v1/agent/heartbeat", json={"devices": [{"serial": "emulator-openapi"}]}
        ),
    )
    check("/v1/devices", "GET", client.get("/devices"))
    started = check(
        "/v1/scripts/{script_id}/execute",
        "POST",
        client.post(f"/scripts/{script_id}/execute", json={"parameters": {}}),
    ).json()["data"]["execution"]
    claim = check(
        "/v1/agent/jobs/claim",
        "POST",
        bot.post(
            "/v1/agent/jobs/claim",
            json={"devices": ["emulator-openapi"], "wait_seconds": 10},
        ),
    )
    job_id = claim.json()["data"]["job"]["job_id"]
    jobs = f"/v1/agent/jobs/{job_id}"
    check("/v1/agent/jobs/{job_id}/heartbeat", "POST", bot.post(f"{jobs}/heartbeat"))
    check(
        "/v1/agent/jobs/{job_id}/events",
        "POST",
        bot.post(f"{jobs}/events", json={"progress": 10, "current_step": "Launch"}),
    )
    check(
        "/v1/agent/jobs/{job_id}/assets/{name}",
        "GET",
        bot.get(f"{jobs}/assets/heart_icon.png", headers={"Accept": "image/png"}),
    )
    check(
        "/v1/agent/jobs/{job_id}/complete",
        "POST",
        bot.post(f"{jobs}/complete", json={"success": True}),
    )
    execution = f"/executions/{started['id']}"
    check("/v1/executions/{execution_id}", "GET", client.get(execution))
    check("/v1/executions/{execution_id}/logs", "GET", client.get(f"{execution}/logs"))
    check("/v1/executions", "GET", client.get("/executions"))
    other = client.post(f"/scripts/{script_id}/execute", json={}).json()
    check(
        "/v1/executions/{execution_id}/stop",
        "POST",
        client.post(f"/executions/{other['data']['execution']['id']}/stop"),
    )
    check(
        "/v1/agents/{agent_id}",
        "DELETE",
        client.delete(f"/agents/{agent.agent['id']}"),
    )

    assert check.checked == routes_tagged(document, EXECUTION_TAGS)


def test_oauth_responses_validate(tenant, document):
    check = Checker(document)
    client = tenant.client
    check(
        "/v1/users/me/password",
        "PUT",
        client.put("/users/me/password", json={"password": "correct horse battery"}),
    )
    created = check(
        "/v1/oauth/clients",
        "POST",
        client.post(
            "/oauth/clients",
            json={
                "name": "Docs",
                "redirect_uris": ["https://docs.example/cb"],
                "scopes": ["scripts:read"],
            },
        ),
    ).json()["data"]["client"]
    check("/v1/oauth/clients", "GET", client.get("/oauth/clients"))
    browser = ApiClient(tenant.base_url.removesuffix("/v1"))
    verifier, challenge = pkce_pair()
    asked = {
        "client_id": created["id"],
        "response_type": "code",
        "state": "st",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    page = check(
        "/oauth/authorize", "GET", browser.get("/oauth/authorize", params=asked)
    )
    for wrong in ({"client_id": "client_none"}, {"response_type": "token"}):
        answer = browser.get(
            "/oauth/authorize", params={**asked, **wrong}, allow_redirects=False
        )
        check("/oauth/authorize", "GET", answer)
    consent = {
        "form_token": page.text.split('name="form_token" value="')[1].split('"')[0],
        "email": User.get(tenant.owner_id).email,
        "password": "correct horse battery",
        "decision": "approve",
    }
    approved = check(
        "/oauth/authorize",
        "POST",
        browser.post("/oauth/authorize", data=consent, allow_redirects=False),
    )
    credentials = {
        "client_id": created["id"],
        "client_secret": created["client_secret"],
    }
    exchange = {
        "grant_type": "authorization_code",
        "code": redirect_query(approved)["code"],
        "code_verifier": verifier,
        **credentials,
    }
    issued = check("/oauth/token", "POST", browser.post("/oauth/token", data=exchange))
    check("/oauth/token", "POST", browser.post("/oauth/token", data=exchange))
    revoke = {"token": issued.json()["refresh_token"], **credentials}
    check("/oauth/revoke", "POST", browser.post("/oauth/revoke", data=revoke))
    check("/.well-known/jwks.json", "GET", browser.get("/.well-known/jwks.json"))
    check(
        "/v1/oauth/clients/{client_id}",
        "DELETE",
        client.delete(f"/oauth/clients/{created['id']}"),
    )

    assert check.checked == routes_tagged(document, AUTH_TAGS)


def test_webhook_responses_validate(tenant, document):
    from tests.receivers import receiving
    from tests.webhook_tools import wait_for_delivery

    check = Checker(document)
    client = tenant.client
    with receiving() as receiver:
        check("/v1/event-types", "GET", client.get("/event-types"))
        created = check(
            "/v1/webhooks",
            "POST",
            client.post(
                "/webhooks", json={"url": receiver.url, "events": ["script.created"]}
            ),
        ).json()["data"]["webhook"]
        check("/v1/webhooks", "POST", client.post("/webhooks", json={"events": []}))
        webhook = f"/webhooks/{created['id']}"
        check("/v1/webhooks", "GET", client.get("/webhooks"))
        check("/v1/webhooks/{webhook_id}", "GET", client.get(webhook))
        check(
            "/v1/webhooks/{webhook_id}",
            "PUT",
            client.put(webhook, json={"events": ["script.created", "user.created"]}),
        )
        pinged = check(
            "/v1/webhooks/{webhook_id}/test", "POST", client.post(f"{webhook}/test")
        ).json()["data"]["delivery"]
        wait_for_delivery(tenant, created["id"], pinged["id"])
        check(
            "/v1/webhooks/{webhook_id}/deliveries",
            "GET",
            client.get(f"{webhook}/deliveries"),
        )
        check(
            "/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver",
            "POST",
            client.post(f"{webhook}/deliveries/{pinged['id']}/redeliver"),
        )
        check("/v1/webhooks/{webhook_id}", "DELETE", client.delete(webhook))
        check("/v1/webhooks/{webhook_id}", "GET", client.get(webhook))

    assert check.checked == routes_tagged(document, WEBHOOK_TAGS)
