"""A process host as a command endpoint: callers (the gateway, other services) start processes by command.

The endpoint accepts the manager's ``starts`` commands (wire name = class name) and only while the host is
``ready``: until its dispatcher has caught up the pending timers after a start, it refuses at once with a
retryable error, like every other service, and says so in its status.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from riverbed.application.command_models import CommandModel
from riverbed.application.endpoints import CommandOutcome, CommandRequest, CommandSpec, EndpointStatus
from riverbed.application.processes.host import ProcessHost
from riverbed.errors import ServiceDraining, ServiceReplaying, ServiceStarting, UnknownCommand


class ProcessEndpoint:
    """A :class:`~riverbed.application.endpoints.CommandEndpoint` named after the process manager."""

    def __init__(self, host: ProcessHost[Any], *, retry_after: float = 1.0) -> None:
        self.host = host
        self.name = host.name
        self.retry_after = retry_after
        self._models = {cls.__name__: CommandModel(cls) for cls in host.manager.starts}
        self._specs = {
            name: CommandSpec(name, model.command_type, (model.command_type.__doc__ or "").strip())
            for name, model in self._models.items()
        }

    def commands(self) -> Mapping[str, CommandSpec]:
        """The commands that start (or advance) a process."""
        return self._specs

    async def send(self, request: CommandRequest) -> CommandOutcome:
        """Validate the command and hand it to the host; refused (retryable) unless the host is ready."""
        self._admit()
        model = self._models.get(request.command)
        if model is None:
            raise UnknownCommand(
                f"process {self.name!r} has no command {request.command!r}; it takes {sorted(self._models)}"
            )
        command = model.parse(request.payload)
        return await self.host.start_command(
            command,
            command_id=request.command_id,
            tenant=request.tenant or None,
            correlation_id=request.correlation_id,
            traceparent=request.traceparent,
        )

    async def status(self) -> EndpointStatus:
        """The host's lifecycle state (driven by its dispatcher)."""
        host = self.host
        return EndpointStatus(
            state=host.lifecycle, progress=dict(host.lifecycle_progress) or None, detail=host.lifecycle_detail
        )

    def _admit(self) -> None:
        state = self.host.lifecycle
        if state == "ready":
            return
        detail = f" ({self.host.lifecycle_detail})" if self.host.lifecycle_detail else ""
        message = f"process {self.name!r} is {state}{detail}; retry shortly"
        if state == "replaying":
            progress = self.host.lifecycle_progress
            raise ServiceReplaying(
                self.name,
                events_done=progress.get("events_done", 0),
                events_behind=progress.get("events_behind", 0),
                retry_after=self.retry_after,
            )
        if state == "starting":
            raise ServiceStarting(message, retry_after=self.retry_after)
        raise ServiceDraining(message, retry_after=self.retry_after)
