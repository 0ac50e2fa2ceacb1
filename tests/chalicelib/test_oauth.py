"""OAuth 2.0 through HTTP: clients, the authorize page, codes, tokens, revocation.

The consent form is driven with plain HTTP here (tests/oauth_flow.py); the
same flow in a real browser is tests/chalicelib/test_oauth_browser.py.
"""

from __future__ import annotations

import base64

import pytest
import requests
from jose import jwt

from chalicelib import accounts, oauth, tokens
from chalicelib.ids import utc_now
from chalicelib.models import AuthorizationCode, Organization, User
from tests import reference
from tests.conftest import ApiClient
from tests.oauth_flow import (
    CALLBACK,
    PASSWORD,
    pkce_pair,
    redirect_query,
    register,
    set_owner_password,
)


@pytest.fixture
def owner(tenant):
    """The tenant with a password for its owner; yields the owner's email."""
    return set_owner_password(tenant)


def test_admins_register_clients_and_a_secret_is_shown_once(tenant):
    created = tenant.client.post(
        "/oauth/clients",
        json={
            "name": "Acme Reports",
            "type": "confidential",
            "redirect_uris": ["https://reports.acme.example/callback"],
            "scopes": ["scripts:read", "analytics:read"],
        },
    )

    assert created.status_code == 201, created.text
    client = created.json()["data"]["client"]
    assert client["id"].startswith("client_")
    assert client["client_secret"].startswith(client["secret_prefix"])
    listed = tenant.client.get("/oauth/clients").json()["data"]["clients"]
    assert [c["id"] for c in listed] == [client["id"]]
    assert "client_secret" not in listed[0]
    assert client["client_secret"] not in str(listed)
    public = register(tenant, "public")
    assert public.client_secret is None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"redirect_uris": ["http://app.example/cb"]}, "redirect_uris[0]"),
        ({"redirect_uris": ["https://app.example/cb#frag"]}, "redirect_uris[0]"),
        ({"redirect_uris": ["not a uri"]}, "redirect_uris[0]"),
        ({"redirect_uris": []}, "redirect_uris"),
        ({"scopes": ["root"]}, "scopes"),
        ({"scopes": []}, "scopes"),
        ({"type": "hybrid"}, "type"),
        ({"name": ""}, "name"),
    ],
)
def test_client_registration_checks_every_field(tenant, change, field):
    body = {
        "name": "App",
        "redirect_uris": ["https://app.example/cb"],
        "scopes": ["scripts:read"],
        **change,
    }

    response = tenant.client.post("/oauth/clients", json=body)

    assert response.status_code == 400
    assert response.json()["error"]["details"].startswith(field)


def test_only_integration_managers_handle_clients(tenant, other_tenant):
    app = register(tenant)
    editor = tenant.member("editor")

    assert editor.get("/oauth/clients").status_code == 403
    assert editor.delete(f"/oauth/clients/{app.client_id}").status_code == 403
    stranger = other_tenant.client.delete(f"/oauth/clients/{app.client_id}")
    assert stranger.status_code == 404


def test_the_page_names_the_client_and_its_scopes_and_escapes_them(tenant):
    created = tenant.client.post(
        "/oauth/clients",
        json={
            "name": "<script>alert(1)</script>",
            "type": "confidential",
            "redirect_uris": [CALLBACK],
            "scopes": ["scripts:read"],
        },
    ).json()["data"]["client"]
    browser = requests.Session()

    page = browser.get(
        f"{tenant.base_url.removesuffix('/v1')}/oauth/authorize",
        params={"client_id": created["id"], "response_type": "code"},
        timeout=30,
    )

    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert "<script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "scripts:read" in page.text and "View script data" in page.text
    assert page.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["Cache-Control"] == "no-store"
    cookie = page.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie


