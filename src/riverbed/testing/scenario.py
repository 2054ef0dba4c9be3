"""Given/when/then for aggregates, in either style, without a store.

::

    given([AccountOpened(account_id="a", owner="Ada")], aggregate=Account).when(
        Withdraw(account_id="a", amount=5)
    ).then([WithdrawalRefused(account_id="a", amount=5, balance=0)])

    given([], aggregate=account_decider).when(Deposit(account_id="a", amount=5)).then_raises(AccountNotOpen)

``given`` folds the events with the aggregate's ``evolve`` (as rehydration would), ``when`` runs
``decide``, ``then`` compares the decided events with the expected ones (an AssertionError shows both
lists). Events registered with a type name are also round-tripped through their JSON form, so an event that
could not be stored fails here rather than in production.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from riverbed.domain.aggregate import Aggregate, as_decider
from riverbed.domain.decider import Decider, decide_all, fold
from riverbed.domain.messages import Event
from riverbed.domain.registry import EventTypeRegistry, default_registry
from riverbed.domain.serialization import from_data, to_data
from riverbed.errors import UnknownEventType


class Scenario:
    """A given/when/then test of one aggregate."""

    def __init__(
        self,
        events: Iterable[Event],
        *,
        aggregate: type[Aggregate] | Decider[Any],
        registry: EventTypeRegistry | None = None,
    ) -> None:
        self.decider: Decider[Any] = as_decider(aggregate)
        self.registry = registry if registry is not None else default_registry
        self.history = [self._round_trip(event) for event in events]
        self._command: Any = None
        self._has_command = False

    def when(self, command: Any) -> Scenario:
        """The command to decide on the state the given events produced."""
        self._command = command
        self._has_command = True
        return self

    def state(self) -> Any:
        """The state that the given events fold into."""
        return fold(self.decider, self.history)

    def decide(self) -> list[Event]:
        """Run the command and return the decided events."""
        if not self._has_command:
            raise AssertionError("call .when(command) before .then(...)")
        events = decide_all(self.decider, self.state(), self._command)
        return [self._round_trip(event) for event in events]

    def then(self, expected: Iterable[Event]) -> list[Event]:
        """Assert that the command decides exactly ``expected`` (in order); returns the events."""
        wanted = list(expected)
        decided = self.decide()
        if decided != wanted:
            raise AssertionError(
                f"{type(self._command).__name__} decided\n  {decided!r}\n"
                f"but the scenario expected\n  {wanted!r}"
            )
        fold(self.decider, decided, self.state())  # the new events must evolve cleanly too
        return decided

    def then_raises(self, error: type[BaseException], *, match: str | None = None) -> BaseException:
        """Assert that deciding raises ``error`` (whose message matches ``match``); returns it."""
        try:
            decided = self.decide()
        except error as exc:
            if match is not None and not re.search(match, str(exc)):
                raise AssertionError(
                    f"{error.__name__} raised, but {str(exc)!r} does not match {match!r}"
                ) from exc
            return exc
        raise AssertionError(
            f"{type(self._command).__name__} was expected to raise {error.__name__} but decided {decided!r}"
        )

    def _round_trip(self, event: Event) -> Event:
        if not isinstance(event, Event):
            raise TypeError(f"{event!r} is not an Event")
        try:
            self.registry.name_for(type(event))
        except UnknownEventType:
            return event
        copy: Event = from_data(type(event), to_data(event))
        if copy != event:
            raise AssertionError(f"{event!r} does not survive its JSON form: it came back as {copy!r}")
        return copy


def given(
    events: Iterable[Event] = (),
    *,
    aggregate: type[Aggregate] | Decider[Any],
    registry: EventTypeRegistry | None = None,
) -> Scenario:
    """Start a scenario from the events already in the stream."""
    return Scenario(events, aggregate=aggregate, registry=registry)
