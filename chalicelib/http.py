"""How routes read requests and write the API's envelopes.

A request passes through these stages, each in one place:

1. `request_middleware` names the request (`meta.request_id`, the
   `X-Request-Id` header, the log context), times it and logs one line;
2. `ApiRoutes.route` authenticates the caller (an API key or an OAuth access
   token), counts the request against the organization's rate limits,
   checks the body's size and content type, parses JSON or a form, and calls
   the view;
3. the view's result becomes the success envelope, and every `ApiError`
   the error envelope; any other exception is logged with its traceback and
   answered as INTERNAL_ERROR without internals. Answers to rate-limited
   callers carry the `X-RateLimit-*` headers and `meta.rate_limit`;
   `OAuthError`s take the OAuth protocol's own forms.
"""

from __future__ import annotations

import contextvars
import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from chalice import Chalice, Response
from chalice.app import Request

from chalicelib import agents, credentials, logs, pages, ratelimit
from chalicelib.agents import AgentPrincipal
from chalicelib.auth import Principal, bearer_token
from chalicelib.errors import (
    ApiError,
    InternalError,
    InvalidRequestError,
    MethodNotAllowedError,
    OAuthError,
    PayloadTooLargeError,
    RateLimitedError,
    UnsupportedMediaTypeError,
)
from chalicelib.ids import now_iso
from chalicelib.settings import get_settings

logger = logging.getLogger(__name__)

_request_id: contextvars.ContextVar[str] = contextvars.ContextVar(
    "request_id", default=""
)
# Chalice keeps the current request on the app object, which concurrent
# threads of a local server would share; each request's own copy lives here.
_current: contextvars.ContextVar[Request] = contextvars.ContextVar("request")
# Where the caller stands against its rate limits, for this request's answer.
_usage: contextvars.ContextVar[ratelimit.Usage | None] = contextvars.ContextVar(
    "rate_limit_usage", default=None
)
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
MAX_FORM_FIELDS = 50


@dataclass(frozen=True)
class RouteSpec:
    """What a route is, for the router and for the OpenAPI document."""

    path: str
    method: str
    summary: str
    permission: str | None = None
    public: bool = False
    agent: bool = False
    body: str | None = None
    body_required: bool = True
    response: str | None = None
    status: int = 200
    query: tuple[str, ...] = ()
    headers: tuple[str, ...] = ()
    body_types: tuple[str, ...] = (JSON,)
    response_types: tuple[str, ...] = (JSON,)
    max_body_bytes: int | None = None
    tag: str = "general"


@dataclass
class ApiRequest:
    """What a view gets: the parsed request and, on private routes, the caller."""

    raw: Request
    body: Any = None
    principal: Principal | None = None
    agent: AgentPrincipal | None = None

    @property
    def caller(self) -> Principal:
        assert self.principal is not None, "public routes have no caller"
        return self.principal

    @property
    def calling_agent(self) -> AgentPrincipal:
        assert self.agent is not None, "only agent routes have a calling agent"
        return self.agent

    def header(self, name: str) -> str | None:
        return self.raw.headers.get(name)

    @property
    def query(self) -> dict[str, list[str]]:
        params = self.raw.query_params or {}
        return {name: params.getlist(name) for name in params}

    @property
    def raw_body(self) -> bytes:
        return self.raw.raw_body or b""


@dataclass
class Reply:
    data: Any
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


def request_id() -> str:
    return _request_id.get()


def envelope(data: Any) -> dict[str, Any]:
    return {"success": True, "data": data, "meta": _meta()}


def error_envelope(error: ApiError) -> dict[str, Any]:
    return {
        "success": False,
        "error": {
            "code": error.code,
            "message": error.message,
            "details": error.details,
            "documentation_url": f"{get_settings().docs_url}#{error.anchor}",
        },
        "meta": _meta(),
    }


def _meta() -> dict[str, Any]:
    meta: dict[str, Any] = {"timestamp": now_iso(), "request_id": request_id()}
    usage = _usage.get()
    if usage is not None:
        meta["rate_limit"] = {"remaining": usage.remaining, "reset": usage.reset}
    return meta


def error_response(error: ApiError) -> Response:
    if isinstance(error, OAuthError):
        return _oauth_error_response(error)
    return Response(
        body=json.dumps(error_envelope(error)),
        status_code=error.http_status,
        headers={"Content-Type": JSON, **error.headers},
    )


def _oauth_error_response(error: OAuthError) -> Response:
    """RFC 6749's forms: back to the client, a page for the person, or JSON."""
    if error.redirect_uri:
        params = {
            "error": error.error,
            "error_description": error.details,
            "state": error.state,
        }
        return pages.redirect(pages.with_query(error.redirect_uri, params))
    if error.page:
        return pages.error_response(error.error, error.details, error.http_status)
    body = {"error": error.error, "error_description": error.details}
    return Response(
        body=json.dumps(body),
        status_code=error.http_status,
        headers={
            "Content-Type": JSON,
            "Cache-Control": "no-store",
            "Pragma": "no-cache",
            **error.headers,
        },
    )