@pytest.mark.parametrize(
    "change",
    [
        {"client_id": "client_unknown"},
        {"client_id": None},
        {"redirect_uri": CALLBACK + "/"},
        {"redirect_uri": CALLBACK + "?extra=1"},
        {"redirect_uri": "https://evil.example/callback"},
    ],
)
def test_an_unknown_client_or_redirect_uri_is_shown_never_redirected(tenant, change):
    app = register(tenant)

    page = app.open_page(requests.Session(), **change)

    assert page.status_code == 400
    assert "Location" not in page.headers
    assert page.headers["Content-Type"].startswith("text/html")
    assert "cannot go on" in page.text


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"response_type": None}, "invalid_request"),
        ({"scope": "scripts:read root"}, "invalid_scope"),
        ({"scope": "team:manage"}, "invalid_scope"),
        ({"code_challenge": None}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge": "short"}, "invalid_request"),
    ],
)
def test_request_errors_go_back_to_the_client_with_the_state(tenant, change, error):
    app = register(tenant, "public")
    _, challenge = pkce_pair()
    params = {"code_challenge": challenge, "code_challenge_method": "S256", **change}

    answer = app.open_page(requests.Session(), state="a b&c=d/é", **params)

    assert answer.status_code == 303
    assert answer.headers["Location"].startswith(CALLBACK + "?")
    query = redirect_query(answer)
    assert query["error"] == error
    assert query["state"] == "a b&c=d/é"
    assert "code" not in query


def test_denying_sends_access_denied_back_with_the_state(tenant, owner):
    app = register(tenant, "confidential")
    browser = requests.Session()
    page = app.open_page(browser, state="xyz")

    answer = app.submit(browser, page, decision="deny")

    assert answer.status_code == 303
    assert redirect_query(answer) == {
        "error": "access_denied",
        "error_description": "The user denied the request",
        "state": "xyz",
    }


@pytest.mark.parametrize("who", ["wrong password", "unknown email"])
def test_a_failed_sign_in_shows_the_page_again(tenant, owner, who):
    app = register(tenant, "confidential")
    browser = requests.Session()
    page = app.open_page(browser)
    email = owner if who == "wrong password" else "nobody@example.test"

    answer = app.submit(
        browser, page, email=email, password="not the password", decision="approve"
    )

    assert answer.status_code == 200
    assert "Location" not in answer.headers
    assert "The email or password is wrong." in answer.text
    assert "not the password" not in answer.text


def test_the_form_must_come_from_the_page_with_its_cookie(tenant, owner):
    app = register(tenant, "confidential")
    browser = requests.Session()
    page = app.open_page(browser)
    approve = {"email": owner, "password": PASSWORD, "decision": "approve"}

    without_cookie = app.submit(requests.Session(), page, **approve)
    token = page.text.split('name="form_token" value="')[1].split('"')[0]
    altered = browser.post(
        f"{app.root}/oauth/authorize",
        data={"form_token": token[:-4] + "AAAA", **approve},
        allow_redirects=False,
        timeout=30,
    )

    assert without_cookie.status_code == 403
    assert "Location" not in without_cookie.headers
    assert altered.status_code == 400
    assert "Location" not in altered.headers


def test_the_granted_scope_is_asked_and_allowed_and_held(tenant):
    app = register(tenant, "public", scopes=("scripts:read", "team:manage"))
    org = Organization.get(tenant.org_id)
    editor = accounts.create_user(org, "editor.scope@example.test", "Ed", "editor")
    accounts.set_password(editor, PASSWORD)

    issued = app.tokens(
        "editor.scope@example.test", scope="scripts:read team:manage analytics:read"
    )

    assert issued["scope"] == "scripts:read"
    claims = jwt.get_unverified_claims(issued["access_token"])
    assert claims["scope"] == "scripts:read"
    assert claims["sub"] == editor.id


def test_the_token_response_is_the_references_with_a_verifiable_jwt(tenant, owner):
    app = register(tenant, "confidential")
    query = app.approve(owner, scope="scripts:read scripts:write")

    answer = app.redeem(query["code"])

    assert answer.status_code == 200, answer.text
    assert answer.headers["Cache-Control"] == "no-store"
    issued = answer.json()
    assert set(issued) == {
        "access_token",
        "token_type",
        "expires_in",
        "refresh_token",
        "scope",
    }
    assert issued["token_type"] == "Bearer"
    assert issued["expires_in"] == 3600
    assert issued["scope"] == "scripts:read scripts:write"
    header = jwt.get_unverified_header(issued["access_token"])
    assert header["alg"] == "RS256" and header["kid"]
    keys = requests.get(f"{app.root}/.well-known/jwks.json", timeout=30).json()
    claims = jwt.decode(
        issued["access_token"],
        keys,
        algorithms=["RS256"],
        audience="https://api.tapcraft.pro/v1",
        issuer="https://api.tapcraft.pro",
    )
    assert claims["sub"] == tenant.owner_id
    assert claims["exp"] - claims["iat"] == 3600
    assert claims["scope"] == "scripts:read scripts:write"
    assert claims["client_id"] == app.client_id


