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
