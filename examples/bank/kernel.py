"""What the three contexts share: the example's own event type registry and its rule-broken error.

The registry is the example's, not riverbed's process-wide default, so the example can be imported next to
any other application without a name clash.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from riverbed.domain import Event, EventTypeRegistry, event_type
from riverbed.errors import ValidationError

registry = EventTypeRegistry()
"""Every event type of the bank example, by its versioned name."""

E = TypeVar("E", bound=type[Event])


def bank_event(name: str) -> Callable[[E], E]:
    """Register an event class of the example: ``@bank_event("bank.account.opened.v1")``."""
    return event_type(name, registry=registry)


class RuleBroken(ValidationError):
    """A command that cannot be decided as asked (no such account, a negative amount, ...).

    Expected business outcomes (insufficient funds, payment declined) are events, not this error: it is for
    commands the caller must fix before sending again. Nothing was stored.
    """
