"""The OAuth 2.0 authorization code flow (RFC 6749, with PKCE per RFC 7636).

Stages:

1. authorize (`GET /oauth/authorize`): the request is checked against the
   registered client, one of its exact redirect URIs and its scopes; the
   person then sees the sign-in and consent page, whose signed form token
   carries the checked request and is bound to a SameSite cookie;
2. consent (`POST /oauth/authorize`): the form token and cookie are checked,
   the person signs in, and approval issues a single-use code (60 s) bound to
   the client, the redirect URI, the PKCE challenge and the granted scope:
   what was asked ∩ what the client may ask ∩ what the user's role holds;
3. token (`POST /oauth/token`): a code becomes a grant (the family of its
   refresh tokens), an RS256 access token of one hour and a refresh token.
   Each refresh token works once; presenting a used one revokes the grant;
4. every API call with an access token verifies the JWT and reads its grant,
   so revocation (`POST /oauth/revoke`, a reused code or refresh token, a
   deleted client) takes effect at once.

Errors follow RFC 6749: until the client and its redirect URI are known
good, the person sees a page; after that the browser returns to the client
with `error` and the untouched `state`; the token and revocation endpoints
answer the RFC's JSON object.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import logging
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError

from chalicelib import accounts, auth, aws, oauth_clients, pages, signing, tokens
from chalicelib.errors import OAuthError, UnauthorizedError
from chalicelib.ids import new_id, to_iso, utc_now
from chalicelib.models import (
    AuthorizationCode,
    OAuthClient,
    OAuthGrant,
    RefreshToken,
    User,
)
from chalicelib.settings import get_settings

logger = logging.getLogger(__name__)

CODE_KIND = "tcac"
REFRESH_KIND = "tcrt"
CODE_SECONDS = 60
ACCESS_TOKEN_SECONDS = signing.MAX_TOKEN_SECONDS
REFRESH_TOKEN_LIFETIME = timedelta(days=30)
FORM_SECONDS = 600
ACCESS_JWT_TYPE = "at+jwt"
CONSENT_JWT_TYPE = "tapcraft-consent+jwt"
PKCE_METHOD = "S256"
CODE_CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{43}$")
CODE_VERIFIER = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")
CSRF_VALUE = re.compile(r"^[A-Za-z0-9_-]{32,64}$")
MAX_STATE = 2048
CONDITION_FAILED = "ConditionalCheckFailed"

Fail = Callable[[str, str], OAuthError]


@dataclass(frozen=True)
class AuthorizationRequest:
    """An authorization request whose client and redirect URI were checked."""

    client_id: str
    redirect_uri: str
    redirect_given: bool
    scopes: tuple[str, ...]
    state: str | None
    code_challenge: str | None

    def refuse(self, error: str, description: str) -> OAuthError:
        """An error sent back to the client's redirect URI."""
        return OAuthError(
            error, description, redirect_uri=self.redirect_uri, state=self.state
        )


def _on_page(error: str, description: str) -> OAuthError:
    return OAuthError(error, description, page=True)


def _in_json(error: str, description: str) -> OAuthError:
    return OAuthError(error, description)


def _single(params: dict[str, list[str]], name: str, fail: Fail) -> str | None:
    """A parameter sent at most once (RFC 6749 3.1); empty counts as absent."""
    values = (params or {}).get(name) or []
    if len(values) > 1:
        raise fail("invalid_request", f"{name} was sent more than once")
    return values[0] if values and values[0] != "" else None


def authorization_page(
    query: dict[str, list[str]], cookie_header: str | None
) -> pages.ConsentPage:
    """The sign-in and consent page for an authorization request.

    Raises OAuthError: shown as a page while the client or redirect URI is in
    doubt, sent to the redirect URI after.
    """
    client, request = _checked_request(query)
    cookie = pages.read_csrf_cookie(cookie_header)
    if not cookie or not CSRF_VALUE.match(cookie):
        cookie = secrets.token_urlsafe(32)
    return _consent_page(client, request, cookie)


