"""The agent loop against an in-memory API and virtual phones on the real adb server.

The API here is tests/device_agent/fake_api.py, which speaks the protocol
over real HTTP and can fail on demand; the end-to-end test against the real
API is test_agent_e2e.py.
"""

from __future__ import annotations

import itertools
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from chalicelib.protocol import JobAssignment
from device_agent import agent as agent_module
from device_agent.agent import Agent
from device_agent.device import AdbServer
from device_agent.settings import AgentSettings
from device_agent.virtual_device import VirtualDevice, like_icon_png
from tests.device_agent.agent_runs import agent_running
from tests.device_agent.conftest import PhoneFactory
from tests.device_agent.fake_api import TOKEN, FakeApi
from tests.device_agent.scripts import HEART, graph, like_loop_script, node

_job_numbers = itertools.count(1)
HEARTBEAT_S = 0.2


@pytest.fixture
def api() -> Iterator[FakeApi]:
    fake = FakeApi().start()
    fake.assets[HEART] = like_icon_png(3.0)
    yield fake
    fake.stop()


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(agent_module, "API_RETRY_INITIAL_S", 0.05)
    monkeypatch.setattr(agent_module, "API_RETRY_MAX_S", 0.2)


@contextmanager
def running_agent(api: FakeApi, adb_server: AdbServer) -> Iterator[Agent]:
    settings = AgentSettings(
        api_url=api.url + "/v1",
        token=TOKEN,
        adb_host=adb_server.host,
        adb_port=adb_server.port,
        heartbeat_interval_s=HEARTBEAT_S,
        claim_wait_s=1,
        shutdown_grace_s=3.0,
    )
    with agent_running(settings, adb_server, stop_seconds=10) as agent:
        yield agent


def make_job(
    phone: VirtualDevice, script: dict[str, Any], heartbeat_seconds: int = 1
) -> JobAssignment:
    number = next(_job_numbers)
    return JobAssignment(
        job_id=f"job_{number}",
        execution_id=f"exec_{number}",
        attempt=1,
        device_serial=phone.address,
        script=script,
        parameters={},
        timeout_ms=60_000,
        heartbeat_seconds=heartbeat_seconds,
        assets=[HEART] if "heart_icon" in str(script) else [],
    )


def waiting_script(wait_ms: int = 60_000) -> dict[str, Any]:
    return graph(
        [
            node(
                "open", "app_launch", package_name="com.instagram.android", wait_time=0
            ),
            node("nap", "wait", duration=wait_ms),
            node("done", "end"),
        ]
    )


def result_of(api: FakeApi, job: JobAssignment) -> dict:
    return api.wait_for(lambda: api.results.get(job.job_id))[0]


def test_a_claimed_job_runs_on_its_phone_and_reports_steps_and_result(
    api: FakeApi, adb_server: AdbServer, make_phone: PhoneFactory
) -> None:
    phone = make_phone(width=720, height=1600)
    job = make_job(phone, like_loop_script(max_likes=3))

    with running_agent(api, adb_server):
        api.add_job(job)
        result = result_of(api, job)

    assert result["success"] is True
    assert result["data_collected"] == {"like_count": 3, "max_likes": 3}
    assert len({tap.target_id for tap in phone.inputs("tap")}) == 3
    assert len(api.logs(job.job_id)) == result["actions_executed"] > 0
    assert api.events[job.job_id][-1]["progress"] == 100
    report = next(
        device
        for devices in api.reports
        for device in devices
        if device["serial"] == phone.address
    )
    assert (report["model"], report["screen_width"], report["state"]) == (
        "Pixel 7",
        720,
        "device",
    )
    asset_calls = [seen for seen in api.seen if seen.route == "asset"]
    assert asset_calls[0].headers["Accept"] == "image/png, image/jpeg"
    assert all(seen.headers["Authorization"] == f"Bearer {TOKEN}" for seen in api.seen)


def test_each_phone_runs_its_own_job_at_the_same_time(
    api: FakeApi, adb_server: AdbServer, make_phone: PhoneFactory
) -> None:
    phones = [make_phone(width=720, height=1600) for _ in range(2)]
    jobs = [make_job(phone, waiting_script(1500)) for phone in phones]

    with running_agent(api, adb_server) as agent:
        for job in jobs:
            api.add_job(job)
        api.wait_for(lambda: len(agent.busy_serials) == 2)
        results = [result_of(api, job) for job in jobs]

    assert all(result["success"] for result in results)


