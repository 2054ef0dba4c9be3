"""The gateway's typed settings: credentials, limits, upstreams and health thresholds.

These models are nested under ``[gateway]`` in ``riverbed.toml`` and under ``RIVERBED_GATEWAY__*`` in the
environment (see :mod:`riverbed.runtime.settings`). Secrets are ``SecretStr`` so they never show in a repr
or a log line.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

TENANT_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
"""A tenant id: lower-case letters, digits, ``_`` and ``-`` (so it can prefix stream names unambiguously)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ApiKeySettings(_Strict):
    """One API key and the tenant (and principal name) it authenticates as."""

    key: SecretStr = Field(min_length=16, description="the secret, at least 16 characters")
    tenant: str
    subject: str = "api-key"

    @field_validator("tenant")
    @classmethod
    def _tenant(cls, value: str) -> str:
        return check_tenant(value)


class JwtSettings(_Strict):
    """How bearer tokens are verified: HS256 with a shared secret and/or RS256 with a public key (PEM)."""

    hs256_secret: SecretStr | None = None
    rs256_public_key: str | None = None
    issuer: str | None = None
    audience: str | None = None
    leeway_seconds: float = Field(default=0.0, ge=0)
    tenant_claim: str = "tenant"
    require_expiry: bool = True


class RateLimitSettings(_Strict):
    """A token bucket per client: ``burst`` requests at once, refilled at ``requests_per_second``."""

    enabled: bool = True
    requests_per_second: float = Field(default=1000.0, gt=0)
    burst: int = Field(default=2000, ge=1)


class UpstreamSettings(_Strict):
    """A service or view process the gateway forwards to, by base URL."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,62}$")
    url: str = Field(pattern=r"^https?://")
    kind: Literal["service", "view"] = "service"
    deadline_seconds: float = Field(default=5.0, gt=0)


class HealthSettings(_Strict):
    """Heartbeats, when an upstream counts as down, and the circuit breaker's thresholds."""

    heartbeat_interval_seconds: float = Field(default=0.25, gt=0)
    down_after_seconds: float = Field(default=1.5, gt=0)
    probe_deadline_seconds: float = Field(default=0.5, gt=0)
    breaker_failures: int = Field(default=5, ge=1)
    breaker_cooldown_seconds: float = Field(default=2.0, gt=0)
    retry_after_seconds: int = Field(default=1, ge=1)


class GatewaySettings(_Strict):
    """Everything the gateway needs to know besides the services and views registered in code."""

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    max_body_bytes: int = Field(default=1_048_576, ge=1)
    max_json_depth: int = Field(default=32, ge=1)
    api_keys: list[ApiKeySettings] = Field(default_factory=list)
    jwt: JwtSettings = Field(default_factory=JwtSettings)
    rate_limit: RateLimitSettings = Field(default_factory=RateLimitSettings)
    upstreams: list[UpstreamSettings] = Field(default_factory=list)
    default_deadline_seconds: float = Field(default=5.0, gt=0)
    health: HealthSettings = Field(default_factory=HealthSettings)
    idempotency_ttl_seconds: float = Field(default=86_400.0, gt=0)
    idempotency_max_entries: int = Field(default=100_000, ge=1)
    ingress_sink: Literal["store", "none"] = "store"

    @model_validator(mode="after")
    def _unique_names(self) -> GatewaySettings:
        names = [u.name for u in self.upstreams]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"upstream names must be unique; repeated: {duplicates}")
        return self


def check_tenant(value: str) -> str:
    """Refuse a tenant id that could not safely prefix a stream name or view key."""
    if not TENANT_PATTERN.match(value):
        raise ValueError(
            f"tenant {value!r} is not a valid tenant id: use 1-63 lower-case letters, digits, '_' or '-', "
            "starting with a letter or digit"
        )
    return value
