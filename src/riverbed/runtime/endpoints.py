"""Adapters from running services to the endpoint Protocols the gateway and the service API speak.

:class:`RunnerEndpoint` puts a command service behind its lifecycle (the command side's ``ServiceRunner``)
behind :class:`~riverbed.application.endpoints.CommandEndpoint`; :class:`QueriesEndpoint` puts one view of
the query side's ``ViewQueries`` behind :class:`~riverbed.application.endpoints.ViewEndpoint`. They are
typed against small Protocols rather than the concrete classes, so anything with the same shape serves.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from riverbed.application.endpoints import (
    CommandOutcome,
    CommandRequest,
    CommandSpec,
    EndpointStatus,
    ViewRequest,
    ViewRow,
)
from riverbed.application.tenancy import scoped, unscoped


class Runner(Protocol):
    """What the endpoint needs of a running command service."""

    @property
    def name(self) -> str:
        """The service name."""
        ...

    @property
    def commands(self) -> Mapping[str, Any]:
        """Command name -> boundary model with ``.command_type``."""
        ...

    @property
    def progress(self) -> Any:
        """Lifecycle state (``.state``), ``.events_done`` and ``.events_behind``."""
        ...

    def parse(self, command_name: str, payload: Mapping[str, Any]) -> Any:
        """Validate a JSON payload into a command."""
        ...

    async def handle(
        self,
        command: Any,
        *,
        command_id: str,
        correlation_id: str | None = None,
        causation_id: str | None = None,
        traceparent: str | None = None,
        tenant: str | None = None,
    ) -> Any:
        """Run a command once per id; raises a retryable ServiceUnavailable unless ready."""
        ...


class RunnerEndpoint:
    """A :class:`Runner` as a :class:`~riverbed.application.endpoints.CommandEndpoint`."""

    def __init__(self, runner: Runner) -> None:
        self.runner = runner
        self.name = runner.name
        self._specs = {
            name: CommandSpec(name, getattr(model, "command_type", model))
            for name, model in runner.commands.items()
        }

    def commands(self) -> Mapping[str, CommandSpec]:
        """The service's commands and their models."""
        return self._specs

    async def send(self, request: CommandRequest) -> CommandOutcome:
        """Parse, handle and describe one command; an empty tenant means "no tenant" (unscoped streams)."""
        command = self.runner.parse(request.command, request.payload)
        result = await self.runner.handle(
            command,
            command_id=request.command_id,
            correlation_id=request.correlation_id,
            causation_id=request.causation_id,
            traceparent=request.traceparent,
            tenant=request.tenant or None,
        )
        checkpoint = getattr(result, "checkpoint", None)
        last = getattr(result, "last_position", None)
        position = str(checkpoint) if checkpoint is not None else (str(last) if last is not None else None)
        return CommandOutcome(
            command_id=result.command_id,
            stream=result.stream,
            version=result.version,
            position=position,
            events=tuple({"id": r.id, "type": r.type} for r in getattr(result, "records", ())),
            duplicate=bool(getattr(result, "duplicate", False)),
        )

    async def status(self) -> EndpointStatus:
        """The lifecycle state and replay progress."""
        progress = self.runner.progress
        state = progress.state
        return EndpointStatus(
            state=str(getattr(state, "value", state)),
            progress={"events_done": progress.events_done, "events_behind": progress.events_behind},
        )


class Queries(Protocol):
    """What the view endpoint needs of the query side (``ViewQueries`` has this shape)."""

    async def lookup(
        self, view: str, key: str, *, tenant: str | None = None, min_position: Any = None
    ) -> Any:
        """The row (``.key``, ``.row``, ``.position``); raises NotFound, or a retryable refusal."""
        ...

    def tenant_scoped(self, view: str) -> bool:
        """Whether the view scopes keys to the asking tenant itself."""
        ...

    async def position(self, view: str) -> Any:
        """The checkpoint the view's active slot has reached; None while it has no built version yet."""
        ...


class QueriesEndpoint:
    """One view of a :class:`Queries` as a :class:`~riverbed.application.endpoints.ViewEndpoint`.

    The gateway sends tenant-scoped keys (``tenant:key``) and the endpoint reads exactly that stored key,
    whatever the view: a tenant-scoped view is handed the caller's key and tenant (it adds the same
    ``tenant:`` prefix itself), any other view is handed the scoped key as is. So a view whose projection
    keys rows without a tenant answers 404 through the gateway rather than one tenant another's row.
    """

    def __init__(self, queries: Queries, view: str) -> None:
        self.queries = queries
        self.name = view

    async def get(self, request: ViewRequest) -> ViewRow:
        """Look the row up, at least at ``request.min_position``."""
        if self.queries.tenant_scoped(self.name):
            key, tenant = unscoped(request.tenant, request.key), request.tenant
        else:
            key, tenant = request.key, None
        answer = await self.queries.lookup(self.name, key, tenant=tenant, min_position=request.min_position)
        stored = scoped(request.tenant, answer.key) if tenant is not None else answer.key
        return ViewRow(key=stored, data=dict(answer.row), position=answer.position)

    async def status(self) -> EndpointStatus:
        """Replaying until the view's first build is done (reads would be refused), then ready."""
        position = await self.queries.position(self.name)
        if position is None:
            return EndpointStatus(
                state="replaying", detail=f"view {self.name!r} is building its first version"
            )
        return EndpointStatus(state="ready", detail=f"at position {position}")
