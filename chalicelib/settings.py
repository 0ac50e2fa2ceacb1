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

STAGES = ("local", "dev", "prod")


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

    def __post_init__(self) -> None:
        if self.stage not in STAGES:
            raise SettingsError(f"{STAGE_VAR} must be one of {', '.join(STAGES)}")
        if not self.resource_prefix:
            raise SettingsError(f"{PREFIX_VAR} must not be empty")
        if self.max_body_bytes < 1024:
            raise SettingsError(f"{MAX_BODY_VAR} must be at least 1024")

    def resource_name(self, suffix: str) -> str:
        """The physical name of a resource, as infra/template.yaml names it."""
        return f"{self.resource_prefix}-{suffix}"

    @classmethod
    def from_environ(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        region = next((env[v] for v in REGION_VARS if env.get(v)), cls.region)
        try:
            max_body = int(env.get(MAX_BODY_VAR, cls.max_body_bytes))
        except ValueError as exc:
            raise SettingsError(f"{MAX_BODY_VAR} must be an integer") from exc
        return cls(
            stage=env.get(STAGE_VAR, cls.stage),
            resource_prefix=env.get(PREFIX_VAR, cls.resource_prefix),
            region=region,
            max_body_bytes=max_body,
            docs_url=env.get(DOCS_URL_VAR, cls.docs_url),
            log_level=env.get(LOG_LEVEL_VAR, cls.log_level).upper(),
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, read on first use."""
    return Settings.from_environ()
