"""Run many projections in one process: catch up, then follow the store live, each on its own task.

For every projection the runner picks its slot in the view store:

* the active slot, when its version is the projection's version: resume from its checkpoint;
* otherwise a new slot (or an unfinished one of this version, after a crash) that is built from the start
  while the active slot of the older version keeps serving queries, then cut over to, and the old one
  dropped. Changing a projection's ``version`` is all it takes to rebuild it.

Live events are committed in batches, with the checkpoint in the same transaction. A batch holds what has
arrived and is committed as soon as nothing more is queued (or it reaches ``batch_size`` events, or has
lingered ``batch_ms`` milliseconds when that is set): under a trickle each event is visible one commit
after its append; under load, events pile up while a commit is in flight, so batches grow by themselves
and commits per event fall. A projection whose handler raises stops (the others
go on) with the failing event's position in its status, until the process restarts with a fixed handler,
:meth:`ProjectionRunner.retry` is called, or an operator skips the event
(:meth:`ProjectionRunner.skip` or ``riverbed views skip``).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from riverbed.application.projections.build import (
    DEFAULT_BATCH,
    ProgressCallback,
    catch_up,
    cut_over,
    new_slot_id,
)
from riverbed.application.projections.projection import Projection
from riverbed.application.projections.projector import BatchOutcome, Projector
from riverbed.application.projections.status import ProjectionState, ProjectionStatus, names_event
from riverbed.errors import (
    DuplicateRegistration,
    ProjectionError,
    RiverbedError,
    UnknownView,
    ValidationError,
    ViewConflict,
)
from riverbed.ports.event_store import Checkpoint, EventStore, RecordedEvent
from riverbed.ports.event_store_rules import as_checkpoint
from riverbed.ports.views import SlotState, ViewStore


@dataclasses.dataclass(frozen=True, slots=True)
class RunnerOptions:
    """Tuning knobs of a :class:`ProjectionRunner`."""

    batch_size: int = DEFAULT_BATCH
    batch_ms: float = 0.0
    """How long a live batch may linger for more events once the queue is empty; 0 (the default) commits at
    once, which keeps read-your-writes latency at one view commit. A positive value trades latency for fewer
    commits at moderate rates."""
    poll_interval: float = 0.2
    """How often a failed projection looks for an operator's skip request."""
    lag_interval: float = 1.0
    """How often the store's head position is read to compute lag."""

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.batch_ms < 0 or self.poll_interval <= 0 or self.lag_interval <= 0:
            raise ValidationError(
                f"runner options must be positive (batch_ms may be 0), got {self}; fix the RunnerOptions"
            )


class _SlotGone(Exception):
    """Our slot was dropped (another process rebuilt the view): choose the slot again."""


class _Failure(Exception):
    def __init__(self, failure: ProjectionError, record: RecordedEvent) -> None:
        super().__init__(str(failure))
        self.failure = failure
        self.record = record