def test_a_code_works_once_and_its_reuse_revokes_what_it_gave(tenant, owner):
    app = register(tenant, "confidential")
    code = app.approve(owner)["code"]

    first = app.redeem(code)
    again = app.redeem(code)

    assert first.status_code == 200
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"
    access = first.json()["access_token"]
    assert ApiClient(tenant.base_url, access).get("/scripts").status_code == 401
    refreshed = app.refresh(first.json()["refresh_token"])
    assert refreshed.json()["error"] == "invalid_grant"


def test_an_expired_code_is_refused(tenant, owner):
    app = register(tenant, "confidential")
    code = app.approve(owner)["code"]
    record = AuthorizationCode.get(f"code_{tokens.token_id(oauth.CODE_KIND, code)}")
    record.update(actions=[AuthorizationCode.expires_at.set(utc_now())])

    answer = app.redeem(code)

    assert answer.status_code == 400
    assert answer.json() == {
        "error": "invalid_grant",
        "error_description": "The code has expired",
    }


@pytest.mark.parametrize("client_type", ["public", "confidential"])
def test_pkce_is_checked_whenever_a_challenge_was_sent(tenant, owner, client_type):
    app = register(tenant, client_type)
    verifier, challenge = pkce_pair()
    other_verifier, _ = pkce_pair()

    def code() -> str:
        return app.approve(
            owner, code_challenge=challenge, code_challenge_method="S256"
        )["code"]

    wrong = app.redeem(code(), other_verifier)
    missing = app.redeem(code())
    right = app.redeem(code(), verifier)

    assert wrong.json()["error"] == "invalid_grant"
    assert missing.json()["error"] == "invalid_grant"
    assert right.status_code == 200


def test_a_verifier_without_a_challenge_is_refused(tenant, owner):
    app = register(tenant, "confidential")
    verifier, _ = pkce_pair()

    answer = app.redeem(app.approve(owner)["code"], verifier)

    assert answer.json()["error"] == "invalid_grant"


def test_the_redirect_uri_must_match_at_the_token_endpoint(tenant, owner):
    second = "https://app.example/second"
    app = register(tenant, "confidential", redirect_uris=(CALLBACK, second))
    code = app.approve(owner)["code"]

    answer = app.token(grant_type="authorization_code", code=code, redirect_uri=second)

    assert answer.json()["error"] == "invalid_grant"


def test_confidential_clients_must_prove_their_secret(tenant, owner):
    app = register(tenant, "confidential")
    code = app.approve(owner)["code"]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK}
    url = f"{app.root}/oauth/token"

    wrong = requests.post(
        url,
        data={**form, "client_id": app.client_id, "client_secret": "tccs_x_y"},
        timeout=30,
    )
    missing = requests.post(url, data={**form, "client_id": app.client_id}, timeout=30)
    basic = base64.b64encode(f"{app.client_id}:{app.client_secret}".encode()).decode()
    right = requests.post(
        url, data=form, headers={"Authorization": f"Basic {basic}"}, timeout=30
    )

    for refused in (wrong, missing):
        assert refused.status_code == 401
        assert refused.json()["error"] == "invalid_client"
        assert refused.headers["WWW-Authenticate"].startswith("Basic")
    assert right.status_code == 200, right.text


def test_a_code_issued_to_another_client_is_refused(tenant, owner):
    issuer = register(tenant, "confidential")
    thief = register(tenant, "confidential")
    code = issuer.approve(owner)["code"]

    answer = thief.redeem(code)

    assert answer.json()["error"] == "invalid_grant"
    assert issuer.redeem(code).status_code == 200


def test_refresh_rotates_and_the_reuse_of_an_old_token_revokes_the_family(
    tenant, owner
):
    app = register(tenant, "public")
    first = app.tokens(owner)

    second = app.refresh(first["refresh_token"]).json()
    reused = app.refresh(first["refresh_token"])
    after = app.refresh(second["refresh_token"])

    assert second["refresh_token"] != first["refresh_token"]
    assert reused.json()["error"] == "invalid_grant"
    assert after.json()["error"] == "invalid_grant"
    client = ApiClient(tenant.base_url, second["access_token"])
    assert client.get("/scripts").status_code == 401


def test_a_refresh_may_narrow_the_scope_but_never_widen_it(tenant, owner):
    app = register(tenant, "public", scopes=("scripts:read", "scripts:write"))
    issued = app.tokens(owner, scope="scripts:read")

    wider = app.refresh(issued["refresh_token"], scope="scripts:read scripts:write")
    narrower = app.refresh(issued["refresh_token"], scope="scripts:read")

    assert wider.json()["error"] == "invalid_scope"
    assert narrower.json()["scope"] == "scripts:read"


