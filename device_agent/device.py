"""Phones behind the adb server; the only module that imports adbutils.

Every call on a phone runs four stages on a fresh connection to the server:

1. Connect: a socket to the adb server (adbutils' `make_connection`), retried
   with backoff while the server does not answer.
2. Select: `host:transport:<serial>` routes the connection to the phone; a
   refusal ("device not found", "device offline") means the phone is gone.
3. Run: `shell:` runs a command line whose exit status is echoed after a
   marker; `exec:` and `framebuffer:` stream binary screenshots. Reads run
   against a deadline set by the call's timeout constant.
4. Close: the server ends the stream when the command exits, so the socket
   is closed at once. adbutils' `AdbConnection.close()` half-closes and then
   sleeps 10 ms (`adbutils/_adb.py`), and its `open_transport()` first asks
   the server's version on a second connection that it closes the same way:
   about 20 ms per call, more than a tap costs (see benchmarks/device.py).

A call that fails after its phone was selected asks the server for the
phone's state, so an unplugged phone surfaces as DeviceDisconnectedError
whatever the symptom. adbutils and socket errors are translated here, `from`
the original, into the tree of `device_agent.errors`.

Screenshots travel one of three ways: raw pixels from `exec:screencap`, the
`framebuffer:` service, or PNG from `exec:screencap -p`. The first screenshot
of a phone times every way that works and keeps the fastest; a capture that
fails, is truncated or is all black raises CaptureError.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import re
import socket
import struct
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import adbutils
import cv2
import numpy as np
from adbutils.errors import AdbConnectionError

from device_agent.errors import (
    AdbServerError,
    AgentError,
    AppNotFoundError,
    CaptureError,
    DeviceDisconnectedError,
    DeviceError,
    DeviceTimeoutError,
)
from device_agent.retry import Backoff

logger = logging.getLogger(__name__)

DEFAULT_SERVER_PORT = 5037
SERVER_CONNECT_TIMEOUT_S = 3.0
SERVER_CONNECT_ATTEMPTS = 3
SERVER_RETRY_DELAY_S = 0.2
SERVER_START_TIMEOUT_S = 20.0
SERVER_QUERY_TIMEOUT_S = 5.0
TCP_CONNECT_TIMEOUT_S = 10.0
STATE_TIMEOUT_S = 3.0
SHELL_TIMEOUT_S = 10.0
INPUT_TIMEOUT_S = 5.0
LAUNCH_TIMEOUT_S = 15.0
SCREENSHOT_TIMEOUT_S = 10.0
CAPTURE_ATTEMPTS = 2
CAPTURE_RETRY_DELAY_S = 0.1
# Captures timed per method when choosing one; the fastest of them counts.
CAPTURE_TRIALS = 2
# Every BLACK_SAMPLE_STEP-th pixel on both axes is enough to see a lit screen.
BLACK_SAMPLE_STEP = 4
MAX_SCREEN_SIDE_PX = 10000
RECV_CHUNK_BYTES = 1 << 16

RAW = "raw"
FRAMEBUFFER = "framebuffer"
PNG = "png"
CAPTURE_METHODS = (RAW, FRAMEBUFFER, PNG)

_EXIT_MARKER = "__TAPCRAFT_EXIT__"
_MONKEY_ABORTED = "No activities found"
_PACKAGE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)+$")
_KEY = re.compile(r"^(KEYCODE_[A-Z0-9_]{1,40}|[0-9]{1,3})$")
_SIZE = re.compile(r"(Physical|Override) size:\s*(\d+)x(\d+)")
_FOCUS = re.compile(r"(?:mCurrentFocus|mFocusedApp)=\S*\{\S+ u\d+ ([\w.]+)/([\w.$]+)")
_GONE = ("not found", "offline", "unauthorized", "no devices", "disconnected")
# Raw screencap pixel formats: HAL format id to (bytes per pixel, conversion).
_RAW_FORMATS = {
    1: (4, cv2.COLOR_RGBA2BGR),
    2: (4, cv2.COLOR_RGBA2BGR),
    3: (3, cv2.COLOR_RGB2BGR),
    5: (4, cv2.COLOR_BGRA2BGR),
}
_RAW_HEADER = struct.Struct("<3I")
_U32 = struct.Struct("<I")

T = TypeVar("T")


@dataclass(frozen=True)
class DeviceInfo:
    """A phone as the adb server lists it; details only for state "device"."""

    serial: str
    state: str
    model: str = ""
    android_version: str = ""
    screen_width: int = 0
    screen_height: int = 0


@dataclass(frozen=True)
class AppInfo:
    package: str
    activity: str


@dataclass(frozen=True)
class ShellResult:
    output: str
    exit_code: int


class AdbServer:
    """The adb server on host:port, and the phones it offers."""

    def __init__(self, host: str = "127.0.0.1", port: int = DEFAULT_SERVER_PORT):
        self.host = host
        self.port = port
        self._client = adbutils.AdbClient(
            host=host, port=port, socket_timeout=SERVER_QUERY_TIMEOUT_S
        )
        self._devices: dict[str, AndroidDevice] = {}
        self._lock = threading.Lock()

    def ensure_running(self) -> None:
        """Start a local adb server if none answers; raises AdbServerError."""
        if self._answers():
            return
        if not _is_loopback(self.host):
            raise AdbServerError(f"no adb server answers at {self.host}:{self.port}")
        command = [adbutils.adb_path(), "-P", str(self.port), "start-server"]
        try:
            subprocess.run(
                command, check=True, capture_output=True, timeout=SERVER_START_TIMEOUT_S
            )
        except (OSError, subprocess.SubprocessError) as exc:
            raise AdbServerError(f"cannot start the adb server: {exc}") from exc
        logger.info("adb server started", extra={"port": self.port})

    def kill(self) -> None:
        """Stop the adb server, as `adb kill-server` does."""
        with _translated("kill server"):
            self._client.server_kill()

    def devices(self) -> list[DeviceInfo]:
        """Every phone the server knows, with model, version and screen size."""
        with _translated("list devices"):
            listed = self._retrying("list devices", self._client.list)
        return [self._describe(entry.serial, entry.state) for entry in listed]

    def device(self, serial: str) -> AndroidDevice:
        """The phone with this serial (one object per serial, kept for reuse)."""
        with self._lock:
            if serial not in self._devices:
                self._devices[serial] = AndroidDevice(self, serial)
            return self._devices[serial]

    def connect(self, address: str) -> None:
        """`adb connect` a phone over TCP; raises DeviceDisconnectedError."""
        with _translated(f"connect {address}"):
            reply = self._client.connect(address, timeout=TCP_CONNECT_TIMEOUT_S)
        if "connected" not in reply or "unable" in reply or "failed" in reply:
            raise DeviceDisconnectedError(f"adb connect {address}: {reply.strip()}")

    def disconnect(self, address: str) -> None:
        with _translated(f"disconnect {address}"):
            self._client.disconnect(address)

    def state(self, serial: str) -> str | None:
        """The phone's state ("device", "offline", ...) or None if unknown."""
        try:
            with _translated("get state"):
                connection = self._connect(STATE_TIMEOUT_S)
                try:
                    connection.send_command(f"host-serial:{serial}:get-state")
                    connection.check_okay()
                    return connection.read_string_block().strip()
                finally:
                    _close_now(connection)
        except DeviceError:
            return None

    def open_stream(self, serial: str, service: str, timeout_s: float) -> Stream:
        """Open a service on the phone; the stream must be closed by the caller."""
        deadline = time.monotonic() + timeout_s
        with _translated(service.partition(":")[0]):
            connection = self._retrying(
                "connect to adb server", lambda: self._connect(timeout_s)
            )
        try:
            _select(connection, serial, service)
        except BaseException:
            _close_now(connection)
            raise
        return Stream(connection.conn, deadline, service)

    def _connect(self, timeout_s: float) -> adbutils.AdbConnection:
        # NOTE: when no server answers, adbutils runs `adb start-server` for
        # the port in ANDROID_ADB_SERVER_PORT (5037 if unset) before it gives
        # up, so an agent given another port by flag can start a stray server.
        return self._client.make_connection(timeout=timeout_s)

    def _retrying(self, what: str, call: Callable[[], T]) -> T:
        backoff = Backoff(SERVER_RETRY_DELAY_S, SERVER_RETRY_DELAY_S * 4)
        for attempt in range(1, SERVER_CONNECT_ATTEMPTS + 1):
            try:
                return call()
            except (AdbConnectionError, adbutils.AdbTimeout, ConnectionError) as exc:
                if attempt == SERVER_CONNECT_ATTEMPTS:
                    raise AdbServerError(
                        f"no adb server at {self.host}:{self.port}: {exc}"
                    ) from exc
                backoff.wait(what, exc, port=self.port)
        raise AssertionError("unreachable")

    def _answers(self) -> bool:
        try:
            with socket.create_connection(
                (self.host, self.port), timeout=SERVER_CONNECT_TIMEOUT_S
            ):
                return True
        except OSError:
            return False

    def _describe(self, serial: str, state: str) -> DeviceInfo:
        if state != "device":
            return DeviceInfo(serial, state)
        try:
            return self.device(serial).describe()
        except DeviceError as exc:
            logger.warning(
                "device not described", extra={"serial": serial, "error": str(exc)}
            )
            return DeviceInfo(serial, state)


