"""Entry point: `python -m device_agent --api-url URL --token TOKEN`.

Reads the settings (flags over environment), configures logging (the only
place that does), wires the adb server, the API client and the agent, and
runs until SIGTERM or Ctrl-C, after which running jobs are handed back.
Exit status: 0 after a clean stop, 1 if the adb server cannot be used, 2 for
bad settings.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from types import FrameType

from device_agent.agent import Agent
from device_agent.client import ApiClient
from device_agent.device import AdbServer
from device_agent.errors import AdbServerError, ConfigError
from device_agent.settings import AgentSettings, load_settings

logger = logging.getLogger("device_agent")

_STANDARD_RECORD_KEYS = frozenset(vars(logging.makeLogRecord({}))) | {
    "message",
    "asctime",
}


class JsonLogFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, then extra keys."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_RECORD_KEYS and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class PlainLogFormatter(logging.Formatter):
    """A readable line with the extra keys as key=value pairs."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extra = " ".join(
            f"{key}={value}"
            for key, value in vars(record).items()
            if key not in _STANDARD_RECORD_KEYS and not key.startswith("_")
        )
        return f"{line} {extra}" if extra else line


def configure_logging(settings: AgentSettings) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if settings.log_format == "json":
        handler.setFormatter(JsonLogFormatter())
    else:
        handler.setFormatter(
            PlainLogFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)
    # The virtual device logs every service it runs; keep it quiet here.
    logging.getLogger("device_agent.virtual_device").setLevel(logging.WARNING)
    logging.getLogger("urllib3").setLevel(logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        settings = load_settings(
            sys.argv[1:] if argv is None else argv, dict(os.environ)
        )
    except ConfigError as exc:
        print(f"device_agent: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings)

    agent = Agent(
        settings,
        ApiClient(settings.api_url, settings.token),
        AdbServer(settings.adb_host, settings.adb_port),
    )

    def stop(signum: int, _frame: FrameType | None) -> None:
        logger.info("stop signal", extra={"signal": signal.Signals(signum).name})
        agent.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        agent.run()
    except AdbServerError as exc:
        logger.error("adb server unusable", extra={"error": str(exc)})
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