def _checked_request(
    query: dict[str, list[str]],
) -> tuple[OAuthClient, AuthorizationRequest]:
    client_id = _single(query, "client_id", _on_page)
    if client_id is None:
        raise _on_page("invalid_request", "client_id is required")
    client = oauth_clients.find_client(client_id)
    if client is None:
        raise _on_page("invalid_client", "The application is not registered")
    given = _single(query, "redirect_uri", _on_page)
    redirect_uri = _registered_redirect(client, given)
    state = _single(query, "state", _on_page)
    if state is not None and len(state) > MAX_STATE:
        raise _on_page("invalid_request", f"state is longer than {MAX_STATE}")

    def refuse(error: str, description: str) -> OAuthError:
        return OAuthError(error, description, redirect_uri=redirect_uri, state=state)

    _check_response_type(_single(query, "response_type", refuse), refuse)
    scopes = _requested_scopes(_single(query, "scope", refuse), client, refuse)
    challenge = _pkce_challenge(query, client, refuse)
    request = AuthorizationRequest(
        client.id, redirect_uri, given is not None, scopes, state, challenge
    )
    return client, request


def _registered_redirect(client: OAuthClient, given: str | None) -> str:
    registered = list(client.redirect_uris)
    if given is None:
        if len(registered) != 1:
            raise _on_page("invalid_request", "redirect_uri is required")
        return registered[0]
    if given not in registered:
        raise _on_page(
            "invalid_request", "redirect_uri is not registered for this application"
        )
    return given


def _check_response_type(response_type: str | None, refuse: Fail) -> None:
    if response_type is None:
        raise refuse("invalid_request", "response_type is required")
    if response_type != "code":
        raise refuse("unsupported_response_type", "Only response_type=code is served")


def _requested_scopes(
    scope: str | None, client: OAuthClient, refuse: Fail
) -> tuple[str, ...]:
    asked = set(scope.split()) if scope else set(client.scopes)
    unknown = sorted(asked - set(auth.PERMISSIONS))
    if unknown:
        raise refuse("invalid_scope", f"Unknown scope {unknown[0]}")
    allowed = asked & set(client.scopes)
    if not allowed:
        raise refuse("invalid_scope", "The application may ask for none of these")
    return _ordered(allowed)


def _ordered(scopes: set[str] | frozenset[str]) -> tuple[str, ...]:
    return tuple(s for s in auth.PERMISSIONS if s in scopes)


def _pkce_challenge(
    query: dict[str, list[str]], client: OAuthClient, refuse: Fail
) -> str | None:
    challenge = _single(query, "code_challenge", refuse)
    method = _single(query, "code_challenge_method", refuse)
    if challenge is None:
        if method is not None:
            raise refuse("invalid_request", "code_challenge_method needs a challenge")
        if client.client_type == oauth_clients.PUBLIC:
            raise refuse(
                "invalid_request", "Public clients must send a PKCE code_challenge"
            )
        return None
    if method != PKCE_METHOD:
        raise refuse("invalid_request", "code_challenge_method must be S256")
    if not CODE_CHALLENGE.match(challenge):
        raise refuse("invalid_request", "code_challenge must be 43 base64url chars")
    return challenge


def _consent_page(
    client: OAuthClient,
    request: AuthorizationRequest,
    cookie: str,
    email: str = "",
    error: str | None = None,
) -> pages.ConsentPage:
    # The cookie is sent again with every page, so that it outlives the form.
    return pages.ConsentPage(
        client_name=client.name,
        scopes=request.scopes,
        redirect_uri=request.redirect_uri,
        form_token=_form_token(request, cookie),
        csrf_cookie=cookie,
        email=email,
        error=error,
    )


def _form_token(request: AuthorizationRequest, cookie: str) -> str:
    now = int(time.time())
    claims = {
        "iss": get_settings().oauth_issuer,
        "aud": _form_audience(),
        "sub": request.client_id,
        "iat": now,
        "exp": now + FORM_SECONDS,
        "jti": secrets.token_urlsafe(12),
        "csrf": _sha256(cookie),
        "req": dataclasses.asdict(request),
    }
    return signing.sign(claims, CONSENT_JWT_TYPE)


def _form_audience() -> str:
    return f"{get_settings().oauth_issuer.rstrip('/')}/oauth/authorize"


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def submit_consent(
    form: dict[str, list[str]], cookie_header: str | None
) -> pages.Redirect | pages.ConsentPage:
    """Sign the person in and send the browser back with a code, or refuse.

    A wrong email or password shows the page again. Raises OAuthError.
    """
    request, cookie = _posted_request(form, cookie_header)
    client = oauth_clients.find_client(request.client_id)
    if client is None or request.redirect_uri not in client.redirect_uris:
        raise _on_page("invalid_client", "The application is no longer registered")
    decision = _single(form, "decision", _on_page)
    if decision == "deny":
        raise request.refuse("access_denied", "The user denied the request")
    if decision != "approve":
        raise _on_page("invalid_request", "Choose Allow or Deny")

    email = _single(form, "email", _on_page) or ""
    password = _single(form, "password", _on_page) or ""
    user = accounts.sign_in(client.org_id, email, password) if password else None
    if user is None:
        error = "The email or password is wrong."
        return _consent_page(client, request, cookie, email, error)
    held = auth.ROLE_PERMISSIONS.get(user.role, frozenset())
    granted = _ordered(set(request.scopes) & held)
    if not granted:
        raise request.refuse("access_denied", "The user holds none of these scopes")
    code = _issue_code(client, user, request, granted)
    location = {"code": code, "state": request.state}
    return pages.Redirect(pages.with_query(request.redirect_uri, location))