class Stream:
    """One open service on a phone, read against a single deadline."""

    def __init__(self, sock: socket.socket, deadline: float, service: str) -> None:
        self._sock = sock
        self._deadline = deadline
        self._what = service.partition(":")[0]

    def __enter__(self) -> Stream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        # The server has closed its side (or the call is abandoned): there is
        # nothing left to flush, so no half-close and no pause.
        with contextlib.suppress(OSError):
            self._sock.close()

    def read_to_end(self) -> bytes:
        chunks = []
        while chunk := self._recv(RECV_CHUNK_BYTES):
            chunks.append(chunk)
        return b"".join(chunks)

    def read_exact(self, size: int) -> bytes:
        buffer = bytearray(size)
        if self.read_into(memoryview(buffer)) < size:
            raise DeviceError(
                f"{self._what}: stream ended after fewer than {size} bytes"
            )
        return bytes(buffer)

    def read_into(self, view: memoryview) -> int:
        """Fill view until it is full or the stream ends; returns bytes read."""
        filled = 0
        while filled < len(view):
            with self._receiving():
                count = self._sock.recv_into(view[filled:])
            if count == 0:
                break
            filled += count
        return filled

    def _recv(self, size: int) -> bytes:
        with self._receiving():
            return self._sock.recv(size)

    @contextlib.contextmanager
    def _receiving(self) -> Iterator[None]:
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise DeviceTimeoutError(f"{self._what} timed out")
        try:
            self._sock.settimeout(remaining)
            yield
        except TimeoutError as exc:
            raise DeviceTimeoutError(f"{self._what} timed out") from exc
        except OSError as exc:
            raise DeviceError(f"{self._what} stream broke: {exc}") from exc


