"""The process host: runs a :class:`ProcessManager` durably, one event-sourced stream per instance.

Every message that changes an instance (a start command, a consumed event, a fired timer) appends ONE
transition event to the instance's stream (format: :mod:`riverbed.application.processes.records`). The
stream is the whole truth: loading folds it into the last state, the messages already handled and the
pending timers. So:

* **Redelivery is a no-op.** A message already handled appends nothing (``start_command`` answers
  ``duplicate=True``). The transition's event id is derived from (process, stream, message), so even two
  hosts racing on one message store it once: the loser's append clashes or is recognised as a duplicate.
* **Nothing is sent here.** The host only records which commands to send (with ids derived from the
  message), which timers to set or cancel; the :class:`~riverbed.runtime.process_dispatcher.
  ProcessDispatcher` tails the store and sends them at least once, and fires due timers through
  :meth:`ProcessHost.fire`. A crash between append and send therefore loses nothing.
* **Optimistic concurrency.** Each append expects the version that was loaded; on a clash the host
  re-loads and re-decides (a few attempts). Within one host, messages for one stream are serialised by a
  per-stream lock, so clashes only happen between hosts.

A transition that changes nothing (same state, no commands, no timer change) appends nothing. Tenants: with
a tenant the stream is ``<tenant>:<stream>`` and the tenant travels as the ``tenant`` extension.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from riverbed.application.endpoints import LIFECYCLE_STATES, CommandOutcome
from riverbed.application.processes.fold import ProcessFold, fold_process
from riverbed.application.processes.manager import ProcessManager
from riverbed.application.processes.records import (
    TRANSITION_TYPE,
    MessageRef,
    SentCommand,
    TimerSet,
    TransitionRecord,
    process_command_id,
    transition_id,
    utc_text,
)
from riverbed.cloudevents.event import CloudEvent, ExtensionValue
from riverbed.cloudevents.mapping import from_cloudevent
from riverbed.domain.messages import Command
from riverbed.domain.process import CancelTimer, SetTimer, TimerFired, Transition
from riverbed.domain.serialization import to_data
from riverbed.errors import DuplicateEventId, UnknownCommand, ValidationError, WrongExpectedVersion
from riverbed.ports.event_store import Checkpoint, EventStore, ExpectedVersion

S = TypeVar("S")
MAX_ID = 200


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Step:
    """What handling one message did: appended a transition, found it handled before, or changed nothing."""

    stream: str
    version: int | None
    appended: bool = False
    duplicate: bool = False
    event_id: str | None = None
    checkpoint: Checkpoint | None = None


@dataclass(frozen=True, slots=True)
class _Context:
    tenant: str | None
    correlation_id: str | None
    causation_id: str | None
    traceparent: str | None = None


class ProcessHost(Generic[S]):
    """Runs one process manager over ``store`` (see the module docstring)."""

    def __init__(
        self,
        manager: ProcessManager[S],
        store: EventStore,
        *,
        clock: Callable[[], datetime] = _utc_now,
        source: str | None = None,
        max_attempts: int = 5,
    ) -> None:
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be ≥ 1, got {max_attempts}")
        self.manager = manager
        self.store = store
        self.clock = clock
        self.source = source if source is not None else manager.source
        CloudEvent(source=self.source, type=TRANSITION_TYPE)  # refuse a bad source now
        self.max_attempts = max_attempts
        self.name = manager.name
        self.conflicts = 0
        """Version clashes met so far (each cost a re-load and a re-decide)."""
        self.lifecycle = "starting"
        """``starting`` until a dispatcher runs, ``replaying`` while it catches up, then ``ready``."""
        self.lifecycle_detail = ""
        self.lifecycle_progress: dict[str, int] = {}
        """Replay progress while replaying (``events_done``, ``events_behind``), pending timers after."""
        self._consumed = manager.consumed_types()
        self._starts = frozenset(manager.starts)
        self._sends = frozenset(manager.sends)
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    # -- lifecycle ----------------------------------------------------------------------------------------

    def move_to(self, state: str, detail: str = "", progress: dict[str, int] | None = None) -> None:
        """Set the lifecycle state the endpoint reports (the dispatcher drives it)."""
        if state not in LIFECYCLE_STATES:
            raise ValueError(f"{state!r} is not a lifecycle state; use one of {LIFECYCLE_STATES}")
        self.lifecycle = state
        self.lifecycle_detail = detail
        self.lifecycle_progress = dict(progress or {})

    # -- the messages ---------------------------------------------------------------------------------------

    async def start_command(
        self,
        command: Command,
        *,
        command_id: str,
        tenant: str | None,
        correlation_id: str | None = None,
        traceparent: str | None = None,
    ) -> CommandOutcome:
        """Start (or advance) the instance ``command`` is about; once per ``command_id``."""
        _check_id("command_id", command_id)
        if type(command) not in self._starts:
            raise UnknownCommand(
                f"process {self.name!r} does not start on {type(command).__name__}; "
                f"it starts on {sorted(c.__name__ for c in self._starts)}"
            )
        key = self._key(command)
        message = MessageRef("command", command_id, type(command).__name__)
        context = _Context(tenant, correlation_id or command_id, command_id, traceparent)
        step = await self._step(
            key, tenant, message, lambda _: context, lambda fold: self.manager.start(fold.state, command)
        )
        events: tuple[dict[str, Any], ...] = ()
        if step.event_id is not None:
            events = ({"id": step.event_id, "type": TRANSITION_TYPE},)
        return CommandOutcome(
            command_id=command_id,
            stream=step.stream,
            version=step.version,
            position=None if step.checkpoint is None else str(step.checkpoint),
            events=events,
            duplicate=step.duplicate,
        )

    async def handle_event(self, event: CloudEvent) -> bool:
        """React to one consumed event; False when it is not for this process, handled before or inert."""
        if event.type not in self._consumed:
            return False
        decoded = from_cloudevent(event, registry=self.manager.registry)
        key = self.manager.key_of(decoded)
        if key is None:
            return False
        tenant = event.extensions.get("tenant")
        correlation = event.extensions.get("correlationid")
        context = _Context(
            tenant if isinstance(tenant, str) and tenant else None,
            correlation if isinstance(correlation, str) else event.id,
            event.id,
            _text(event.extensions.get("traceparent")),
        )
        message = MessageRef("event", event.id, event.type, event.source)
        step = await self._step(
            _checked_key(key),
            context.tenant,
            message,
            lambda _: context,
            lambda fold: self.manager.react(fold.state, decoded),
        )
        return step.appended

    async def fire(self, tenant: str | None, key: str, name: str, due_at: datetime) -> bool:
        """Deliver ``TimerFired`` if timer ``name`` is still pending for exactly ``due_at``.

        A timer that was cancelled, replaced by a later deadline or already fired is refused (False), so
        firing is safe to repeat and to race.
        """
        message = MessageRef.timer(name, due_at)

        def decide(fold: ProcessFold[S]) -> Transition[S] | None:
            timer = fold.pending.get(name)
            if timer is None or timer.due_at != due_at:
                return None
            return self.manager.react(fold.state, TimerFired(key=key, name=name))

        def context(fold: ProcessFold[S]) -> _Context:
            timer = fold.pending[name]  # decide checked it is there
            return _Context(tenant, timer.correlation_id or timer.set_by, timer.set_by)

        step = await self._step(_checked_key(key), tenant, message, context, decide, fired=name)
        return step.appended

    async def state(self, key: str, *, tenant: str | None = None) -> S:
        """The current state of the instance keyed ``key`` (the initial state if it never started)."""
        return (await self.load(key, tenant=tenant)).state

    async def load(self, key: str, *, tenant: str | None = None) -> ProcessFold[S]:
        """The instance as its stream tells it: state, version, handled messages, pending timers."""
        stream = self._stream(key, tenant)
        async with self._lock_for(stream):
            return await self._load(stream)

    def stream_for(self, key: str, tenant: str | None = None) -> str:
        """The (tenant-scoped) stream of the instance keyed ``key``."""
        return self._stream(key, tenant)

    # -- the use case ---------------------------------------------------------------------------------------

    async def _step(
        self,
        key: str,
        tenant: str | None,
        message: MessageRef,
        context: Callable[[ProcessFold[S]], _Context],
        decide: Callable[[ProcessFold[S]], Transition[S] | None],
        *,
        fired: str | None = None,
    ) -> Step:
        """Load, skip a handled message, decide, append once; re-load and re-decide on a version clash."""
        stream = self._stream(key, tenant)
        event_id = transition_id(self.name, stream, message)
        clash: WrongExpectedVersion | None = None
        async with self._lock_for(stream):
            for _attempt in range(self.max_attempts):
                fold = await self._load(stream)
                handled = fold.handled.get(message.key)
                if handled is not None:
                    return Step(
                        stream,
                        handled.version,
                        duplicate=True,
                        event_id=handled.event_id,
                        checkpoint=handled.checkpoint,
                    )
                transition = decide(fold)
                if transition is None:
                    return Step(stream, fold.version)
                record = self._record(key, stream, message, fold, transition, fired)
                if record is None:
                    return Step(stream, fold.version)
                event = self._event(event_id, stream, record, context(fold))
                expected = ExpectedVersion.NO_STREAM if fold.version is None else fold.version
                try:
                    appended = await self.store.append(stream, [event], expected_version=expected)
                except WrongExpectedVersion as exc:
                    clash = exc
                    self.conflicts += 1
                    continue
                except DuplicateEventId as exc:
                    return Step(exc.stored_stream, exc.stored_version, duplicate=True, event_id=event_id)
                return Step(
                    stream,
                    appended.last_version,
                    appended=True,
                    event_id=event_id,
                    checkpoint=appended.checkpoint,
                )
        assert clash is not None
        raise clash

    def _record(
        self,
        key: str,
        stream: str,
        message: MessageRef,
        fold: ProcessFold[S],
        transition: Transition[S],
        fired: str | None,
    ) -> TransitionRecord | None:
        """The transition to store, or None when it changes nothing."""
        if not isinstance(transition, Transition):
            raise TypeError(
                f"process {self.name!r} returned {transition!r}; start and react must return a Transition"
            )
        if not isinstance(transition.state, self.manager.state_type):
            raise TypeError(
                f"process {self.name!r} returned a {type(transition.state).__name__} state, "
                f"not a {self.manager.state_type.__name__}"
            )
        now = self.clock()
        utc_text(now)  # refuse a naive clock before anything is stored
        timers: dict[str, datetime | None] = {}
        for timer in transition.timers:
            if isinstance(timer, SetTimer):
                if not timer.name or timer.after.total_seconds() < 0:
                    raise ValueError(
                        f"process {self.name!r}: {timer!r} needs a name and a non-negative delay"
                    )
                timers[timer.name] = now + timer.after
            elif isinstance(timer, CancelTimer):
                timers[timer.name] = None
            else:
                raise TypeError(f"process {self.name!r}: {timer!r} is neither SetTimer nor CancelTimer")
        remaining = {n: t for n, t in fold.pending.items() if n != fired}
        set_ = tuple(TimerSet(name, due) for name, due in timers.items() if due is not None)
        cancelled = tuple(name for name, due in timers.items() if due is None and name in remaining)
        commands = tuple(
            SentCommand(type(c).__name__, process_command_id(self.name, stream, message, i), self._payload(c))
            for i, c in enumerate(transition.commands)
        )
        if fired is None and not commands and not set_ and not cancelled and transition.state == fold.state:
            return None
        return TransitionRecord(
            process=self.name,
            key=key,
            message=message,
            state=to_data(transition.state),
            commands=commands,
            timers_set=set_,
            timers_cancelled=cancelled,
            fired=fired,
        )

    def _payload(self, command: Command) -> dict[str, Any]:
        if not isinstance(command, Command):
            raise TypeError(f"process {self.name!r} sends {command!r}, which is not a Command")
        if self._sends and type(command) not in self._sends:
            raise UnknownCommand(
                f"process {self.name!r} sends {type(command).__name__}, which it does not declare in sends="
                f"{sorted(c.__name__ for c in self._sends)}"
            )
        return to_data(command)

    def _event(self, event_id: str, stream: str, record: TransitionRecord, context: _Context) -> CloudEvent:
        extensions: dict[str, ExtensionValue] = {}
        if context.tenant is not None:
            extensions["tenant"] = context.tenant
        if context.correlation_id is not None:
            extensions["correlationid"] = context.correlation_id
        if context.causation_id is not None:
            extensions["causationid"] = context.causation_id
        if context.traceparent is not None:
            extensions["traceparent"] = context.traceparent
        return CloudEvent(
            id=event_id,
            source=self.source,
            type=TRANSITION_TYPE,
            subject=stream,
            time=self.clock(),
            datacontenttype="application/json",
            data=record.to_data(),
            extensions=extensions,
        )

    async def _load(self, stream: str) -> ProcessFold[S]:
        records = [record async for record in self.store.read(stream)]
        return fold_process(
            records,
            initial=self.manager.initial_state,
            state_type=self.manager.state_type,
            source=self.source,
        )

    def _key(self, message: Any) -> str:
        key = self.manager.key_of(message)
        if key is None:
            raise ValidationError(
                f"process {self.name!r} found no process key in {type(message).__name__}; "
                "its key_of must return the key of every start command"
            )
        return _checked_key(key)

    def _stream(self, key: str, tenant: str | None) -> str:
        stream = self.manager.stream(key)
        if tenant is None:
            return stream
        _check_id("tenant", tenant)
        if ":" in tenant:
            raise ValidationError(f"tenant {tenant!r} must not contain ':' (it separates tenant and stream)")
        return f"{tenant}:{stream}"

    def _lock_for(self, stream: str) -> asyncio.Lock:
        lock = self._locks.get(stream)
        if lock is None:
            lock = self._locks[stream] = asyncio.Lock()
        return lock


def _checked_key(key: object) -> str:
    if not isinstance(key, str) or not key:
        raise ValidationError(f"a process key must be a non-empty string, got {key!r}")
    return key


def _check_id(what: str, value: object) -> None:
    if not isinstance(value, str) or not value or len(value) > MAX_ID:
        raise ValidationError(f"{what} must be a non-empty string of at most {MAX_ID} characters")


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None
