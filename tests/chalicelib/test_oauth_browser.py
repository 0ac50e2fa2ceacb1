"""The OAuth flow end to end, with the sign-in and consent page in Chromium.

A person signs in and approves in a real headless Chromium; the browser is
sent back to the application's callback (a small server here), whose code
the application exchanges; the token then drives the Scripts API, its
refresh token rotates, a reused refresh token and a revoked token stop
working. `make test` installs Debian's `chromium` first where it can (as
root); where it cannot, the test is skipped, except in CI, where it fails.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from tests import reference
from tests.browser import Browser, find_chromium
from tests.conftest import ApiClient
from tests.oauth_flow import App, pkce_pair, register, set_owner_password


class Callback(ThreadingHTTPServer):
    """The application's redirect URI: remembers the query it was sent."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _CallbackHandler)
        self.queries: list[dict[str, str]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/callback"


class _CallbackHandler(BaseHTTPRequestHandler):
    server: Callback

    def do_GET(self) -> None:
        target = urlsplit(self.path)
        if target.path != "/callback":
            self.send_error(404)
            return
        query = parse_qs(target.query)
        self.server.queries.append({k: v[0] for k, v in query.items()})
        body = b"<!DOCTYPE html><title>Done</title><p>Connected to TapCraft Pro.</p>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = find_chromium()
    if executable is None:
        message = "needs Debian's chromium (apt-get install -y chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with Browser(executable) as driven:
        yield driven


@pytest.fixture
def callback() -> Iterator[Callback]:
    server = Callback()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def open_consent(browser: Browser, app: App, challenge: str, state: str) -> None:
    params = app.authorize_params(
        scope="scripts:read scripts:write",
        state=state,
        code_challenge=challenge,
        code_challenge_method="S256",
    )
    browser.open(f"{app.root}/oauth/authorize?{urlencode(params)}")


def sign_in(browser: Browser, email: str, password: str, button: str) -> None:
    browser.type_into("#email", email)
    browser.type_into("#password", password)
    browser.click(f"button[value={button}]")


def test_the_whole_flow_with_a_person_in_chromium(tenant, browser, callback):
    email = set_owner_password(tenant)
    app = register(tenant, "public", redirect_uris=(callback.url,))
    state = "opaque/state value?&=1"
    verifier, challenge = pkce_pair()

    open_consent(browser, app, challenge, state)
    page = browser.text()
    sign_in(browser, email, "correct horse battery staple", "approve")

    assert "Acme Scheduler" in page and "scripts:write" in page
    assert browser.url().startswith(callback.url)
    returned = callback.queries[-1]
    assert returned["state"] == state
    first = app.redeem(returned["code"], verifier)
    assert first.status_code == 200, first.text
    issued = first.json()
    assert issued["scope"] == "scripts:read scripts:write"
    user = ApiClient(tenant.base_url, issued["access_token"])
    created = user.post("/scripts", json=reference.CREATE_SCRIPT)
    assert created.status_code == 201, created.text
    script = f"/scripts/{created.json()['data']['script']['id']}"
    listed = user.get("/scripts").json()["data"]["scripts"]
    assert created.json()["data"]["script"]["id"] in [s["id"] for s in listed]

    rotated = app.refresh(issued["refresh_token"]).json()
    assert rotated["refresh_token"] != issued["refresh_token"]
    renewed = ApiClient(tenant.base_url, rotated["access_token"])
    assert renewed.get(script).status_code == 200
    reused = app.refresh(issued["refresh_token"])
    assert reused.status_code == 400
    assert reused.json()["error"] == "invalid_grant"
    assert renewed.get(script).status_code == 401
    assert app.refresh(rotated["refresh_token"]).json()["error"] == "invalid_grant"

    verifier, challenge = pkce_pair()
    open_consent(browser, app, challenge, "second")
    browser.type_into("#email", email)
    browser.type_into("#password", "correct horse battery staple")
    browser.press_enter()
    again = app.redeem(callback.queries[-1]["code"], verifier).json()
    revoked = ApiClient(tenant.base_url, again["access_token"])
    assert revoked.get(script).status_code == 200
    assert app.revoke(again["access_token"]).status_code == 200
    assert revoked.get(script).status_code == 401
    assert app.refresh(again["refresh_token"]).json()["error"] == "invalid_grant"


def test_a_person_who_denies_sends_the_client_access_denied(tenant, browser, callback):
    email = set_owner_password(tenant)
    app = register(tenant, "public", redirect_uris=(callback.url,))
    _, challenge = pkce_pair()

    open_consent(browser, app, challenge, "deny me")
    sign_in(browser, email, "", "deny")

    assert callback.queries[-1]["error"] == "access_denied"
    assert callback.queries[-1]["state"] == "deny me"
    assert "code" not in callback.queries[-1]


def test_a_wrong_password_keeps_the_person_on_the_page(tenant, browser, callback):
    email = set_owner_password(tenant)
    app = register(tenant, "public", redirect_uris=(callback.url,))
    _, challenge = pkce_pair()

    open_consent(browser, app, challenge, "s")
    sign_in(browser, email, "not my password at all", "approve")

    assert "The email or password is wrong." in browser.text()
    assert browser.evaluate("document.querySelector('#email').value") == email
    assert callback.queries == []
