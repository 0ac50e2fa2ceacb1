"""The API's agent routes in memory, over real HTTP, with faults on demand.

Tests queue jobs, then watch what the agent reports; they can make the API
unreachable (connections dropped unanswered), fail completions with 503, ask
for a stop, or take a job away (403 on its routes).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from chalicelib import protocol

TOKEN = "tcag_test_0123456789abcdef"
WAIT_TIMEOUT_S = 30.0


def _route(template: str) -> re.Pattern:
    return re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template) + "$")


ROUTES = {
    "heartbeat": _route(protocol.HEARTBEAT_PATH),
    "claim": _route(protocol.CLAIM_PATH),
    "job_heartbeat": _route(protocol.JOB_HEARTBEAT_PATH),
    "events": _route(protocol.JOB_EVENTS_PATH),
    "complete": _route(protocol.JOB_COMPLETE_PATH),
    "asset": _route(protocol.JOB_ASSET_PATH),
}


@dataclass
class Seen:
    method: str
    route: str
    headers: dict[str, str]
    body: Any


@dataclass
class FakeApi:
    jobs: list[protocol.JobAssignment] = field(default_factory=list)
    assets: dict[str, bytes] = field(default_factory=dict)
    results: dict[str, list[dict]] = field(default_factory=dict)
    events: dict[str, list[dict]] = field(default_factory=dict)
    reports: list[list[dict]] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)
    stop_requested: set[str] = field(default_factory=set)
    lost: set[str] = field(default_factory=set)
    unreachable: bool = False
    failing_completes: int = 0

    def __post_init__(self) -> None:
        self.changed = threading.Condition()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeApi:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def add_job(self, job: protocol.JobAssignment) -> None:
        with self.changed:
            self.jobs.append(job)
            self.changed.notify_all()

    def wait_for(
        self, predicate: Callable[[], Any], timeout_s: float = WAIT_TIMEOUT_S
    ) -> Any:
        """Wait until predicate() is truthy (checked whenever a call arrives)."""
        deadline = time.monotonic() + timeout_s
        with self.changed:
            while not (value := predicate()):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError("the agent did not get there in time")
                self.changed.wait(min(remaining, 0.1))
            return value

    def logs(self, job_id: str) -> list[dict]:
        return [line for post in self.events.get(job_id, []) for line in post["logs"]]

    # Route handlers: (status, data) under the lock

    def handle(self, route: str, params: dict, body: Any) -> tuple[int, Any]:
        job_id = params.get("job_id")
        if job_id is not None and job_id in self.lost:
            return 403, None
        if route == "heartbeat":
            self.reports.append(body["devices"])
            return 200, {"devices": len(body["devices"])}
        if route == "claim":
            return 200, {"job": self._claim(body)}
        if route == "job_heartbeat":
            return 200, {"stop_requested": job_id in self.stop_requested}
        if route == "events":
            self.events.setdefault(job_id, []).append(body)
            return 200, {"accepted": True}
        if route == "complete":
            if self.failing_completes > 0:
                self.failing_completes -= 1
                return 503, None
            self.results.setdefault(job_id, []).append(body)
            return 200, {"accepted": True}
        return 404, None

    def _claim(self, body: dict) -> dict | None:
        deadline = time.monotonic() + body["wait_seconds"]
        while True:
            for job in self.jobs:
                if job.device_serial in body["devices"]:
                    self.jobs.remove(job)
                    return job.to_json()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            self.changed.wait(min(remaining, 0.1))


def _handler(api: FakeApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_args: object) -> None:
            return None

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def _serve(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            if api.unreachable:
                self.close_connection = True
                return
            route, params = _match(self.path)
            body = json.loads(raw) if raw else None
            with api.changed:
                api.seen.append(Seen(method, route, dict(self.headers), body))
                api.changed.notify_all()
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    status, data = 401, None
                elif route == "asset":
                    self._send_asset(params)
                    return
                else:
                    status, data = api.handle(route, params, body)
                api.changed.notify_all()
            self._send_json(status, data)

        def _send_asset(self, params: dict) -> None:
            data = api.assets.get(params["name"])
            if params["job_id"] in api.lost or data is None:
                self._send_json(403 if params["job_id"] in api.lost else 404, None)
                return
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _send_json(self, status: int, data: Any) -> None:
            if status < 400:
                envelope = {"success": True, "data": data, "meta": {}}
            else:
                error = {"code": f"HTTP_{status}", "message": "refused"}
                envelope = {"success": False, "error": error, "meta": {}}
            payload = json.dumps(envelope).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return Handler


def _match(path: str) -> tuple[str, dict]:
    for route, pattern in ROUTES.items():
        if match := pattern.match(path.split("?")[0]):
            return route, match.groupdict()
    return "unknown", {}
