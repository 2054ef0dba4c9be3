"""One typed settings object for riverbed, read from ``riverbed.toml`` and ``RIVERBED_*`` variables.

Precedence, highest first: arguments to :func:`load_settings`, environment variables
(``RIVERBED_GATEWAY__MAX_BODY_BYTES=2048``; nested fields use ``__``; lists and tables as JSON,
``RIVERBED_GATEWAY__API_KEYS='[{"key": "...", "tenant": "acme"}]'``), then ``riverbed.toml``::

    [gateway]
    max_body_bytes = 1048576

    [[gateway.api_keys]]
    key = "a-long-random-secret-key"
    tenant = "acme"

Unknown keys are refused, so a typo never silently falls back to a default.
"""

from __future__ import annotations

from contextvars import ContextVar
from pathlib import Path
from typing import Any

from pydantic import Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from riverbed.runtime.gateway_settings import GatewaySettings
from riverbed.runtime.run_settings import RunSettings

DEFAULT_TOML = Path("riverbed.toml")
_TOML_FILE: ContextVar[Path] = ContextVar("riverbed_toml_file", default=DEFAULT_TOML)


class RiverbedSettings(BaseSettings):
    """The whole configuration; each part of riverbed reads its own table."""

    model_config = SettingsConfigDict(
        env_prefix="RIVERBED_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    gateway: GatewaySettings = Field(default_factory=GatewaySettings)
    run: RunSettings = Field(default_factory=RunSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Arguments win over the environment, which wins over ``riverbed.toml``."""
        toml = TomlConfigSettingsSource(settings_cls, toml_file=_TOML_FILE.get())
        return init_settings, env_settings, toml


def load_settings(toml_file: Path | str | None = None, **overrides: Any) -> RiverbedSettings:
    """Read the settings from ``toml_file`` (default ``./riverbed.toml`` if present) and the environment."""
    token = _TOML_FILE.set(Path(toml_file) if toml_file is not None else DEFAULT_TOML)
    try:
        return RiverbedSettings(**overrides)
    finally:
        _TOML_FILE.reset(token)
