"""A virtual phone and a device agent for the local stack.

Stages of `LocalPhone.start()`:

1. start a virtual Android device (device_agent.virtual_device) on a free
   port outside 5555-5585, which the adb server would probe as emulators;
2. register a device agent for the organization and start
   `python -m device_agent` with its token, a private adb server port and the
   phone to `adb connect`;
3. wait until the API lists the phone as online.

`stop()` ends the agent (which hands back running jobs), the phone and the
private adb server, in that order.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import adbutils
from pynamodb.exceptions import DoesNotExist

from chalicelib import agents
from chalicelib.auth import Principal
from chalicelib.models import Device
from infra.local.stack import StackError, free_port

REPOSITORY = Path(__file__).resolve().parents[2]
EMULATOR_PORTS = range(5555, 5586)
READY_SECONDS = 60


def free_phone_port() -> int:
    """A free loopback port the adb server will not mistake for an emulator."""
    while True:
        port = free_port()
        if port not in EMULATOR_PORTS:
            return port


@dataclass
class LocalPhone:
    api_url: str
    owner: Principal
    resolution: str = "1080x2400"
    adb_port: int = field(default_factory=free_port)
    phone_port: int = field(default_factory=free_phone_port)
    processes: list[subprocess.Popen] = field(default_factory=list)

    @property
    def serial(self) -> str:
        return f"127.0.0.1:{self.phone_port}"

    def start(self) -> LocalPhone:
        phone = self._spawn(
            "device_agent.virtual_device",
            "--port",
            str(self.phone_port),
            "--resolution",
            self.resolution,
            "--log-level",
            "WARNING",
        )
        if "virtual device ready" not in (phone.stdout.readline() or ""):
            raise StackError("the virtual phone did not start")
        token = agents.create_agent(self.owner, "local agent").token
        self._spawn(
            "device_agent",
            "--api-url",
            self.api_url,
            "--token",
            token,
            "--adb-port",
            str(self.adb_port),
            "--connect",
            self.serial,
            "--log-format",
            "plain",
            "--log-level",
            "WARNING",
        )
        self._wait_online()
        return self

    def _spawn(self, module: str, *arguments: str) -> subprocess.Popen:
        env = {**os.environ, "ANDROID_ADB_SERVER_PORT": str(self.adb_port)}
        process = subprocess.Popen(
            [sys.executable, "-m", module, *arguments],
            cwd=REPOSITORY,
            env=env,
            text=True,
            stdout=subprocess.PIPE if module.endswith("virtual_device") else None,
        )
        self.processes.append(process)
        return process

    def _wait_online(self) -> None:
        deadline = time.monotonic() + READY_SECONDS
        while time.monotonic() < deadline:
            try:
                device = Device.get(self.owner.org_id, self.serial)
            except DoesNotExist:
                device = None
            if device is not None and agents.device_status(device) == "online":
                return
            time.sleep(0.5)
        raise StackError("the agent did not report the virtual phone in time")

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        subprocess.run(
            [adbutils.adb_path(), "-P", str(self.adb_port), "kill-server"],
            capture_output=True,
            timeout=15,
            check=False,
        )
