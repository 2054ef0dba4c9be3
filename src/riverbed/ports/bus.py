"""The bus port: publish to the rapids, fetch from ponds, settle each delivery; inspect parked messages.

Delivery is **at least once**, on every adapter, the in-memory one included:

* a delivery is settled by exactly one of ``ack()`` (done), ``nack(delay)`` (deliver again after
  ``delay`` seconds) or ``park(reason)`` (give up; keep it in the parked store with the reason);
* a delivery that is not settled within the pond's ``ack_wait`` is delivered again (``keep_alive()``
  restarts that wait for a consumer that is still working on it);
* a message is handed out at most ``retry.max_deliveries`` times; when another delivery would be due
  (a nack or an ack timeout after the last one) the bus parks it instead, with the reason;
* the same CloudEvent id published twice within the rapids' ``duplicate_window`` is stored once, but
  nothing stops a duplicate beyond it (or a redelivery): consumers stay idempotent through an inbox.

``publish`` is pipelined: the whole batch is in flight at once and the call returns when the broker has
accepted every event (or raises :class:`~riverbed.errors.BusUnavailable`; then any part may have been
stored and the caller publishes the batch again, which the duplicate window absorbs).
A closed bus raises :class:`~riverbed.errors.BusClosed`; an undeclared pond raises
:class:`~riverbed.errors.UnknownPond`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

from riverbed.cloudevents.event import CloudEvent
from riverbed.ports.topology import Topology


@runtime_checkable
class Delivery(Protocol):
    """One delivery of an event to a pond; settle it exactly once."""

    @property
    def event(self) -> CloudEvent:
        """The delivered event."""
        ...

    @property
    def attempt(self) -> int:
        """1 for the first delivery, 2 for the first redelivery, ...

        A lower bound on a broker: JetStream may resend a delivery that raced an expiring pull request
        without counting it, so attempts can run low (never high).
        """
        ...

    @property
    def pond(self) -> str:
        """The pond this delivery belongs to."""
        ...

    async def ack(self) -> None:
        """The event was handled: never deliver it to this pond again."""
        ...

    async def nack(self, delay: float = 0.0) -> None:
        """The event was not handled: deliver it again after ``delay`` seconds (or park it if spent)."""
        ...

    async def park(self, reason: str) -> None:
        """Give up on the event: move it to the parked store with ``reason``."""
        ...

    async def keep_alive(self) -> None:
        """Still working on it: restart the ack wait so the bus does not deliver it again yet."""
        ...


@dataclass(frozen=True, slots=True)
class ParkedMessage:
    """An event a pond gave up on, with why and after how many deliveries."""

    id: str
    pond: str
    river: str
    event: CloudEvent
    reason: str
    attempts: int
    parked_at: datetime


@dataclass(frozen=True, slots=True)
class PondStats:
    """How far behind a pond is: messages waiting, delivered but unsettled, and parked."""

    pond: str
    waiting: int
    in_flight: int
    parked: int

    @property
    def settled(self) -> bool:
        """True when nothing is waiting or in flight (parked messages are settled)."""
        return self.waiting == 0 and self.in_flight == 0


@dataclass(frozen=True, slots=True)
class TopologyReport:
    """What reconciling a topology did: objects created, updated in place, and compatible drift seen."""

    created: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    drift: tuple[str, ...] = field(default=())


@runtime_checkable
class ParkedMessages(Protocol):
    """The parked (dead-letter) store of a bus: inspect, replay or drop what ponds gave up on."""

    async def list(self, pond: str | None = None, *, limit: int = 100) -> list[ParkedMessage]:
        """Parked messages, oldest first, of one pond or of all."""
        ...

    async def get(self, parked_id: str) -> ParkedMessage:
        """One parked message; raises ParkedMessageNotFound."""
        ...

    async def replay(self, parked_id: str) -> None:
        """Deliver the event to its pond again (fresh attempts) and remove it from the parked store."""
        ...

    async def drop(self, parked_id: str) -> None:
        """Remove the parked message for good; raises ParkedMessageNotFound."""
        ...


@runtime_checkable
class Bus(Protocol):
    """The bus port. See the module docstring for the delivery guarantees."""

    async def declare(self, topology: Topology) -> TopologyReport:
        """Create what is missing, update what may change in place, report drift.

        Raises TopologyDrift, changing nothing, when the broker holds something incompatible.
        """
        ...

    async def publish(self, events: Sequence[CloudEvent]) -> None:
        """Publish events to the rapids, pipelined; returns when the broker accepted all of them."""
        ...

    async def fetch(self, pond: str, *, max_messages: int = 100, max_wait: float = 1.0) -> list[Delivery]:
        """Up to ``max_messages`` deliveries for ``pond``; waits up to ``max_wait`` seconds for the first."""
        ...

    async def stats(self, pond: str) -> PondStats:
        """How many messages wait, are in flight, and are parked for ``pond``."""
        ...

    @property
    def parked(self) -> ParkedMessages:
        """The parked store of this bus."""
        ...

    async def close(self) -> None:
        """Release connections; further calls raise BusClosed."""
        ...
