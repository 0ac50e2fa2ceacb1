"""The API's error tree.

    ApiError
    ├── InvalidRequestError       400 INVALID_REQUEST
    │   └── ValidationError       400 INVALID_REQUEST, names the offending field
    ├── UnauthorizedError         401 UNAUTHORIZED
    ├── QuotaExceededError        402 QUOTA_EXCEEDED
    ├── ForbiddenError            403 FORBIDDEN
    ├── NotFoundError             404 NOT_FOUND
    ├── MethodNotAllowedError     405 METHOD_NOT_ALLOWED
    ├── PreconditionFailedError   412 PRECONDITION_FAILED
    ├── PayloadTooLargeError      413 PAYLOAD_TOO_LARGE
    ├── UnsupportedMediaTypeError 415 UNSUPPORTED_MEDIA_TYPE
    ├── ScriptExecutionError      422 SCRIPT_EXECUTION_FAILED
    ├── RateLimitedError          429 RATE_LIMITED
    ├── InternalError             500 INTERNAL_ERROR
    └── OAuthError                400/401, RFC 6749 `error` codes (not enveloped)

Services raise these; `chalicelib.http` turns them into the error envelope in
one place. `OAuthError` is the exception: the OAuth endpoints answer in the
protocol's own forms (a JSON object, a redirect back to the client, or a page
for the person at the browser), which `chalicelib.http` also writes.
Lower-level exceptions (botocore, PynamoDB) are translated where they arise,
`from` the original.
"""

from __future__ import annotations


class ApiError(Exception):
    code = "INTERNAL_ERROR"
    http_status = 500
    message = "An internal server error occurred"

    def __init__(self, details: str, *, headers: dict[str, str] | None = None):
        super().__init__(details)
        self.details = details
        self.headers = headers or {}

    @property
    def anchor(self) -> str:
        return self.code.lower().replace("_", "-")


class InvalidRequestError(ApiError):
    code = "INVALID_REQUEST"
    http_status = 400
    message = "The request is invalid"


class ValidationError(InvalidRequestError):
    """Bad input, with the path of the field at fault (`nodes[2].config.x`)."""

    def __init__(self, field: str, problem: str):
        super().__init__(f"{field}: {problem}" if field else problem)
        self.field = field


class UnauthorizedError(ApiError):
    code = "UNAUTHORIZED"
    http_status = 401
    message = "Invalid or missing API key"


class QuotaExceededError(ApiError):
    code = "QUOTA_EXCEEDED"
    http_status = 402
    message = "Usage quota exceeded, upgrade required"


class ForbiddenError(ApiError):
    code = "FORBIDDEN"
    http_status = 403
    message = "Insufficient permissions for this operation"


class NotFoundError(ApiError):
    code = "NOT_FOUND"
    http_status = 404
    message = "The requested resource was not found"


class MethodNotAllowedError(ApiError):
    code = "METHOD_NOT_ALLOWED"
    http_status = 405
    message = "The method is not allowed on this resource"


class PreconditionFailedError(ApiError):
    code = "PRECONDITION_FAILED"
    http_status = 412
    message = "The resource changed since the version you sent"


class PayloadTooLargeError(ApiError):
    code = "PAYLOAD_TOO_LARGE"
    http_status = 413
    message = "The request body is too large"


class UnsupportedMediaTypeError(ApiError):
    code = "UNSUPPORTED_MEDIA_TYPE"
    http_status = 415
    message = "The request body has an unsupported content type"


class ScriptExecutionError(ApiError):
    code = "SCRIPT_EXECUTION_FAILED"
    http_status = 422
    message = "Script execution failed due to automation error"


class RateLimitedError(ApiError):
    code = "RATE_LIMITED"
    http_status = 429
    message = "Rate limit exceeded"


class InternalError(ApiError):
    pass


class OAuthError(ApiError):
    """An OAuth 2.0 protocol error, `error` being the RFC 6749 code.

    With `redirect_uri` the answer sends the browser back to the client with
    `error`, `error_description` and `state`; with `page` the person at the
    browser sees the reason (the client cannot be trusted with it); otherwise
    the body is the RFC's JSON object.
    """

    code = "INVALID_REQUEST"
    message = "The OAuth request was refused"

    def __init__(
        self,
        error: str,
        description: str,
        *,
        status: int = 400,
        redirect_uri: str | None = None,
        state: str | None = None,
        page: bool = False,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(description, headers=headers)
        self.error = error
        self.http_status = status
        self.redirect_uri = redirect_uri
        self.state = state
        self.page = page


ALL_ERRORS: tuple[type[ApiError], ...] = (
    InvalidRequestError,
    UnauthorizedError,
    QuotaExceededError,
    ForbiddenError,
    NotFoundError,
    MethodNotAllowedError,
    PreconditionFailedError,
    PayloadTooLargeError,
    UnsupportedMediaTypeError,
    ScriptExecutionError,
    RateLimitedError,
    InternalError,
)
