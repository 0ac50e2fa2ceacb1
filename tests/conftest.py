"""Shared fixtures: one local stack per test session, and callers in it.

The stack (moto server, API gateway, event bridge) starts on first use, so
tests that need no AWS never pay for it.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from infra.local.stack import LocalStack

# Compressed timings: agents are presumed lost after 5 s without a heartbeat,
# retries wait 1 s, synchronous executions wait at most 15 s.
os.environ.setdefault("TAPCRAFT_JOB_HEARTBEAT_SECONDS", "5")
os.environ.setdefault("TAPCRAFT_RETRY_BACKOFF_SECONDS", "1")
os.environ.setdefault("TAPCRAFT_SYNC_WAIT_SECONDS", "15")
# Webhooks: receivers are plain-http servers on loopback; an attempt times out
# after 2 s, retries follow after about 1 s and 2 s, three attempts in all.
os.environ.setdefault("TAPCRAFT_WEBHOOKS_ALLOW_HTTP", "true")
os.environ.setdefault("TAPCRAFT_WEBHOOKS_ALLOW_LOOPBACK", "true")
os.environ.setdefault("TAPCRAFT_WEBHOOK_TIMEOUT_SECONDS", "2")
os.environ.setdefault("TAPCRAFT_WEBHOOK_RETRY_BASE_SECONDS", "1")
os.environ.setdefault("TAPCRAFT_WEBHOOK_MAX_ATTEMPTS", "3")

_counter = itertools.count()


class ApiClient:
    """Talks to the API over HTTP, as a user's program would."""

    def __init__(self, base_url: str, key: str | None = None) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        if key:
            self.session.headers["Authorization"] = f"Bearer {key}"

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 30)
        return self.session.request(method, f"{self.base_url}{path}", **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)


@dataclass
class Tenant:
    """An organization with its owner, as the admin command creates them."""

    org_id: str
    owner_id: str
    key: str
    client: ApiClient
    base_url: str

    def member(self, role: str, permissions: list[str] | None = None) -> ApiClient:
        """A client for a new user of this organization with `role`."""
        from chalicelib import accounts, api_keys, auth
        from chalicelib.models import Organization

        org = Organization.get(self.org_id)
        user = accounts.create_user(
            org, f"{role}{next(_counter)}@example.test", role.title(), role
        )
        granted = permissions or sorted(auth.ROLE_PERMISSIONS[role])
        key = api_keys.create_api_key(user, f"{role} key", granted)
        return ApiClient(self.base_url, key.key)


@pytest.fixture(scope="session")
def stack() -> Iterator[LocalStack]:
    local = LocalStack().start()
    yield local
    local.stop()


@pytest.fixture(scope="session")
def api_url(stack: LocalStack) -> str:
    return f"{stack.api_url}/v1"


def new_tenant(base_url: str, tier: str = "free") -> Tenant:
    from chalicelib import accounts

    number = next(_counter)
    org, owner, key = accounts.bootstrap_organization(
        f"Org {number}", f"owner{number}@example.test", "Owner", tier
    )
    return Tenant(org.id, owner.id, key.key, ApiClient(base_url, key.key), base_url)


@pytest.fixture
def tenant(api_url: str) -> Tenant:
    return new_tenant(api_url)


@pytest.fixture
def other_tenant(api_url: str) -> Tenant:
    return new_tenant(api_url)


@pytest.fixture
def anonymous(api_url: str) -> ApiClient:
    return ApiClient(api_url)
