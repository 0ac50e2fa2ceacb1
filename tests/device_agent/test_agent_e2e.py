"""End to end: the real API on the local stack, the agent, a virtual phone.

An admin registers an agent and uploads the looped "Instagram Auto-Like"
script with its heart image; the agent, driving a virtual phone through the
real adb server, picks the execution up and the user reads the result.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from device_agent.agent import Agent
from device_agent.device import AdbServer
from device_agent.settings import AgentSettings
from device_agent.virtual_device import like_icon_png
from tests.conftest import Tenant
from tests.device_agent.agent_runs import agent_running
from tests.device_agent.conftest import PhoneFactory
from tests.device_agent.scripts import HEART, like_loop_script

T = TypeVar("T")
WAIT_S = 60.0
POLL_S = 0.2


@contextmanager
def agent_for(tenant: Tenant, adb_server: AdbServer) -> Iterator[Agent]:
    created = tenant.client.post("/agents", json={"name": "rack-1"})
    assert created.status_code == 201, created.text
    token = created.json()["data"]["agent"]["token"]
    settings = AgentSettings(
        api_url=tenant.base_url,
        token=token,
        adb_host=adb_server.host,
        adb_port=adb_server.port,
        heartbeat_interval_s=0.5,
        claim_wait_s=2,
        shutdown_grace_s=5.0,
    )
    with agent_running(settings, adb_server, stop_seconds=15) as agent:
        yield agent


def until(check: Callable[[], T], what: str) -> T:
    deadline = time.monotonic() + WAIT_S
    while not (value := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(POLL_S)
    return value


def active_like_script(tenant: Tenant, max_likes: int) -> str:
    created = tenant.client.post("/scripts", json=like_loop_script(max_likes))
    assert created.status_code == 201, created.text
    script_id = created.json()["data"]["script"]["id"]
    uploaded = tenant.client.put(
        f"/scripts/{script_id}/assets/{HEART}",
        data=like_icon_png(3.0),
        headers={"Content-Type": "image/png"},
    )
    assert uploaded.status_code in (200, 201), uploaded.text
    activated = tenant.client.put(f"/scripts/{script_id}", json={"status": "active"})
    assert activated.status_code == 200, activated.text
    return script_id


def execution(tenant: Tenant, execution_id: str) -> dict:
    answer = tenant.client.get(f"/executions/{execution_id}")
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]["execution"]


def device_listed(tenant: Tenant, serial: str) -> bool:
    devices = tenant.client.get("/devices").json()["data"]["devices"]
    return any(device["serial"] == serial for device in devices)


def test_an_execution_runs_on_a_virtual_phone_and_reports_ten_likes(
    tenant: Tenant, adb_server: AdbServer, make_phone: PhoneFactory
) -> None:
    phone = make_phone(width=720, height=1600)
    script_id = active_like_script(tenant, max_likes=10)

    with agent_for(tenant, adb_server):
        until(lambda: device_listed(tenant, phone.address), "the phone's heartbeat")
        started = tenant.client.post(
            f"/scripts/{script_id}/execute",
            json={"parameters": {"max_likes": 10}, "device_id": phone.address},
        )
        assert started.status_code == 202, started.text
        execution_id = started.json()["data"]["execution"]["id"]
        finished = until(
            lambda: (
                (e := execution(tenant, execution_id))["status"]
                in ("completed", "failed", "stopped", "timed_out")
                and e
            ),
            "the execution to end",
        )

    assert finished["status"] == "completed", finished
    assert finished["result"]["data_collected"] == {"like_count": 10, "max_likes": 10}
    assert finished["result"]["actions_failed"] == 0
    liked = {tap.target_id for tap in phone.inputs("tap") if tap.outcome == "liked"}
    assert len(liked) == 10
    messages = [line["message"] for line in finished["logs"]]
    assert len(messages) == finished["result"]["actions_executed"]
    assert sum("image_detection) found" in message for message in messages) == 10


def test_stopping_an_execution_stops_the_phone(
    tenant: Tenant, adb_server: AdbServer, make_phone: PhoneFactory
) -> None:
    phone = make_phone(width=720, height=1600)
    script_id = active_like_script(tenant, max_likes=1000)

    with agent_for(tenant, adb_server) as agent:
        until(lambda: device_listed(tenant, phone.address), "the phone's heartbeat")
        started = tenant.client.post(
            f"/scripts/{script_id}/execute", json={"device_id": phone.address}
        )
        execution_id = started.json()["data"]["execution"]["id"]
        until(lambda: len(phone.inputs("tap")) >= 2, "the first likes")
        stopped = tenant.client.post(f"/executions/{execution_id}/stop")
        assert stopped.status_code in (200, 202), stopped.text
        until(lambda: not agent.busy_serials, "the agent to let go of the phone")
        taps = len(phone.inputs("tap"))
        time.sleep(1)

    assert execution(tenant, execution_id)["status"] == "stopped"
    assert len(phone.inputs("tap")) == taps
