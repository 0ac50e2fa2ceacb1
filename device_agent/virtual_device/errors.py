"""Errors raised by the virtual device.

Every error the package raises descends from one base::

    VirtualDeviceError
    ├── ConfigError        a setting is invalid (resolution, port, package)
    ├── DeviceStartError   the listening socket could not be opened
    ├── ProtocolError      the adb server sent bytes that are not ADB messages
    ├── StreamClosedError  the adb server closed a stream or the whole transport
    └── FileSystemError    a path of the in-memory file system cannot be used

Socket and OpenCV failures are translated into these at the boundary where they
arise, with the original exception chained.
"""


class VirtualDeviceError(Exception):
    """Base of every error raised by the virtual device."""


class ConfigError(VirtualDeviceError):
    """A configuration value is invalid."""


class DeviceStartError(VirtualDeviceError):
    """The device could not start listening for the adb server."""


class ProtocolError(VirtualDeviceError):
    """The peer broke the ADB transport protocol."""


class StreamClosedError(VirtualDeviceError):
    """A stream or the whole transport was closed by the peer or by an unplug."""


class FileSystemError(VirtualDeviceError):
    """A file operation failed; the message is the errno text a phone prints."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason
