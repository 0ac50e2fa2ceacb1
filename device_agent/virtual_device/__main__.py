"""Command line: run a virtual phone until interrupted, or export the like icon.

    python -m device_agent.virtual_device --port 6001 --resolution 1080x2400 \\
        --serial-name VIRT01
    adb connect 127.0.0.1:6001

    python -m device_agent.virtual_device --export-like-icon heart.png --scale 3
"""

import argparse
import contextlib
import json
import logging
import signal
import sys
import threading
from pathlib import Path

from .config import AppSpec, VirtualDeviceConfig, parse_resolution
from .device import VirtualDevice
from .errors import VirtualDeviceError
from .icons import like_icon_png

_DEFAULTS = VirtualDeviceConfig()
_LOG_RECORD_FIELDS = frozenset(vars(logging.makeLogRecord({})))


class _JsonFormatter(logging.Formatter):
    """One JSON object per line: level, logger, message and the extra keys."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(
            {
                key: value
                for key, value in vars(record).items()
                if key not in _LOG_RECORD_FIELDS
            }
        )
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m device_agent.virtual_device")
    parser.add_argument("--port", type=int, default=6001, help="0 picks a free port")
    parser.add_argument("--host", default=_DEFAULTS.host)
    parser.add_argument("--resolution", default=f"{_DEFAULTS.width}x{_DEFAULTS.height}")
    parser.add_argument("--serial-name", default=_DEFAULTS.serial_name)
    parser.add_argument("--model", default=_DEFAULTS.model)
    parser.add_argument("--feed-package", default=_DEFAULTS.feed_app.package)
    parser.add_argument("--mail-package", default=_DEFAULTS.mail_app.package)
    parser.add_argument("--form-package", default=_DEFAULTS.form_app.package)
    parser.add_argument(
        "--not-installed",
        action="append",
        default=[],
        metavar="PACKAGE",
        help="remove a package from the phone (repeatable)",
    )
    parser.add_argument("--log-level", default="INFO")
    parser.add_argument(
        "--export-like-icon",
        type=Path,
        metavar="PATH",
        help="write the like button PNG and exit",
    )
    parser.add_argument(
        "--scale", type=float, help="pixels per dp of the exported icon"
    )
    parser.add_argument("--liked", action="store_true", help="export the filled icon")
    return parser


def config_from_args(args: argparse.Namespace) -> VirtualDeviceConfig:
    """Translate parsed arguments into a validated config; raises ConfigError."""
    width, height = parse_resolution(args.resolution)
    return VirtualDeviceConfig(
        port=args.port,
        host=args.host,
        width=width,
        height=height,
        serial_name=args.serial_name,
        model=args.model,
        feed_app=_with_package(_DEFAULTS.feed_app, args.feed_package),
        mail_app=_with_package(_DEFAULTS.mail_app, args.mail_package),
        form_app=_with_package(_DEFAULTS.form_app, args.form_package),
        not_installed=frozenset(args.not_installed),
    )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _configure_logging(args.log_level)
    try:
        config = config_from_args(args)
        if args.export_like_icon is not None:
            scale = args.scale if args.scale is not None else config.density_scale
            args.export_like_icon.write_bytes(like_icon_png(scale, args.liked))
            return 0
        _serve(config)
    except VirtualDeviceError as exc:
        logging.getLogger(__name__).error(
            "virtual device failed", extra={"error": str(exc)}
        )
        return 2
    return 0


def _serve(config: VirtualDeviceConfig) -> None:
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    with VirtualDevice(config) as device:
        print(f"virtual device ready: adb connect {device.address}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            done.wait()


def _with_package(spec: AppSpec, package: str) -> AppSpec:
    return AppSpec(package, spec.label, spec.activity)


def _configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_JsonFormatter())
    logging.basicConfig(level=level.upper(), handlers=[handler])


if __name__ == "__main__":
    sys.exit(main())