class ApiRoutes:
    """Registers views on a Chalice app, wrapped in the API's conventions."""

    def __init__(self, app: Chalice) -> None:
        self.app = app
        self.specs: list[RouteSpec] = []

    def route(self, path: str, method: str, summary: str, **options: Any) -> Callable:
        spec = RouteSpec(path=path, method=method, summary=summary, **options)
        self.specs.append(spec)

        def register(view: Callable[..., Any]) -> Callable[..., Any]:
            def handle(**path_params: str) -> Response:
                return self._handle(spec, view, path_params)

            handle.__name__ = view.__name__
            self.app.route(
                path, methods=[method], content_types=["*/*"], name=view.__name__
            )(handle)
            return view

        return register

    def _handle(self, spec: RouteSpec, view: Callable, params: dict) -> Response:
        request = _current.get()
        try:
            api_request = ApiRequest(request)
            if spec.agent:
                token = bearer_token(request.headers.get("authorization"))
                api_request.agent = agents.authenticate(token)
            elif not spec.public:
                authorization = request.headers.get("authorization")
                api_request.principal = credentials.authenticate(authorization)
                _enforce_rate_limit(api_request.principal)
            api_request.body = _read_body(spec, request)
            if spec.permission:
                api_request.caller.require(spec.permission)
            return _success(view(api_request, **params), spec.status)
        except ApiError as error:
            return error_response(error)
        except Exception:
            logger.exception("request failed", extra={"path": request.path})
            return error_response(
                InternalError("The error was logged; quote request_id")
            )


def _enforce_rate_limit(principal: Principal) -> None:
    """Count the request; raises RateLimitedError once a window is full."""
    usage = ratelimit.consume(principal.org_id)
    _usage.set(usage)
    if usage is not None and not usage.allowed:
        raise RateLimitedError(
            f"The organization's limit of {usage.limit} requests per "
            f"{usage.window} is reached; retry in {usage.retry_after} s",
            headers={"Retry-After": str(usage.retry_after)},
        )


def _rate_limit_headers() -> dict[str, str]:
    usage = _usage.get()
    if usage is None:
        return {}
    return {
        "X-RateLimit-Limit": str(usage.limit),
        "X-RateLimit-Remaining": str(usage.remaining),
        "X-RateLimit-Reset": str(usage.reset),
    }


def _read_body(spec: RouteSpec, request: Request) -> Any:
    raw = request.raw_body or b""
    limit = spec.max_body_bytes or get_settings().max_body_bytes
    if len(raw) > limit:
        raise PayloadTooLargeError(
            f"The body has {len(raw)} bytes; the limit is {limit}"
        )
    if spec.method in ("GET", "DELETE") or (not raw and not spec.body_required):
        return None
    content_type = (request.headers.get("content-type") or "").split(";")[0].strip()
    if content_type.lower() not in spec.body_types:
        raise UnsupportedMediaTypeError(
            f"Send the body as {' or '.join(spec.body_types)}, not "
            f"{content_type or 'no Content-Type'}"
        )
    if content_type == FORM:
        return _parse_form(raw)
    if content_type != JSON:
        return raw
    return _parse_json(raw)


def _parse_form(raw: bytes) -> dict[str, list[str]]:
    """A form body, each name with all its values (OAuth refuses repeats)."""
    try:
        return parse_qs(
            raw.decode("utf-8"),
            keep_blank_values=True,
            strict_parsing=False,
            max_num_fields=MAX_FORM_FIELDS,
        )
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidRequestError("The form body is not valid") from exc


def _parse_json(raw: bytes) -> dict[str, Any]:
    if not raw.strip():
        raise InvalidRequestError("The request body is empty; send a JSON object")
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        position = f" at position {exc.pos}" if hasattr(exc, "pos") else ""
        raise InvalidRequestError(f"The body is not valid JSON{position}") from exc
    if not isinstance(body, dict):
        raise InvalidRequestError("The body must be a JSON object")
    return body


def _success(result: Any, status: int) -> Response:
    if isinstance(result, Response):
        return result
    reply = result if isinstance(result, Reply) else Reply(result, status)
    return Response(
        body=json.dumps(envelope(reply.data)),
        status_code=reply.status,
        headers={"Content-Type": JSON, **reply.headers},
    )


def request_middleware(event: Request, get_response: Callable) -> Response:
    """Name, time and log each request; put Chalice's own errors in our envelope."""
    context = getattr(event, "context", None) or {}
    upstream = str(context.get("requestId") or uuid.uuid4())
    name = "req_" + upstream.replace("-", "")[:24]
    token = _request_id.set(name)
    request_token = _current.set(event)
    usage_token = _usage.set(None)
    started = time.perf_counter()
    with logs.correlated(request_id=name):
        try:
            response = _normalise(get_response(event))
            response.headers["X-Request-Id"] = name
            response.headers.update(_rate_limit_headers())
            logger.info(
                "request handled",
                extra={
                    "method": event.method,
                    "path": context.get("resourcePath", event.path),
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )
            return response
        finally:
            _request_id.reset(token)
            _current.reset(request_token)
            _usage.reset(usage_token)


def _normalise(response: Response) -> Response:
    """Chalice answers some errors itself, before any view runs."""
    body = response.body
    if not isinstance(body, dict) or "Code" not in body:
        return response
    if response.status_code == 405:
        allowed = response.headers.get("Allow", "")
        error: ApiError = MethodNotAllowedError(f"Allowed methods: {allowed}")
        error.headers["Allow"] = allowed
    elif response.status_code == 400:
        error = InvalidRequestError(
            "This resource answers with binary data; send an Accept header naming it"
        )
    else:
        logger.error("unexpected framework error", extra={"code": body.get("Code")})
        error = InternalError("The error was logged; quote request_id")
    return error_response(error)
