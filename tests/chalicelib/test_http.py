"""Conventions every route follows: envelopes, error codes, request ids, logs."""

from __future__ import annotations

import io
import json
import logging
import re

import pytest

from chalicelib import logs
from tests import reference

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


class ServerLog:
    def __init__(self) -> None:
        self.stream = io.StringIO()

    def lines(self) -> list[dict]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines()]


@pytest.fixture
def server_log():
    """Everything the API logs while the test runs, as parsed JSON lines."""
    log = ServerLog()
    handler = logs.json_handler(log.stream)
    root = logging.getLogger()
    root.addHandler(handler)
    previous = root.level
    root.setLevel(logging.INFO)
    yield log
    root.removeHandler(handler)
    root.setLevel(previous)


def assert_error(response, status, code, details_part=""):
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["success"] is False
    error = body["error"]
    assert error["code"] == code
    assert error["message"]
    assert details_part in error["details"]
    assert error["documentation_url"].startswith("https://docs.tapcraft.pro/errors#")
    assert TIMESTAMP.match(body["meta"]["timestamp"])
    assert body["meta"]["request_id"].startswith("req_")
    return body


def test_success_envelope_has_meta_and_request_id_header(tenant):
    response = tenant.client.get("/scripts")

    body = response.json()
    assert set(body) == {"success", "data", "meta"}
    assert TIMESTAMP.match(body["meta"]["timestamp"])
    assert body["meta"]["request_id"] == response.headers["X-Request-Id"]


def test_request_ids_are_unique(tenant):
    ids = {tenant.client.get("/scripts").headers["X-Request-Id"] for _ in range(5)}

    assert len(ids) == 5


def test_unknown_route_is_not_found(tenant):
    assert_error(tenant.client.get("/nowhere"), 404, "NOT_FOUND", "GET /v1/nowhere")
    assert_error(tenant.client.get("/scripts/a/b/c/d"), 404, "NOT_FOUND")


def test_wrong_method_is_refused_with_allow(tenant):
    response = tenant.client.request("PATCH", "/scripts")

    assert_error(response, 405, "METHOD_NOT_ALLOWED", "GET, POST")
    assert response.headers["Allow"] == "GET, POST"


def test_malformed_json_is_invalid_request(tenant):
    response = tenant.client.post(
        "/scripts", data=b'{"name": ', headers={"Content-Type": "application/json"}
    )

    assert_error(response, 400, "INVALID_REQUEST", "not valid JSON")


def test_a_json_array_body_is_invalid_request(tenant):
    response = tenant.client.post("/scripts", json=[reference.CREATE_SCRIPT])

    assert_error(response, 400, "INVALID_REQUEST", "must be a JSON object")


def test_wrong_content_type_is_refused(tenant):
    response = tenant.client.post(
        "/scripts",
        data=json.dumps(reference.CREATE_SCRIPT),
        headers={"Content-Type": "text/plain"},
    )

    assert_error(response, 415, "UNSUPPORTED_MEDIA_TYPE", "application/json")


def test_oversized_body_is_refused(tenant):
    body = {**reference.CREATE_SCRIPT, "description": "x" * (1024 * 1024 + 1)}

    response = tenant.client.post("/scripts", json=body)

    assert_error(response, 413, "PAYLOAD_TOO_LARGE", "the limit is 1048576")


def test_unexpected_exception_is_logged_and_reveals_nothing(
    tenant, monkeypatch, server_log
):
    from chalicelib import scripts

    def explode(*args, **kwargs):
        raise ZeroDivisionError("secret internals: table tapcraft-local-scripts")

    monkeypatch.setattr(scripts, "list_scripts", explode)

    response = tenant.client.get("/scripts")

    body = assert_error(response, 500, "INTERNAL_ERROR")
    assert "tapcraft-local" not in response.text
    assert "ZeroDivisionError" not in response.text
    monkeypatch.undo()
    lines = server_log.lines()
    failure = next(line for line in lines if line["message"] == "request failed")
    assert failure["request_id"] == body["meta"]["request_id"]
    assert "ZeroDivisionError" in failure["exception"]
    assert "Traceback" in failure["exception"] or "line" in failure["exception"]


def test_each_request_logs_one_line_with_outcome(tenant, server_log):
    response = tenant.client.get("/scripts")

    request_id = response.headers["X-Request-Id"]
    handled = [
        line
        for line in server_log.lines()
        if line["message"] == "request handled" and line.get("request_id") == request_id
    ]
    assert len(handled) == 1
    assert handled[0]["status"] == 200
    assert handled[0]["path"] == "/v1/scripts"
    assert handled[0]["duration_ms"] >= 0


def test_no_key_is_ever_logged(tenant, server_log):
    created = tenant.client.post(
        "/api-keys", json={"name": "ci", "permissions": ["scripts:read"]}
    )
    new_key = created.json()["data"]["api_key"]["key"]
    tenant.client.get("/scripts", headers={"Authorization": f"Bearer {new_key}"})
    tenant.client.get("/scripts", headers={"Authorization": "Bearer tcpk_bad_guess"})

    lines = server_log.lines()
    text = json.dumps(lines)
    assert lines, "the API logged nothing"
    assert new_key not in text
    assert tenant.key not in text
    assert new_key.split("_")[2] not in text
