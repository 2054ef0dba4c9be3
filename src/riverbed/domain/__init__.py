"""Pure domain building blocks: messages, the event type registry and (de)serialisation.

Imports only the standard library, :mod:`riverbed.errors` and :mod:`riverbed.types`.
"""

from riverbed.domain.messages import Command, Event
from riverbed.domain.registry import EventTypeRegistry, default_registry, event_type
from riverbed.domain.serialization import from_data, to_data

__all__ = ["Command", "Event", "EventTypeRegistry", "default_registry", "event_type", "from_data", "to_data"]
