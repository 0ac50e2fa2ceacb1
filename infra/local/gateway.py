"""A local stand-in for API Gateway in front of the Chalice app.

Each HTTP request is matched against the app's routes the way API Gateway
matches resources (literal segments before `{parameters}`), turned into a
REST API proxy event, handed to the app as Lambda would hand it, and the
proxy result is written back. Unmatched paths get the same NOT_FOUND
envelope that infra/template.yaml configures as API Gateway's response.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from chalice import Chalice

from infra.local.lambda_context import LocalLambdaContext

logger = logging.getLogger(__name__)

MAX_PAYLOAD_BYTES = 10 * 1024 * 1024
STAGE = "api"


class RouteTable:
    """The app's resource paths, matched segment by segment."""

    def __init__(self, paths: list[str]) -> None:
        self._routes = [(p, p.strip("/").split("/")) for p in paths]

    def match(self, path: str) -> tuple[str, dict[str, str]] | None:
        parts = path.strip("/").split("/") if path.strip("/") else [""]
        best: tuple[tuple[int, ...], str, dict[str, str]] | None = None
        for resource, segments in self._routes:
            if len(segments) != len(parts):
                continue
            captured, rank = {}, []
            for segment, part in zip(segments, parts, strict=True):
                if segment.startswith("{") and segment.endswith("}"):
                    captured[segment[1:-1]] = unquote(part)
                    rank.append(1)
                elif segment == part:
                    rank.append(0)
                else:
                    break
            else:
                if part_ok(captured) and (best is None or tuple(rank) < best[0]):
                    best = (tuple(rank), resource, captured)
        return None if best is None else (best[1], best[2])


def part_ok(captured: dict[str, str]) -> bool:
    return all(value for value in captured.values())


def build_event(
    app: Chalice, method: str, target: str, headers: dict[str, str], body: bytes
) -> dict[str, Any] | None:
    """The API Gateway proxy event for a request, or None if no route matches."""
    url = urlsplit(target)
    matched = RouteTable(list(app.routes)).match(url.path)
    if matched is None:
        return None
    resource, path_parameters = matched
    query = parse_qs(url.query, keep_blank_values=True)
    content_type = headers.get("content-type", "").split(";")[0].strip()
    binary = content_type in app.api.binary_types
    request_id = str(uuid.uuid4())
    return {
        "resource": resource,
        "path": url.path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": {k: v[-1] for k, v in query.items()} or None,
        "multiValueQueryStringParameters": query or None,
        "pathParameters": path_parameters or None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method,
            "path": f"/{STAGE}{url.path}",
            "stage": STAGE,
            "requestId": request_id,
            "requestTimeEpoch": int(datetime.now(UTC).timestamp() * 1000),
            "identity": {"sourceIp": "127.0.0.1"},
        },
        "body": (
            base64.b64encode(body).decode()
            if binary
            else body.decode("utf-8", "replace")
        )
        if body
        else None,
        "isBase64Encoded": bool(body) and binary,
    }


def not_found(method: str, path: str) -> dict[str, Any]:
    request_id = "req_" + uuid.uuid4().hex[:24]
    body = {
        "success": False,
        "error": {
            "code": "NOT_FOUND",
            "message": "The requested resource was not found",
            "details": f"No route matches {method} {path}",
            "documentation_url": "https://docs.tapcraft.pro/errors#not-found",
        },
        "meta": {
            "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "request_id": request_id,
        },
    }
    return {
        "statusCode": 404,
        "headers": {"Content-Type": "application/json", "X-Request-Id": request_id},
        "body": json.dumps(body),
    }


def too_large(size: int) -> dict[str, Any]:
    return {
        "statusCode": 413,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps({"message": f"Request of {size} bytes is too large"}),
    }


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: LocalGatewayServer

    def _handle(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        if length > MAX_PAYLOAD_BYTES:
            self._write(too_large(length), close=True)
            return
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        self._write(self.server.invoke(self.command, self.path, headers, body))

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle

    def _write(self, result: dict[str, Any], close: bool = False) -> None:
        body = result.get("body") or b""
        if result.get("isBase64Encoded"):
            body = base64.b64decode(body)
        elif isinstance(body, str):
            body = body.encode()
        self.send_response(result["statusCode"])
        headers = dict(result.get("headers") or {})
        for name, values in (result.get("multiValueHeaders") or {}).items():
            headers[name] = ", ".join(values)
        for name, value in headers.items():
            if name.lower() != "content-length":
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("gateway " + format, *args)


class LocalGatewayServer(ThreadingHTTPServer):
    """Serves the Chalice app over HTTP on a local address."""

    daemon_threads = True

    def __init__(self, app: Chalice, host: str = "127.0.0.1", port: int = 8000):
        super().__init__((host, port), _Handler)
        self.app = app

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def invoke(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> dict[str, Any]:
        event = build_event(self.app, method, target, headers, body)
        if event is None:
            return not_found(method, urlsplit(target).path)
        context = LocalLambdaContext(function_name="tapcraft-api", timeout_seconds=29)
        return self.app(event, context)

    def start(self) -> threading.Thread:
        thread = threading.Thread(
            target=self.serve_forever, name="gateway", daemon=True
        )
        thread.start()
        return thread