class AndroidDevice:
    """One phone; every call opens its own stream, so threads may share it."""

    def __init__(self, server: AdbServer, serial: str) -> None:
        self._server = server
        self.serial = serial
        self.capture_method: str | None = None
        self._screen_size: tuple[int, int] | None = None
        self._info: DeviceInfo | None = None

    def __repr__(self) -> str:
        return f"AndroidDevice({self.serial!r})"

    # Shell and identity

    def shell(self, command: str, timeout_s: float = SHELL_TIMEOUT_S) -> ShellResult:
        """Run a command line; the exit status comes back with the output."""
        data = self._read(f"shell:{command}; echo {_EXIT_MARKER}$?", timeout_s)
        text = data.decode("utf-8", "replace")
        output, marker, status = text.rpartition(_EXIT_MARKER)
        if not marker or not status.strip().isdigit():
            raise self._classified(DeviceError(f"no exit status from {command!r}"))
        return ShellResult(output, int(status.strip()))

    def state(self) -> str | None:
        return self._server.state(self.serial)

    def describe(self) -> DeviceInfo:
        """Model, Android version and screen size, asked once in one round trip."""
        if self._info is None:
            self._info = self._ask_description()
        return self._info

    def _ask_description(self) -> DeviceInfo:
        script = "getprop ro.product.model; getprop ro.build.version.release; wm size"
        lines = self._checked(script, SHELL_TIMEOUT_S).splitlines()
        width, height = _parse_size("\n".join(lines[2:]))
        self._screen_size = (width, height)
        model = lines[0].strip() if lines else ""
        version = lines[1].strip() if len(lines) > 1 else ""
        return DeviceInfo(self.serial, "device", model, version, width, height)

    def screen_size(self) -> tuple[int, int]:
        """Width and height in pixels, as `wm size` reports (cached)."""
        if self._screen_size is None:
            self._screen_size = _parse_size(self._checked("wm size", SHELL_TIMEOUT_S))
        return self._screen_size

    # Input

    def tap(self, x: int, y: int) -> None:
        self._input(f"tap {_px(x)} {_px(y)}", INPUT_TIMEOUT_S)

    def long_press(self, x: int, y: int, duration_ms: int) -> None:
        at = f"{_px(x)} {_px(y)}"
        self._input(f"swipe {at} {at} {_ms(duration_ms)}", _input_timeout(duration_ms))

    def swipe(self, x1: int, y1: int, x2: int, y2: int, duration_ms: int) -> None:
        points = " ".join(str(_px(value)) for value in (x1, y1, x2, y2))
        self._input(f"swipe {points} {_ms(duration_ms)}", _input_timeout(duration_ms))

    def type_text(self, text: str) -> None:
        """Type into the focused field; a newline presses Enter."""
        # NOTE: `input text` only types characters of the phone's key map and
        # turns "%s" into a space, so non-ASCII text is refused here and a
        # literal "%s" arrives as a space.
        if not text.isascii():
            raise DeviceError("input text can type ASCII characters only")
        commands = []
        for index, line in enumerate(text.split("\n")):
            if index:
                commands.append("input keyevent KEYCODE_ENTER")
            if line:
                commands.append(f"input text {_input_text_argument(line)}")
        if commands:
            timeout_s = INPUT_TIMEOUT_S * len(commands)
            self._checked(" && ".join(commands), timeout_s, "input text")

    def key_event(self, key: str) -> None:
        """Press a key by name (KEYCODE_BACK) or number (4)."""
        if not _KEY.match(key):
            raise DeviceError(f"not a key code: {key!r}")
        self._input(f"keyevent {key}", INPUT_TIMEOUT_S)

    # Apps

    def launch_app(self, package: str) -> None:
        """Bring the app's launcher activity to the front; raises AppNotFoundError."""
        _check_package(package)
        command = f"monkey -p {package} -c android.intent.category.LAUNCHER 1"
        result = self.shell(command, LAUNCH_TIMEOUT_S)
        if _MONKEY_ABORTED in result.output:
            raise AppNotFoundError(
                f"{package} is not installed or has no launcher activity"
            )
        if result.exit_code != 0:
            raise DeviceError(f"cannot start {package}: {_last_line(result.output)}")

    def force_stop(self, package: str) -> None:
        _check_package(package)
        self._checked(f"am force-stop {package}", SHELL_TIMEOUT_S)

    def current_app(self) -> AppInfo | None:
        """The app in front, or None when the window manager names none."""
        dump = self._checked(
            "dumpsys window | grep -E 'mCurrentFocus|mFocusedApp'", SHELL_TIMEOUT_S
        )
        for package, activity in _FOCUS.findall(dump):
            full = package + activity if activity.startswith(".") else activity
            return AppInfo(package, full)
        return None

    def packages(self) -> list[str]:
        listing = self._checked("pm list packages", SHELL_TIMEOUT_S)
        names = (line.strip().removeprefix("package:") for line in listing.splitlines())
        return sorted(name for name in names if name)

    # Screenshots

    def screenshot(self) -> np.ndarray:
        """The screen as a BGR array; raises CaptureError, never returns black."""
        if self.capture_method is None:
            return self._choose_capture_method()
        backoff = Backoff(CAPTURE_RETRY_DELAY_S, CAPTURE_RETRY_DELAY_S * 4)
        for attempt in range(1, CAPTURE_ATTEMPTS + 1):
            try:
                return self.capture(self.capture_method)
            except CaptureError as exc:
                if attempt == CAPTURE_ATTEMPTS:
                    raise
                backoff.wait("screenshot", exc, serial=self.serial)
        raise AssertionError("unreachable")

    def capture(self, method: str) -> np.ndarray:
        """One screenshot by the named method (raw, framebuffer or png)."""
        readers = {
            RAW: self._capture_raw,
            FRAMEBUFFER: self._capture_framebuffer,
            PNG: self._capture_png,
        }
        if method not in readers:
            raise ValueError(f"unknown capture method {method!r}")
        try:
            frame = readers[method]()
        except (CaptureError, DeviceDisconnectedError):
            raise
        except DeviceError as exc:
            raise self._classified(CaptureError(f"{method} capture: {exc}")) from exc
        return _lit(frame, method)

    def measure_capture_methods(self) -> dict[str, float | None]:
        """Best time in ms of each capture method; None for one that fails."""
        results, _ = self._trial_captures()
        return {
            method: results[method][0] if method in results else None
            for method in CAPTURE_METHODS
        }

    def _choose_capture_method(self) -> np.ndarray:
        results, failures = self._trial_captures()
        if not results:
            raise CaptureError("no capture method works: " + "; ".join(failures))
        method = min(results, key=lambda name: results[name][0])
        self.capture_method = method
        timings = {name: round(result[0], 1) for name, result in results.items()}
        logger.info(
            "capture method chosen",
            extra={"serial": self.serial, "method": method, "timings_ms": timings},
        )
        return results[method][1]

    def _trial_captures(
        self,
    ) -> tuple[dict[str, tuple[float, np.ndarray]], list[str]]:
        results: dict[str, tuple[float, np.ndarray]] = {}
        failures = []
        for method in CAPTURE_METHODS:
            try:
                trials = [self._timed_capture(method) for _ in range(CAPTURE_TRIALS)]
            except DeviceDisconnectedError:
                raise
            except DeviceError as exc:
                failures.append(f"{method}: {exc}")
                continue
            results[method] = min(trials, key=lambda trial: trial[0])
        return results, failures

    def _timed_capture(self, method: str) -> tuple[float, np.ndarray]:
        started = time.perf_counter()
        frame = self.capture(method)
        return (time.perf_counter() - started) * 1000, frame

    def _capture_raw(self) -> np.ndarray:
        with self._open("exec:screencap", SCREENSHOT_TIMEOUT_S) as stream:
            width, height, pixel_format = _RAW_HEADER.unpack(
                stream.read_exact(_RAW_HEADER.size)
            )
            if pixel_format not in _RAW_FORMATS:
                raise CaptureError(f"unsupported screencap pixel format {pixel_format}")
            depth, conversion = _RAW_FORMATS[pixel_format]
            size = _checked_area(width, height) * depth
            # Android 10 and later put a colour-space word before the pixels.
            buffer = bytearray(size + _U32.size)
            filled = stream.read_into(memoryview(buffer))
        if filled not in (size, size + _U32.size):
            raise CaptureError(f"raw screencap truncated: {filled} of {size} bytes")
        pixels = np.frombuffer(buffer, np.uint8, count=size, offset=filled - size)
        return cv2.cvtColor(pixels.reshape(height, width, depth), conversion)

    def _capture_framebuffer(self) -> np.ndarray:
        with self._open("framebuffer:", SCREENSHOT_TIMEOUT_S) as stream:
            (version,) = _U32.unpack(stream.read_exact(_U32.size))
            fields = {1: 12, 2: 13}.get(version)
            if fields is None:
                raise CaptureError(f"unsupported framebuffer version {version}")
            header = struct.unpack(f"<{fields}I", stream.read_exact(4 * fields))
            if version == 2:
                header = header[:1] + header[2:]
            bpp, size, width, height, *channels = header
            order = _channel_order(bpp, channels)
            if size != _checked_area(width, height) * 4:
                raise CaptureError("framebuffer size does not match its screen")
            buffer = bytearray(size)
            if stream.read_into(memoryview(buffer)) < size:
                raise CaptureError("framebuffer truncated")
        pixels = np.frombuffer(buffer, np.uint8).reshape(height, width, 4)
        if order == (0, 1, 2):
            return cv2.cvtColor(pixels, cv2.COLOR_RGBA2BGR)
        red, green, blue = order
        return np.ascontiguousarray(pixels[..., [blue, green, red]])

    def _capture_png(self) -> np.ndarray:
        data = self._read("exec:screencap -p", SCREENSHOT_TIMEOUT_S)
        frame = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        if frame is None:
            raise CaptureError(f"screencap -p sent {len(data)} bytes that are no PNG")
        return frame

    # Plumbing

    def _input(self, arguments: str, timeout_s: float) -> None:
        self._checked(f"input {arguments}", timeout_s, "input " + arguments.split()[0])

    def _checked(self, command: str, timeout_s: float, what: str = "") -> str:
        result = self.shell(command, timeout_s)
        if result.exit_code != 0:
            name = what or command.split()[0]
            raise self._classified(
                DeviceError(
                    f"{name} failed ({result.exit_code}): {_last_line(result.output)}"
                )
            )
        return result.output

    def _read(self, service: str, timeout_s: float) -> bytes:
        with self._open(service, timeout_s) as stream:
            try:
                return stream.read_to_end()
            except DeviceError as exc:
                raise self._classified(exc) from exc

    def _open(self, service: str, timeout_s: float) -> Stream:
        try:
            return self._server.open_stream(self.serial, service, timeout_s)
        except (DeviceDisconnectedError, AdbServerError):
            raise
        except DeviceError as exc:
            raise self._classified(exc) from exc

    def _classified(self, error: DeviceError) -> DeviceError:
        """The error, or DeviceDisconnectedError if the phone is gone meanwhile."""
        if isinstance(error, DeviceDisconnectedError):
            return error
        state = self._server.state(self.serial)
        if state == "device":
            return error
        gone = DeviceDisconnectedError(f"{self.serial} is {state or 'gone'}: {error}")
        gone.__cause__ = error
        return gone


