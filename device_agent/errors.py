"""The device agent's error tree.

    AgentError                      internal_error
    ├── ConfigError                 bad agent settings; the agent does not start
    ├── DeviceError                 device_error: a phone or the adb server failed
    │   ├── AdbServerError          the adb server cannot be reached
    │   ├── DeviceDisconnectedError device_disconnected: unplugged or offline
    │   ├── DeviceTimeoutError      a device call outlived its timeout
    │   ├── AppNotFoundError        app_not_found: the package is not installed
    │   └── CaptureError            a screenshot failed or came back black
    ├── RunError                    how a script run can end early
    │   ├── ScriptError             invalid_script: the graph cannot be run
    │   ├── DetectionTimeoutError   detection_timeout: the image never appeared
    │   ├── RunTimeoutError         timeout: the job's deadline passed
    │   └── StoppedError            stopped: someone asked the run to stop
    └── ApiError                    the API refused a call or could not be reached
        ├── ApiUnavailableError     network failure, 5xx or 429; worth retrying
        └── JobLostError            403 on a job call: the job is no longer ours

Each class names the protocol `error_type` a job result reports for it, so the
mapping from failure to error type lives here and nowhere else. adbutils,
socket and requests exceptions are translated where they arise, `from` the
original.
"""

from __future__ import annotations


class AgentError(Exception):
    """Base of every error the device agent raises on purpose."""

    error_type = "internal_error"


class ConfigError(AgentError):
    """A setting is missing or malformed."""


class DeviceError(AgentError):
    error_type = "device_error"


class AdbServerError(DeviceError):
    """The adb server did not answer on its host and port."""


class DeviceDisconnectedError(DeviceError):
    error_type = "device_disconnected"


class DeviceTimeoutError(DeviceError):
    """A device call did not finish within its timeout."""


class AppNotFoundError(DeviceError):
    error_type = "app_not_found"


class CaptureError(DeviceError):
    """No usable screenshot: the capture failed, was truncated or all black."""


class RunError(AgentError):
    """A script run ended before reaching an end node."""


class ScriptError(RunError):
    error_type = "invalid_script"


class DetectionTimeoutError(RunError):
    error_type = "detection_timeout"


class RunTimeoutError(RunError):
    error_type = "timeout"


class StoppedError(RunError):
    error_type = "stopped"


class ApiError(AgentError):
    """The API answered with an error envelope."""

    error_type = "network_error"

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class ApiUnavailableError(ApiError):
    """The API could not be reached or answered 5xx/429; try again later."""


class JobLostError(ApiError):
    """The API no longer assigns the job to this agent (403); abandon it."""
