"""The OpenAPI 3.1 document, built from the registered routes.

Component schemas are JSON Schema 2020-12, so tests validate real responses
against this very document.
"""

from __future__ import annotations

import re
from typing import Any

from chalicelib import (
    auth,
    delivery,
    event_types,
    executions,
    nodes,
    oauth_clients,
    passwords,
    protocol,
    scripts,
    webhook_secrets,
)
from chalicelib.errors import ALL_ERRORS
from chalicelib.http import FORM, RouteSpec


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _object(required: list[str], **properties: Any) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": properties}


STRING = {"type": "string"}
TIMESTAMP = {"type": "string", "format": "date-time"}
NULLABLE_TIMESTAMP = {"type": ["string", "null"], "format": "date-time"}
INTEGER = {"type": "integer"}
NUMBER = {"type": "number"}
STRINGS = {"type": "array", "items": STRING}

SCRIPT_SUMMARY = _object(
    [
        *("id", "name", "description", "category", "tags", "status", "version"),
        *("created_at", "updated_at", "execution_count", "success_rate"),
        "average_duration",
    ],
    id={"type": "string", "pattern": "^script_"},
    name=STRING,
    description=STRING,
    category=STRING,
    tags=STRINGS,
    status={"enum": list(scripts.STATUSES)},
    version={"type": "integer", "minimum": 1},
    created_at=TIMESTAMP,
    updated_at=TIMESTAMP,
    execution_count=INTEGER,
    success_rate=NUMBER,
    average_duration=NUMBER,
)

GRAPH = {
    "nodes": {"type": "array", "items": _ref("Node"), "maxItems": nodes.MAX_NODES},
    "connections": {"type": "array", "items": _ref("Connection")},
    "variables": {
        "type": "object",
        "additionalProperties": {"type": ["string", "number", "boolean"]},
    },
    "settings": _ref("ScriptSettings"),
}