def _posted_request(
    form: dict[str, list[str]], cookie_header: str | None
) -> tuple[AuthorizationRequest, str]:
    token = _single(form, "form_token", _on_page)
    if token is None:
        raise _on_page("invalid_request", "The form is incomplete; start again")
    try:
        claims = signing.verify(token, _form_audience(), CONSENT_JWT_TYPE)
        request = AuthorizationRequest(**claims["req"])
    except (UnauthorizedError, KeyError, TypeError) as exc:
        raise _on_page(
            "invalid_request", "The sign-in form expired or was altered; start again"
        ) from exc
    cookie = pages.read_csrf_cookie(cookie_header)
    bound = str(claims.get("csrf", ""))
    if not cookie or not hmac.compare_digest(bound, _sha256(cookie)):
        raise OAuthError(
            "access_denied",
            "The form was not sent from this site's own page; start again",
            page=True,
            status=403,
        )
    return dataclasses.replace(request, scopes=tuple(request.scopes)), cookie


def _issue_code(
    client: OAuthClient,
    user: User,
    request: AuthorizationRequest,
    granted: tuple[str, ...],
) -> str:
    minted = tokens.mint(CODE_KIND)
    now = utc_now()
    AuthorizationCode(
        f"code_{minted.token_id}",
        secret_hash=minted.digest,
        client_id=client.id,
        org_id=user.org_id,
        user_id=user.id,
        redirect_uri=request.redirect_uri,
        redirect_given=request.redirect_given,
        scopes=set(granted),
        code_challenge=request.code_challenge,
        created_at=to_iso(now),
        expires_at=now + timedelta(seconds=CODE_SECONDS),
    ).save(condition=AuthorizationCode.id.does_not_exist())
    logger.info(
        "authorization approved", extra={"client_id": client.id, "user_id": user.id}
    )
    return minted.token


def exchange(form: dict[str, list[str]], authorization: str | None) -> dict:
    """The token response for an authorization code or a refresh token.

    Raises OAuthError (RFC 6749 section 5.2).
    """
    grant_type = _single(form, "grant_type", _in_json)
    client = oauth_clients.authenticate_client(
        _single(form, "client_id", _in_json),
        _single(form, "client_secret", _in_json),
        authorization,
    )
    if grant_type == "authorization_code":
        return _redeem_code(client, form)
    if grant_type == "refresh_token":
        return _refresh(client, form)
    if grant_type is None:
        raise _in_json("invalid_request", "grant_type is required")
    raise _in_json("unsupported_grant_type", f"grant_type {grant_type} is not served")


def _redeem_code(client: OAuthClient, form: dict[str, list[str]]) -> dict:
    code = _find_code(_single(form, "code", _in_json))
    if code is None or code.client_id != client.id:
        raise _in_json("invalid_grant", "The code is unknown or not this client's")
    if code.used_at:
        _revoke(code.grant_id, "authorization code reused")
        raise _in_json(
            "invalid_grant", "The code was used before; its tokens are revoked"
        )
    if code.expires_at <= utc_now():
        raise _in_json("invalid_grant", "The code has expired")
    redirect_uri = _single(form, "redirect_uri", _in_json)
    if (code.redirect_given or redirect_uri is not None) and (
        redirect_uri != code.redirect_uri
    ):
        raise _in_json("invalid_grant", "redirect_uri differs from the authorization")
    _check_verifier(code, _single(form, "code_verifier", _in_json))
    user = _active_user(code.user_id)
    if user is None:
        raise _in_json("invalid_grant", "The user is no longer active")
    return _start_grant(client, code, user)


def _find_code(code: str | None) -> AuthorizationCode | None:
    if code is None:
        raise _in_json("invalid_request", "code is required")
    return tokens.find_record(AuthorizationCode, CODE_KIND, code, "code")