class _Worker:
    """Drives one projection: slot choice, catch-up, cut-over, live batches, failure and skip."""

    def __init__(self, runner: ProjectionRunner, projection: Projection) -> None:
        self.runner = runner
        self.projection = projection
        self.slot: str | None = None
        self.state = ProjectionState.STARTING
        self.checkpoint = Checkpoint(0, 0)
        self.events = 0
        self.ready = False
        self.failed_at: Checkpoint | None = None
        self.error: str | None = None
        self.last_time: datetime | None = None
        self.task: asyncio.Task[None] | None = None
        self.wake = asyncio.Event()
        self.skip_at: Checkpoint | None = None
        self.retry_now = False

    async def run(self) -> None:
        delay = self.runner.options.poll_interval
        try:
            while True:
                try:
                    slot = await self._prepare()
                    await self._follow(slot)
                except (_SlotGone, UnknownView, ViewConflict):
                    # Another writer rebuilt, cut over or moved our slot: choose the slot again.
                    await asyncio.sleep(self.runner.options.poll_interval)
                except RiverbedError as exc:
                    # The event store or the view store failed (a lost connection, a failed write): say so
                    # in the status and start again from the last commit, backing off up to 30 s.
                    self.state = ProjectionState.FAILED
                    self.error = f"{type(exc).__name__}: {exc} (retrying in {delay:g} s)"
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 30.0)
        finally:
            self.state = ProjectionState.STOPPED

    async def _prepare(self) -> str:
        views = self.runner.views
        name, version = self.projection.name, self.projection.version
        slots = await views.slots(name)
        active = next((s for s in slots if s.active), None)
        if active is not None and active.version == version:
            self._adopt(active)
            return active.slot
        pending = [s for s in slots if not s.active and s.version == version]
        if pending:
            state = pending[-1]
        else:
            state = await views.create_slot(
                new_slot_id(self.projection, self.runner.new_token()), name=name, version=version
            )
        self._adopt(state)
        self.ready = active is not None
        self.state = ProjectionState.REBUILDING if active is not None else ProjectionState.REPLAYING
        await self._catch_up(state.slot)
        await cut_over(views, name, state.slot)
        return state.slot

    def _adopt(self, state: SlotState) -> None:
        self.slot = state.slot
        self.checkpoint = state.checkpoint
        self.events = state.events
        self.failed_at = state.failed_at
        self.error = state.error

    async def _follow(self, slot: str) -> None:
        if not self.ready:
            self.state = ProjectionState.REPLAYING
        await self._catch_up(slot)
        self.ready = True
        self.state = ProjectionState.LIVE
        await self._live(slot)

    async def _catch_up(self, slot: str) -> None:
        projector = Projector(self.projection, self.runner.views, slot, after=self.checkpoint)
        while True:
            try:
                self.checkpoint = await catch_up(
                    self.runner.store,
                    projector,
                    self.checkpoint,
                    batch_size=self.runner.options.batch_size,
                    on_batch=self._progress,
                )
                return
            except ProjectionError as failure:
                record = await self._find(failure)
                await self._stopped(projector, failure, record)
            except (UnknownView, ViewConflict) as exc:
                raise _SlotGone() from exc

    async def _live(self, slot: str) -> None:
        projector = Projector(self.projection, self.runner.views, slot, after=self.checkpoint)
        options = self.runner.options
        queue: asyncio.Queue[RecordedEvent | BaseException] = asyncio.Queue(maxsize=options.batch_size * 4)

        async def pump() -> None:
            try:
                async for record in self.runner.store.subscribe(after=self.checkpoint):
                    self.runner.seen(record.position)
                    await queue.put(record)
            except Exception as exc:
                await queue.put(exc)

        pumping = asyncio.create_task(pump(), name=f"riverbed-subscribe-{self.projection.name}")
        try:
            while True:
                batch = await _next_batch(queue, options)
                await self._apply_live(projector, batch)
        finally:
            pumping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pumping

    async def _apply_live(self, projector: Projector, records: list[RecordedEvent]) -> None:
        while records:
            try:
                outcome = await projector.apply(records)
            except (UnknownView, ViewConflict) as exc:
                raise _SlotGone() from exc
            if outcome.checkpoint is not None:
                self.checkpoint = outcome.checkpoint
            self._progress(outcome, records[: outcome.passed])
            if outcome.failure is None or outcome.failed_record is None:
                return
            await self._stopped(projector, outcome.failure, outcome.failed_record)
            if self.checkpoint >= outcome.failed_record.checkpoint:
                records = records[outcome.passed + 1 :]
            else:
                records = records[outcome.passed :]

    async def _find(self, failure: ProjectionError) -> RecordedEvent:
        """The record a catch-up failure stopped on (it is the next one after our checkpoint)."""
        async for record in self.runner.store.read_all(after=self.checkpoint, limit=1):
            return record
        raise failure  # pragma: no cover - the event that failed cannot vanish from the store

    async def _stopped(self, projector: Projector, failure: ProjectionError, record: RecordedEvent) -> None:
        """Stay stopped on ``record`` until retried, or skipped by an operator (then commit the skip)."""
        views, slot = self.runner.views, projector.slot
        self.state = ProjectionState.FAILED
        self.failed_at = record.checkpoint
        self.error = str(failure)
        await views.record_failure(slot, at=record.checkpoint, error=str(failure))
        while True:
            if self.retry_now:
                self.retry_now = False
                break
            stored = next((s for s in await views.slots(self.projection.name) if s.slot == slot), None)
            if stored is None:
                raise _SlotGone()
            if record.checkpoint in (self.skip_at, stored.skip):
                try:
                    self.checkpoint = await projector.skip(record)
                except (UnknownView, ViewConflict) as exc:
                    raise _SlotGone() from exc
                break
            self.wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.runner.options.poll_interval):
                    await self.wake.wait()
        self.skip_at = None
        self.failed_at = None
        self.error = None
        await views.record_failure(slot, at=None, error=None)
        self.state = ProjectionState.LIVE if self.ready else ProjectionState.REPLAYING

    def _progress(self, outcome: BatchOutcome, records: Sequence[RecordedEvent]) -> None:
        if outcome.checkpoint is not None:
            self.checkpoint = outcome.checkpoint
            self.runner.seen(outcome.checkpoint.position)
        self.events += outcome.applied
        if records:
            self.last_time = records[-1].event.time

    def status(self) -> ProjectionStatus:
        head = self.runner.head
        lag = max(0, head - self.checkpoint.position)
        seconds = 0.0
        if lag and self.last_time is not None:
            seconds = max(0.0, (self.runner.now() - self.last_time).total_seconds())
        return ProjectionStatus(
            name=self.projection.name,
            version=self.projection.version,
            slot=self.slot,
            state=self.state,
            checkpoint=self.checkpoint,
            events_applied=self.events,
            lag_events=lag,
            lag_seconds=seconds,
            failed_at=str(self.failed_at) if self.failed_at is not None else None,
            error=self.error,
            ready=self.ready,
        )


