"""The pages a person sees during OAuth authorization, and redirects back.

Server-rendered HTML with no script: every value that a client or a user
controls is escaped. Pages may not be framed, cached or sent as a referrer.
The consent form posts to the URL it was served from (a relative action, so
it also works under an API Gateway stage prefix); Allow comes first, so that
Enter in the password field allows. The form carries a signed form token,
bound to a CSRF cookie set beside it; the cookie is SameSite=Strict, so a
form posted from another site arrives without it.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from urllib.parse import urlencode, urlsplit, urlunsplit

from chalice import Response

from chalicelib.auth import PERMISSIONS
from chalicelib.settings import get_settings

HTML = "text/html; charset=utf-8"
CSRF_COOKIE = "tapcraft_oauth"
CSRF_COOKIE_SECONDS = 600
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
STYLE = """
body{font-family:system-ui,sans-serif;background:#f4f5f7;margin:0;color:#1d2330}
main{max-width:26rem;margin:3rem auto;background:#fff;padding:2rem;
border-radius:.5rem;box-shadow:0 1px 4px #0002}
h1{font-size:1.3rem;margin-top:0}li{margin:.3rem 0}
label{display:block;margin-top:1rem;font-weight:600}
input{width:100%;box-sizing:border-box;padding:.5rem;margin-top:.3rem}
.actions{display:flex;flex-direction:row-reverse;gap:.5rem;margin-top:1.5rem}
button{flex:1;padding:.6rem;border:0;border-radius:.3rem;font-size:1rem}
button[value=approve]{background:#2557d6;color:#fff}
.alert{background:#fde8e8;color:#8a1c1c;padding:.6rem;border-radius:.3rem}
small{color:#5b6270}
"""


@dataclass(frozen=True)
class Redirect:
    """Send the browser back to the client."""

    location: str


@dataclass(frozen=True)
class ConsentPage:
    """The sign-in and consent form for one authorization request."""

    client_name: str
    scopes: tuple[str, ...]
    redirect_uri: str
    form_token: str
    csrf_cookie: str | None = None
    email: str = ""
    error: str | None = None


def respond(outcome: Redirect | ConsentPage) -> Response:
    """The HTTP answer for what the authorization endpoint decided."""
    if isinstance(outcome, Redirect):
        return redirect(outcome.location)
    headers = {"Content-Type": HTML, **SECURITY_HEADERS}
    if outcome.csrf_cookie:
        headers["Set-Cookie"] = _cookie(outcome.csrf_cookie)
    return Response(body=consent_html(outcome), status_code=200, headers=headers)


def redirect(location: str) -> Response:
    headers = {"Location": location, "Cache-Control": "no-store"}
    return Response(body="", status_code=303, headers=headers)


def error_response(error: str, description: str, status: int) -> Response:
    """A page telling the person why the request stops here."""
    headers = {"Content-Type": HTML, **SECURITY_HEADERS}
    body = _document(
        "Authorization refused",
        f"<h1>This authorization request cannot go on</h1>"
        f'<p class="alert">{_e(description)}</p>'
        f"<p><small>Error: {_e(error)}. Return to the application and try again."
        f"</small></p>",
    )
    return Response(body=body, status_code=status, headers=headers)


def with_query(uri: str, params: dict[str, str | None]) -> str:
    """`uri` with `params` added to its query (None values left out)."""
    parts = urlsplit(uri)
    added = urlencode({k: v for k, v in params.items() if v is not None})
    query = f"{parts.query}&{added}" if parts.query else added
    return urlunsplit(parts._replace(query=query))


def read_csrf_cookie(header: str | None) -> str | None:
    """The CSRF cookie's value from a Cookie header, if present."""
    if not header:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(header)
    except CookieError:
        return None
    morsel = jar.get(CSRF_COOKIE)
    return morsel.value if morsel else None


def _cookie(value: str) -> str:
    attributes = [
        f"{CSRF_COOKIE}={value}",
        "HttpOnly",
        "SameSite=Strict",
        f"Max-Age={CSRF_COOKIE_SECONDS}",
    ]
    if get_settings().stage != "local":
        attributes.append("Secure")
    return "; ".join(attributes)


def consent_html(page: ConsentPage) -> str:
    scopes = "".join(
        f"<li><strong>{_e(s)}</strong> &mdash; {_e(PERMISSIONS.get(s, s))}</li>"
        for s in page.scopes
    )
    alert = f'<p class="alert" role="alert">{_e(page.error)}</p>' if page.error else ""
    origin = urlsplit(page.redirect_uri)
    body = f"""<h1>Sign in to allow {_e(page.client_name)}</h1>
{alert}
<p><strong>{_e(page.client_name)}</strong> asks to act for you in TapCraft Pro
with these permissions (never more than your role allows):</p>
<ul>{scopes}</ul>
<form method="post" action="authorize">
<input type="hidden" name="form_token" value="{_e(page.form_token)}">
<label for="email">Email</label>
<input id="email" name="email" type="email" autocomplete="username"
 value="{_e(page.email)}">
<label for="password">Password</label>
<input id="password" name="password" type="password"
 autocomplete="current-password">
<div class="actions">
<button type="submit" name="decision" value="approve">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button>
</div>
</form>
<p><small>You will then return to {_e(f"{origin.scheme}://{origin.netloc}")}.
</small></p>"""
    return _document(f"Allow {page.client_name}", body)


def _document(title: str, body: str) -> str:
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)} &middot; TapCraft Pro</title>
<style>{STYLE}</style>
</head>
<body><main>
{body}
</main></body>
</html>
"""


def _e(value: str) -> str:
    return html.escape(value, quote=True)
