"""`make run`'s program: one command brings the system up, Ctrl-C takes it down."""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time

import pytest
import requests

from infra.local.stack import free_port


def wait_for_banner(process: subprocess.Popen, seconds: float = 90) -> str:
    lines = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if "Press Ctrl-C" in line:
            return "".join(lines)
    process.kill()
    pytest.fail("no banner:\n" + "".join(lines) + process.stderr.read())


def port_open(url: str) -> bool:
    host, port = re.match(r"http://([\d.]+):(\d+)", url).groups()
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, int(port))) == 0


def test_run_serves_the_api_and_stops_cleanly_on_ctrl_c():
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "infra.local", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        banner = wait_for_banner(process)
        curl = re.search(r"^\s+(curl .+)$", banner, re.M).group(1)
        moto_url = re.search(r"Local AWS\s+: (\S+)", banner).group(1)
        phone = re.search(r"Virtual phone: (\S+)", banner).group(1)
        key = re.search(r"Admin API key: (\S+)", banner).group(1)

        answer = subprocess.run(
            shlex.split(curl), capture_output=True, text=True, timeout=30, check=True
        )

        assert f"http://127.0.0.1:{port}/v1" in banner
        assert '"success": true' in answer.stdout
        assert "data lives in memory only" in banner
        assert port_open(moto_url)
        devices = requests.get(
            f"http://127.0.0.1:{port}/v1/devices",
            headers={"Authorization": f"Bearer {key}"},
            timeout=10,
        ).json()["data"]["devices"]
        assert [(d["id"], d["status"]) for d in devices] == [(phone, "online")]
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) == 0
        assert "TapCraft Pro stopped." in process.stdout.read()
        assert not port_open(moto_url)
        assert not port_open(f"http://{phone}")
        assert not port_open(f"http://127.0.0.1:{port}")
    finally:
        if process.poll() is None:
            process.kill()
