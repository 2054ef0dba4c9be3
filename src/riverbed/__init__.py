"""riverbed: a framework and runtime for event-driven, event-sourced microservices.

The public API is exactly what ``__all__`` lists (a test pins it).
"""

from riverbed.bootstrap import open_store
from riverbed.cloudevents import CloudEvent
from riverbed.domain import Command, Event, EventTypeRegistry, event_type
from riverbed.errors import (
    ConfigurationError,
    DuplicateEventId,
    EventStoreError,
    InvalidCloudEvent,
    RiverbedError,
    StoreClosed,
    StoreFailed,
    UnknownEventType,
    ValidationError,
    WrongExpectedVersion,
)
from riverbed.ports.event_store import AppendResult, Checkpoint, EventStore, ExpectedVersion, RecordedEvent

__version__ = "0.1.0"

__all__ = [
    "AppendResult",
    "Checkpoint",
    "CloudEvent",
    "Command",
    "ConfigurationError",
    "DuplicateEventId",
    "Event",
    "EventStore",
    "EventStoreError",
    "EventTypeRegistry",
    "ExpectedVersion",
    "InvalidCloudEvent",
    "RecordedEvent",
    "RiverbedError",
    "StoreClosed",
    "StoreFailed",
    "UnknownEventType",
    "ValidationError",
    "WrongExpectedVersion",
    "__version__",
    "event_type",
    "open_store",
]
