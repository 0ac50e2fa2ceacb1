"""The job protocol's HTTP calls, made the way the agent needs them.

Each call sends the agent token, unwraps the API's envelope and translates
failures here, at the boundary:

- no answer, a 5xx or a 429: ApiUnavailableError, worth trying again later;
- 403 on a job's route: JobLostError, the job is no longer this agent's;
- any other refusal (401, 400, 404...): ApiError with the API's message.

The client does not retry; the agent decides how long each kind of call may
keep trying. Every thread gets its own HTTP session.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

import requests

from chalicelib.protocol import (
    CLAIM_PATH,
    HEARTBEAT_PATH,
    JOB_ASSET_PATH,
    JOB_COMPLETE_PATH,
    JOB_EVENTS_PATH,
    JOB_HEARTBEAT_PATH,
    MAX_CLAIM_WAIT_SECONDS,
    DeviceReport,
    JobAssignment,
    JobResult,
    LogLine,
)
from device_agent.errors import ApiError, ApiUnavailableError, JobLostError

REQUEST_TIMEOUT_S = 10.0
# A claim is held open by the API for up to its wait; this much more is allowed.
CLAIM_MARGIN_S = 10.0
ASSET_TIMEOUT_S = 30.0
ASSET_ACCEPT = "image/png, image/jpeg"


class ApiClient:
    """The agent's side of chalicelib.protocol over HTTP."""

    def __init__(self, api_url: str, token: str) -> None:
        self.base_url = api_url.rstrip("/").removesuffix("/v1")
        self._token = token
        self._local = threading.local()

    def heartbeat(self, devices: Sequence[DeviceReport]) -> None:
        body = {"devices": [device.to_json() for device in devices]}
        self._data("POST", HEARTBEAT_PATH, json=body)

    def claim(self, serials: Sequence[str], wait_s: int) -> JobAssignment | None:
        """Wait up to wait_s for a job on one of the serials."""
        wait_s = max(0, min(wait_s, MAX_CLAIM_WAIT_SECONDS))
        body = {"devices": list(serials), "wait_seconds": wait_s}
        data = self._data(
            "POST", CLAIM_PATH, json=body, timeout_s=wait_s + CLAIM_MARGIN_S
        )
        job = data.get("job") if isinstance(data, dict) else None
        if job is None:
            return None
        try:
            return JobAssignment.from_json(job)
        except (KeyError, TypeError) as exc:
            raise ApiError(f"the API sent a job without {exc}") from exc

    def job_heartbeat(self, job_id: str) -> bool:
        """Keep the job alive; returns whether a stop was requested."""
        path = JOB_HEARTBEAT_PATH.format(job_id=quote(job_id, safe=""))
        data = self._data("POST", path, job_id=job_id, json={})
        return bool(isinstance(data, dict) and data.get("stop_requested"))

    def post_events(
        self,
        job_id: str,
        progress: int | None,
        current_step: str | None,
        logs: Sequence[LogLine],
    ) -> None:
        body = {
            "progress": progress,
            "current_step": current_step,
            "logs": [dataclasses.asdict(line) for line in logs],
        }
        path = JOB_EVENTS_PATH.format(job_id=quote(job_id, safe=""))
        self._data("POST", path, job_id=job_id, json=body)

    def complete(self, job_id: str, result: JobResult) -> None:
        path = JOB_COMPLETE_PATH.format(job_id=quote(job_id, safe=""))
        self._data("POST", path, job_id=job_id, json=result.to_json())

    def asset(self, job_id: str, name: str) -> bytes:
        """The bytes of one of the job's images."""
        path = JOB_ASSET_PATH.format(
            job_id=quote(job_id, safe=""), name=quote(name, safe="")
        )
        response = self._send(
            "GET",
            path,
            job_id=job_id,
            headers={"Accept": ASSET_ACCEPT},
            timeout_s=ASSET_TIMEOUT_S,
        )
        return response.content

    def _data(self, method: str, path: str, **options: Any) -> Any:
        response = self._send(method, path, **options)
        try:
            body = response.json()
        except ValueError as exc:
            raise ApiError(f"{method} {path}: the answer is not JSON") from exc
        if not isinstance(body, dict) or body.get("success") is not True:
            raise ApiError(f"{method} {path}: the answer is not a success envelope")
        return body.get("data")

    def _send(
        self,
        method: str,
        path: str,
        *,
        job_id: str | None = None,
        json: Any = None,
        headers: dict[str, str] | None = None,
        timeout_s: float = REQUEST_TIMEOUT_S,
    ) -> requests.Response:
        try:
            response = self._session().request(
                method,
                self.base_url + path,
                json=json,
                headers=headers,
                timeout=timeout_s,
            )
        except requests.RequestException as exc:
            raise ApiUnavailableError(f"{method} {path}: {exc}") from exc
        status = response.status_code
        if status >= 500 or status == 429:
            raise ApiUnavailableError(_refusal(method, path, response), status)
        if status == 403 and job_id is not None:
            raise JobLostError(_refusal(method, path, response), status)
        if status >= 400:
            raise ApiError(_refusal(method, path, response), status)
        return response

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.headers["Authorization"] = f"Bearer {self._token}"
            session.headers["User-Agent"] = "tapcraft-device-agent"
            self._local.session = session
        return session


def _refusal(method: str, path: str, response: requests.Response) -> str:
    try:
        error = response.json()["error"]
        code, detail = error.get("code", ""), error.get("details") or error["message"]
    except (ValueError, KeyError, TypeError, AttributeError):
        code, detail = "", response.reason
    return f"{method} {path}: {response.status_code} {code} {detail}".replace("  ", " ")
