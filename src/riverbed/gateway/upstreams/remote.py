"""Services and views in other processes, reached over HTTP (see ``riverbed.runtime.service_api``).

A connection that is refused or reset means the process is gone: the call raises
:class:`~riverbed.errors.UpstreamUnavailable` with state ``down`` at once (no retry inside the gateway),
which marks the upstream down in the health table and answers the client 503. The gateway process knows
the command models from code (the same package the service runs), so it validates bodies and writes the
OpenAPI document without asking the service.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic_core import from_json

from riverbed.application.endpoints import (
    CommandOutcome,
    CommandRequest,
    CommandSpec,
    EndpointStatus,
    ViewRequest,
    ViewRow,
)
from riverbed.errors import (
    ConfigurationError,
    InvalidMessage,
    NotFound,
    RiverbedError,
    UpstreamUnavailable,
    ValidationError,
)
from riverbed.gateway.upstreams.http1 import Http1Client, HttpTransportError
from riverbed.runtime.gateway_settings import GatewaySettings

TRANSPORT_ERRORS = (HttpTransportError,)


class RemoteError(RiverbedError):
    """An endpoint in another process failed with an error that has no riverbed class on this side."""


class RemoteInvalid(InvalidMessage):
    """The remote service refused the command as invalid; ``errors`` lists each problem when it said."""

    def __init__(self, message: str, errors: list[dict[str, Any]] | None) -> None:
        super().__init__(message)
        if errors is not None:
            self.errors = errors


def decode_error(name: str, error: Mapping[str, Any]) -> Exception:
    """Rebuild the error an endpoint raised from its wire form."""
    kind = error.get("kind")
    message = str(error.get("message", "the remote endpoint failed"))
    if kind == "unavailable":
        progress = error.get("progress")
        return UpstreamUnavailable(
            name,
            state=str(error.get("state") or "unavailable"),
            retry_after=float(error.get("retry_after") or 1.0),
            progress=dict(progress) if isinstance(progress, dict) else None,
            reason=message,
        )
    if kind == "not_found":
        return NotFound(message)
    if kind == "invalid":
        errors = error.get("errors")
        return RemoteInvalid(message, errors if isinstance(errors, list) else None)
    if kind == "conflict":
        return ValidationError(message)
    return RemoteError(f"{name}: {error.get('class', 'error')}: {message}")


class _Remote:
    def __init__(self, name: str, base_url: str, *, client: Http1Client | None = None) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self._client = client or Http1Client(self.base_url, timeout=30.0, connect_timeout=1.0, max_idle=64)

    async def status(self) -> EndpointStatus:
        """Ask the process for the endpoint's lifecycle state (a heartbeat)."""
        body = await self._call("GET", f"/endpoints/{self.name}/status", None)
        return EndpointStatus.from_json(body["status"])

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self._client.aclose()

    async def _call(self, method: str, path: str, payload: dict[str, Any] | None) -> dict[str, Any]:
        try:
            status, answer = await self._client.request(method, path, payload)
        except TRANSPORT_ERRORS as exc:
            raise UpstreamUnavailable(self.name, state="down", reason=f"{exc} ({self.base_url})") from exc
        try:
            body = from_json(answer)
        except ValueError as exc:
            raise RemoteError(f"{self.name}: answered {status} without JSON") from exc
        if not isinstance(body, dict):
            raise RemoteError(f"{self.name}: answered {status} with JSON that is not an object")
        if not body.get("ok"):
            raise decode_error(self.name, body.get("error") or {})
        return body


class RemoteService(_Remote):
    """A command endpoint in another process."""

    def __init__(
        self,
        name: str,
        base_url: str,
        commands: Sequence[CommandSpec],
        *,
        client: Http1Client | None = None,
    ) -> None:
        super().__init__(name, base_url, client=client)
        self._commands = {spec.name: spec for spec in commands}

    def commands(self) -> Mapping[str, CommandSpec]:
        """The commands, as declared in code on the gateway's side."""
        return self._commands

    async def send(self, request: CommandRequest) -> CommandOutcome:
        """Send the command to the process and return its outcome."""
        payload = {
            "command": request.command,
            "payload": dict(request.payload),
            "tenant": request.tenant,
            "command_id": request.command_id,
            "correlation_id": request.correlation_id,
            "traceparent": request.traceparent,
            "causation_id": request.causation_id,
        }
        body = await self._call("POST", f"/endpoints/{self.name}/commands", payload)
        return CommandOutcome.from_json(body["outcome"])


class RemoteView(_Remote):
    """A view endpoint in another process."""

    async def get(self, request: ViewRequest) -> ViewRow:
        """Read one row from the process."""
        payload = {
            "view": request.view,
            "key": request.key,
            "tenant": request.tenant,
            "min_position": request.min_position,
            "correlation_id": request.correlation_id,
        }
        body = await self._call("POST", f"/endpoints/{self.name}/rows", payload)
        return ViewRow.from_json(body["row"])


def remote_endpoints(
    settings: GatewaySettings, commands: Mapping[str, Sequence[CommandSpec]]
) -> tuple[list[RemoteService], list[RemoteView]]:
    """The services and views of ``settings.upstreams``; ``commands`` gives each service's commands."""
    services: list[RemoteService] = []
    views: list[RemoteView] = []
    for upstream in settings.upstreams:
        if upstream.kind == "view":
            views.append(RemoteView(upstream.name, upstream.url))
            continue
        specs = commands.get(upstream.name)
        if not specs:
            raise ConfigurationError(
                f"upstream service {upstream.name!r} has no commands declared on the gateway's side; "
                "pass its CommandSpecs so the gateway can validate bodies and describe them"
            )
        services.append(RemoteService(upstream.name, upstream.url, specs))
    return services, views