async def _next_batch(
    queue: asyncio.Queue[RecordedEvent | BaseException], options: RunnerOptions
) -> list[RecordedEvent]:
    """Wait for one event, then take what else is queued (lingering up to ``batch_ms`` when set)."""
    batch = [_record(await queue.get())]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + options.batch_ms / 1000
    while len(batch) < options.batch_size:
        try:
            batch.append(_record(queue.get_nowait()))
            continue
        except asyncio.QueueEmpty:
            pass
        left = deadline - loop.time()
        if left <= 0:
            break
        try:
            async with asyncio.timeout(left):
                item = await queue.get()
        except TimeoutError:
            break
        batch.append(_record(item))
    return batch


def _record(item: RecordedEvent | BaseException) -> RecordedEvent:
    if isinstance(item, BaseException):
        raise item
    return item


class ProjectionRunner:
    """Runs projections against one event store and one view store (see the module docstring).

    ``async with ProjectionRunner(store, views, [Balances()]) as runner: await runner.wait_until_ready()``
    """

    def __init__(
        self,
        store: EventStore,
        views: ViewStore,
        projections: Sequence[Projection],
        *,
        options: RunnerOptions | None = None,
        now: Callable[[], datetime] | None = None,
        new_token: Callable[[], str] | None = None,
        progress: ProgressCallback | None = None,
    ) -> None:
        self.store = store
        self.views = views
        self.options = options or RunnerOptions()
        self.now = now or (lambda: datetime.now(UTC))
        self.new_token = new_token or (lambda: f"{time.time_ns():x}"[-10:])
        self.progress = progress
        self.head = 0
        self._workers: dict[str, _Worker] = {}
        for projection in projections:
            if projection.name in self._workers:
                raise DuplicateRegistration(f"two projections are named {projection.name!r}")
            self._workers[projection.name] = _Worker(self, projection)
        self._lag_task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> ProjectionRunner:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.stop()

    async def start(self) -> None:
        """Start every projection on its own task (returns at once; see :meth:`wait_until_ready`)."""
        for worker in self._workers.values():
            if worker.task is None or worker.task.done():
                name = f"riverbed-view-{worker.projection.name}"
                worker.task = asyncio.create_task(worker.run(), name=name)
        if self._lag_task is None:
            self._lag_task = asyncio.create_task(self._watch_head(), name="riverbed-view-lag")

    async def stop(self) -> None:
        """Stop every projection; committed batches stay, the next start resumes from the checkpoint."""
        tasks = [w.task for w in self._workers.values() if w.task is not None]
        if self._lag_task is not None:
            tasks.append(self._lag_task)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for worker in self._workers.values():
            worker.task = None
        self._lag_task = None

    @property
    def ready(self) -> bool:
        """True when every projection has caught up at least once."""
        return all(w.ready for w in self._workers.values())

    async def wait_until_ready(self) -> None:
        """Wait until every projection has caught up (wrap in ``asyncio.timeout`` to bound it)."""
        while not self.ready:
            self._raise_crashed()
            await asyncio.sleep(0.01)

    def status(self, name: str) -> ProjectionStatus:
        """The status of one projection."""
        return self._worker(name).status()

    def statuses(self) -> list[ProjectionStatus]:
        """The status of every projection, in registration order."""
        return [w.status() for w in self._workers.values()]

    async def skip(self, name: str, at: Checkpoint | str | int) -> None:
        """Skip the failed event at ``at`` (it must be the one the projection stopped on)."""
        worker = self._worker(name)
        checkpoint = as_checkpoint(at)
        if worker.failed_at is None or checkpoint is None or not names_event(checkpoint, worker.failed_at):
            raise ValidationError(
                f"projection {name!r} is not stopped at {at}; it is "
                + (f"stopped at {worker.failed_at}" if worker.failed_at is not None else "not stopped")
            )
        worker.skip_at = worker.failed_at
        worker.wake.set()

    def retry(self, name: str) -> None:
        """Try the failed event again (after fixing what the handler depended on)."""
        worker = self._worker(name)
        worker.retry_now = True
        worker.wake.set()

    async def rebuild(self, name: str) -> None:
        """Rebuild one projection side by side from the start, cut over, and follow on from the new slot."""
        from riverbed.application.projections.build import build_view

        worker = self._worker(name)
        await build_view(
            self.store,
            self.views,
            worker.projection,
            batch_size=self.options.batch_size,
            progress=self.progress,
            slot=new_slot_id(worker.projection, self.new_token()),
        )
        if worker.task is not None:
            worker.task.cancel()
            await asyncio.gather(worker.task, return_exceptions=True)
            worker.task = asyncio.create_task(worker.run(), name=f"riverbed-view-{name}")

    def seen(self, position: int) -> None:
        """Note a position known to exist (keeps the head estimate from lagging behind the workers)."""
        self.head = max(self.head, position)

    async def _watch_head(self) -> None:
        # Live subscriptions report every position they receive (see ``seen``); the store's stats, which
        # may count rows, are asked only while some projection is catching up or stopped.
        while True:
            if any(w.state is not ProjectionState.LIVE for w in self._workers.values()):
                with contextlib.suppress(Exception):
                    self.seen((await self.store.stats()).last_position)
            await asyncio.sleep(self.options.lag_interval)

    def _raise_crashed(self) -> None:
        for worker in self._workers.values():
            if worker.task is not None and worker.task.done() and not worker.task.cancelled():
                exc = worker.task.exception()
                if exc is not None:
                    raise exc

    def _worker(self, name: str) -> _Worker:
        try:
            return self._workers[name]
        except KeyError:
            raise UnknownView(name, known=tuple(self._workers)) from None
