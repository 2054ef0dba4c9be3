"""The observable state of one projection: what health checks and metrics read."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from riverbed.ports.event_store import START, Checkpoint


class ProjectionState(enum.Enum):
    """Where a projection is in its life."""

    STARTING = "starting"
    REPLAYING = "replaying"
    """Catching up with the store; a pre-loaded view is not ready yet."""
    REBUILDING = "rebuilding"
    """Filling a new slot while the old one keeps serving queries."""
    LIVE = "live"
    """Caught up and following new events."""
    FAILED = "failed"
    """Stopped on an event (see ``failed_at``) until fixed or skipped."""
    STOPPED = "stopped"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class ProjectionStatus:
    """A snapshot of one projection's progress, lag and failure."""

    name: str
    version: int
    slot: str | None
    state: ProjectionState
    checkpoint: Checkpoint = START
    events_applied: int = 0
    lag_events: int = 0
    lag_seconds: float = 0.0
    failed_at: str | None = None
    error: str | None = None
    ready: bool = False
    """True once the projection has caught up at least once (a pre-loaded view can answer)."""


def names_event(given: Checkpoint, failed: Checkpoint) -> bool:
    """Whether an operator's ``given`` position names the ``failed`` event.

    A position without a commit part (``"42"``, what people type) names the event at that global position
    on every store, since global positions are unique; a full checkpoint must match exactly.
    """
    return given == failed or (given.commit == 0 and given.position == failed.position)