NULLABLE_NUMBER = {"type": ["number", "null"]}
NULLABLE_STRING = {"type": ["string", "null"]}
LOG = _object(
    ["timestamp", "level", "message"],
    timestamp=STRING,
    level={"enum": list(protocol.LOG_LEVELS)},
    message=STRING,
)
EXECUTION_SUMMARY = _object(
    [
        "id",
        "script_id",
        "script_name",
        "status",
        "started_at",
        "duration",
        "success",
        "actions_executed",
    ],
    id={"type": "string", "pattern": "^exec_"},
    script_id=STRING,
    script_name=STRING,
    status={"enum": list(executions.STATUSES)},
    started_at=TIMESTAMP,
    duration=NULLABLE_NUMBER,
    success={"type": ["boolean", "null"]},
    actions_executed=INTEGER,
)
DEVICE_REPORT = _object(
    ["serial"],
    serial=STRING,
    model=STRING,
    android_version=STRING,
    screen_width=INTEGER,
    screen_height=INTEGER,
    state=STRING,
)
AGENT = _object(
    ["id", "name", "prefix", "status", "created_at"],
    id={"type": "string", "pattern": "^agent_"},
    name=STRING,
    prefix=STRING,
    status={"enum": ["active", "revoked"]},
    created_at=TIMESTAMP,
    last_seen_at=NULLABLE_TIMESTAMP,
    revoked_at=NULLABLE_TIMESTAMP,
    token={"type": "string", "description": "Shown only at creation"},
)
EXECUTION_SCHEMAS: dict[str, Any] = {
    "ExecuteInput": _object(
        [],
        parameters={
            "type": "object",
            "additionalProperties": {"type": ["string", "number", "boolean"]},
        },
        options=_object(
            [],
            **{"async": {"type": "boolean"}},
            timeout={"type": "integer", "minimum": 1000, "maximum": 3600000},
            retry_on_failure={"type": "boolean"},
            notification_webhook={"type": "string", "format": "uri"},
        ),
        device_id=STRING,
    ),
    "ExecutionSummary": EXECUTION_SUMMARY,
    "Execution": {
        **EXECUTION_SUMMARY,
        "properties": {
            **EXECUTION_SUMMARY["properties"],
            "created_at": TIMESTAMP,
            "completed_at": NULLABLE_STRING,
            "stopped_at": NULLABLE_STRING,
            "reason": NULLABLE_STRING,
            "estimated_duration": NULLABLE_NUMBER,
            "progress": {"type": "integer", "minimum": 0, "maximum": 100},
            "current_step": NULLABLE_STRING,
            "attempt": INTEGER,
            "device_id": NULLABLE_STRING,
            "result": {
                "oneOf": [
                    {"type": "null"},
                    _object(
                        [
                            "success",
                            "actions_executed",
                            "actions_successful",
                            "actions_failed",
                            "data_collected",
                        ],
                        success={"type": "boolean"},
                        actions_executed=INTEGER,
                        actions_successful=INTEGER,
                        actions_failed=INTEGER,
                        data_collected={"type": "object"},
                    ),
                ]
            },
            "error": {
                "oneOf": [
                    {"type": "null"},
                    _object(["type"], type=NULLABLE_STRING, message=NULLABLE_STRING),
                ]
            },
            "logs": {"type": "array", "items": LOG},
            "logs_next_cursor": NULLABLE_STRING,
        },
    },
    "ExecutionData": _object(["execution"], execution=_ref("Execution")),
    "ExecutionList": _object(
        ["executions", "pagination"],
        executions={"type": "array", "items": _ref("ExecutionSummary")},
        pagination=_ref("Pagination"),
    ),
    "LogList": _object(
        ["logs", "next_cursor"],
        logs={"type": "array", "items": LOG},
        next_cursor=NULLABLE_STRING,
    ),
    "StopInput": _object([], reason={"type": "string", "maxLength": 500}),
    "Device": _object(
        ["id", "serial", "agent_id", "status", "last_seen_at"],
        id=STRING,
        serial=STRING,
        agent_id=STRING,
        model=STRING,
        android_version=STRING,
        screen=_object(["width", "height"], width=INTEGER, height=INTEGER),
        state=STRING,
        status={"enum": ["online", "busy", "offline"]},
        current_execution_job=NULLABLE_STRING,
        last_seen_at=TIMESTAMP,
    ),
    "DeviceList": _object(
        ["devices"], devices={"type": "array", "items": _ref("Device")}
    ),
    "AgentInput": _object(["name"], name={"type": "string", "maxLength": 100}),
    "Agent": AGENT,
    "AgentData": _object(["agent"], agent=_ref("Agent")),
    "AgentList": _object(["agents"], agents={"type": "array", "items": _ref("Agent")}),
    "AgentHeartbeatInput": _object(
        ["devices"], devices={"type": "array", "items": DEVICE_REPORT}
    ),
    "AgentHeartbeatData": _object(
        ["agent_id", "devices"], agent_id=STRING, devices=INTEGER
    ),
    "ClaimInput": _object(
        ["devices"],
        devices={"type": "array", "items": STRING},
        wait_seconds={
            "type": "number",
            "minimum": 0,
            "maximum": protocol.MAX_CLAIM_WAIT_SECONDS,
        },
    ),
    "ClaimData": _object(
        ["job"],
        job={
            "oneOf": [
                {"type": "null"},
                _object(
                    list(protocol.JobAssignment.__dataclass_fields__),
                    job_id=STRING,
                    execution_id=STRING,
                    attempt=INTEGER,
                    device_serial=STRING,
                    script={"type": "object"},
                    parameters={"type": "object"},
                    timeout_ms=INTEGER,
                    heartbeat_seconds=INTEGER,
                    assets=STRINGS,
                ),
            ]
        },
    ),
    "Empty": {"type": "object"},
    "JobHeartbeatData": _object(["stop_requested"], stop_requested={"type": "boolean"}),
    "ProgressInput": _object(
        [],
        progress={"type": "integer", "minimum": 0, "maximum": 100},
        current_step=STRING,
        logs={"type": "array", "items": LOG},
    ),
    "CompleteInput": _object(
        ["success"],
        success={"type": "boolean"},
        actions_executed=INTEGER,
        actions_successful=INTEGER,
        actions_failed=INTEGER,
        data_collected={"type": "object"},
        error_type={"enum": [*protocol.ERROR_TYPES, None]},
        error_message=NULLABLE_STRING,
    ),
    "Acknowledged": _object(["accepted"], accepted={"const": True}),
}