def _check_verifier(code: AuthorizationCode, verifier: str | None) -> None:
    if code.code_challenge is None:
        if verifier is not None:
            raise _in_json("invalid_grant", "No code_challenge came with this code")
        return
    if verifier is None or not CODE_VERIFIER.match(verifier):
        raise _in_json("invalid_grant", "code_verifier is missing or malformed")
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    computed = base64.urlsafe_b64encode(digest).decode().rstrip("=")
    if not hmac.compare_digest(computed, code.code_challenge):
        raise _in_json("invalid_grant", "code_verifier does not match code_challenge")


def _active_user(user_id: str) -> User | None:
    try:
        user = User.get(user_id)
    except DoesNotExist:
        return None
    return user if user.status == "active" else None


def _start_grant(client: OAuthClient, code: AuthorizationCode, user: User) -> dict:
    now = utc_now()
    grant = OAuthGrant(
        new_id("grant"),
        client_id=client.id,
        org_id=code.org_id,
        user_id=user.id,
        role=user.role,
        scopes=set(code.scopes),
        created_at=to_iso(now),
        expires_at=now + REFRESH_TOKEN_LIFETIME,
    )
    refresh, token = _new_refresh_token(grant.id, now)
    try:
        with aws.transaction() as transaction:
            transaction.save(grant, condition=OAuthGrant.id.does_not_exist())
            transaction.save(refresh, condition=RefreshToken.id.does_not_exist())
            transaction.update(
                code,
                actions=[
                    AuthorizationCode.used_at.set(to_iso(now)),
                    AuthorizationCode.grant_id.set(grant.id),
                ],
                condition=AuthorizationCode.used_at.does_not_exist(),
            )
    except TransactWriteError as exc:
        if 2 not in _failed_conditions(exc):
            raise
        _revoke(AuthorizationCode.get(code.id).grant_id, "authorization code reused")
        raise _in_json("invalid_grant", "The code was used before") from exc
    logger.info("oauth grant started", extra={"grant_id": grant.id})
    return _token_response(grant, _ordered(grant.scopes), token)


def _new_refresh_token(grant_id: str, now: datetime) -> tuple[RefreshToken, str]:
    minted = tokens.mint(REFRESH_KIND)
    record = RefreshToken(
        f"rt_{minted.token_id}",
        secret_hash=minted.digest,
        grant_id=grant_id,
        created_at=to_iso(now),
        expires_at=now + REFRESH_TOKEN_LIFETIME,
    )
    return record, minted.token


def _failed_conditions(exc: TransactWriteError) -> list[int]:
    """Positions of the transaction's items whose condition failed.

    PynamoDB sends condition checks, deletes, puts, then updates, in that
    order, whatever order they were added in.
    """
    reasons = exc.cancellation_reasons or []
    return [
        index
        for index, reason in enumerate(reasons)
        if reason is not None and reason.code == CONDITION_FAILED
    ]


def _refresh(client: OAuthClient, form: dict[str, list[str]]) -> dict:
    record = _find_refresh_token(_single(form, "refresh_token", _in_json))
    grant = _find_grant(record.grant_id) if record else None
    if record is None or grant is None or grant.client_id != client.id:
        raise _in_json("invalid_grant", "The refresh token is unknown or not yours")
    if grant.revoked_at:
        raise _in_json("invalid_grant", "The grant has been revoked")
    if record.used_at:
        _revoke(grant.id, "refresh token reused")
        raise _in_json(
            "invalid_grant", "The refresh token was used before; its grant is revoked"
        )
    if record.expires_at <= utc_now():
        raise _in_json("invalid_grant", "The refresh token has expired")
    scopes = _narrowed(grant, _single(form, "scope", _in_json))
    user = _active_user(grant.user_id)
    if user is None:
        raise _in_json("invalid_grant", "The user is no longer active")
    token = _rotate(grant, record, user)
    return _token_response(grant, scopes, token)


def _find_refresh_token(token: str | None) -> RefreshToken | None:
    if token is None:
        raise _in_json("invalid_request", "refresh_token is required")
    return tokens.find_record(RefreshToken, REFRESH_KIND, token, "rt")


def _find_grant(grant_id: object) -> OAuthGrant | None:
    if not isinstance(grant_id, str) or not grant_id.startswith("grant_"):
        return None
    try:
        return OAuthGrant.get(grant_id)
    except DoesNotExist:
        return None


def _narrowed(grant: OAuthGrant, scope: str | None) -> tuple[str, ...]:
    if scope is None:
        return _ordered(grant.scopes)
    asked = set(scope.split())
    if not asked or not asked <= set(grant.scopes):
        raise _in_json("invalid_scope", "A refresh may only narrow the granted scope")
    return _ordered(asked)


