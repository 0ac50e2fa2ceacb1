"""Fixtures for the device agent: a private adb server and virtual phones.

The adb server is adbutils' bundled binary on a free port, started once per
session; phones are virtual devices outside the emulator port range, attached
with `adb connect` exactly as a phone on Wi-Fi debugging would be.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator

import pytest

from device_agent.device import AdbServer
from device_agent.virtual_device import VirtualDevice, VirtualDeviceConfig

FEED = "com.instagram.android"
MAIL = "com.google.android.gm"
FORM = "com.tapcraft.forms"
STATE_TIMEOUT_S = 10.0
STATE_POLL_S = 0.05


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_state(server: AdbServer, serial: str, wanted: set[str | None]) -> bool:
    deadline = time.monotonic() + STATE_TIMEOUT_S
    while time.monotonic() < deadline:
        states = {info.serial: info.state for info in server.devices()}
        if states.get(serial) in wanted:
            return True
        time.sleep(STATE_POLL_S)
    return False


@pytest.fixture(scope="session")
def adb_server() -> Iterator[AdbServer]:
    """An adb server of our own; adbutils would start any fallback on its port."""
    port = free_port()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ANDROID_ADB_SERVER_PORT", str(port))
        server = AdbServer("127.0.0.1", port)
        server.ensure_running()
        try:
            yield server
        finally:
            server.kill()


PhoneFactory = Callable[..., VirtualDevice]


@pytest.fixture
def make_phone(adb_server: AdbServer) -> Iterator[PhoneFactory]:
    """Start and attach fresh virtual phones; they go away after the test."""
    started: list[VirtualDevice] = []

    def make(**settings: object) -> VirtualDevice:
        device = VirtualDevice(VirtualDeviceConfig(**settings)).start()
        started.append(device)
        attach(adb_server, device)
        return device

    yield make
    for device in started:
        adb_server.disconnect(device.address)
        device.stop()


def attach(server: AdbServer, device: VirtualDevice) -> None:
    server.connect(device.address)
    assert wait_for_state(server, device.address, {"device"})


@pytest.fixture(scope="session")
def phone(adb_server: AdbServer) -> Iterator[VirtualDevice]:
    """A 1080x2400 phone with every app, shared by tests that keep it tidy."""
    config = VirtualDeviceConfig(width=1080, height=2400, serial_name="AGENT1080")
    with VirtualDevice(config) as device:
        attach(adb_server, device)
        yield device
        adb_server.disconnect(device.address)