def _select(connection: adbutils.AdbConnection, serial: str, service: str) -> None:
    """Route the connection to the phone, then open the service on it."""
    with _translated(service.partition(":")[0]):
        connection.send_command(f"host:transport:{serial}")
        try:
            connection.check_okay()
        except adbutils.AdbError as exc:
            if any(word in str(exc).lower() for word in _GONE):
                raise DeviceDisconnectedError(f"{serial}: {exc}") from exc
            raise
        connection.send_command(service)
        connection.check_okay()


@contextlib.contextmanager
def _translated(what: str) -> Iterator[None]:
    """Re-raise adbutils and socket errors as DeviceError subclasses."""
    try:
        yield
    except AgentError:
        raise
    except (adbutils.AdbTimeout, TimeoutError) as exc:
        raise DeviceTimeoutError(f"{what} timed out") from exc
    except AdbConnectionError as exc:
        raise AdbServerError(f"{what}: {exc}") from exc
    except (adbutils.AdbError, OSError, EOFError) as exc:
        raise DeviceError(f"{what}: {exc}") from exc


def _close_now(connection: adbutils.AdbConnection) -> None:
    with contextlib.suppress(OSError, adbutils.AdbError):
        connection.conn.close()


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _parse_size(text: str) -> tuple[int, int]:
    sizes = {kind: (int(w), int(h)) for kind, w, h in _SIZE.findall(text)}
    size = sizes.get("Override") or sizes.get("Physical")
    if size is None:
        raise DeviceError(f"no screen size in {text.strip()!r}")
    return size


