"""Pure domain building blocks: messages, deciders, process transitions, the type registry, (de)serialisation.

Imports only the standard library, :mod:`riverbed.errors` and :mod:`riverbed.types`.
"""

from riverbed.domain.aggregate import Aggregate, applies, as_decider, handles
from riverbed.domain.decider import Decider, fold
from riverbed.domain.messages import Command, Event
from riverbed.domain.process import CancelTimer, SetTimer, TimerFired, Transition
from riverbed.domain.registry import EventTypeRegistry, default_registry, event_type
from riverbed.domain.serialization import from_data, to_data
from riverbed.domain.upcasting import UpcasterChain, default_upcasters, upcaster

__all__ = [
    "Aggregate",
    "CancelTimer",
    "Command",
    "Decider",
    "Event",
    "EventTypeRegistry",
    "SetTimer",
    "TimerFired",
    "Transition",
    "UpcasterChain",
    "applies",
    "as_decider",
    "default_registry",
    "default_upcasters",
    "event_type",
    "fold",
    "from_data",
    "handles",
    "to_data",
    "upcaster",
]