SCOPES = {"enum": list(auth.PERMISSIONS)}
SPACE_SEPARATED_SCOPES = {
    "type": "string",
    "description": "Space-separated scopes: " + ", ".join(auth.PERMISSIONS),
}
AUTH_SCHEMAS: dict[str, Any] = {
    "PasswordInput": _object(
        ["password"],
        password={
            "type": "string",
            "minLength": passwords.MIN_LENGTH,
            "maxLength": passwords.MAX_LENGTH,
        },
        current_password={
            "type": "string",
            "description": "Required once a password is set",
        },
    ),
    "OAuthClientInput": _object(
        ["name", "redirect_uris", "scopes"],
        name={"type": "string", "maxLength": oauth_clients.MAX_NAME},
        type={"enum": list(oauth_clients.CLIENT_TYPES), "default": "confidential"},
        redirect_uris={
            "type": "array",
            "items": {"type": "string", "format": "uri"},
            "minItems": 1,
            "maxItems": oauth_clients.MAX_REDIRECT_URIS,
        },
        scopes={"type": "array", "items": SCOPES, "minItems": 1},
    ),
    "OAuthClient": _object(
        ["id", "name", "type", "redirect_uris", "scopes", "created_at"],
        id={"type": "string", "pattern": "^client_"},
        name=STRING,
        type={"enum": list(oauth_clients.CLIENT_TYPES)},
        redirect_uris=STRINGS,
        scopes={"type": "array", "items": SCOPES},
        secret_prefix=NULLABLE_STRING,
        created_by=STRING,
        created_at=TIMESTAMP,
        client_secret={
            "type": ["string", "null"],
            "description": "A confidential client's secret, shown only at creation",
        },
    ),
    "OAuthClientData": _object(["client"], client=_ref("OAuthClient")),
    "OAuthClientList": _object(
        ["clients"], clients={"type": "array", "items": _ref("OAuthClient")}
    ),
    "ConsentForm": _object(
        ["form_token", "decision"],
        form_token=STRING,
        email=STRING,
        password=STRING,
        decision={"enum": ["approve", "deny"]},
    ),
    "TokenRequest": _object(
        ["grant_type"],
        grant_type={"enum": ["authorization_code", "refresh_token"]},
        code=STRING,
        redirect_uri=STRING,
        code_verifier=STRING,
        refresh_token=STRING,
        scope=SPACE_SEPARATED_SCOPES,
        client_id=STRING,
        client_secret={
            "type": "string",
            "description": "Or send client_id:client_secret as HTTP Basic",
        },
    ),
    "TokenResponse": _object(
        ["access_token", "token_type", "expires_in", "refresh_token", "scope"],
        access_token={"type": "string", "description": "An RS256 JWT"},
        token_type={"const": "Bearer"},
        expires_in=INTEGER,
        refresh_token=STRING,
        scope=SPACE_SEPARATED_SCOPES,
    ),
    "RevokeRequest": _object(
        ["token"],
        token=STRING,
        token_type_hint={"enum": ["access_token", "refresh_token"]},
        client_id=STRING,
        client_secret=STRING,
    ),
    "OAuthErrorBody": _object(
        ["error", "error_description"],
        error={
            "enum": [
                "invalid_request",
                "invalid_client",
                "invalid_grant",
                "unauthorized_client",
                "unsupported_grant_type",
                "invalid_scope",
            ]
        },
        error_description=STRING,
    ),
    "JsonWebKeySet": _object(
        ["keys"],
        keys={
            "type": "array",
            "items": _object(
                ["kty", "kid", "use", "alg", "n", "e"],
                kty={"const": "RSA"},
                kid=STRING,
                use={"const": "sig"},
                alg={"const": "RS256"},
                n=STRING,
                e=STRING,
            ),
        },
    ),
}
WEBHOOK_EVENTS = {"type": "array", "items": {"enum": list(event_types.SUBSCRIBABLE)}}
WEBHOOK_SECRET = {
    "type": "string",
    "minLength": webhook_secrets.MIN_LENGTH,
    "maxLength": webhook_secrets.MAX_LENGTH,
}
DELIVERY = _object(
    [
        *("id", "event_id", "event", "status", "created_at", "attempt_count"),
        *("next_attempt_at", "completed_at", "redelivery_of", "attempts"),
    ],
    id={"type": "string", "pattern": "^dlv_"},
    event_id={"type": "string", "pattern": "^evt_"},
    event={"enum": list(event_types.CATALOGUE)},
    status={"enum": list(delivery.STATUSES)},
    created_at=TIMESTAMP,
    attempt_count=INTEGER,
    next_attempt_at=NULLABLE_TIMESTAMP,
    completed_at=NULLABLE_TIMESTAMP,
    redelivery_of=NULLABLE_STRING,
    attempts={
        "type": "array",
        "items": _object(
            ["attempt", "at", "status_code", "duration_ms", "error"],
            attempt=INTEGER,
            at=TIMESTAMP,
            status_code={"type": ["integer", "null"]},
            duration_ms=NUMBER,
            error=NULLABLE_STRING,
        ),
    },
)
WEBHOOK_SCHEMAS: dict[str, Any] = {
    "WebhookInput": _object(
        ["url", "events"],
        url={"type": "string", "format": "uri"},
        events=WEBHOOK_EVENTS,
        secret={**WEBHOOK_SECRET, "description": "Generated when left out"},
        active={"type": "boolean", "default": True},
    ),
    "WebhookUpdate": _object(
        [],
        url={"type": "string", "format": "uri"},
        events=WEBHOOK_EVENTS,
        secret=WEBHOOK_SECRET,
        active={"type": "boolean"},
    ),
    "Webhook": _object(
        ["id", "url", "events", "active", "created_at", "updated_at"],
        id={"type": "string", "pattern": "^webhook_"},
        url=STRING,
        events=WEBHOOK_EVENTS,
        active={"type": "boolean"},
        created_at=TIMESTAMP,
        updated_at=TIMESTAMP,
        failing_since=NULLABLE_TIMESTAMP,
        disabled_at=NULLABLE_TIMESTAMP,
        disabled_reason=NULLABLE_STRING,
        secret={"type": "string", "description": "Shown only at creation"},
    ),
    "WebhookData": _object(["webhook"], webhook=_ref("Webhook")),
    "WebhookList": _object(
        ["webhooks"], webhooks={"type": "array", "items": _ref("Webhook")}
    ),
    "WebhookDelivery": DELIVERY,
    "WebhookDeliveryData": _object(["delivery"], delivery=_ref("WebhookDelivery")),
    "WebhookDeliveryList": _object(
        ["deliveries", "next_cursor"],
        deliveries={"type": "array", "items": _ref("WebhookDelivery")},
        next_cursor=NULLABLE_STRING,
    ),
    "EventTypeList": _object(
        ["event_types"],
        event_types={
            "type": "array",
            "items": _object(
                ["name", "description", "subscribable", "produced", "data_schema"],
                name=STRING,
                description=STRING,
                subscribable={"type": "boolean"},
                produced={"type": "boolean"},
                data_schema={"type": "object"},
                example={"type": "object"},
            ),
        },
    ),
    **{
        event_types.schema_name(kind.name): event_types.envelope_schema(kind)
        for kind in event_types.CATALOGUE.values()
    },
}
SIGNATURE_HEADERS = {
    "X-TapCraft-Signature": "sha256=<hex HMAC-SHA256 of the body with the secret>",
    "webhook-id": "The event's id, the same on every retry: drop duplicates by it",
    "webhook-timestamp": "Unix seconds of this attempt",
    "webhook-signature": "v1,<base64 HMAC-SHA256 of id.timestamp.body>",
}


