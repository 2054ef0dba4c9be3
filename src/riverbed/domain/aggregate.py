"""The class-style aggregate: command methods return events, ``@applies`` methods evolve the state.

::

    @dataclass
    class Account(Aggregate):
        aggregate_type = "bank.account"
        opened: bool = False
        balance: int = 0

        @handles(Deposit)
        def deposit(self, command: Deposit) -> list[Event]:
            return [MoneyDeposited(account_id=command.account_id, amount=command.amount)]

        @applies(MoneyDeposited)
        def _deposited(self, event: MoneyDeposited) -> None:
            self.balance += event.amount

A command method must not change ``self``: it only looks at the state and returns events (refusals are
events too). ``@applies`` methods change ``self`` and return nothing; they run for stored events when the
aggregate is rehydrated and for new events once they are committed. :func:`as_decider` turns the class into
a :class:`~riverbed.domain.decider.Decider`, so both styles run through the same services, snapshots and
test helpers. A class attribute ``ignores_unknown_events = True`` skips event types it does not know;
``state_version`` versions its snapshots. Snapshots use ``to_data``/``from_data`` when the class is a
dataclass, or the ``snapshot_state``/``restore_state`` methods it overrides.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, TypeVar

from riverbed.domain.decider import Decider
from riverbed.domain.messages import Event
from riverbed.domain.serialization import from_data, to_data

F = TypeVar("F", bound=Callable[..., Any])
A = TypeVar("A", bound="Aggregate")

_HANDLES = "__riverbed_handles__"
_APPLIES = "__riverbed_applies__"


def handles(command_type: type[Any]) -> Callable[[F], F]:
    """Mark a method as the one that decides ``command_type`` (it returns a list of events)."""

    def mark(method: F) -> F:
        setattr(method, _HANDLES, command_type)
        return method

    return mark


def applies(event_type: type[Event]) -> Callable[[F], F]:
    """Mark a method as the one that evolves the aggregate with ``event_type`` (it changes ``self``)."""

    def mark(method: F) -> F:
        setattr(method, _APPLIES, event_type)
        return method

    return mark


class Aggregate:
    """Base class of class-style aggregates; subclasses are built with no arguments."""

    aggregate_type: ClassVar[str] = ""
    ignores_unknown_events: ClassVar[bool] = False
    state_version: ClassVar[int] = 1
    _command_methods: ClassVar[dict[type[Any], str]] = {}
    _event_methods: ClassVar[dict[type[Event], str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        commands: dict[type[Any], str] = {}
        events: dict[type[Event], str] = {}
        for klass in reversed(cls.__mro__):
            for attr, value in vars(klass).items():
                command_type = getattr(value, _HANDLES, None)
                if command_type is not None:
                    commands[command_type] = attr
                event_type = getattr(value, _APPLIES, None)
                if event_type is not None:
                    events[event_type] = attr
        cls._command_methods = commands
        cls._event_methods = events

    def decide(self, command: Any) -> Sequence[Event]:
        """Dispatch ``command`` to its ``@handles`` method."""
        name = self._command_methods.get(type(command))
        if name is None:
            raise TypeError(
                f"{type(self).__name__} has no @handles method for {type(command).__name__}; "
                f"it handles {sorted(c.__name__ for c in self._command_methods)}"
            )
        events: Sequence[Event] = getattr(self, name)(command)
        return events

    def apply(self, event: Event) -> None:
        """Dispatch ``event`` to its ``@applies`` method; events without one change nothing."""
        name = self._event_methods.get(type(event))
        if name is not None:
            getattr(self, name)(event)

    def snapshot_state(self) -> dict[str, Any]:
        """The state as JSON data for a snapshot (a dataclass aggregate needs nothing more)."""
        is_dataclass: bool = dataclasses.is_dataclass(self)
        if is_dataclass:
            return to_data(self)
        raise TypeError(
            f"cannot snapshot {type(self).__name__}: make it a dataclass or override "
            "snapshot_state/restore_state"
        )

    @classmethod
    def restore_state(cls: type[A], data: dict[str, Any]) -> A:
        """Rebuild an aggregate from :meth:`snapshot_state` data."""
        restored: A = from_data(cls, data)
        return restored


def _evolve(state: Aggregate, event: Event) -> Aggregate:
    state.apply(event)
    return state


def _decide(state: Aggregate, command: Any) -> Sequence[Event]:
    return state.decide(command)


def _snapshot(state: Aggregate) -> dict[str, Any]:
    return state.snapshot_state()


_DECIDERS: dict[type[Aggregate], Decider[Any]] = {}


def as_decider(aggregate: type[Aggregate] | Decider[Any]) -> Decider[Any]:
    """The :class:`Decider` of a class-style aggregate (a Decider is returned as it is)."""
    if isinstance(aggregate, Decider):
        return aggregate
    if not (isinstance(aggregate, type) and issubclass(aggregate, Aggregate)):
        raise TypeError(f"{aggregate!r} is neither a Decider nor an Aggregate subclass")
    cached = _DECIDERS.get(aggregate)
    if cached is None:
        cached = Decider(
            name=aggregate.aggregate_type or aggregate.__name__,
            initial_state=aggregate,
            decide=_decide,
            evolve=_evolve,
            commands=tuple(aggregate._command_methods),
            ignores_unknown_events=aggregate.ignores_unknown_events,
            state_version=aggregate.state_version,
            snapshot_state=_snapshot,
            restore_state=aggregate.restore_state,
            state_type=aggregate,
        )
        _DECIDERS[aggregate] = cached
    return cached
