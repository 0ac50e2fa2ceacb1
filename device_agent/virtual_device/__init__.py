"""A virtual Android phone that the real adb server accepts as a device.

The phone speaks the device side of the ADB transport over TCP, so
``adb connect 127.0.0.1:PORT`` lists it like a phone on Wi-Fi debugging, and
adbutils drives it like any other. A request travels through four stages:

1. Handshake (``transport``): CNXN with the device banner, AUTH accepted.
2. Stream demux (``transport``): OPEN/OKAY/WRTE/CLSE with flow control.
3. Service dispatch (``services``, ``shell_runner``, ``commands``,
   ``sync_service``): shell, shell protocol v2, exec, sync, framebuffer.
4. Rendering (``phone``, ``apps``): an OpenCV-drawn launcher, social feed,
   mail app and form app, whose inputs are recorded in an input log.

Start one in-process with ``VirtualDevice(...).start()`` or from a shell with
``python -m device_agent.virtual_device --port 6001``.
"""

from .config import AppSpec, VirtualDeviceConfig, parse_resolution
from .device import VirtualDevice, start_virtual_device
from .errors import (
    ConfigError,
    DeviceStartError,
    FileSystemError,
    ProtocolError,
    StreamClosedError,
    VirtualDeviceError,
)
from .geometry import Rect
from .icons import LIKE_ICON_DP, like_icon, like_icon_png
from .input_log import Hit, InputEvent
from .phone import LikeButton

__all__ = [
    "LIKE_ICON_DP",
    "AppSpec",
    "ConfigError",
    "DeviceStartError",
    "FileSystemError",
    "Hit",
    "InputEvent",
    "LikeButton",
    "ProtocolError",
    "Rect",
    "StreamClosedError",
    "VirtualDevice",
    "VirtualDeviceConfig",
    "VirtualDeviceError",
    "like_icon",
    "like_icon_png",
    "parse_resolution",
    "start_virtual_device",
]
