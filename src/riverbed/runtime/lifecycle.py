"""The lifecycle of a service: ``starting -> replaying -> ready -> draining -> stopped``.

:class:`Lifecycle` is the state machine and the in-flight counter; :class:`ServiceRunner` puts it in front
of a :class:`~riverbed.application.command_service.CommandService`:

* **starting**: built, not yet replaying. Commands are refused with
  :class:`~riverbed.errors.ServiceStarting`.
* **replaying**: folding what the service needs before it can decide (its processed-commands index, from
  the store's global log). Commands are refused *at once* with :class:`~riverbed.errors.ServiceReplaying`,
  which carries the progress (events done, events behind) and a retry hint, so a gateway can answer 503 +
  Retry-After in milliseconds instead of queueing work on a service that cannot do it yet.
* **ready**: commands are handled.
* **draining**: in-flight commands finish; new ones are refused with
  :class:`~riverbed.errors.ServiceDraining`.
* **stopped**: everything is refused with ServiceDraining.

Readiness and progress are plain attributes (:attr:`Lifecycle.progress`), cheap enough to serve from a
health endpoint or a heartbeat on every request.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from riverbed.application.command_models import CommandModel
from riverbed.application.command_result import CommandResult
from riverbed.application.command_service import CommandService
from riverbed.errors import ServiceDraining, ServiceReplaying, ServiceStarting


class LifecycleState(enum.Enum):
    """Where a service is in its life."""

    STARTING = "starting"
    REPLAYING = "replaying"
    READY = "ready"
    DRAINING = "draining"
    STOPPED = "stopped"

    def __str__(self) -> str:
        return self.value


_NEXT: dict[LifecycleState, frozenset[LifecycleState]] = {
    LifecycleState.STARTING: frozenset({LifecycleState.REPLAYING, LifecycleState.DRAINING}),
    LifecycleState.REPLAYING: frozenset({LifecycleState.READY, LifecycleState.DRAINING}),
    LifecycleState.READY: frozenset({LifecycleState.REPLAYING, LifecycleState.DRAINING}),
    LifecycleState.DRAINING: frozenset({LifecycleState.STOPPED}),
    LifecycleState.STOPPED: frozenset(),
}


@dataclass(frozen=True, slots=True)
class Progress:
    """A snapshot of a service's lifecycle for health checks and dashboards."""

    service: str
    state: LifecycleState
    events_done: int
    events_behind: int
    in_flight: int

    @property
    def ready(self) -> bool:
        """Whether the service takes commands now."""
        return self.state is LifecycleState.READY

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "service": self.service,
            "state": self.state.value,
            "ready": self.ready,
            "events_done": self.events_done,
            "events_behind": self.events_behind,
            "in_flight": self.in_flight,
        }


