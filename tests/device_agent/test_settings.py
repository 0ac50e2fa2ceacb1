"""device_agent.settings and the command line's refusal of bad settings."""

from __future__ import annotations

import pytest

from device_agent.__main__ import main
from device_agent.errors import ConfigError
from device_agent.settings import load_settings

ENVIRONMENT = {
    "TAPCRAFT_API_URL": "https://api.tapcraft.pro",
    "TAPCRAFT_AGENT_TOKEN": "tcag_from_env",
    "ANDROID_ADB_SERVER_PORT": "5099",
}


def test_environment_fills_what_flags_leave_out() -> None:
    settings = load_settings([], ENVIRONMENT)

    assert settings.api_url == "https://api.tapcraft.pro"
    assert settings.token == "tcag_from_env"
    assert (settings.adb_host, settings.adb_port) == ("127.0.0.1", 5099)
    assert settings.log_format == "json"


def test_flags_beat_the_environment() -> None:
    settings = load_settings(
        [
            "--api-url",
            "http://127.0.0.1:8000/v1",
            "--token",
            "tcag_from_flag",
            "--adb-port",
            "5037",
            "--connect",
            "127.0.0.1:6001",
            "--connect",
            "127.0.0.1:6002",
            "--log-format",
            "plain",
            "--log-level",
            "debug",
        ],
        ENVIRONMENT,
    )

    assert settings.api_url == "http://127.0.0.1:8000/v1"
    assert settings.token == "tcag_from_flag"
    assert settings.adb_port == 5037
    assert settings.connect == ("127.0.0.1:6001", "127.0.0.1:6002")
    assert (settings.log_format, settings.log_level) == ("plain", "DEBUG")


def test_the_token_never_shows_in_the_settings_repr() -> None:
    assert "tcag_from_env" not in repr(load_settings([], ENVIRONMENT))


@pytest.mark.parametrize(
    "argv,environment,problem",
    [
        ([], {}, "API URL"),
        ([], {**ENVIRONMENT, "TAPCRAFT_AGENT_TOKEN": " "}, "token"),
        (["--api-url", "ftp://x"], ENVIRONMENT, "API URL"),
        ([], {**ENVIRONMENT, "ANDROID_ADB_SERVER_PORT": "adb"}, "port"),
        (["--claim-wait", "99"], ENVIRONMENT, "claim wait"),
        (["--heartbeat-interval", "0"], ENVIRONMENT, "heartbeat"),
    ],
)
def test_bad_settings_are_refused_by_name(
    argv: list[str], environment: dict[str, str], problem: str
) -> None:
    with pytest.raises(ConfigError, match=problem):
        load_settings(argv, environment)


def test_the_command_exits_with_2_on_bad_settings(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("TAPCRAFT_AGENT_TOKEN", raising=False)

    status = main(["--api-url", "http://127.0.0.1:8000"])

    assert status == 2
    assert "agent token is required" in capsys.readouterr().err
