"""What the gateway (or any remote caller) needs of a service or a view: small Protocols and values.

A *command endpoint* is a service seen from outside: the commands it accepts (name and model), a way to
send one, and its lifecycle status. A *view endpoint* answers keyed reads. The gateway talks to both
through these Protocols whether the service runs in the same process or behind HTTP, so wiring a new kind
of service in is a thin adapter, never a change to the gateway.

Tenancy travels with every request: an endpoint must scope the streams and rows it touches to
``request.tenant`` (see :mod:`riverbed.application.tenancy`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

LIFECYCLE_STATES = ("starting", "replaying", "ready", "draining", "stopped")
"""The lifecycle every service moves through; only ``ready`` serves commands."""


_REFUSAL_STATES = (
    ("Replaying", "replaying"),
    ("Draining", "draining"),
    ("Starting", "starting"),
    ("Behind", "behind"),
)


def refusal_state(exc: BaseException) -> str:
    """The lifecycle state a retryable refusal stands for: its ``state`` attribute, else its class name.

    ``ServiceReplaying`` and ``ViewReplaying`` are ``replaying``, ``ServiceDraining`` is ``draining``,
    ``ViewBehind`` is ``behind``; anything else is ``unavailable``.
    """
    state = getattr(exc, "state", None)
    if state is not None:
        return str(getattr(state, "value", state))
    name = type(exc).__name__
    for suffix, state_name in _REFUSAL_STATES:
        if name.endswith(suffix):
            return state_name
    return "unavailable"


def refusal_progress(exc: BaseException) -> dict[str, Any] | None:
    """Replay progress (or how far behind) a refusal carries, as JSON, if any."""
    progress = getattr(exc, "progress", None)
    if isinstance(progress, Mapping):
        return dict(progress)
    if hasattr(exc, "events_done"):
        return {
            "events_done": getattr(exc, "events_done", None),
            "events_behind": getattr(exc, "events_behind", None),
        }
    if hasattr(exc, "behind"):
        return {
            "position": getattr(exc, "position", None),
            "wanted": getattr(exc, "wanted", None),
            "behind": exc.behind,
        }
    return None


@dataclass(frozen=True, slots=True)
class CommandSpec:
    """A command a service accepts: its wire name and its model (a message dataclass or pydantic model)."""

    name: str
    model: type[Any]
    description: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandRequest:
    """One command on its way to its owner, with the caller's identity and tracking ids.

    ``tenant`` scopes the streams the command touches; ``""`` means "no tenant" (unscoped streams), which only
    in-process senders use (reactions and process managers of an untenanted system): the gateway always
    sends the caller's tenant. ``causation_id`` is the id of the message that caused the command, if any.
    """

    command: str
    payload: Mapping[str, Any]
    tenant: str
    command_id: str
    correlation_id: str
    traceparent: str | None = None
    causation_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandOutcome:
    """What a command did: the stream it wrote (unscoped), its new version and global position."""

    command_id: str
    stream: str | None
    version: int | None
    position: str | None
    events: tuple[Mapping[str, Any], ...] = ()
    duplicate: bool = False
    accepted_only: bool = False

    def to_json(self) -> dict[str, Any]:
        """The JSON body the gateway returns."""
        return {
            "command_id": self.command_id,
            "stream": self.stream,
            "version": self.version,
            "position": self.position,
            "events": [dict(e) for e in self.events],
            "duplicate": self.duplicate,
            "accepted_only": self.accepted_only,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CommandOutcome:
        """Read back what :meth:`to_json` wrote."""
        return cls(
            command_id=str(data["command_id"]),
            stream=data.get("stream"),
            version=data.get("version"),
            position=data.get("position"),
            events=tuple(data.get("events") or ()),
            duplicate=bool(data.get("duplicate", False)),
            accepted_only=bool(data.get("accepted_only", False)),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class EndpointStatus:
    """A service's lifecycle state as it reports it, with replay progress while replaying."""

    state: str
    progress: Mapping[str, Any] | None = None
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        """The JSON form (heartbeats, ``/readyz``)."""
        return {"state": self.state, "progress": dict(self.progress or {}) or None, "detail": self.detail}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> EndpointStatus:
        """Read back what :meth:`to_json` wrote."""
        return cls(
            state=str(data["state"]), progress=data.get("progress"), detail=str(data.get("detail", ""))
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ViewRequest:
    """A keyed read of one view row, scoped to a tenant, optionally "at least at position P"."""

    view: str
    key: str
    tenant: str
    min_position: str | None = None
    correlation_id: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ViewRow:
    """One view row: its (unscoped) key, its data and the position the view had reached."""

    key: str
    data: Mapping[str, Any] = field(default_factory=dict)
    position: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON body the gateway returns."""
        return {"key": self.key, "data": dict(self.data), "position": self.position}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ViewRow:
        """Read back what :meth:`to_json` wrote."""
        return cls(key=str(data["key"]), data=dict(data.get("data") or {}), position=data.get("position"))


@runtime_checkable
class CommandEndpoint(Protocol):
    """A service as callers see it.

    ``send`` raises :class:`~riverbed.errors.ServiceUnavailable` (or a subclass such as a replaying
    refusal) when the service cannot take commands now, :class:`~riverbed.errors.ValidationError` for a
    command that does not fit its model, and returns the outcome otherwise (a business refusal is an
    event, so it is an outcome too). Re-sending a ``command_id`` returns the first outcome with
    ``duplicate=True`` and runs nothing.
    """

    name: str

    def commands(self) -> Mapping[str, CommandSpec]:
        """The commands this service accepts, by wire name."""
        ...

    async def send(self, request: CommandRequest) -> CommandOutcome:
        """Run one command and return what it did."""
        ...

    async def status(self) -> EndpointStatus:
        """The service's lifecycle state now (a heartbeat)."""
        ...


@runtime_checkable
class ViewEndpoint(Protocol):
    """A view as callers see it.

    ``get`` raises :class:`~riverbed.errors.NotFound` for a missing row and
    :class:`~riverbed.errors.ServiceUnavailable` when the view is behind ``min_position`` for too long.
    """

    name: str

    async def get(self, request: ViewRequest) -> ViewRow:
        """Read one row."""
        ...

    async def status(self) -> EndpointStatus:
        """The view's lifecycle state now (a heartbeat)."""
        ...
