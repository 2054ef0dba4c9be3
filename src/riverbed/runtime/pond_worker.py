"""The pond worker: fetch deliveries, run the handler, settle each one; retry with backoff, then park.

A handler that returns normally acks its delivery; one that raises is retried after an exponential
backoff with jitter (the pond's :class:`~riverbed.ports.topology.RetryPolicy`), and once the allowed
deliveries are spent the event is parked with the error as the reason. A poison event never blocks its
pond: the worker keeps fetching and handling other events while one waits for its retry.

* Unordered ponds retry through the bus: ``nack(delay)``, and the bus delivers the event again later.
* Ordered ponds (``Pond.ordered``) keep each stream (CloudEvent ``subject``) in order: the events of one
  stream go through one lane, one after another, and a failing event is retried *in its lane* (the worker
  sleeps out the backoff, telling the bus it is still working with ``keep_alive``) so that later events
  of the same stream cannot overtake it. Other streams go on meanwhile.

``Pond.concurrency`` bounds how many handlers run at once; ``max_outstanding`` bounds how many deliveries
the worker holds (fetched but not yet settled).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random as random_module
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from riverbed.cloudevents.event import CloudEvent
from riverbed.ports.bus import Bus, Delivery
from riverbed.ports.topology import Pond

_log = logging.getLogger("riverbed.pond")

Handler = Callable[[CloudEvent], Awaitable[None]]
"""An event handler: returns when the event was handled; raises to have it retried."""


@dataclass(slots=True)
class PondWorkerStats:
    """What a worker did: events handled, failed attempts retried, events parked, failed settlements."""

    handled: int = 0
    retried: int = 0
    parked: int = 0
    settle_errors: int = 0


class PondWorker:
    """Consume one pond with a handler."""

    def __init__(
        self,
        bus: Bus,
        pond: Pond,
        handler: Handler,
        *,
        batch_size: int = 100,
        max_outstanding: int = 500,
        fetch_timeout: float = 0.5,
        random: Callable[[], float] = random_module.random,
    ) -> None:
        self.bus = bus
        self.pond = pond
        self.handler = handler
        self.batch_size = batch_size
        self.max_outstanding = max(max_outstanding, batch_size)
        self.fetch_timeout = fetch_timeout
        self.random = random
        self.stats = PondWorkerStats()
        self._slots = asyncio.Semaphore(pond.concurrency)
        self._lanes: dict[str, deque[Delivery]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._outstanding = 0
        self._room = asyncio.Event()
        self._room.set()

    async def run(self, *, stop: asyncio.Event | None = None) -> None:
        """Consume until ``stop`` is set (or forever); on the way out, finish what was fetched."""
        try:
            while stop is None or not stop.is_set():
                await self._fetch_once()
        finally:
            await self._finish()

    async def drain(self, *, idle_fetches: int = 2) -> PondWorkerStats:
        """Consume until the pond is settled ``idle_fetches`` times in a row, then return the stats.

        Events waiting for a retry count as unsettled, so this also waits out retries.
        """
        idle = 0
        try:
            while idle < idle_fetches:
                if await self._fetch_once() or self._outstanding:
                    idle = 0
                elif (await self.bus.stats(self.pond.name)).settled:
                    idle += 1
        finally:
            await self._finish()
        return self.stats

    async def _fetch_once(self) -> int:
        await self._room.wait()
        room = min(self.batch_size, self.max_outstanding - self._outstanding)
        deliveries = await self.bus.fetch(self.pond.name, max_messages=room, max_wait=self.fetch_timeout)
        for delivery in deliveries:
            self._dispatch(delivery)
        return len(deliveries)

    def _dispatch(self, delivery: Delivery) -> None:
        self._outstanding += 1
        if self._outstanding >= self.max_outstanding:
            self._room.clear()
        if not self.pond.ordered:
            self._spawn(self._unordered(delivery))
            return
        key = delivery.event.subject or ""
        lane = self._lanes.get(key)
        if lane is not None:
            lane.append(delivery)
            return
        self._lanes[key] = deque([delivery])
        self._spawn(self._lane(key))

    def _spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            # settling failed (the bus went away): the delivery is not lost, the bus redelivers it
            self.stats.settle_errors += 1
            _log.warning("pond %s: settling a delivery failed: %r", self.pond.name, exc)

    def _settled(self) -> None:
        self._outstanding -= 1
        if self._outstanding < self.max_outstanding:
            self._room.set()

    async def _finish(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _unordered(self, delivery: Delivery) -> None:
        try:
            error = await self._attempt(delivery)
            if error is None:
                return
            if delivery.attempt >= self.pond.retry.max_deliveries:
                await self._park(delivery, delivery.attempt, error)
            else:
                self.stats.retried += 1
                await delivery.nack(self.pond.retry.delay(delivery.attempt, self.random))
        finally:
            self._settled()

    async def _lane(self, key: str) -> None:
        lane = self._lanes[key]
        try:
            while lane:
                delivery = lane.popleft()
                try:
                    await self._ordered(delivery)
                finally:
                    self._settled()
        finally:
            del self._lanes[key]

    async def _ordered(self, delivery: Delivery) -> None:
        attempt = delivery.attempt
        while True:
            error = await self._attempt(delivery)
            if error is None:
                return
            if attempt >= self.pond.retry.max_deliveries:
                await self._park(delivery, attempt, error)
                return
            self.stats.retried += 1
            await self._wait_alive(delivery, self.pond.retry.delay(attempt, self.random))
            attempt += 1

    async def _attempt(self, delivery: Delivery) -> str | None:
        """Run the handler once; ack on success, return the error text on failure."""
        async with self._slots:
            try:
                await self.handler(delivery.event)
            except Exception as exc:
                return f"{type(exc).__name__}: {exc}"
        self.stats.handled += 1
        await delivery.ack()
        return None

    async def _park(self, delivery: Delivery, attempt: int, error: str) -> None:
        self.stats.parked += 1
        await delivery.park(f"handler failed on attempt {attempt}: {error}")

    async def _wait_alive(self, delivery: Delivery, delay: float) -> None:
        """Sleep ``delay`` seconds, telling the bus the delivery is still being worked on."""
        beat = max(0.05, self.pond.ack_wait / 3)
        loop = asyncio.get_running_loop()
        until = loop.time() + delay
        while (left := until - loop.time()) > 0:
            await asyncio.sleep(min(beat, left))
            # a failed keep-alive only risks a redelivery, which the inbox absorbs; the ack reports errors
            with contextlib.suppress(Exception):
                await delivery.keep_alive()
