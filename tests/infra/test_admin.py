"""The operator command creates an organization whose key works at once."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from infra.local.stack import LOCAL_ENVIRONMENT
from tests.conftest import ApiClient


def run_admin(stack, *arguments):
    env = {**os.environ, **LOCAL_ENVIRONMENT, "AWS_ENDPOINT_URL": stack.moto.url}
    return subprocess.run(
        [sys.executable, "-m", "infra.admin", *arguments],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_create_org_prints_a_working_owner_key(stack, api_url):
    result = run_admin(
        stack, "create-org", "--name", "Acme", "--owner-email", "ops@acme.test"
    )

    assert result.returncode == 0, result.stderr
    created = json.loads(result.stdout)
    assert created["org_id"].startswith("org_")
    client = ApiClient(api_url, created["api_key"])
    assert client.get("/scripts").status_code == 200
    keys = client.get("/api-keys").json()["data"]["api_keys"]
    assert len(keys[0]["permissions"]) == 6
    assert created["api_key"] not in result.stderr


def test_create_org_refuses_a_bad_email(stack):
    result = run_admin(stack, "create-org", "--name", "Acme", "--owner-email", "nope")

    assert result.returncode == 2
    assert "email" in result.stderr


def run_admin_with_input(stack, text, *arguments):
    env = {**os.environ, **LOCAL_ENVIRONMENT, "AWS_ENDPOINT_URL": stack.moto.url}
    return subprocess.run(
        [sys.executable, "-m", "infra.admin", *arguments],
        env=env,
        input=text,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def a_new_org(stack):
    result = run_admin(
        stack, "create-org", "--name", "Acme", "--owner-email", "ops@acme.test"
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_set_password_reads_standard_input_and_never_echoes_it(stack):
    from chalicelib import accounts

    created = a_new_org(stack)

    result = run_admin_with_input(
        stack,
        "a password from stdin\n",
        *("set-password", "--org-id", created["org_id"], "--email", "ops@acme.test"),
    )

    assert result.returncode == 0, result.stderr
    assert "a password from stdin" not in result.stdout + result.stderr
    user = accounts.sign_in(created["org_id"], "ops@acme.test", "a password from stdin")
    assert user is not None and user.id == created["user_id"]


def test_set_plan_changes_the_limits_the_api_applies(stack, api_url):
    created = a_new_org(stack)

    result = run_admin(
        stack,
        *("set-plan", "--org-id", created["org_id"], "--tier", "pro"),
        *("--requests-per-minute", "5"),
    )

    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    assert (plan["tier"], plan["requests_per_minute"]) == ("pro", 5)
    assert plan["requests_per_hour"] == 10000
    answer = ApiClient(api_url, created["api_key"]).get("/scripts")
    assert answer.headers["X-RateLimit-Limit"] == "5"


def test_rotate_signing_key_publishes_the_new_key(stack, api_url):
    result = run_admin(stack, "rotate-signing-key")

    assert result.returncode == 0, result.stderr
    kid = json.loads(result.stdout)["kid"]
    root = ApiClient(api_url.removesuffix("/v1"))
    published = root.get("/.well-known/jwks.json").json()["keys"]
    assert kid in [key["kid"] for key in published]
