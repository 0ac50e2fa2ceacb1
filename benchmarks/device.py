"""Tap and screenshot round trips to a virtual phone through the real adb server.

Run from the repository root with ``python -m benchmarks.device``. The run has
three stages:

1. Set up: start adbutils' bundled adb server on a free port and attach a
   1080x2400 virtual phone with `adb connect`, its feed app in front.
2. Measure: time each path many times, in turn:
   - the floor, this file talking the adb server's host protocol on a bare
     socket (`host:transport:<serial>`, then `shell:input tap ...` or
     `exec:screencap`), reading the bytes and nothing more;
   - `device_agent.device`, the agent's device layer;
   - adbutils' own calls, as shipped (its `AdbConnection.close()` sleeps
     10 ms, and `open_transport()` asks the server version on a second
     connection first) and with that sleep patched out.
3. Report: the median of each path in milliseconds and its ratio to the floor.

The virtual phone runs in this process, so every figure includes its own
work (rendering, the device side of the ADB transport). adbutils is imported
here only as the baseline being measured. This is a measurement, not a test:
nothing here passes or fails.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from unittest import mock

import adbutils
import adbutils._adb

from benchmarks.harness import median_ms
from device_agent.device import FRAMEBUFFER, PNG, RAW, AdbServer, AndroidDevice
from device_agent.virtual_device import VirtualDevice, VirtualDeviceConfig

WIDTH, HEIGHT = 1080, 2400
TAP_REPEAT = 60
SCREENSHOT_REPEAT = 15
SOCKET_TIMEOUT_S = 10.0
ATTACH_TIMEOUT_S = 10.0
FEED = "com.instagram.android"
TAP = (540, 180)  # the feed's app bar: taps there change nothing


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def host_service(port: int, serial: str, service: str) -> bytes:
    """The floor: one service on the phone through a bare host-protocol socket."""
    with socket.create_connection(("127.0.0.1", port), SOCKET_TIMEOUT_S) as sock:
        for request in (f"host:transport:{serial}", service):
            payload = request.encode()
            sock.sendall(b"%04x" % len(payload) + payload)
            status = sock.recv(4)
            if status != b"OKAY":
                raise RuntimeError(f"{request}: adb server answered {status!r}")
        chunks = []
        while chunk := sock.recv(1 << 16):
            chunks.append(chunk)
        return b"".join(chunks)


@contextmanager
def without_adbutils_close_sleep() -> Iterator[None]:
    """Patch out the 10 ms pause in adbutils' AdbConnection.close()."""
    no_sleep_time = SimpleNamespace(sleep=lambda _seconds: None)
    with mock.patch.object(adbutils._adb, "time", no_sleep_time):
        yield


@contextmanager
def virtual_phone() -> Iterator[tuple[AdbServer, VirtualDevice]]:
    port = _free_port()
    os.environ["ANDROID_ADB_SERVER_PORT"] = str(port)
    server = AdbServer("127.0.0.1", port)
    server.ensure_running()
    phone = VirtualDevice(VirtualDeviceConfig(width=WIDTH, height=HEIGHT)).start()
    try:
        server.connect(phone.address)
        deadline = time.monotonic() + ATTACH_TIMEOUT_S
        while server.state(phone.address) != "device":
            if time.monotonic() > deadline:
                raise RuntimeError(f"{phone.address} never came online")
            time.sleep(0.05)
        yield server, phone
    finally:
        server.disconnect(phone.address)
        phone.stop()
        server.kill()


def tap_paths(
    port: int, serial: str, device: AndroidDevice, shipped: adbutils.AdbDevice
) -> dict[str, Callable[[], object]]:
    command = f"input tap {TAP[0]} {TAP[1]}"
    return {
        "floor: bare socket": lambda: host_service(port, serial, f"shell:{command}"),
        "device_agent.device": lambda: device.tap(*TAP),
        "adbutils shell()": lambda: shipped.shell(command),
    }


def screenshot_paths(
    port: int, serial: str, device: AndroidDevice, shipped: adbutils.AdbDevice
) -> dict[str, Callable[[], object]]:
    return {
        "floor: bare socket, raw": lambda: host_service(port, serial, "exec:screencap"),
        "floor: bare socket, png": lambda: host_service(
            port, serial, "exec:screencap -p"
        ),
        "device_agent.device raw": lambda: device.capture(RAW),
        "device_agent.device framebuffer": lambda: device.capture(FRAMEBUFFER),
        "device_agent.device png": lambda: device.capture(PNG),
        "adbutils screenshot() (png)": shipped.screenshot,
        "adbutils framebuffer()": shipped.framebuffer,
    }


def measure(paths: dict[str, Callable[[], object]], repeat: int) -> dict[str, float]:
    figures = {name: median_ms(action, repeat) for name, action in paths.items()}
    with without_adbutils_close_sleep():
        for name, action in paths.items():
            if name.startswith("adbutils"):
                figures[f"{name}, no close sleep"] = median_ms(action, repeat)
    return figures


def report(title: str, figures: dict[str, float], floors: dict[str, float]) -> None:
    print(f"\n{title}")
    print(f"  {'path':48} {'median ms':>10} {'x floor':>8}")
    for name, milliseconds in figures.items():
        floor = floors["png"] if "png" in name else floors["default"]
        print(f"  {name:48} {milliseconds:10.2f} {milliseconds / floor:8.1f}")


def main() -> None:
    with virtual_phone() as (server, phone):
        serial = phone.address
        device = server.device(serial)
        device.launch_app(FEED)
        shipped = adbutils.AdbClient("127.0.0.1", server.port).device(serial)
        print(
            f"Virtual phone {WIDTH}x{HEIGHT} at {serial}, adb server on port "
            f"{server.port}; medians of {TAP_REPEAT} taps and "
            f"{SCREENSHOT_REPEAT} screenshots per path."
        )

        taps = measure(tap_paths(server.port, serial, device, shipped), TAP_REPEAT)
        shots = measure(
            screenshot_paths(server.port, serial, device, shipped), SCREENSHOT_REPEAT
        )
        chosen = device.measure_capture_methods()

    tap_floor = taps["floor: bare socket"]
    report("Tap round trip", taps, {"default": tap_floor, "png": tap_floor})
    report(
        "Screenshot round trip (device_agent and adbutils decode the image)",
        shots,
        {
            "default": shots["floor: bare socket, raw"],
            "png": shots["floor: bare socket, png"],
        },
    )
    saved = taps["adbutils shell()"] - taps["adbutils shell(), no close sleep"]
    print(
        f"\nadbutils' close sleep costs {saved:.2f} ms per tap; device_agent's tap "
        f"takes {taps['device_agent.device']:.2f} ms against adbutils' "
        f"{taps['adbutils shell()']:.2f} ms "
        f"({taps['adbutils shell()'] / taps['device_agent.device']:.1f}x)."
    )
    best = {name: round(ms, 1) for name, ms in chosen.items() if ms is not None}
    print(f"Capture methods as the agent times them (best of 2, ms): {best}")


if __name__ == "__main__":
    main()
