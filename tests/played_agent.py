"""A device agent played by the tests over HTTP, speaking chalicelib.protocol."""

from __future__ import annotations

import threading
import time
from typing import Any

from chalicelib import protocol
from tests.conftest import ApiClient, Tenant


class PlayedAgent:
    def __init__(self, tenant: Tenant, name: str, serials: list[str]) -> None:
        created = tenant.client.post("/agents", json={"name": name})
        assert created.status_code == 201, created.text
        self.agent = created.json()["data"]["agent"]
        self.token = self.agent["token"]
        root = tenant.base_url.removesuffix("/v1")
        self.client = ApiClient(root, self.token)
        self.serials = serials
        self.report()

    def report(self, serials: list[str] | None = None) -> None:
        devices = [
            {
                "serial": s,
                "model": "Pixel Test",
                "android_version": "14",
                "screen_width": 1080,
                "screen_height": 2400,
            }
            for s in (self.serials if serials is None else serials)
        ]
        response = self.client.post(protocol.HEARTBEAT_PATH, json={"devices": devices})
        assert response.status_code == 200, response.text

    def claim(self, wait: float = 10, serials: list[str] | None = None) -> dict | None:
        body = {
            "devices": self.serials if serials is None else serials,
            "wait_seconds": wait,
        }
        response = self.client.post(protocol.CLAIM_PATH, json=body)
        assert response.status_code == 200, response.text
        return response.json()["data"]["job"]

    def job_heartbeat(self, job_id: str):
        return self.client.post(protocol.JOB_HEARTBEAT_PATH.format(job_id=job_id))

    def progress(self, job_id: str, **body: Any):
        return self.client.post(
            protocol.JOB_EVENTS_PATH.format(job_id=job_id), json=body
        )

    def complete(self, job_id: str, **result: Any):
        body = {
            "success": True,
            "actions_executed": 3,
            "actions_successful": 3,
            "actions_failed": 0,
            "data_collected": {},
            **result,
        }
        return self.client.post(
            protocol.JOB_COMPLETE_PATH.format(job_id=job_id), json=body
        )

    def keep_alive(self, job_id: str, stop: threading.Event, every: float = 0.5):
        """Heartbeat a job in the background until `stop` is set."""

        def beat() -> None:
            while not stop.wait(every):
                self.job_heartbeat(job_id)

        thread = threading.Thread(target=beat, daemon=True)
        thread.start()
        return thread


def wait_for(
    client: ApiClient, execution_id: str, statuses: tuple[str, ...], seconds: float = 20
) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        execution = client.get(f"/executions/{execution_id}").json()["data"][
            "execution"
        ]
        if execution["status"] in statuses or time.monotonic() > deadline:
            return execution
        time.sleep(0.2)
