"""Build a view slot from the start of the global order: the rebuild half of "re-hydrate, don't migrate".

:func:`build_view` fills a brand-new slot beside the one serving queries, reports progress, activates
the new slot once it has caught up with the store, and then drops the old one. Readers never see a
half-built view: until the cut-over they read the old slot, after it the new one.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from riverbed.application.projections.projection import Projection
from riverbed.application.projections.projector import BatchOutcome, Projector
from riverbed.ports.event_store import START, Checkpoint, EventStore, RecordedEvent
from riverbed.ports.views import SlotState, ViewStore

DEFAULT_BATCH = 1000


@dataclass(frozen=True, slots=True)
class BuildProgress:
    """How far a build has come: events passed, the store's head position when last looked at, rate."""

    name: str
    slot: str
    done: int
    position: int
    head: int
    rate: float
    """Events per second since the build started."""

    @property
    def eta_seconds(self) -> float | None:
        """Seconds left at the current rate, or None before the rate is known."""
        if self.rate <= 0:
            return None
        return max(0, self.head - self.position) / self.rate


ProgressCallback = Callable[[BuildProgress], None]


def new_slot_id(projection: Projection, token: str | None = None) -> str:
    """A fresh slot name for ``projection``: ``name.vVERSION.TOKEN``."""
    return f"{projection.name}.v{projection.version}.{token or uuid.uuid4().hex[:8]}"


async def catch_up(
    store: EventStore,
    projector: Projector,
    after: Checkpoint,
    *,
    batch_size: int = DEFAULT_BATCH,
    on_batch: Callable[[BatchOutcome, Sequence[RecordedEvent]], None] | None = None,
) -> Checkpoint:
    """Apply everything after ``after`` in batches until the store has nothing more; returns the checkpoint.

    Raises the projector's :class:`~riverbed.errors.ProjectionError` when an event stops the projection
    (what came before it is committed).
    """
    checkpoint = after

    async def read(start: Checkpoint) -> list[RecordedEvent]:
        return [r async for r in store.read_all(after=start, limit=batch_size)]

    records = await read(checkpoint)
    while records:
        # Read the next batch while this one is folded and committed: the store and the view store work
        # at the same time. A batch that stops early makes the read-ahead useless, so it is cancelled.
        ahead = asyncio.ensure_future(read(records[-1].checkpoint)) if len(records) == batch_size else None
        try:
            outcome = await projector.apply(records)
        except BaseException:
            if ahead is not None:
                ahead.cancel()
                await asyncio.gather(ahead, return_exceptions=True)
            raise
        if outcome.checkpoint is not None:
            checkpoint = outcome.checkpoint
        if on_batch is not None:
            on_batch(outcome, records[: outcome.passed])
        if outcome.failure is not None:
            if ahead is not None:
                ahead.cancel()
                await asyncio.gather(ahead, return_exceptions=True)
            raise outcome.failure
        if ahead is None:
            return checkpoint
        records = await ahead
    return checkpoint


async def build_view(
    store: EventStore,
    views: ViewStore,
    projection: Projection,
    *,
    batch_size: int = DEFAULT_BATCH,
    progress: ProgressCallback | None = None,
    slot: str | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> SlotState:
    """Build ``projection`` into a new slot, cut over to it, drop the others; returns the new slot's state.

    If an event stops the build (a failing handler), the new slot is dropped, the old one keeps serving,
    and the :class:`~riverbed.errors.ProjectionError` is raised.
    """
    slot_id = slot or new_slot_id(projection)
    await views.create_slot(slot_id, name=projection.name, version=projection.version)
    projector = Projector(projection, views, slot_id, after=START)
    started = clock()
    head = (await store.stats()).last_position
    done = 0

    def on_batch(outcome: BatchOutcome, records: Sequence[RecordedEvent]) -> None:
        nonlocal done, head
        done += outcome.passed
        position = records[-1].position if records else 0
        head = max(head, position)
        if progress is not None:
            elapsed = clock() - started
            rate = done / elapsed if elapsed > 0 else 0.0
            progress(BuildProgress(projection.name, slot_id, done, position, head, rate))

    try:
        checkpoint = await catch_up(store, projector, START, batch_size=batch_size, on_batch=on_batch)
    except BaseException:
        await views.drop_slot(slot_id)
        raise
    await cut_over(views, projection.name, slot_id)
    if progress is not None:
        elapsed = clock() - started
        rate = done / elapsed if elapsed > 0 else 0.0
        at = checkpoint.position
        progress(BuildProgress(projection.name, slot_id, done, at, at, rate))
    states = [s for s in await views.slots(projection.name) if s.slot == slot_id]
    return states[0]


async def cut_over(views: ViewStore, name: str, slot: str) -> None:
    """Make ``slot`` serve ``name`` and drop every other slot of ``name`` (one step of the view store)."""
    await views.activate(name, slot)