def test_revocation_stops_both_tokens_at_once(tenant, owner):
    app = register(tenant, "confidential")
    other = register(tenant, "confidential")
    issued = app.tokens(owner)
    client = ApiClient(tenant.base_url, issued["access_token"])

    ignored = other.revoke(issued["access_token"])
    still = client.get("/scripts").status_code
    revoked = app.revoke(issued["access_token"])

    assert ignored.status_code == 200 and still == 200
    assert revoked.status_code == 200
    assert client.get("/scripts").status_code == 401
    assert app.refresh(issued["refresh_token"]).json()["error"] == "invalid_grant"
    assert app.revoke("tcrt_unknown_token").status_code == 200


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({}, "invalid_request"),
        ({"grant_type": "password"}, "unsupported_grant_type"),
        ({"grant_type": "authorization_code"}, "invalid_request"),
        ({"grant_type": "refresh_token"}, "invalid_request"),
        ({"grant_type": "authorization_code", "code": "tcac_a_b"}, "invalid_grant"),
    ],
)
def test_bad_token_requests_get_rfc_errors(tenant, form, error):
    app = register(tenant, "public")

    answer = app.token(**form)

    assert answer.status_code == 400
    assert answer.json()["error"] == error


def test_parameters_may_not_repeat(tenant):
    app = register(tenant, "public")

    answer = requests.post(
        f"{app.root}/oauth/token",
        data=[("grant_type", "refresh_token"), ("grant_type", "refresh_token")],
        timeout=30,
    )

    assert answer.json()["error"] == "invalid_request"


def test_an_access_token_works_like_a_key_within_its_scopes(tenant, owner):
    app = register(tenant, "public")
    reader = ApiClient(
        tenant.base_url, app.tokens(owner, "scripts:read")["access_token"]
    )

    listed = reader.get("/scripts")
    written = reader.post("/scripts", json=reference.CREATE_SCRIPT)

    assert listed.status_code == 200
    assert listed.headers["X-RateLimit-Limit"] == "60"
    assert written.status_code == 403
    assert "scripts:write" in written.json()["error"]["details"]


def test_an_access_token_cannot_mint_keys_or_set_passwords(tenant, owner):
    app = register(tenant, "public", scopes=("scripts:read",))
    client = ApiClient(
        tenant.base_url, app.tokens(owner, "scripts:read")["access_token"]
    )

    key = client.post("/api-keys", json={"name": "k", "permissions": ["scripts:read"]})
    password = client.put("/users/me/password", json={"password": "x" * 20})

    assert key.status_code == 403
    assert password.status_code == 403


def test_deleting_a_client_revokes_its_tokens(tenant, owner):
    app = register(tenant, "public")
    issued = app.tokens(owner)
    client = ApiClient(tenant.base_url, issued["access_token"])
    assert client.get("/scripts").status_code == 200

    deleted = tenant.client.delete(f"/oauth/clients/{app.client_id}")

    assert deleted.status_code == 200
    assert client.get("/scripts").status_code == 401
    assert app.refresh(issued["refresh_token"]).status_code == 401
    assert app.open_page(requests.Session()).status_code == 400


def test_a_refresh_follows_the_users_current_role(tenant, owner):
    app = register(tenant, "public")
    issued = app.tokens(owner)
    User.get(tenant.owner_id).update(actions=[User.role.set("viewer")])

    renewed = app.refresh(issued["refresh_token"]).json()
    client = ApiClient(tenant.base_url, renewed["access_token"])

    assert client.get("/scripts").status_code == 200
    assert client.post("/scripts", json=reference.CREATE_SCRIPT).status_code == 403


def test_codes_and_refresh_tokens_are_stored_only_as_hashes(tenant, owner, stack):
    app = register(tenant, "confidential")
    code = app.approve(owner)["code"]
    issued = app.redeem(code).json()
    dynamodb = stack.client("dynamodb")

    stored = [
        dynamodb.scan(TableName=f"tapcraft-local-{table}")["Items"]
        for table in ("oauth-codes", "oauth-refresh-tokens", "oauth-clients")
    ]

    text = str(stored)
    for secret in (code, issued["refresh_token"], app.client_secret):
        assert secret.split("_", 2)[2] not in text