def _rotate(grant: OAuthGrant, used: RefreshToken, user: User) -> str:
    now = utc_now()
    fresh, token = _new_refresh_token(grant.id, now)
    try:
        with aws.transaction() as transaction:
            transaction.save(fresh, condition=RefreshToken.id.does_not_exist())
            transaction.update(
                used,
                actions=[RefreshToken.used_at.set(to_iso(now))],
                condition=RefreshToken.used_at.does_not_exist(),
            )
            transaction.update(
                grant,
                actions=[
                    OAuthGrant.role.set(user.role),
                    OAuthGrant.refreshed_at.set(to_iso(now)),
                    OAuthGrant.expires_at.set(now + REFRESH_TOKEN_LIFETIME),
                ],
                condition=OAuthGrant.revoked_at.does_not_exist(),
            )
    except TransactWriteError as exc:
        failed = _failed_conditions(exc)
        if not failed:
            raise
        if 1 in failed:
            _revoke(grant.id, "refresh token reused")
        raise _in_json("invalid_grant", "The refresh token is no longer valid") from exc
    grant.role = user.role
    return token


def _token_response(
    grant: OAuthGrant, scopes: tuple[str, ...], refresh_token: str
) -> dict[str, Any]:
    return {
        "access_token": _access_token(grant, scopes),
        "token_type": "Bearer",
        "expires_in": ACCESS_TOKEN_SECONDS,
        "refresh_token": refresh_token,
        "scope": " ".join(scopes),
    }


def _access_token(grant: OAuthGrant, scopes: tuple[str, ...]) -> str:
    settings = get_settings()
    now = int(time.time())
    claims = {
        "iss": settings.oauth_issuer,
        "aud": settings.oauth_audience,
        "sub": grant.user_id,
        "iat": now,
        "exp": now + ACCESS_TOKEN_SECONDS,
        "jti": secrets.token_urlsafe(16),
        "scope": " ".join(scopes),
        "client_id": grant.client_id,
        "org_id": grant.org_id,
        "grant_id": grant.id,
    }
    return signing.sign(claims, ACCESS_JWT_TYPE)


def authenticate_access_token(token: str) -> auth.Principal:
    """The principal behind an access token; raises UnauthorizedError.

    Its permissions are the token's scopes within what the user's role holds.
    """
    claims = signing.verify(token, get_settings().oauth_audience, ACCESS_JWT_TYPE)
    grant = _find_grant(claims.get("grant_id"))
    if grant is None or grant.revoked_at or grant.user_id != claims["sub"]:
        raise UnauthorizedError("The access token has been revoked")
    scopes = frozenset(str(claims.get("scope", "")).split())
    return auth.Principal(
        org_id=grant.org_id,
        user_id=grant.user_id,
        role=grant.role,
        permissions=auth.effective_permissions(scopes, grant.role),
        credential_id=grant.id,
        credential_type=auth.VIA_OAUTH,
    )


def revoke(form: dict[str, list[str]], authorization: str | None) -> None:
    """Revoke the grant behind an access or refresh token (RFC 7009).

    A token that is unknown, invalid or another client's is ignored, as the
    RFC asks. Raises OAuthError for a bad request or client.
    """
    client = oauth_clients.authenticate_client(
        _single(form, "client_id", _in_json),
        _single(form, "client_secret", _in_json),
        authorization,
    )
    token = _single(form, "token", _in_json)
    if token is None:
        raise _in_json("invalid_request", "token is required")
    grant = _grant_of(token)
    if grant is not None and grant.client_id == client.id:
        _revoke(grant.id, "revoked by the client")


def _grant_of(token: str) -> OAuthGrant | None:
    if token.startswith(f"{REFRESH_KIND}_"):
        record = _find_refresh_token(token)
        return _find_grant(record.grant_id) if record else None
    try:
        claims = signing.verify(token, get_settings().oauth_audience, ACCESS_JWT_TYPE)
    except UnauthorizedError:
        return None
    return _find_grant(claims.get("grant_id"))


def _revoke(grant_id: str | None, reason: str) -> None:
    if not grant_id:
        return
    try:
        OAuthGrant(grant_id).update(
            actions=[OAuthGrant.revoked_at.set(to_iso(utc_now()))],
            condition=OAuthGrant.id.exists() & OAuthGrant.revoked_at.does_not_exist(),
        )
    except UpdateError as exc:
        if (
            getattr(exc, "cause_response_code", None)
            != "ConditionalCheckFailedException"
        ):
            raise
        return
    logger.info("oauth grant revoked", extra={"grant_id": grant_id, "reason": reason})
