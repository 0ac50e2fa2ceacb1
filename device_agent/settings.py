"""The agent's settings, read once at start: a flag beats its environment variable.

Every environment variable the agent reads is named here and nowhere else.
The adb server variables are adb's own, so the agent and the `adb` command
line find the same server.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from chalicelib.protocol import MAX_CLAIM_WAIT_SECONDS
from device_agent.errors import ConfigError

ENV_API_URL = "TAPCRAFT_API_URL"
ENV_AGENT_TOKEN = "TAPCRAFT_AGENT_TOKEN"  # noqa: S105 (a variable name)
ENV_ADB_HOST = "ANDROID_ADB_SERVER_HOST"
ENV_ADB_PORT = "ANDROID_ADB_SERVER_PORT"
ENV_LOG_FORMAT = "TAPCRAFT_LOG_FORMAT"
ENV_LOG_LEVEL = "TAPCRAFT_LOG_LEVEL"

LOG_FORMATS = ("json", "plain")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


@dataclass(frozen=True)
class AgentSettings:
    api_url: str
    token: str = field(repr=False)
    adb_host: str = "127.0.0.1"
    adb_port: int = 5037
    # Phones on Wi-Fi debugging (or virtual ones) to `adb connect` and keep.
    connect: tuple[str, ...] = ()
    heartbeat_interval_s: float = 5.0
    claim_wait_s: int = MAX_CLAIM_WAIT_SECONDS
    # How long a stopping agent keeps trying to deliver results.
    shutdown_grace_s: float = 20.0
    log_format: str = "json"
    log_level: str = "INFO"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m device_agent",
        description="Run TapCraft Pro jobs on the phones attached to this host.",
    )
    parser.add_argument("--api-url", help=f"API root URL (env {ENV_API_URL})")
    parser.add_argument("--token", help=f"agent token (env {ENV_AGENT_TOKEN})")
    parser.add_argument("--adb-host", help=f"adb server host (env {ENV_ADB_HOST})")
    parser.add_argument(
        "--adb-port", type=int, help=f"adb server port (env {ENV_ADB_PORT})"
    )
    parser.add_argument(
        "--connect",
        action="append",
        metavar="HOST:PORT",
        help="adb connect this phone at start and whenever it drops (repeatable)",
    )
    parser.add_argument("--heartbeat-interval", type=float, metavar="SECONDS")
    parser.add_argument("--claim-wait", type=int, metavar="SECONDS")
    parser.add_argument("--shutdown-grace", type=float, metavar="SECONDS")
    parser.add_argument(
        "--log-format", choices=LOG_FORMATS, help=f"(env {ENV_LOG_FORMAT})"
    )
    parser.add_argument(
        "--log-level",
        type=str.upper,
        choices=LOG_LEVELS,
        help=f"(env {ENV_LOG_LEVEL})",
    )
    return parser


def load_settings(argv: Sequence[str], environ: Mapping[str, str]) -> AgentSettings:
    """Settings from command-line flags over environment; raises ConfigError."""
    flags = build_parser().parse_args(list(argv))
    defaults = AgentSettings(api_url="", token="")

    def pick(flag: object, variable: str, default: object) -> object:
        if flag is not None:
            return flag
        return environ.get(variable) or default

    return AgentSettings(
        api_url=_api_url(str(pick(flags.api_url, ENV_API_URL, ""))),
        token=_token(str(pick(flags.token, ENV_AGENT_TOKEN, ""))),
        adb_host=str(pick(flags.adb_host, ENV_ADB_HOST, defaults.adb_host)),
        adb_port=_port(pick(flags.adb_port, ENV_ADB_PORT, defaults.adb_port)),
        connect=tuple(flags.connect or ()),
        heartbeat_interval_s=_positive(
            flags.heartbeat_interval, defaults.heartbeat_interval_s, "heartbeat"
        ),
        claim_wait_s=_claim_wait(flags.claim_wait, defaults.claim_wait_s),
        shutdown_grace_s=_positive(
            flags.shutdown_grace, defaults.shutdown_grace_s, "shutdown grace"
        ),
        log_format=_choice(
            pick(flags.log_format, ENV_LOG_FORMAT, defaults.log_format), LOG_FORMATS
        ),
        log_level=_choice(
            str(pick(flags.log_level, ENV_LOG_LEVEL, defaults.log_level)).upper(),
            LOG_LEVELS,
        ),
    )


def _api_url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ConfigError(
            f"an API URL starting with http(s):// is required ({ENV_API_URL})"
        )
    return value


def _token(value: str) -> str:
    if not value.strip():
        raise ConfigError(f"an agent token is required (--token or {ENV_AGENT_TOKEN})")
    return value.strip()


def _port(value: object) -> int:
    try:
        port = int(str(value))
    except ValueError as exc:
        raise ConfigError(f"adb port must be a number, got {value!r}") from exc
    if not 0 < port < 65536:
        raise ConfigError(f"adb port out of range: {port}")
    return port


def _positive(value: float | None, default: float, name: str) -> float:
    if value is None:
        return default
    if value <= 0:
        raise ConfigError(f"{name} must be more than 0 seconds")
    return value


def _claim_wait(value: int | None, default: int) -> int:
    if value is None:
        return default
    if not 0 <= value <= MAX_CLAIM_WAIT_SECONDS:
        raise ConfigError(f"claim wait must be 0 to {MAX_CLAIM_WAIT_SECONDS} seconds")
    return value


def _choice(value: object, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ConfigError(f"{value!r} is not one of {', '.join(choices)}")
    return str(value)
