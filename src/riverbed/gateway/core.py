"""The gateway's working parts in one object: endpoints, models, health table, idempotency, settings.

Route handlers get this object, never globals, so several gateways can live in one process (tests) and
every clock and id factory is injected.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from riverbed.application.endpoints import (
    CommandEndpoint,
    CommandOutcome,
    CommandRequest,
    ViewEndpoint,
    ViewRequest,
    ViewRow,
    refusal_progress,
    refusal_state,
)
from riverbed.application.ingress import EventSink
from riverbed.application.tenancy import tenant_of, unscoped
from riverbed.errors import RiverbedError, ServiceUnavailable, UpstreamUnavailable, ValidationError
from riverbed.gateway.breaker import CircuitBreaker
from riverbed.gateway.deadlines import Deadlines
from riverbed.gateway.errors import UpstreamTimeout
from riverbed.gateway.health import DOWN, HealthTable
from riverbed.gateway.idempotency import IdempotencyCache
from riverbed.gateway.models import CommandModel
from riverbed.runtime.gateway_settings import GatewaySettings

T = TypeVar("T")


class CommandIds:
    """Unique command ids, cheaply: a random 128-bit prefix per gateway and a counter."""

    def __init__(self) -> None:
        self._prefix = uuid.uuid4().hex
        self._count = itertools.count(1)

    def __call__(self) -> str:
        """The next id."""
        return f"{self._prefix}-{next(self._count)}"


def new_command_id() -> str:
    """A random command id."""
    return str(uuid.uuid4())


@dataclass
class Gateway:
    """Everything a request needs."""

    settings: GatewaySettings
    health: HealthTable
    idempotency: IdempotencyCache
    services: Mapping[str, CommandEndpoint]
    views: Mapping[str, ViewEndpoint]
    sink: EventSink | None = None
    ids: Callable[[], str] = new_command_id
    models: dict[tuple[str, str], CommandModel] = field(default_factory=dict)
    deadlines: Deadlines = field(default_factory=Deadlines)

    def __post_init__(self) -> None:
        for name, service in self.services.items():
            for command, spec in service.commands().items():
                self.models[(name, command)] = CommandModel(command, spec.model)
        self._deadlines = {u.name: u.deadline_seconds for u in self.settings.upstreams}

    def deadline(self, name: str) -> float:
        """The deadline of calls to an upstream."""
        return self._deadlines.get(name, self.settings.default_deadline_seconds)

    async def send(self, service: str, breaker: CircuitBreaker, request: CommandRequest) -> CommandOutcome:
        """Send a command with a deadline, feeding the circuit breaker and the health table.

        The outcome's stream is still tenant-scoped (checked to be the caller's tenant's).
        """
        outcome = await self._guarded(service, breaker, self.services[service].send(request))
        if outcome.stream is not None and tenant_of(outcome.stream) != request.tenant:
            raise RuntimeError(
                f"service {service!r} answered tenant {request.tenant!r} with another tenant's stream "
                f"{outcome.stream!r}"
            )
        return outcome

    async def _guarded(self, name: str, breaker: CircuitBreaker, call: Awaitable[T]) -> T:
        """Await an upstream call within its deadline, feeding its circuit breaker and the health table.

        A timeout or an unexpected exception counts as a failure; a riverbed error (a refusal the
        upstream chose to give) counts as a success, except a down upstream (see ``_unavailable``).
        """
        deadline = self._deadlines.get(name, self.settings.default_deadline_seconds)
        try:
            result = await self.deadlines.run(deadline, call)
        except TimeoutError:
            breaker.record_failure()
            raise UpstreamTimeout(name, deadline) from None
        except ServiceUnavailable as exc:
            raise self._unavailable(name, breaker, exc) from exc
        except RiverbedError:
            breaker.record_success()
            raise
        except Exception:
            breaker.record_failure()
            raise
        breaker.record_success()
        return result

    def _unavailable(
        self, name: str, breaker: CircuitBreaker, exc: ServiceUnavailable
    ) -> UpstreamUnavailable:
        """A down upstream counts against its breaker and the health table; a replaying one does not."""
        if isinstance(exc, UpstreamUnavailable) and exc.state == DOWN:
            breaker.record_failure()
            self.health.mark_down(name, exc.reason or str(exc))
            return exc
        breaker.record_success()
        return exc if isinstance(exc, UpstreamUnavailable) else refusal(name, exc)

    async def read(self, view: str, breaker: CircuitBreaker, request: ViewRequest) -> ViewRow:
        """Read a view row with a deadline; the row must belong to the request's tenant."""
        row = await self._guarded(view, breaker, self.views[view].get(request))
        try:
            key = unscoped(request.tenant, row.key)
        except ValidationError:
            raise RuntimeError(
                f"view {view!r} answered tenant {request.tenant!r} with another tenant's row"
            ) from None
        return ViewRow(key=key, data=row.data, position=row.position)


def refusal(service: str, exc: ServiceUnavailable) -> UpstreamUnavailable:
    """A service's own retryable refusal (replaying, draining, behind) as the gateway's 503."""
    return UpstreamUnavailable(
        service,
        state=refusal_state(exc),
        retry_after=exc.retry_after,
        progress=refusal_progress(exc),
        reason=str(exc),
    )
