"""The in-process bus (embedded mode), with the same at-least-once semantics as a real broker.

It hides nothing a broker would do to a consumer: an unacknowledged delivery comes back after the pond's
``ack_wait``, a nack comes back after its delay, a message is handed out at most ``max_deliveries`` times
and then parked with the reason, and a CloudEvent id re-published after the duplicate window is delivered
again. Messages are handed out in publish order (redeliveries in their original order as they fall
due); per-stream ordering across retries is the pond worker's job, as it is on a broker.

Time is injected (``clock`` gives monotonic seconds, ``now`` gives wall-clock timestamps for parked
records). Optional :class:`Stressors` inject duplicates, delays (and so reordering) and lost acks, to
prove that consumers cope. Nothing survives the process: it is for one-process systems and tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import random as random_module
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from riverbed.cloudevents.event import CloudEvent
from riverbed.errors import BusClosed, ParkedMessageNotFound, TopologyDrift, UnknownPond
from riverbed.ports.bus import Delivery, ParkedMessage, PondStats, TopologyReport
from riverbed.ports.topology import Pond, Topology


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True, kw_only=True)
class Stressors:
    """Faults the memory bus injects on purpose, each a probability in [0, 1] (all off by default).

    ``duplicate`` delivers a published message twice (as a broker does after a lost ack);
    ``delay`` holds a published message back for up to ``max_delay`` seconds, which also reorders it
    against later ones; ``drop_ack`` loses an ack, so the message comes back after the ack wait.
    """

    duplicate: float = 0.0
    delay: float = 0.0
    max_delay: float = 0.05
    drop_ack: float = 0.0

    def __post_init__(self) -> None:
        for name in ("duplicate", "delay", "drop_ack"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"stressor {name} is a probability in [0, 1], got {value}")


@dataclass(slots=True)
class _Message:
    seq: int
    event: CloudEvent
    deliveries: int = 0
    not_before: float = 0.0
    deadline: float | None = None  # set while in flight


class _PondState:
    def __init__(self, pond: Pond) -> None:
        self.pond = pond
        self.messages: OrderedDict[int, _Message] = OrderedDict()


class MemoryDelivery:
    """A delivery from the memory bus (see :class:`~riverbed.ports.bus.Delivery`)."""

    __slots__ = ("_bus", "_message", "_pond", "_settled", "attempt", "event")

    def __init__(self, bus: MemoryBus, pond: str, message: _Message) -> None:
        self._bus = bus
        self._pond = pond
        self._message = message
        self._settled = False
        self.event = message.event
        self.attempt = message.deliveries

    @property
    def pond(self) -> str:
        """The pond this delivery belongs to."""
        return self._pond

    async def ack(self) -> None:
        """Done: remove the message from the pond."""
        if self._claim():
            self._bus._ack(self._pond, self._message)

    async def nack(self, delay: float = 0.0) -> None:
        """Deliver again after ``delay`` seconds, or park when the deliveries are spent."""
        if self._claim():
            self._bus._nack(self._pond, self._message, delay)

    async def park(self, reason: str) -> None:
        """Give up: move the message to the parked store."""
        if self._claim():
            self._bus._park(self._pond, self._message, reason)

    async def keep_alive(self) -> None:
        """Restart the ack wait, if this delivery still owns the message."""
        if (
            not self._settled
            and self._message.deliveries == self.attempt
            and self._message.deadline is not None
        ):
            self._message.deadline = self._bus._clock() + self._bus._ponds[self._pond].pond.ack_wait

    def _claim(self) -> bool:
        # A delivery that was redelivered after its ack wait no longer owns the message; settling it late is
        # harmless (as on a broker): the newer delivery decides.
        if self._settled or self._message.deliveries != self.attempt:
            return False
        self._settled = True
        return self._message.deadline is not None


class MemoryParked:
    """The parked store of a :class:`MemoryBus`."""

    def __init__(self, bus: MemoryBus) -> None:
        self._bus = bus
        self._items: OrderedDict[str, ParkedMessage] = OrderedDict()
        self._next = 1

    def add(self, pond: Pond, message: _Message, reason: str) -> None:
        """Record a parked message."""
        parked_id = str(self._next)
        self._next += 1
        self._items[parked_id] = ParkedMessage(
            id=parked_id,
            pond=pond.name,
            river=pond.river,
            event=message.event,
            reason=reason,
            attempts=message.deliveries,
            parked_at=self._bus._now(),
        )

    def count(self, pond: str) -> int:
        """How many messages of ``pond`` are parked."""
        return sum(1 for item in self._items.values() if item.pond == pond)

    async def list(self, pond: str | None = None, *, limit: int = 100) -> list[ParkedMessage]:
        """Parked messages, oldest first."""
        self._bus._check_open()
        found = [item for item in self._items.values() if pond is None or item.pond == pond]
        return found[:limit]

    async def get(self, parked_id: str) -> ParkedMessage:
        """One parked message."""
        self._bus._check_open()
        try:
            return self._items[parked_id]
        except KeyError:
            raise ParkedMessageNotFound(
                f"no parked message {parked_id!r}; list them with `riverbed parked list`"
            ) from None

    async def replay(self, parked_id: str) -> None:
        """Put the event back in its pond with fresh attempts."""
        item = await self.get(parked_id)
        self._bus._enqueue_one(item.pond, item.event)
        del self._items[parked_id]

    async def drop(self, parked_id: str) -> None:
        """Forget the parked message."""
        await self.get(parked_id)
        del self._items[parked_id]


class MemoryBus:
    """An in-process bus: rapids, rivers and ponds in dictionaries; one asyncio loop at a time."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = _utc_now,
        stressors: Stressors | None = None,
        random: Callable[[], float] = random_module.random,
    ) -> None:
        self._clock = clock
        self._now = now
        self.stressors = stressors
        self._random = random
        self._topology: Topology | None = None
        self._ponds: dict[str, _PondState] = {}
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._seq = 0
        self._changed: asyncio.Event | None = None
        self._closed = False
        self._parked = MemoryParked(self)
        self.published = 0
        """Messages accepted into the rapids (duplicates within the window not counted)."""

    @property
    def parked(self) -> MemoryParked:
        """The parked store."""
        return self._parked

    async def declare(self, topology: Topology) -> TopologyReport:
        """Adopt ``topology``; a pond moved to another river is incompatible drift."""
        self._check_open()
        old = self._topology
        drift: list[str] = []
        if old is not None and old.rapids != topology.rapids:
            drift.append(f"rapids: declared {topology.rapids}, running {old.rapids}")
        for pond in topology.ponds:
            state = self._ponds.get(pond.name)
            if state is not None and state.pond.river != pond.river:
                drift.append(
                    f"pond {pond.name!r} consumes river {state.pond.river!r}, declared {pond.river!r}"
                )
        if drift:
            raise TopologyDrift(
                "the running bus is incompatible with the declared topology: "
                + "; ".join(drift)
                + ". Drain and remove the old ponds (or use new names), then start again",
                drift=tuple(drift),
            )
        created: list[str] = []
        updated: list[str] = []
        unchanged: list[str] = []
        for pond in topology.ponds:
            state = self._ponds.get(pond.name)
            if state is None:
                self._ponds[pond.name] = _PondState(pond)
                created.append(f"pond {pond.name}")
            elif state.pond != pond:
                state.pond = pond
                updated.append(f"pond {pond.name}")
            else:
                unchanged.append(f"pond {pond.name}")
        if old is not None:
            for river in topology.rivers:
                if river in old.rivers:
                    unchanged.append(f"river {river.name}")
                elif river.name in {r.name for r in old.rivers}:
                    updated.append(f"river {river.name}")
                else:
                    created.append(f"river {river.name}")
        else:
            created.extend(f"river {river.name}" for river in topology.rivers)
        removed = sorted(set(self._ponds) - {p.name for p in topology.ponds})
        self._topology = topology
        return TopologyReport(
            created=tuple(created),
            updated=tuple(updated),
            unchanged=tuple(unchanged),
            drift=tuple(f"pond {name} is no longer declared (kept, not fed)" for name in removed),
        )

    async def publish(self, events: Sequence[CloudEvent]) -> None:
        """Put each event into every pond whose river carries it; drop ids seen in the duplicate window."""
        self._check_open()
        topology = self._require_topology()
        now = self._clock()
        window = topology.rapids.duplicate_window
        while self._seen:
            first_id, first_at = next(iter(self._seen.items()))
            if now - first_at < window:
                break
            del self._seen[first_id]
        rivers = {river.name: river for river in topology.rivers}
        for event in events:
            if event.id in self._seen:
                continue
            self._seen[event.id] = now
            self.published += 1
            for state in self._ponds.values():
                river = rivers.get(state.pond.river)
                if river is not None and river.matches(event):
                    self._enqueue(state, event, now)
        self._wake()

    def _enqueue(self, state: _PondState, event: CloudEvent, now: float) -> None:
        stress = self.stressors
        copies = 2 if stress is not None and self._random() < stress.duplicate else 1
        for _ in range(copies):
            self._seq += 1
            message = _Message(self._seq, event)
            if stress is not None and self._random() < stress.delay:
                message.not_before = now + self._random() * stress.max_delay
            state.messages[self._seq] = message

    async def fetch(self, pond: str, *, max_messages: int = 100, max_wait: float = 1.0) -> list[Delivery]:
        """Deliveries that are due, waiting up to ``max_wait`` seconds for the first one."""
        self._check_open()
        state = self._state(pond)
        loop = asyncio.get_running_loop()
        give_up = loop.time() + max(0.0, max_wait)
        while True:
            found, next_due = self._collect(state, max_messages)
            if found:
                return found
            remaining = give_up - loop.time()
            if remaining <= 0:
                return []
            wait = remaining if next_due is None else min(remaining, max(0.001, next_due - self._clock()))
            changed = self._changed_event()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await changed.wait()
            self._check_open()

    async def stats(self, pond: str) -> PondStats:
        """Waiting, in-flight and parked counts."""
        self._check_open()
        state = self._state(pond)
        in_flight = sum(1 for m in state.messages.values() if m.deadline is not None)
        return PondStats(
            pond=pond,
            waiting=len(state.messages) - in_flight,
            in_flight=in_flight,
            parked=self._parked.count(pond),
        )

    async def close(self) -> None:
        """Close the bus; waiting fetches wake up and raise BusClosed."""
        self._closed = True
        self._wake()

    # -- internals used by deliveries and the parked store ---------------------------------------------

    def _collect(self, state: _PondState, max_messages: int) -> tuple[list[Delivery], float | None]:
        now = self._clock()
        pond = state.pond
        found: list[Delivery] = []
        next_due: float | None = None
        for message in list(state.messages.values()):
            if message.deadline is not None and message.deadline <= now:
                message.deadline = None  # the ack wait expired: the delivery is lost to its consumer
                if message.deliveries >= pond.retry.max_deliveries:
                    self._park(
                        pond.name,
                        message,
                        f"not acknowledged within ack_wait={pond.ack_wait}s on any of "
                        f"{message.deliveries} deliveries",
                    )
                    continue
            due = message.not_before if message.deadline is None else message.deadline
            if message.deadline is not None or message.not_before > now:
                next_due = due if next_due is None else min(next_due, due)
                continue
            if len(found) >= max_messages:
                break
            message.deliveries += 1
            message.deadline = now + pond.ack_wait
            found.append(MemoryDelivery(self, pond.name, message))
        return found, next_due

    def _ack(self, pond: str, message: _Message) -> None:
        if self.stressors is not None and self._random() < self.stressors.drop_ack:
            return  # the ack is "lost": the message stays in flight until its ack wait ends
        self._ponds[pond].messages.pop(message.seq, None)
        self._wake()

    def _nack(self, pond: str, message: _Message, delay: float) -> None:
        state = self._ponds[pond]
        message.deadline = None
        if message.deliveries >= state.pond.retry.max_deliveries:
            self._park(pond, message, f"nacked on the last of {message.deliveries} deliveries")
            return
        message.not_before = self._clock() + max(0.0, delay)
        self._wake()

    def _park(self, pond: str, message: _Message, reason: str) -> None:
        state = self._ponds[pond]
        state.messages.pop(message.seq, None)
        message.deadline = None
        self._parked.add(state.pond, message, reason)
        self._wake()

    def _enqueue_one(self, pond: str, event: CloudEvent) -> None:
        """Put a replayed event back (no stressors: a replay is an operator's deliberate act)."""
        state = self._state(pond)
        self._seq += 1
        state.messages[self._seq] = _Message(self._seq, event)
        self._wake()

    def _state(self, pond: str) -> _PondState:
        try:
            return self._ponds[pond]
        except KeyError:
            raise UnknownPond(
                f"no pond {pond!r} on this bus; declare it in the topology (bus.declare(topology))"
            ) from None

    def _require_topology(self) -> Topology:
        if self._topology is None:
            raise UnknownPond("the bus has no topology yet; call bus.declare(topology) first")
        return self._topology

    def _changed_event(self) -> asyncio.Event:
        if self._changed is None:
            self._changed = asyncio.Event()
        return self._changed

    def _wake(self) -> None:
        if self._changed is not None:
            self._changed.set()
            self._changed = None

    def _check_open(self) -> None:
        if self._closed:
            raise BusClosed("the bus is closed; create a new one")