class Lifecycle:
    """The state machine, the replay progress and the count of commands in flight."""

    def __init__(self, service: str, *, retry_after: float = 1.0) -> None:
        self.service = service
        self.retry_after = retry_after
        self.state = LifecycleState.STARTING
        self.events_done = 0
        self.events_behind = 0
        self.in_flight = 0
        self._idle: asyncio.Event | None = None
        self._listeners: list[Callable[[Progress], None]] = []

    @property
    def progress(self) -> Progress:
        """The current state and counters."""
        return Progress(self.service, self.state, self.events_done, self.events_behind, self.in_flight)

    def on_change(self, listener: Callable[[Progress], None]) -> None:
        """Call ``listener`` with the new progress after every state change."""
        self._listeners.append(listener)

    def move(self, state: LifecycleState) -> None:
        """Go to ``state``; refuses a transition the lifecycle does not allow."""
        if state is self.state:
            return
        if state not in _NEXT[self.state]:
            raise RuntimeError(f"service {self.service!r} cannot go from {self.state} to {state}")
        self.state = state
        for listener in self._listeners:
            listener(self.progress)

    def report(self, done: int, behind: int) -> None:
        """Record replay progress."""
        self.events_done = done
        self.events_behind = behind

    def admit(self) -> None:
        """Let one command in, or raise the retryable refusal of the current state."""
        state = self.state
        if state is LifecycleState.READY:
            self.in_flight += 1
            return
        if state is LifecycleState.REPLAYING:
            raise ServiceReplaying(
                self.service,
                events_done=self.events_done,
                events_behind=self.events_behind,
                retry_after=self.retry_after,
            )
        if state is LifecycleState.STARTING:
            raise ServiceStarting(f"service {self.service!r} is starting; retry shortly", retry_after=1.0)
        raise ServiceDraining(
            f"service {self.service!r} is {state}; send the command to another replica or retry later",
            retry_after=self.retry_after,
        )

    def done(self) -> None:
        """One admitted command finished."""
        self.in_flight -= 1
        if self.in_flight == 0 and self._idle is not None:
            self._idle.set()

    async def drain(self, *, grace: float | None = None) -> None:
        """Refuse new commands and wait (at most ``grace`` seconds) for the in-flight ones."""
        if self.state is not LifecycleState.STOPPED:
            self.move(LifecycleState.DRAINING)
        if self.in_flight:
            self._idle = asyncio.Event()
            try:
                await asyncio.wait_for(self._idle.wait(), grace)
            finally:
                self._idle = None
        if self.state is LifecycleState.DRAINING:
            self.move(LifecycleState.STOPPED)


class ServiceRunner:
    """A command service behind its lifecycle: the object a gateway or a worker process drives.

    ``commands`` maps command names to their boundary models; ``handle`` admits, runs and counts a
    command; ``start`` replays and becomes ready; ``stop`` drains.
    """

    def __init__(self, service: CommandService[Any], *, retry_after: float = 1.0) -> None:
        self.service = service
        self.lifecycle = Lifecycle(service.name, retry_after=retry_after)

    @property
    def name(self) -> str:
        """The service name."""
        return self.service.name

    @property
    def commands(self) -> Mapping[str, CommandModel]:
        """Command name -> boundary model (``.command_type``, ``.parse``, ``.json_schema()``)."""
        return self.service.models

    @property
    def state(self) -> LifecycleState:
        """The lifecycle state."""
        return self.lifecycle.state

    @property
    def progress(self) -> Progress:
        """State, replay progress and in-flight count."""
        return self.lifecycle.progress

    @property
    def ready(self) -> bool:
        """Whether commands are taken now."""
        return self.lifecycle.state is LifecycleState.READY

    async def start(self) -> None:
        """Replay what the service must fold, then become ready."""
        lifecycle = self.lifecycle
        lifecycle.move(LifecycleState.REPLAYING)
        await self.service.replay(on_progress=lifecycle.report)
        lifecycle.report(self.service.index.events_done, 0)
        lifecycle.move(LifecycleState.READY)

    async def stop(self, *, grace: float | None = None) -> None:
        """Drain: finish in-flight commands (waiting at most ``grace`` seconds), refuse new ones, stop."""
        await self.lifecycle.drain(grace=grace)

    def parse(self, command_name: str, payload: Mapping[str, Any]) -> Any:
        """Validate a JSON payload into a command of this service."""
        return self.service.parse(command_name, payload)

    async def handle(
        self,
        command: Any,
        *,
        command_id: str,
        correlation_id: str | None = None,
        causation_id: str | None = None,
        traceparent: str | None = None,
        tenant: str | None = None,
    ) -> CommandResult:
        """Handle ``command`` if the service is ready, else raise a retryable ServiceUnavailable."""
        self.lifecycle.admit()
        try:
            return await self.service.handle(
                command,
                command_id=command_id,
                correlation_id=correlation_id,
                causation_id=causation_id,
                traceparent=traceparent,
                tenant=tenant,
            )
        finally:
            self.lifecycle.done()
