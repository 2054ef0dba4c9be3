"""The relay: the event store's global order is the outbox, and the relay publishes it to the rapids.

It tails ``store.subscribe(after=checkpoint)`` from its durable checkpoint and publishes in batches, with
several batches in flight at once (never one awaited acknowledgement at a time). A checkpoint is saved
only after the broker accepted every event up to it, in order, so a crash loses nothing: the restarted
relay publishes the tail again, the broker's duplicate window (``Nats-Msg-Id`` = CloudEvent id) drops
most repeats and the consumers' inboxes make the rest harmless. ``lag()`` says how far behind it is.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Sequence
from typing import Any

from riverbed.cloudevents.event import CloudEvent
from riverbed.ports.bus import Bus
from riverbed.ports.event_store import Checkpoint, EventStore, RecordedEvent
from riverbed.ports.outbox import RelayCheckpoints


class Relay:
    """Publish the store's global order to the rapids, from a durable checkpoint."""

    def __init__(
        self,
        store: EventStore,
        bus: Bus,
        checkpoints: RelayCheckpoints,
        *,
        name: str = "relay",
        batch_size: int = 1000,
        batches_in_flight: int = 4,
    ) -> None:
        if batch_size < 1 or batches_in_flight < 1:
            raise ValueError("batch_size and batches_in_flight must be at least 1")
        self.store = store
        self.bus = bus
        self.checkpoints = checkpoints
        self.name = name
        self.batch_size = batch_size
        self.batches_in_flight = batches_in_flight
        self.checkpoint: Checkpoint | None = None
        self.published = 0
        """Events published by this relay object (republished ones included)."""

    async def lag(self) -> int:
        """Events committed to the store but not yet confirmed published (by global position)."""
        last = (await self.store.stats()).last_position
        done = self.checkpoint.position if self.checkpoint is not None else 0
        return max(0, last - done)

    async def run(self, *, stop: asyncio.Event | None = None) -> None:
        """Follow the store forever (or until ``stop`` is set); saves a checkpoint after each batch."""
        self.checkpoint = await self.checkpoints.load(self.name)
        queue: asyncio.Queue[RecordedEvent] = asyncio.Queue(maxsize=self.batch_size * self.batches_in_flight)
        reader = asyncio.create_task(self._read(queue), name=f"{self.name}-reader")
        stopper = asyncio.create_task(stop.wait()) if stop is not None else None
        pending: deque[tuple[asyncio.Task[None], Checkpoint]] = deque()
        # one getter at a time, kept across iterations: a getter that is cancelled after it took an event
        # from the queue would lose that event while later checkpoints move past it
        getter: asyncio.Task[RecordedEvent] | None = None
        try:
            while stop is None or not stop.is_set():
                if getter is None:
                    getter = asyncio.create_task(queue.get())
                waiters: set[asyncio.Future[Any]] = {getter, reader}
                if stopper is not None:
                    waiters.add(stopper)
                if pending:
                    waiters.add(pending[0][0])
                await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
                if reader.done():
                    reader.result()  # re-raise the store's error
                    raise RuntimeError("the store subscription ended; subscriptions never end by themselves")
                while pending and pending[0][0].done():
                    await self._settle(pending.popleft())
                if not getter.done():
                    continue
                batch = [getter.result()]
                getter = None
                while len(batch) < self.batch_size and not queue.empty():
                    batch.append(queue.get_nowait())
                if len(pending) >= self.batches_in_flight:
                    await self._settle(pending.popleft())
                events = [rec.event for rec in batch]
                pending.append((asyncio.create_task(self._publish(events)), batch[-1].checkpoint))
            while pending:
                await self._settle(pending.popleft())
        finally:
            for task in (reader, stopper, getter):
                if task is not None:
                    task.cancel()
            for task, _ in pending:
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader

    async def run_until_caught_up(self) -> int:
        """Publish everything committed so far, then return how many events were published."""
        self.checkpoint = await self.checkpoints.load(self.name)
        before = self.published
        cursor = self.checkpoint
        pending: deque[tuple[asyncio.Task[None], Checkpoint]] = deque()
        while True:
            batch = [rec async for rec in self.store.read_all(after=cursor, limit=self.batch_size)]
            if not batch:
                break
            if len(pending) >= self.batches_in_flight:
                await self._settle(pending.popleft())
            pending.append(
                (asyncio.create_task(self._publish([r.event for r in batch])), batch[-1].checkpoint)
            )
            cursor = batch[-1].checkpoint  # read on while this batch is still in flight
        while pending:
            await self._settle(pending.popleft())
        return self.published - before

    async def _read(self, queue: asyncio.Queue[RecordedEvent]) -> None:
        async for record in self.store.subscribe(after=self.checkpoint):
            await queue.put(record)

    async def _publish(self, events: Sequence[CloudEvent]) -> None:
        await self.bus.publish(events)
        self.published += len(events)

    async def _settle(self, item: tuple[asyncio.Task[None], Checkpoint]) -> None:
        task, checkpoint = item
        await task
        await self.checkpoints.save(self.name, checkpoint)
        self.checkpoint = checkpoint