def _event_operations() -> dict[str, Any]:
    """The top-level `webhooks` of the document: one POST per event type."""
    headers = [
        {
            "name": name,
            "in": "header",
            "required": True,
            "description": text,
            "schema": STRING,
        }
        for name, text in SIGNATURE_HEADERS.items()
    ]
    return {
        kind.name: {
            "post": {
                "summary": kind.description,
                "operationId": f"receive{event_types.schema_name(kind.name)}",
                "parameters": headers,
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": _ref(event_types.schema_name(kind.name))
                        }
                    },
                },
                "responses": {
                    "2XX": {"description": "Received; any other answer is retried"}
                },
            }
        }
        for kind in event_types.CATALOGUE.values()
    }


RATE_LIMIT_HEADERS = {
    "X-RateLimit-Limit": "Requests allowed in the tightest window",
    "X-RateLimit-Remaining": "Requests left in that window",
    "X-RateLimit-Reset": "Unix time at which that window resets",
}
PROTOCOL_ERRORS = {
    "description": "An OAuth error (RFC 6749), or the error envelope",
    "content": {
        "application/json": {
            "schema": {"anyOf": [_ref("OAuthErrorBody"), _ref("ErrorEnvelope")]}
        }
    },
}
HTML_PAGE = {"text/html": {"schema": {"type": "string"}}}

