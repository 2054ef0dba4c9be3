"""The functional aggregate: ``decide(state, command) -> events`` and ``evolve(state, event) -> state``.

A :class:`Decider` is the one shape every aggregate takes inside riverbed. Users either build one directly
from three functions (the functional style)::

    account = Decider(
        name="bank.account",
        initial_state=lambda: AccountState(),
        decide=decide,
        evolve=evolve,
        commands=(OpenAccount, Deposit, Withdraw),
    )

or write a class (see :mod:`riverbed.domain.aggregate`), which :func:`as_decider` turns into a Decider.
Rehydration is a fold of ``evolve`` over the stream (:func:`fold`). Business refusals are events that
``decide`` returns; ``decide`` raises only for programming errors or invariants the caller must fix.

Snapshots (optional) need the state as JSON: ``snapshot_state``/``restore_state`` default to
:func:`~riverbed.domain.serialization.to_data`/``from_data`` on a dataclass state, and
``state_version`` is bumped whenever the state's shape changes so that old snapshots are ignored.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from riverbed.domain.messages import Command, Event
from riverbed.domain.serialization import from_data, to_data

S = TypeVar("S")


def _no_snapshot(state: Any) -> dict[str, Any]:
    if dataclasses.is_dataclass(state) and not isinstance(state, type):
        return to_data(state)
    raise TypeError(
        f"cannot snapshot a {type(state).__name__}: make the state a dataclass or give the aggregate "
        "snapshot_state/restore_state"
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Decider(Generic[S]):
    """An aggregate as three functions plus what riverbed needs to know about it.

    ``name`` is the aggregate type (``"bank.account"``); ``commands`` lists the command classes it
    decides (used to check a service's declaration; empty means "not declared"). ``ignores_unknown_events``
    lets a stream hold event types this aggregate does not know (they are skipped instead of raising
    :class:`~riverbed.errors.UnknownEventType`). ``state_version`` is written with every snapshot.
    """

    name: str
    initial_state: Callable[[], S]
    decide: Callable[[S, Any], Sequence[Event]]
    evolve: Callable[[S, Any], S]
    commands: tuple[type[Any], ...] = ()
    ignores_unknown_events: bool = False
    state_version: int = 1
    snapshot_state: Callable[[S], dict[str, Any]] = _no_snapshot
    restore_state: Callable[[dict[str, Any]], S] | None = None
    state_type: type[Any] | None = field(default=None)

    def restore(self, data: dict[str, Any]) -> S:
        """Rebuild a state from its snapshot data (``restore_state`` or ``from_data(state_type, ...)``)."""
        if self.restore_state is not None:
            return self.restore_state(data)
        state_type = self.state_type or type(self.initial_state())
        restored: S = from_data(state_type, data)
        return restored

    def handles(self, command: object) -> bool:
        """Whether this aggregate decides ``command`` (always true when ``commands`` is undeclared)."""
        return not self.commands or isinstance(command, self.commands)


def fold(decider: Decider[S], events: Iterable[Event], state: S | None = None) -> S:
    """Rehydrate: evolve ``state`` (default: the initial state) through ``events``."""
    current = decider.initial_state() if state is None else state
    evolve = decider.evolve
    for event in events:
        current = evolve(current, event)
    return current


def decide_all(decider: Decider[S], state: S, command: Command | Any) -> list[Event]:
    """Run ``decide`` and check that it returned events (a list or tuple of :class:`Event`)."""
    events = decider.decide(state, command)
    if not isinstance(events, (list, tuple)):
        raise TypeError(
            f"{decider.name}: decide({type(command).__name__}) must return a list of events, "
            f"got {type(events).__name__}"
        )
    for event in events:
        if not isinstance(event, Event):
            raise TypeError(
                f"{decider.name}: decide({type(command).__name__}) returned {event!r}, which is not an Event"
            )
    return list(events)
