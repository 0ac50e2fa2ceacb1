"""Process settings, read from the environment once and validated.

Every environment variable the API reads is named here and nowhere else.
Explicit arguments beat the environment: tests and the local stack build a
`Settings` directly or override single variables before the first read.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

STAGE_VAR = "TAPCRAFT_STAGE"
PREFIX_VAR = "TAPCRAFT_RESOURCE_PREFIX"
REGION_VARS = ("AWS_REGION", "AWS_DEFAULT_REGION")
MAX_BODY_VAR = "TAPCRAFT_MAX_BODY_BYTES"
DOCS_URL_VAR = "TAPCRAFT_DOCS_URL"
LOG_LEVEL_VAR = "TAPCRAFT_LOG_LEVEL"
ISSUER_VAR = "TAPCRAFT_OAUTH_ISSUER"
JOB_HEARTBEAT_VAR = "TAPCRAFT_JOB_HEARTBEAT_SECONDS"
RETRY_BACKOFF_VAR = "TAPCRAFT_RETRY_BACKOFF_SECONDS"
SYNC_WAIT_VAR = "TAPCRAFT_SYNC_WAIT_SECONDS"
DEVICE_TIMEOUT_VAR = "TAPCRAFT_DEVICE_TIMEOUT_SECONDS"
WEBHOOK_TIMEOUT_VAR = "TAPCRAFT_WEBHOOK_TIMEOUT_SECONDS"
WEBHOOK_RETRY_BASE_VAR = "TAPCRAFT_WEBHOOK_RETRY_BASE_SECONDS"
WEBHOOK_ATTEMPTS_VAR = "TAPCRAFT_WEBHOOK_MAX_ATTEMPTS"
WEBHOOK_DISABLE_VAR = "TAPCRAFT_WEBHOOK_DISABLE_AFTER_HOURS"
WEBHOOKS_HTTP_VAR = "TAPCRAFT_WEBHOOKS_ALLOW_HTTP"
WEBHOOKS_LOOPBACK_VAR = "TAPCRAFT_WEBHOOKS_ALLOW_LOOPBACK"

STAGES = ("local", "dev", "prod")
TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("", "0", "false", "no", "off")


class SettingsError(ValueError):
    """A setting is missing or malformed; the process cannot start."""


@dataclass(frozen=True)
class Settings:
    stage: str = "local"
    resource_prefix: str = "tapcraft-local"
    region: str = "us-east-1"
    max_body_bytes: int = 1024 * 1024
    docs_url: str = "https://docs.tapcraft.pro/errors"
    log_level: str = "INFO"
    job_heartbeat_seconds: int = 30
    retry_backoff_seconds: int = 10
    sync_wait_seconds: int = 20
    device_timeout_seconds: int = 90
    oauth_issuer: str = "https://api.tapcraft.pro"
    webhook_timeout_seconds: int = 10
    webhook_retry_base_seconds: int = 60
    webhook_max_attempts: int = 10
    webhook_disable_after_hours: int = 72
    webhooks_allow_http: bool = False
    webhooks_allow_loopback: bool = False

    def __post_init__(self) -> None:
        if self.stage not in STAGES:
            raise SettingsError(f"{STAGE_VAR} must be one of {', '.join(STAGES)}")
        if not self.resource_prefix:
            raise SettingsError(f"{PREFIX_VAR} must not be empty")
        if self.max_body_bytes < 1024:
            raise SettingsError(f"{MAX_BODY_VAR} must be at least 1024")
        if not 1 <= self.job_heartbeat_seconds <= 3600:
            raise SettingsError(f"{JOB_HEARTBEAT_VAR} must be 1 to 3600")
        if not 0 < self.sync_wait_seconds < 29:
            raise SettingsError(f"{SYNC_WAIT_VAR} must stay under API Gateway's 29 s")
        if not self.oauth_issuer.startswith(("https://", "http://")):
            raise SettingsError(f"{ISSUER_VAR} must be an http(s) URL")
        self._check_webhooks()

    def _check_webhooks(self) -> None:
        if not 1 <= self.webhook_timeout_seconds <= 25:
            raise SettingsError(f"{WEBHOOK_TIMEOUT_VAR} must be 1 to 25")
        if not 1 <= self.webhook_retry_base_seconds <= 3600:
            raise SettingsError(f"{WEBHOOK_RETRY_BASE_VAR} must be 1 to 3600")
        if not 1 <= self.webhook_max_attempts <= 20:
            raise SettingsError(f"{WEBHOOK_ATTEMPTS_VAR} must be 1 to 20")
        if self.webhook_disable_after_hours < 1:
            raise SettingsError(f"{WEBHOOK_DISABLE_VAR} must be at least 1")
        if self.stage == "prod" and self.webhooks_allow_http:
            raise SettingsError(f"{WEBHOOKS_HTTP_VAR} is refused in prod")
        if self.stage == "prod" and self.webhooks_allow_loopback:
            raise SettingsError(f"{WEBHOOKS_LOOPBACK_VAR} is refused in prod")

    @property
    def oauth_audience(self) -> str:
        """The `aud` of access tokens: the API they are good for."""
        return f"{self.oauth_issuer.rstrip('/')}/v1"

    def resource_name(self, suffix: str) -> str:
        """The physical name of a resource, as infra/template.yaml names it."""
        return f"{self.resource_prefix}-{suffix}"

    @classmethod
    def from_environ(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        region = next((env[v] for v in REGION_VARS if env.get(v)), cls.region)

        def integer(name: str, default: int) -> int:
            try:
                return int(env.get(name, default))
            except ValueError as exc:
                raise SettingsError(f"{name} must be an integer") from exc

        def flag(name: str) -> bool:
            word = env.get(name, "").strip().lower()
            if word not in TRUE_WORDS + FALSE_WORDS:
                raise SettingsError(f"{name} must be true or false")
            return word in TRUE_WORDS

        return cls(
            stage=env.get(STAGE_VAR, cls.stage),
            resource_prefix=env.get(PREFIX_VAR, cls.resource_prefix),
            region=region,
            max_body_bytes=integer(MAX_BODY_VAR, cls.max_body_bytes),
            docs_url=env.get(DOCS_URL_VAR, cls.docs_url),
            log_level=env.get(LOG_LEVEL_VAR, cls.log_level).upper(),
            oauth_issuer=env.get(ISSUER_VAR, cls.oauth_issuer),
            job_heartbeat_seconds=integer(JOB_HEARTBEAT_VAR, cls.job_heartbeat_seconds),
            retry_backoff_seconds=integer(RETRY_BACKOFF_VAR, cls.retry_backoff_seconds),
            sync_wait_seconds=integer(SYNC_WAIT_VAR, cls.sync_wait_seconds),
            device_timeout_seconds=integer(
                DEVICE_TIMEOUT_VAR, cls.device_timeout_seconds
            ),
            webhook_timeout_seconds=integer(
                WEBHOOK_TIMEOUT_VAR, cls.webhook_timeout_seconds
            ),
            webhook_retry_base_seconds=integer(
                WEBHOOK_RETRY_BASE_VAR, cls.webhook_retry_base_seconds
            ),
            webhook_max_attempts=integer(
                WEBHOOK_ATTEMPTS_VAR, cls.webhook_max_attempts
            ),
            webhook_disable_after_hours=integer(
                WEBHOOK_DISABLE_VAR, cls.webhook_disable_after_hours
            ),
            webhooks_allow_http=flag(WEBHOOKS_HTTP_VAR),
            webhooks_allow_loopback=flag(WEBHOOKS_LOOPBACK_VAR),
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, read on first use."""
    return Settings.from_environ()
