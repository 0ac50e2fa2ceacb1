"""Passwords: slow salted hashes, set by their user, never shown."""

from __future__ import annotations

import time

import pytest

from chalicelib import accounts, passwords
from chalicelib.models import User
from tests.conftest import ApiClient

GOOD = "a long enough passphrase"


def test_hashes_are_salted_slow_and_verify_only_the_password():
    started = time.perf_counter()
    first = passwords.hash_password(GOOD)
    elapsed = time.perf_counter() - started
    second = passwords.hash_password(GOOD)

    assert first != second
    assert first.startswith("scrypt$16384$8$5$")
    assert GOOD not in first
    assert elapsed > 0.05
    assert passwords.verify_password(GOOD, first)
    assert not passwords.verify_password(GOOD + "!", first)
    assert not passwords.verify_password(GOOD, None)


@pytest.mark.parametrize("weak", ["short", " " * 20, "x" * 257, 12345678901234])
def test_weak_passwords_are_refused(tenant, weak):
    response = tenant.client.put("/users/me/password", json={"password": weak})

    assert response.status_code == 400
    assert response.json()["error"]["details"].startswith("password")


def test_users_set_their_own_password_which_is_never_shown(tenant):
    first = tenant.client.put("/users/me/password", json={"password": GOOD})

    stored = User.get(tenant.owner_id)
    assert first.status_code == 200
    assert stored.password_hash.startswith("scrypt$")
    assert GOOD not in stored.password_hash
    assert GOOD not in first.text
    assert accounts.sign_in(tenant.org_id, stored.email, GOOD).id == tenant.owner_id
    assert accounts.sign_in(tenant.org_id, stored.email, "wrong password!") is None


def test_changing_a_password_needs_the_current_one(tenant):
    tenant.client.put("/users/me/password", json={"password": GOOD})
    new = "another long passphrase"

    missing = tenant.client.put("/users/me/password", json={"password": new})
    wrong = tenant.client.put(
        "/users/me/password", json={"password": new, "current_password": "nope"}
    )
    right = tenant.client.put(
        "/users/me/password", json={"password": new, "current_password": GOOD}
    )

    assert missing.status_code == 401
    assert wrong.status_code == 401
    assert right.status_code == 200
    email = User.get(tenant.owner_id).email
    assert accounts.sign_in(tenant.org_id, email, new) is not None


def test_each_user_sets_only_their_own_password(tenant):
    editor_client = tenant.member("editor")

    editor_client.put("/users/me/password", json={"password": GOOD})

    assert User.get(tenant.owner_id).password_hash is None


def test_users_of_another_organization_cannot_sign_in_here(tenant, other_tenant):
    other_tenant.client.put("/users/me/password", json={"password": GOOD})
    email = User.get(other_tenant.owner_id).email

    assert accounts.sign_in(tenant.org_id, email, GOOD) is None


def test_a_password_route_answers_401_without_a_key(api_url):
    response = ApiClient(api_url).put("/users/me/password", json={"password": GOOD})

    assert response.status_code == 401
