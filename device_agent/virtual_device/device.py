"""A virtual phone that the real adb server accepts with ``adb connect``.

Lifecycle: ``start()`` binds the TCP port and runs an accept loop on a daemon
thread; every connection the adb server opens gets a ``Transport`` on its own
thread (handshake, stream demux, service dispatch). ``disconnect()`` plays an
unplugged cable: it drops every transport and refuses new connections (each is
accepted and closed at once, so the port stays reserved) until
``reconnect()``. ``stop()`` closes the port and every connection.
"""

import contextlib
import logging
import socket
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from . import capture
from .config import EMULATOR_PORTS, VirtualDeviceConfig
from .errors import DeviceStartError
from .geometry import Rect
from .icons import like_icon_png
from .input_log import InputEvent
from .phone import LikeButton, Phone
from .properties import device_banner
from .services import Services
from .transport import Transport

logger = logging.getLogger(__name__)

ACCEPT_POLL_S = 0.2
STOP_JOIN_TIMEOUT_S = 2.0
_PORT_PICK_ATTEMPTS = 20


class VirtualDevice:
    """One virtual phone listening for the adb server.

    Example::

        with VirtualDevice(VirtualDeviceConfig(width=720, height=1600)) as device:
            client.connect(device.address)
            ...
            events = device.inputs()
    """

    def __init__(self, config: VirtualDeviceConfig | None = None) -> None:
        self.config = config or VirtualDeviceConfig()
        self.phone = Phone(self.config)
        self._services = Services(self.phone)
        self._banner = device_banner(self.config)
        self._listener: socket.socket | None = None
        self._accept_thread: threading.Thread | None = None
        self._transports: set[Transport] = set()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._plugged = True
        self._port = self.config.port

    # Lifecycle

    def start(self) -> "VirtualDevice":
        """Open the port and accept the adb server; raises DeviceStartError."""
        if self._listener is not None:
            return self
        self._listener = _listen(self.config.host, self.config.port)
        self._port = self._listener.getsockname()[1]
        self._stopping.clear()
        self._accept_thread = threading.Thread(
            target=self._accept_loop,
            args=(self._listener,),
            name=f"virtual-device-{self._port}",
            daemon=True,
        )
        self._accept_thread.start()
        logger.info("virtual device listening", extra={"address": self.address})
        return self

    def stop(self) -> None:
        """Close the port and every connection."""
        self._stopping.set()
        self._drop_transports()
        if self._accept_thread is not None:
            self._accept_thread.join(STOP_JOIN_TIMEOUT_S)
            self._accept_thread = None
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    def __enter__(self) -> "VirtualDevice":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._port

    @property
    def address(self) -> str:
        """What to pass to ``adb connect``; also the serial the adb server shows."""
        return f"{self.config.host}:{self._port}"

    # Unplugging

    def disconnect(self) -> None:
        """Unplug: drop the adb server's connection and refuse new ones."""
        with self._lock:
            self._plugged = False
        self._drop_transports()
        logger.info("virtual device unplugged", extra={"address": self.address})

    def reconnect(self) -> None:
        """Plug back in: the adb server's next connection attempt succeeds."""
        with self._lock:
            self._plugged = True
        logger.info("virtual device plugged in", extra={"address": self.address})

    @property
    def plugged(self) -> bool:
        with self._lock:
            return self._plugged

    @property
    def connected(self) -> bool:
        """Whether an adb server currently holds a transport to the device."""
        with self._lock:
            return bool(self._transports)

    # Inspection

    def inputs(self, kind: str | None = None) -> list[InputEvent]:
        """Recorded inputs in order; ``kind`` filters ("tap", "swipe", ...)."""
        return self.phone.inputs.events(kind)

    def clear_inputs(self) -> None:
        self.phone.inputs.clear()

    def wait_for_input(
        self, predicate: Callable[[InputEvent], bool], timeout_s: float = 5.0
    ) -> InputEvent | None:
        return self.phone.inputs.wait_for(predicate, timeout_s)

    def state(self) -> dict[str, Any]:
        return self.phone.state()

    def screenshot(self) -> np.ndarray:
        """The screen as a BGR array, exactly as ``screencap`` would send it."""
        return self.phone.render()

    def screenshot_png(self) -> bytes:
        return capture.png_bytes(self.phone.render())

    def like_buttons(self) -> list[LikeButton]:
        """Like buttons fully on screen, in screen pixels (feed in front only)."""
        return self.phone.like_buttons()

    def form_field_rect(self, name: str) -> Rect | None:
        """Screen rectangle of the form's ``name``, ``email`` or ``message`` box."""
        return self.phone.form_field_rect(name)

    def app_icon_rect(self, package: str) -> Rect | None:
        """Screen rectangle of an app's icon while the home screen is in front."""
        return self.phone.app_icon_rect(package)

    def like_icon_png(self, liked: bool = False) -> bytes:
        """The like button as this screen draws it, for template matching."""
        return like_icon_png(self.config.density_scale, liked)

    # Internals

    def _accept_loop(self, listener: socket.socket) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                break
            self._admit(conn)

    def _admit(self, conn: socket.socket) -> None:
        with self._lock:
            plugged = self._plugged and not self._stopping.is_set()
        if not plugged:
            conn.close()
            return
        conn.settimeout(None)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        transport = Transport(conn, self._banner, self._services)
        with self._lock:
            self._transports.add(transport)
        thread = threading.Thread(target=self._serve, args=(transport,), daemon=True)
        thread.start()

    def _serve(self, transport: Transport) -> None:
        try:
            transport.serve()
        finally:
            with self._lock:
                self._transports.discard(transport)

    def _drop_transports(self) -> None:
        with self._lock:
            transports = list(self._transports)
            self._transports.clear()
        for transport in transports:
            transport.close()


def start_virtual_device(**settings: Any) -> VirtualDevice:
    """Build a config from keyword settings and start a device with it."""
    return VirtualDevice(VirtualDeviceConfig(**settings)).start()


def _listen(host: str, port: int) -> socket.socket:
    for _ in range(_PORT_PICK_ATTEMPTS):
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind((host, port))
            listener.listen(16)
        except OSError as exc:
            listener.close()
            raise DeviceStartError(f"cannot listen on {host}:{port}: {exc}") from exc
        if listener.getsockname()[1] not in EMULATOR_PORTS:
            listener.settimeout(ACCEPT_POLL_S)
            return listener
        # Port 0 landed in the emulator range; keep nothing there.
        with contextlib.suppress(OSError):
            listener.close()
    raise DeviceStartError("no free port outside 5555-5585")
