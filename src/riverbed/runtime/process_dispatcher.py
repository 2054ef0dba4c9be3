"""The process dispatcher: the outbox of one process manager's streams, and its durable timers.

A :class:`~riverbed.application.processes.ProcessHost` only *records* transitions. The dispatcher tails the
store's global order for that manager's transition events and

* **sends their commands** through a :class:`~riverbed.application.processes.CommandSender`, in order, with
  the command ids the transition recorded. A retryable failure (ServiceUnavailable, a lost connection, any
  unexpected error) is retried with exponential backoff until it goes through or ``stop`` is set; a
  refusal for good (ValidationError, NotFound) is logged with the process key, counted and skipped;
* **keeps the pending timers** (set, cancelled, fired) in a heap and, when one is due by the injected clock,
  calls :meth:`~riverbed.application.processes.ProcessHost.fire`, which appends the TimerFired transition
  (whose commands the dispatcher then sends like any other).

Durability rests on two checkpoints saved in a :class:`~riverbed.ports.outbox.RelayCheckpoints`:

* ``<name>:dispatched``: the commands of every transition up to here were sent;
* ``<name>:timers``: just before the oldest transition that set a still-pending timer (= dispatched when
  none is pending).

On start the dispatcher re-reads from the smaller of the two: records up to ``dispatched`` only rebuild
the timer heap, later ones are sent. So a timer survives a restart, a crash between append and send
re-sends (harmless: the owners de-duplicate command ids), and start-up reads only the pending-timer window.
The host is ``replaying`` until that catch-up is done, then ``ready``. Run one dispatcher per process
manager: two would both send (still de-duplicated) and both fire (the host refuses the second).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import random as random_module
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from riverbed.application.processes import (
    TRANSITION_TYPE,
    CommandRouter,
    CommandSender,
    ProcessHost,
    TransitionRecord,
)
from riverbed.application.processes.records import SentCommand
from riverbed.domain.messages import Command
from riverbed.domain.serialization import from_data
from riverbed.errors import InvalidFlow, InvalidMessage, NotFound, ValidationError
from riverbed.ports.event_store import START, Checkpoint, RecordedEvent
from riverbed.ports.outbox import RelayCheckpoints

_log = logging.getLogger("riverbed.process")

TimerKey = tuple[str, str, str]
"""(tenant or "", process key, timer name)."""


class _Stopping(Exception):
    """``stop`` was set while a send was being retried: leave without moving past it."""


@dataclass(frozen=True, slots=True)
class _Pending:
    due_at: datetime
    before: Checkpoint
    """The read position just before the transition that set the timer (re-read from here to rebuild it)."""


class ProcessDispatcher:
    """Send the recorded commands and fire the due timers of one process manager (module docstring)."""

    def __init__(
        self,
        host: ProcessHost[Any],
        sender: CommandSender,
        checkpoints: RelayCheckpoints,
        *,
        clock: Callable[[], datetime] | None = None,
        name: str | None = None,
        retry_initial: float = 0.05,
        retry_max: float = 2.0,
        batch_size: int = 500,
        timer_tick: float = 0.25,
        random: Callable[[], float] = random_module.random,
    ) -> None:
        if retry_initial <= 0 or retry_max < retry_initial:
            raise ValueError("retry_initial must be > 0 and retry_max ≥ retry_initial")
        if batch_size < 1 or timer_tick <= 0:
            raise ValueError("batch_size must be ≥ 1 and timer_tick > 0")
        self.host = host
        self.sender = sender
        self.checkpoints = checkpoints
        self.clock = clock or host.clock
        self.name = name or f"process:{host.name}"
        self.retry_initial = retry_initial
        self.retry_max = retry_max
        self.batch_size = batch_size
        self.timer_tick = timer_tick
        self.random = random
        self._classes: dict[str, type[Command]] = {cls.__name__: cls for cls in host.manager.sends}
        if isinstance(sender, CommandRouter):
            sender.require(host.manager.sends)
        elif not self._classes:
            raise InvalidFlow(
                f"process {host.name!r}: the dispatcher must rebuild the commands it sends; declare them "
                "in the ProcessManager's sends=(...) (or send through a CommandRouter)"
            )
        self.sent = 0
        """Commands sent (re-sent ones after a restart included)."""
        self.refused = 0
        """Commands their owner refused for good (logged and skipped)."""
        self.retries = 0
        """Failed attempts that were retried (sends and timer firings)."""
        self.fired = 0
        """Timers that fired (the host appended their TimerFired transition)."""
        self.dispatched: Checkpoint | None = None
        self.cursor: Checkpoint | None = None
        self._pending: dict[TimerKey, _Pending] = {}
        self._heap: list[tuple[datetime, int, TimerKey, datetime]] = []
        self._seq = 0
        self._timer_attempts: dict[TimerKey, int] = {}
        self._loaded = False
        self._saved: tuple[Checkpoint | None, Checkpoint | None] = (None, None)
        self._dirty = False
        self._unsaved = 0

    @property
    def pending_timers(self) -> int:
        """Timers set and not yet fired or cancelled, as far as this dispatcher has read."""
        return len(self._pending)

    def next_due(self) -> datetime | None:
        """The earliest pending deadline, if any."""
        self._drop_stale()
        return self._heap[0][0] if self._heap else None

    # -- running ------------------------------------------------------------------------------------------

    async def run(self, *, stop: asyncio.Event | None = None) -> None:
        """Catch up (host ``replaying``), then follow the store and fire due timers (``ready``) until stop."""
        stop = stop or asyncio.Event()
        self.host.move_to("replaying", f"dispatcher {self.name!r} is catching up")
        timers: asyncio.Task[None] | None = None
        try:
            await self._catch_up(stop)
            self.host.move_to("ready", progress={"pending_timers": self.pending_timers})
            timers = asyncio.create_task(self._timer_loop(stop), name=f"{self.name}-timers")
            await self._follow(stop, timers)
        except _Stopping:
            pass
        finally:
            if timers is not None:
                timers.cancel()
                with contextlib.suppress(asyncio.CancelledError, _Stopping):
                    await timers
            self.host.move_to("stopped")
        await self._save(force=True)

    async def run_until_caught_up(self, *, fire_due: bool = True) -> int:
        """Send everything recorded so far and fire the due timers (and send what they record).

        Returns the transition records read. For tests, tools and one-shot catch-ups; ``run`` is the
        long-running form.
        """
        read = await self._catch_up(None)
        while fire_due and await self.fire_due():
            read += await self._catch_up(None)
        return read

    async def fire_due(self) -> int:
        """Fire every timer that is due by the clock now; returns how many the host accepted."""
        fired = 0
        now = self.clock()
        while self._heap and self._heap[0][0] <= now:
            _, _, key, due_at = heapq.heappop(self._heap)
            pending = self._pending.get(key)
            if pending is None or pending.due_at != due_at:
                continue  # cancelled or replaced since it was pushed
            tenant, process_key, name = key
            try:
                accepted = await self.host.fire(tenant or None, process_key, name, due_at)
            except Exception as exc:
                attempts = self._timer_attempts.get(key, 0) + 1
                self._timer_attempts[key] = attempts
                self.retries += 1
                delay = self._backoff(attempts)
                _log.warning(
                    "process %s: firing timer %r of %r failed (%r); retrying in %.2fs",
                    self.host.name,
                    name,
                    process_key,
                    exc,
                    delay,
                )
                retry_at = now + timedelta(seconds=delay)
                self._push(key, due_at, when=retry_at)
                continue
            self._timer_attempts.pop(key, None)
            if self._pending.get(key) == pending:
                del self._pending[key]
            fired += accepted
        self.fired += fired
        return fired

    # -- reading ------------------------------------------------------------------------------------------

    async def _load(self) -> None:
        if self._loaded:
            return
        dispatched = await self.checkpoints.load(f"{self.name}:dispatched")
        timers = await self.checkpoints.load(f"{self.name}:timers")
        self.dispatched = dispatched
        self.cursor = None if dispatched is None or timers is None else min(dispatched, timers)
        self._saved = (dispatched, timers)
        self._loaded = True

    async def _catch_up(self, stop: asyncio.Event | None) -> int:
        """Read everything committed after the cursor, in batches, saving checkpoints after each batch."""
        await self._load()
        read = 0
        while True:
            batch = [r async for r in self.host.store.read_all(after=self.cursor, limit=self.batch_size)]
            for record in batch:
                read += await self._process(record, stop)
            await self._save(force=True)
            if len(batch) < self.batch_size:
                return read
            last = (await self.host.store.stats()).last_position
            position = self.cursor.position if self.cursor is not None else 0
            if self.host.lifecycle == "replaying":
                behind = max(0, last - position)
                self.host.move_to(
                    "replaying",
                    self.host.lifecycle_detail,
                    progress={"events_done": read, "events_behind": behind},
                )

    async def _follow(self, stop: asyncio.Event, timers: asyncio.Task[None]) -> None:
        """Follow the store live: take what has arrived as one batch, handle it, save."""
        queue: asyncio.Queue[RecordedEvent] = asyncio.Queue(maxsize=self.batch_size)
        reader = asyncio.create_task(self._read(queue), name=f"{self.name}-reader")
        stopper = asyncio.create_task(stop.wait())
        getter: asyncio.Task[RecordedEvent] | None = None
        try:
            while not stop.is_set():
                if getter is None:
                    getter = asyncio.create_task(queue.get())
                waiters: set[asyncio.Future[Any]] = {getter, stopper, timers, reader}
                await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
                if reader.done():
                    reader.result()  # re-raise the store's error
                    raise RuntimeError("the store subscription ended; subscriptions never end by themselves")
                if timers.done() and not stop.is_set():
                    timers.result()  # re-raise what stopped the timer loop
                    raise RuntimeError("the timer loop ended before stop was set")
                if not getter.done():
                    continue
                batch = [getter.result()]
                getter = None
                while len(batch) < self.batch_size and not queue.empty():
                    batch.append(queue.get_nowait())
                for record in batch:
                    await self._process(record, stop)
                await self._save(force=False)
        finally:
            for task in (reader, stopper, getter):
                if task is not None:
                    task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader

    async def _read(self, queue: asyncio.Queue[RecordedEvent]) -> None:
        async for record in self.host.store.subscribe(after=self.cursor):
            await queue.put(record)

    async def _process(self, record: RecordedEvent, stop: asyncio.Event | None) -> int:
        """Handle one stored event: send its commands (if after ``dispatched``) and note its timers."""
        before = self.cursor or START
        event = record.event
        mine = event.type == TRANSITION_TYPE and event.source == self.host.source
        if mine:
            try:
                transition = TransitionRecord.from_data(event.data)
            except InvalidMessage as exc:
                _log.error("process %s: skipping unreadable transition %s: %s", self.host.name, event.id, exc)
                mine = False
            else:
                tenant = event.extensions.get("tenant")
                tenant_text = tenant if isinstance(tenant, str) else ""
                if self.dispatched is None or record.checkpoint > self.dispatched:
                    correlation = event.extensions.get("correlationid")
                    for command in transition.commands:
                        await self._send(
                            transition,
                            command,
                            tenant_text or None,
                            correlation if isinstance(correlation, str) else event.id,
                            event.id,
                            stop,
                        )
                self._note_timers(tenant_text, transition, before)
        self._dirty = self._dirty or mine
        self._unsaved += 1
        self.cursor = record.checkpoint
        if self.dispatched is None or self.cursor > self.dispatched:
            self.dispatched = self.cursor
        return int(mine)

    def _note_timers(self, tenant: str, transition: TransitionRecord, before: Checkpoint) -> None:
        key = transition.key
        if transition.fired is not None:
            self._pending.pop((tenant, key, transition.fired), None)
        for name in transition.timers_cancelled:
            self._pending.pop((tenant, key, name), None)
        for timer in transition.timers_set:
            timer_key = (tenant, key, timer.name)
            self._pending[timer_key] = _Pending(timer.due_at, before)
            self._push(timer_key, timer.due_at)

    async def _save(self, *, force: bool) -> None:
        """Save the checkpoints when this process's records moved them (or ``force``, or every batch_size).

        Events of other processes and services move ``dispatched`` too, but saving for each of them would
        cost a durable write per stored event; after a restart they are only skipped again.
        """
        dispatched = self.dispatched
        if dispatched is None:
            return
        if not (force or self._dirty or self._unsaved >= self.batch_size):
            return
        timers = min((p.before for p in self._pending.values()), default=dispatched)
        saved_dispatched, saved_timers = self._saved
        if dispatched != saved_dispatched:
            await self.checkpoints.save(f"{self.name}:dispatched", dispatched)
        if timers != saved_timers:
            await self.checkpoints.save(f"{self.name}:timers", timers)
        self._saved = (dispatched, timers)
        self._dirty = False
        self._unsaved = 0
        if self.host.lifecycle == "ready":
            self.host.lifecycle_progress = {"pending_timers": self.pending_timers}

    # -- sending ------------------------------------------------------------------------------------------

    async def _send(
        self,
        transition: TransitionRecord,
        sent: SentCommand,
        tenant: str | None,
        correlation_id: str,
        causation_id: str,
        stop: asyncio.Event | None,
    ) -> None:
        try:
            command = from_data(self._class_of(sent.type), dict(sent.payload))
        except (ValidationError, NotFound) as exc:
            self._refuse(transition, sent, exc)
            return
        attempts = 0
        while True:
            try:
                await self.sender.send(
                    command,
                    command_id=sent.id,
                    tenant=tenant,
                    correlation_id=correlation_id,
                    causation_id=causation_id,
                )
            except (ValidationError, NotFound) as exc:
                self._refuse(transition, sent, exc)
                return
            except Exception as exc:
                attempts += 1
                self.retries += 1
                delay = self._backoff(attempts)
                _log.info(
                    "process %s: sending %s %s for %r failed (%r); retrying in %.2fs",
                    self.host.name,
                    sent.type,
                    sent.id,
                    transition.key,
                    exc,
                    delay,
                )
                if stop is not None:
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(delay):
                            await stop.wait()
                    if stop.is_set():
                        raise _Stopping from exc
                else:
                    await asyncio.sleep(delay)
                continue
            self.sent += 1
            return

    def _refuse(self, transition: TransitionRecord, sent: SentCommand, exc: Exception) -> None:
        self.refused += 1
        _log.warning(
            "process %s: %s %s for process key %r was refused and is skipped: %s",
            self.host.name,
            sent.type,
            sent.id,
            transition.key,
            exc,
        )

    def _class_of(self, name: str) -> type[Command]:
        cls = self._classes.get(name)
        if cls is None and isinstance(self.sender, CommandRouter):
            endpoint = self.sender.routes.get(name)
            model = endpoint.commands()[name].model if endpoint is not None else None
            if isinstance(model, type) and issubclass(model, Command):
                cls = self._classes[name] = model
        if cls is None:
            raise NotFound(
                f"process {self.host.name!r} recorded a {name!r} command, which neither its sends=(...) "
                "nor the router knows"
            )
        return cls

    # -- timers -------------------------------------------------------------------------------------------

    async def _timer_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.fire_due()
            wait = self.timer_tick
            due = self.next_due()
            if due is not None:
                wait = max(0.0, min(wait, (due - self.clock()).total_seconds()))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await stop.wait()

    def _push(self, key: TimerKey, due_at: datetime, *, when: datetime | None = None) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (when or due_at, self._seq, key, due_at))

    def _drop_stale(self) -> None:
        """Pop heap entries of timers that were cancelled, fired or replaced since they were pushed."""
        heap, pending = self._heap, self._pending
        while heap and ((p := pending.get(heap[0][2])) is None or p.due_at != heap[0][3]):
            heapq.heappop(heap)

    def _backoff(self, attempts: int) -> float:
        base = min(self.retry_initial * 2.0 ** (attempts - 1), self.retry_max)
        return base * (0.5 + self.random() / 2)