SCHEMAS: dict[str, Any] = {
    "Meta": {
        **_object(
            ["timestamp", "request_id"],
            timestamp=TIMESTAMP,
            request_id={"type": "string", "pattern": "^req_"},
            rate_limit=_object(
                ["remaining", "reset"], remaining=INTEGER, reset=INTEGER
            ),
        ),
    },
    "ErrorEnvelope": _object(
        ["success", "error", "meta"],
        success={"const": False},
        error=_object(
            ["code", "message", "details", "documentation_url"],
            code={"enum": [e.code for e in ALL_ERRORS]},
            message=STRING,
            details=STRING,
            documentation_url={"type": "string", "format": "uri"},
        ),
        meta=_ref("Meta"),
    ),
    "Pagination": _object(
        ["page", "limit", "total", "pages", "next_cursor"],
        page=INTEGER,
        limit=INTEGER,
        total=INTEGER,
        pages=INTEGER,
        next_cursor={"type": ["string", "null"]},
    ),
    "Node": {
        **_object(
            ["id", "type"],
            id={"type": "string", "pattern": nodes.NODE_ID.pattern},
            type={"enum": list(nodes.NODE_TYPES)},
            config={"type": "object"},
            position=_object([], x=NUMBER, y=NUMBER),
        ),
    },
    "Connection": _object(
        ["from", "to"],
        **{"from": STRING, "to": STRING, "branch": STRING},
    ),
    "ScriptSettings": _object(
        [],
        execution_timeout={"type": "integer", "minimum": 1000, "maximum": 3600000},
        retry_on_failure={"type": "boolean"},
        max_retries={"type": "integer", "minimum": 0, "maximum": 10},
    ),
    "ScriptSummary": SCRIPT_SUMMARY,
    "Script": {
        **SCRIPT_SUMMARY,
        "required": SCRIPT_SUMMARY["required"]
        + ["nodes", "connections", "variables", "settings"],
        "properties": {**SCRIPT_SUMMARY["properties"], **GRAPH},
    },
    "ScriptInput": _object(
        ["name", "nodes"],
        name={"type": "string", "maxLength": scripts.MAX_NAME},
        description={"type": "string", "maxLength": scripts.MAX_DESCRIPTION},
        category=STRING,
        tags=STRINGS,
        **GRAPH,
    ),
    "ScriptUpdate": _object(
        [],
        name={"type": "string", "maxLength": scripts.MAX_NAME},
        description={"type": "string"},
        category=STRING,
        tags=STRINGS,
        status={"enum": list(scripts.STATUSES)},
        **GRAPH,
    ),
    "ScriptData": _object(["script"], script=_ref("Script")),
    "ScriptList": _object(
        ["scripts", "pagination"],
        scripts={"type": "array", "items": _ref("ScriptSummary")},
        pagination=_ref("Pagination"),
    ),
    "Message": _object(["message"], message=STRING),
    "ApiKeyInput": _object(
        ["name", "permissions"],
        name={"type": "string", "maxLength": 100},
        permissions={"type": "array", "items": {"enum": list(auth.PERMISSIONS)}},
    ),
    "ApiKey": _object(
        ["id", "name", "prefix", "permissions", "status", "created_at"],
        id={"type": "string", "pattern": "^key_"},
        name=STRING,
        prefix=STRING,
        user_id=STRING,
        permissions={"type": "array", "items": {"enum": list(auth.PERMISSIONS)}},
        status={"enum": ["active", "revoked"]},
        created_at=TIMESTAMP,
        last_used_at=NULLABLE_TIMESTAMP,
        revoked_at=NULLABLE_TIMESTAMP,
        key={"type": "string", "description": "The full key, shown only at creation"},
    ),
    "ApiKeyData": _object(["api_key"], api_key=_ref("ApiKey")),
    "ApiKeyList": _object(
        ["api_keys"], api_keys={"type": "array", "items": _ref("ApiKey")}
    ),
    "Asset": _object(
        ["name", "content_type", "size", "width", "height", "sha256", "created_at"],
        name=STRING,
        content_type={"enum": ["image/png", "image/jpeg"]},
        size=INTEGER,
        width=INTEGER,
        height=INTEGER,
        sha256=STRING,
        created_at=TIMESTAMP,
    ),
    "AssetData": _object(["asset"], asset=_ref("Asset")),
    "AssetList": _object(["assets"], assets={"type": "array", "items": _ref("Asset")}),
    "NodeTypeList": _object(
        ["node_types"],
        node_types={
            "type": "array",
            "items": _object(
                ["type", "description", "fields", "branches"],
                type=STRING,
                description=STRING,
                fields={"type": "object"},
                branches=STRINGS,
            ),
        },
    ),
    "Health": _object(["status"], status={"const": "ok"}),
    **EXECUTION_SCHEMAS,
    **AUTH_SCHEMAS,
    **WEBHOOK_SCHEMAS,
}


