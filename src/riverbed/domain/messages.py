"""Message base classes: commands ask, events tell.

Subclass them as ``@dataclass(frozen=True, slots=True, kw_only=True)``::

    @dataclass(frozen=True, slots=True, kw_only=True)
    class Withdraw(Command):
        account_id: str
        amount: int

    @event_type("bank.account.money-withdrawn.v1")
    @dataclass(frozen=True, slots=True, kw_only=True)
    class MoneyWithdrawn(Event):
        account_id: str
        amount: int

A command is a request to exactly one owner and may be refused; an event is an immutable fact, named in the
past tense, that may be delivered more than once. Expected business outcomes are events, not exceptions.
"""

from __future__ import annotations

from typing import ClassVar


class Command:
    """Base class of commands: imperative requests addressed to one owner."""

    __slots__ = ()


class Event:
    """Base class of domain events: immutable facts owned by their producer.

    ``type_name`` is set when the class is registered with :func:`~riverbed.domain.registry.event_type`.
    """

    __slots__ = ()
    type_name: ClassVar[str]
