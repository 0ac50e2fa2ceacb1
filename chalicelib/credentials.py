"""Which credential a bearer token is, and whose.

`tcpk_…` is an API key; three dot-separated parts make a JWT access token
from the OAuth flow. Either way the answer is a `Principal`, so every route
that takes an API key takes an access token too, limited to its scopes.
"""

from __future__ import annotations

from chalicelib import api_keys, oauth
from chalicelib.auth import Principal, bearer_token
from chalicelib.errors import UnauthorizedError

INVALID_TOKEN = {"WWW-Authenticate": 'Bearer error="invalid_token"'}


def authenticate(authorization: str | None) -> Principal:
    """The caller behind an Authorization header; raises UnauthorizedError."""
    token = bearer_token(authorization)
    if token.startswith(f"{api_keys.KEY_PREFIX}_"):
        return api_keys.authenticate(token)
    if token.count(".") != 2:
        raise UnauthorizedError("The credential is neither an API key nor a token")
    try:
        return oauth.authenticate_access_token(token)
    except UnauthorizedError as error:
        error.headers.update(INVALID_TOKEN)
        raise