def test_results_and_logs_survive_an_unreachable_api(
    api: FakeApi,
    adb_server: AdbServer,
    make_phone: PhoneFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    phone = make_phone(width=720, height=1600)
    job = make_job(phone, like_loop_script(max_likes=2))
    api.unreachable = True
    api.failing_completes = 3
    caplog.set_level(logging.WARNING, logger="device_agent")

    with running_agent(api, adb_server):
        api.add_job(job)
        time.sleep(5 * HEARTBEAT_S)
        api.unreachable = False
        api.wait_for(lambda: phone.inputs("tap"))
        api.unreachable = True
        time.sleep(5 * HEARTBEAT_S)
        api.unreachable = False
        result = result_of(api, job)

    assert result["success"] is True
    assert len(api.results[job.job_id]) == 1
    assert len(api.logs(job.job_id)) == result["actions_executed"]
    retried = {record.what for record in caplog.records if record.msg == "retrying"}
    assert {"claim", "complete job"} <= retried


def test_a_stop_request_ends_the_job_as_stopped(
    api: FakeApi, adb_server: AdbServer, make_phone: PhoneFactory
) -> None:
    phone = make_phone(width=720, height=1600)
    job = make_job(phone, like_loop_script(max_likes=1000))

    with running_agent(api, adb_server):
        api.add_job(job)
        api.wait_for(lambda: len(phone.inputs("tap")) >= 2)
        api.stop_requested.add(job.job_id)
        result = result_of(api, job)
        taps = len(phone.inputs("tap"))
        time.sleep(3 * HEARTBEAT_S)

    assert (result["success"], result["error_type"]) == (False, "stopped")
    assert len(phone.inputs("tap")) == taps


def test_a_job_taken_away_is_abandoned_without_a_result(
    api: FakeApi, adb_server: AdbServer, make_phone: PhoneFactory
) -> None:
    phone = make_phone(width=720, height=1600)
    job = make_job(phone, like_loop_script(max_likes=1000))

    with running_agent(api, adb_server) as agent:
        api.add_job(job)
        api.wait_for(lambda: len(phone.inputs("tap")) >= 2)
        api.lost.add(job.job_id)
        api.wait_for(lambda: not agent.busy_serials)
        taps = len(phone.inputs("tap"))
        time.sleep(3 * HEARTBEAT_S)

    assert job.job_id not in api.results
    assert len(phone.inputs("tap")) == taps


def test_stopping_the_agent_hands_its_running_job_back_as_agent_lost(
    api: FakeApi, adb_server: AdbServer, make_phone: PhoneFactory
) -> None:
    phone = make_phone(width=720, height=1600)
    job = make_job(phone, waiting_script())

    with running_agent(api, adb_server) as agent:
        api.add_job(job)
        api.wait_for(lambda: agent.busy_serials)
        started = time.monotonic()
        agent.stop()
        result = result_of(api, job)

    assert time.monotonic() - started < 10  # the job would have waited 60 s
    assert (result["success"], result["error_type"]) == (False, "agent_lost")


def test_a_phone_unplugged_mid_job_fails_it_as_device_disconnected(
    api: FakeApi, adb_server: AdbServer, make_phone: PhoneFactory
) -> None:
    phone = make_phone(width=720, height=1600)
    job = make_job(phone, waiting_script())

    with running_agent(api, adb_server) as agent:
        api.add_job(job)
        api.wait_for(lambda: agent.busy_serials and api.events.get(job.job_id))
        phone.disconnect()
        result = result_of(api, job)

    assert (result["success"], result["error_type"]) == (False, "device_disconnected")


def test_sigterm_makes_the_agent_process_hand_back_its_job_and_exit(
    api: FakeApi, adb_server: AdbServer, make_phone: PhoneFactory
) -> None:
    phone = make_phone(width=720, height=1600)
    job = make_job(phone, waiting_script())
    environment = {
        **os.environ,
        "TAPCRAFT_API_URL": api.url,
        "TAPCRAFT_AGENT_TOKEN": TOKEN,
        "ANDROID_ADB_SERVER_PORT": str(adb_server.port),
    }
    command = [sys.executable, "-m", "device_agent", "--heartbeat-interval", "0.2"]
    process = subprocess.Popen(
        [*command, "--claim-wait", "1"],
        env=environment,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        api.add_job(job)
        api.wait_for(lambda: api.events.get(job.job_id))
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=15)
    finally:
        process.kill()

    assert process.returncode == 0
    assert result_of(api, job)["error_type"] == "agent_lost"
    assert '"message": "job completed"' in stderr
    assert TOKEN not in stderr
