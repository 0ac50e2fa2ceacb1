"""The OpenAPI 3.1 document, built from the registered routes.

Component schemas are JSON Schema 2020-12, so tests validate real responses
against this very document.
"""

from __future__ import annotations

import re
from typing import Any

from chalicelib import auth, nodes, scripts
from chalicelib.errors import ALL_ERRORS
from chalicelib.http import RouteSpec


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
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
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
    else:
        content = {"application/json": {"schema": _ref(spec.body or "")}}
    return {"required": True, "content": content}


def _responses(spec: RouteSpec) -> dict[str, Any]:
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
