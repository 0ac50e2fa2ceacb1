"""The OAuth flow over HTTP, as a third-party application and a browser use it.

The consent form is read from the page and posted back with the page's
cookie, as a browser would; redirects are read, never followed, so the
callback address needs nothing listening.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from tests.conftest import Tenant

PASSWORD = "correct horse battery staple"
CALLBACK = "http://127.0.0.1:9/callback"
FORM_TOKEN = re.compile(r'name="form_token" value="([^"]+)"')


def pkce_pair() -> tuple[str, str]:
    """A code verifier and its S256 challenge."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).decode().rstrip("=")


def root_of(tenant: Tenant) -> str:
    return tenant.base_url.removesuffix("/v1")


def owner_email(tenant: Tenant) -> str:
    from chalicelib.models import User

    return User.get(tenant.owner_id).email


def set_owner_password(tenant: Tenant, password: str = PASSWORD) -> str:
    response = tenant.client.put("/users/me/password", json={"password": password})
    assert response.status_code == 200, response.text
    return owner_email(tenant)


@dataclass
class App:
    """A registered client, able to run the flow and call the token endpoint."""

    root: str
    client_id: str
    client_secret: str | None
    redirect_uri: str = CALLBACK

    def authorize_params(self, **overrides: Any) -> dict[str, Any]:
        params = {
            "client_id": self.client_id,
            "response_type": "code",
            "scope": "scripts:read scripts:write",
            "redirect_uri": self.redirect_uri,
            "state": "s t/a?t&e=1",
        }
        params.update(overrides)
        return {k: v for k, v in params.items() if v is not None}

    def open_page(self, browser: requests.Session, **params: Any) -> requests.Response:
        return browser.get(
            f"{self.root}/oauth/authorize",
            params=self.authorize_params(**params),
            allow_redirects=False,
            timeout=30,
        )

    def submit(
        self, browser: requests.Session, page: requests.Response, **fields: str
    ) -> requests.Response:
        form = {"form_token": FORM_TOKEN.search(page.text).group(1), **fields}
        return browser.post(
            f"{self.root}/oauth/authorize",
            data=form,
            allow_redirects=False,
            timeout=30,
        )

    def approve(
        self, email: str, password: str = PASSWORD, **params: Any
    ) -> dict[str, str]:
        """Sign in and allow; the query the browser is sent back with."""
        browser = requests.Session()
        page = self.open_page(browser, **params)
        assert page.status_code == 200, page.text
        decision = {"email": email, "password": password, "decision": "approve"}
        answer = self.submit(browser, page, **decision)
        assert answer.status_code == 303, answer.text
        return redirect_query(answer)

    def token(self, **fields: str) -> requests.Response:
        form = {"client_id": self.client_id, **fields}
        if self.client_secret:
            form["client_secret"] = self.client_secret
        return requests.post(f"{self.root}/oauth/token", data=form, timeout=30)

    def redeem(self, code: str, verifier: str | None = None) -> requests.Response:
        fields = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.redirect_uri,
        }
        if verifier:
            fields["code_verifier"] = verifier
        return self.token(**fields)

    def refresh(self, refresh_token: str, **fields: str) -> requests.Response:
        return self.token(
            grant_type="refresh_token", refresh_token=refresh_token, **fields
        )

    def revoke(self, token: str) -> requests.Response:
        form = {"client_id": self.client_id, "token": token}
        if self.client_secret:
            form["client_secret"] = self.client_secret
        return requests.post(f"{self.root}/oauth/revoke", data=form, timeout=30)

    def tokens(self, email: str, scope: str = "scripts:read scripts:write") -> dict:
        """The whole flow: consent, then the code exchanged with PKCE."""
        verifier, challenge = pkce_pair()
        query = self.approve(
            email,
            scope=scope,
            code_challenge=challenge,
            code_challenge_method="S256",
        )
        response = self.redeem(query["code"], verifier)
        assert response.status_code == 200, response.text
        return response.json()


def register(
    tenant: Tenant,
    client_type: str = "public",
    scopes: tuple[str, ...] = ("scripts:read", "scripts:write"),
    redirect_uris: tuple[str, ...] = (CALLBACK,),
) -> App:
    response = tenant.client.post(
        "/oauth/clients",
        json={
            "name": "Acme Scheduler",
            "type": client_type,
            "redirect_uris": list(redirect_uris),
            "scopes": list(scopes),
        },
    )
    assert response.status_code == 201, response.text
    client = response.json()["data"]["client"]
    return App(root_of(tenant), client["id"], client["client_secret"], redirect_uris[0])


def redirect_query(response: requests.Response) -> dict[str, str]:
    """The single-valued query of a redirect's Location."""
    location = response.headers["Location"]
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
