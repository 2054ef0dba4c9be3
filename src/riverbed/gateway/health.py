"""The health table: what the gateway knows about each upstream, so it can refuse at once.

Each upstream (a service or a view) has a lifecycle state from its heartbeats (``starting``,
``replaying``, ``ready``, ``draining``, ``stopped``), or ``down`` when a probe failed or no heartbeat came
for ``down_after`` seconds, plus a circuit breaker over its calls. :meth:`HealthTable.check` is what every
request goes through first: it costs a dict lookup and a clock read, and raises
:class:`~riverbed.errors.UpstreamUnavailable` (a 503 with ``Retry-After``) for anything but a ready,
closed-circuit upstream. Heartbeats may come from the gateway's own probes or from the bus.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from riverbed.application.endpoints import EndpointStatus
from riverbed.errors import NotFound, UpstreamUnavailable
from riverbed.gateway.breaker import BreakerState, CircuitBreaker

Clock = Callable[[], float]
Kind = Literal["service", "view"]
READY = "ready"
DOWN = "down"
UNKNOWN = "unknown"


@dataclass(slots=True)
class UpstreamHealth:
    """One row of the table."""

    name: str
    kind: Kind
    breaker: CircuitBreaker
    state: str = UNKNOWN
    progress: Mapping[str, Any] | None = None
    detail: str = "no heartbeat yet"
    last_heartbeat: float | None = None
    changes: list[tuple[float, str]] = field(default_factory=list)


class HealthTable:
    """Lifecycle state, heartbeat age and circuit breaker of every upstream."""

    def __init__(
        self,
        *,
        clock: Clock = time.monotonic,
        down_after: float = 1.5,
        breaker_failures: int = 5,
        breaker_cooldown: float = 2.0,
        retry_after: float = 1.0,
    ) -> None:
        self.clock = clock
        self.down_after = down_after
        self.breaker_failures = breaker_failures
        self.breaker_cooldown = breaker_cooldown
        self.retry_after = retry_after
        self._rows: dict[str, UpstreamHealth] = {}

    def register(self, name: str, kind: Kind) -> None:
        """Add an upstream (state unknown until its first heartbeat)."""
        breaker = CircuitBreaker(
            failures=self.breaker_failures, cooldown=self.breaker_cooldown, clock=self.clock
        )
        self._rows[name] = UpstreamHealth(name=name, kind=kind, breaker=breaker)

    def names(self) -> list[str]:
        """Registered upstream names."""
        return list(self._rows)

    def heartbeat(self, name: str, status: EndpointStatus) -> None:
        """Record a heartbeat carrying the upstream's lifecycle state."""
        row = self._row(name)
        self._set(row, status.state, status.detail)
        row.progress = status.progress
        row.last_heartbeat = self.clock()

    def mark_down(self, name: str, reason: str) -> None:
        """Record that the upstream cannot be reached."""
        row = self._row(name)
        self._set(row, DOWN, reason)
        row.progress = None

    def state(self, name: str) -> str:
        """The upstream's state now; a heartbeat older than ``down_after`` means down."""
        row = self._row(name)
        return self._effective(row)

    def check(self, name: str) -> CircuitBreaker:
        """Raise UpstreamUnavailable unless the upstream is ready and its circuit lets a call through."""
        row = self._row(name)
        current = self._effective(row)
        if current != READY:
            progress = dict(row.progress) if row.progress and current == "replaying" else None
            raise UpstreamUnavailable(
                name,
                state=current,
                retry_after=self.retry_after,
                progress=progress,
                reason=row.detail or None,
            )
        if not row.breaker.allow():
            raise UpstreamUnavailable(
                name,
                state=current,
                retry_after=max(row.breaker.retry_after(), 0.001),
                reason="its circuit breaker is open after repeated failures",
            )
        return row.breaker

    def snapshot(self) -> list[dict[str, Any]]:
        """The table as JSON-ready rows (``/readyz``)."""
        now = self.clock()
        return [
            {
                "name": row.name,
                "kind": row.kind,
                "state": self._effective(row),
                "detail": row.detail,
                "progress": dict(row.progress) if row.progress else None,
                "heartbeat_age_seconds": None
                if row.last_heartbeat is None
                else round(now - row.last_heartbeat, 3),
                "circuit": row.breaker.state.value,
            }
            for row in self._rows.values()
        ]

    def all_ready(self) -> bool:
        """Whether every upstream is ready with a closed circuit."""
        return all(
            self._effective(r) == READY and r.breaker.state is BreakerState.CLOSED
            for r in self._rows.values()
        )

    def _effective(self, row: UpstreamHealth) -> str:
        if row.state not in (DOWN, UNKNOWN) and (
            row.last_heartbeat is None or self.clock() - row.last_heartbeat > self.down_after
        ):
            return DOWN
        return row.state

    def _set(self, row: UpstreamHealth, new_state: str, detail: str) -> None:
        if row.state != new_state:
            row.changes.append((self.clock(), new_state))
            del row.changes[:-20]
        row.state = new_state
        row.detail = detail

    def _row(self, name: str) -> UpstreamHealth:
        try:
            return self._rows[name]
        except KeyError:
            raise NotFound(f"no upstream named {name!r}; known: {sorted(self._rows)}") from None