def build_document(specs: list[RouteSpec], server_url: str = "/") -> dict[str, Any]:
    """The whole document for `specs`."""
    paths: dict[str, dict[str, Any]] = {}
    for spec in specs:
        paths.setdefault(spec.path, {})[spec.method.lower()] = _operation(spec)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "TapCraft Pro API",
            "version": "1.0.0",
            "description": "Create, store and run Android automation scripts.",
        },
        "servers": [{"url": server_url}],
        "paths": paths,
        "webhooks": _event_operations(),
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "agentToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A device agent's token (tcag_...)",
                },
            },
        },
    }


def _operation(spec: RouteSpec) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": spec.summary,
        "operationId": _operation_id(spec),
        "tags": [spec.tag],
        "parameters": _parameters(spec),
        "responses": _responses(spec),
    }
    if spec.public:
        operation["security"] = []
    elif spec.agent:
        operation["security"] = [{"agentToken": []}]
    else:
        operation["security"] = [{"bearer": []}]
    if spec.permission:
        operation["x-permission"] = spec.permission
    if spec.body:
        operation["requestBody"] = _request_body(spec)
    return operation


def _operation_id(spec: RouteSpec) -> str:
    words = re.findall(r"[a-z]+", spec.path.replace("/v1", "").lower())
    return spec.method.lower() + "".join(w.title() for w in words)


def _parameters(spec: RouteSpec) -> list[dict[str, Any]]:
    found = [
        {"name": name, "in": "path", "required": True, "schema": STRING}
        for name in re.findall(r"{(\w+)}", spec.path)
    ]
    found += [{"name": n, "in": "query", "schema": STRING} for n in spec.query]
    found += [{"name": n, "in": "header", "schema": STRING} for n in spec.headers]
    return found


def _request_body(spec: RouteSpec) -> dict[str, Any]:
    if spec.body == "binary":
        content = {
            t: {"schema": {"type": "string", "contentMediaType": t}}
            for t in spec.body_types
        }
    elif FORM in spec.body_types:
        content = {FORM: {"schema": _ref(spec.body or "")}}
    else:
        content = {"application/json": {"schema": _ref(spec.body or "")}}
    return {"required": True, "content": content}


def _responses(spec: RouteSpec) -> dict[str, Any]:
    responses = _protocol_responses(spec) or _api_responses(spec)
    if not spec.public and not spec.agent:
        headers = {
            name: {"description": text, "schema": INTEGER}
            for name, text in RATE_LIMIT_HEADERS.items()
        }
        for response in responses.values():
            response["headers"] = headers
    return responses


def _protocol_responses(spec: RouteSpec) -> dict[str, Any] | None:
    """The OAuth endpoints answer in the protocol's forms, not in envelopes."""
    redirect = {
        "description": "Back to the client's redirect URI",
        "headers": {"Location": {"schema": {"type": "string", "format": "uri"}}},
    }
    if spec.response == "html":
        return {
            "200": {
                "description": "The sign-in and consent page",
                "content": HTML_PAGE,
            },
            "303": redirect,
            "default": {"description": "Why the request stops", "content": HTML_PAGE},
        }
    if spec.response == "empty":
        return {"200": {"description": "Done"}, "default": PROTOCOL_ERRORS}
    if spec.response in ("TokenResponse", "JsonWebKeySet"):
        schema = {"application/json": {"schema": _ref(spec.response)}}
        return {
            "200": {"description": "Success", "content": schema},
            "default": PROTOCOL_ERRORS,
        }
    return None


def _api_responses(spec: RouteSpec) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    if spec.response == "binary":
        responses[str(spec.status)] = {
            "description": "The stored bytes",
            "content": {t: {"schema": {"type": "string"}} for t in spec.response_types},
        }
    elif spec.response == "openapi":
        responses[str(spec.status)] = {
            "description": "This document",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    else:
        success = _object(
            ["success", "data", "meta"],
            success={"const": True},
            data=_ref(spec.response or "Message"),
            meta=_ref("Meta"),
        )
        responses[str(spec.status)] = {
            "description": "Success",
            "content": {"application/json": {"schema": success}},
        }
    responses["default"] = {
        "description": "An error, in the error envelope",
        "content": {"application/json": {"schema": _ref("ErrorEnvelope")}},
    }
    return responses