def _lit(frame: np.ndarray, method: str) -> np.ndarray:
    sample = frame[::BLACK_SAMPLE_STEP, ::BLACK_SAMPLE_STEP]
    if not sample.any():
        raise CaptureError(f"{method} capture is all black (screen off or secure)")
    return frame


def _checked_area(width: int, height: int) -> int:
    if not (0 < width <= MAX_SCREEN_SIDE_PX and 0 < height <= MAX_SCREEN_SIDE_PX):
        raise CaptureError(f"implausible screen size {width}x{height}")
    return width * height


def _channel_order(bpp: int, channels: list[int]) -> tuple[int, int, int]:
    """Byte positions of red, green and blue in a 32-bit framebuffer pixel."""
    red_offset, red_length, blue_offset, _, green_offset, _, _, _ = channels
    offsets = (red_offset, green_offset, blue_offset)
    if bpp != 32 or red_length != 8 or any(offset % 8 for offset in offsets):
        raise CaptureError(f"unsupported framebuffer layout: {bpp} bpp")
    red, green, blue = (offset // 8 for offset in offsets)
    return red, green, blue


def _input_text_argument(text: str) -> str:
    """Quote text for the phone's shell; `input text` reads %s as a space."""
    escaped = text.replace(" ", "%s").replace("'", "'\\''")
    return f"'{escaped}'"


def _check_package(package: str) -> None:
    if not _PACKAGE.match(package):
        raise DeviceError(f"not a package name: {package!r}")


def _px(value: float) -> int:
    pixel = round(value)
    if not 0 <= pixel <= MAX_SCREEN_SIDE_PX:
        raise DeviceError(f"coordinate {value} is off any screen")
    return pixel


def _ms(value: float) -> int:
    return max(0, round(value))


def _input_timeout(duration_ms: float) -> float:
    return INPUT_TIMEOUT_S + max(duration_ms, 0) / 1000


def _last_line(output: str) -> str:
    lines = [line for line in output.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else "no output"
