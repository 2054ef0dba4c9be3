"""Tenant scoping: every stream name and view key a tenant touches starts with ``<tenant>:``.

Tenant ids cannot contain ``:`` (see ``riverbed.runtime.gateway_settings.TENANT_PATTERN``), and the prefix
is always added by the server, never taken from the client, so no client-supplied name can reach another
tenant's streams or rows.
"""

from __future__ import annotations

from riverbed.errors import ValidationError

SEPARATOR = ":"


def scoped(tenant: str, name: str) -> str:
    """The tenant's own version of a stream name or view key."""
    if not tenant or SEPARATOR in tenant:
        raise ValidationError(f"tenant {tenant!r} is not a valid tenant id")
    if not name:
        raise ValidationError("a stream name or view key must not be empty")
    return f"{tenant}{SEPARATOR}{name}"


def unscoped(tenant: str, name: str) -> str:
    """The client-facing name of a scoped stream or key; refuses a name of another tenant."""
    prefix = f"{tenant}{SEPARATOR}"
    if not name.startswith(prefix):
        raise ValidationError(f"{name!r} does not belong to tenant {tenant!r}")
    return name[len(prefix) :]


def tenant_of(name: str) -> str | None:
    """The tenant a scoped name belongs to, or None for an unscoped name."""
    tenant, sep, _ = name.partition(SEPARATOR)
    return tenant if sep else None
