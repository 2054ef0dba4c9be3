"""Folding a process stream: the last state, the messages already handled and the timers still pending.

Every transition event carries the whole new state, so the state is simply the last one (decoded once, at
the end). The handled messages make redelivery a no-op; the pending timers let the host refuse a timer that
was cancelled, replaced or already fired, whoever asks it to fire.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from riverbed.application.processes.records import TRANSITION_TYPE, TransitionRecord
from riverbed.domain.serialization import from_data
from riverbed.ports.event_store import Checkpoint, RecordedEvent

S = TypeVar("S")


@dataclass(frozen=True, slots=True)
class HandledAt:
    """Where the transition that answered one message is stored."""

    event_id: str
    version: int
    checkpoint: Checkpoint


@dataclass(frozen=True, slots=True)
class PendingTimer:
    """A timer that is set and has neither fired nor been cancelled.

    ``set_by`` is the id of the transition event that set it; ``correlation_id`` that transition's.
    """

    name: str
    due_at: datetime
    set_by: str
    correlation_id: str | None


@dataclass(slots=True)
class ProcessFold(Generic[S]):
    """One process instance as its stream tells it."""

    state: S
    version: int | None = None
    handled: dict[str, HandledAt] = field(default_factory=dict)
    pending: dict[str, PendingTimer] = field(default_factory=dict)
    correlation_id: str | None = None


def apply_timers(
    pending: dict[str, PendingTimer],
    record: TransitionRecord,
    *,
    event_id: str,
    correlation_id: str | None,
) -> None:
    """Apply one transition's timer changes: the fired one goes, then cancellations, then new deadlines."""
    if record.fired is not None:
        pending.pop(record.fired, None)
    for name in record.timers_cancelled:
        pending.pop(name, None)
    for timer in record.timers_set:
        pending[timer.name] = PendingTimer(timer.name, timer.due_at, event_id, correlation_id)


def fold_process(
    records: list[RecordedEvent], *, initial: Callable[[], S], state_type: type[S], source: str
) -> ProcessFold[S]:
    """Fold the stored events of one process stream (events of other types or sources are skipped)."""
    folded: ProcessFold[S] = ProcessFold(state=initial())
    last_state: Mapping[str, Any] | None = None
    for stored in records:
        event = stored.event
        folded.version = stored.version
        if event.type != TRANSITION_TYPE or event.source != source:
            continue
        record = TransitionRecord.from_data(event.data)
        correlation = event.extensions.get("correlationid")
        correlation_id = correlation if isinstance(correlation, str) else None
        folded.handled[record.message.key] = HandledAt(event.id, stored.version, stored.checkpoint)
        apply_timers(folded.pending, record, event_id=event.id, correlation_id=correlation_id)
        folded.correlation_id = correlation_id
        last_state = record.state
    if last_state is not None:
        folded.state = from_data(state_type, dict(last_state))
    return folded
