"""riverbed: a framework and runtime for event-driven, event-sourced microservices.

The public API is exactly what ``__all__`` lists (a test pins it).
"""

from riverbed.application.command_result import CommandResult
from riverbed.application.command_service import CommandService, ServiceOptions
from riverbed.application.projections import Projection, ProjectionRunner
from riverbed.application.queries import OnDemandView, ViewQueries
from riverbed.bootstrap import open_store, open_view_store
from riverbed.cloudevents import CloudEvent
from riverbed.domain import (
    Aggregate,
    Command,
    Decider,
    Event,
    EventTypeRegistry,
    applies,
    event_type,
    handles,
)
from riverbed.errors import (
    ConfigurationError,
    DuplicateEventId,
    EventStoreError,
    InvalidCloudEvent,
    InvalidCommand,
    NotFound,
    RiverbedError,
    ServiceDraining,
    ServiceReplaying,
    ServiceUnavailable,
    StoreClosed,
    StoreFailed,
    UnknownEventType,
    ValidationError,
    WrongExpectedVersion,
)
from riverbed.ports.event_store import AppendResult, Checkpoint, EventStore, ExpectedVersion, RecordedEvent
from riverbed.runtime.lifecycle import ServiceRunner

__version__ = "0.1.0"

__all__ = [
    "Aggregate",
    "AppendResult",
    "Checkpoint",
    "CloudEvent",
    "Command",
    "CommandResult",
    "CommandService",
    "ConfigurationError",
    "Decider",
    "DuplicateEventId",
    "Event",
    "EventStore",
    "EventStoreError",
    "EventTypeRegistry",
    "ExpectedVersion",
    "InvalidCloudEvent",
    "InvalidCommand",
    "NotFound",
    "OnDemandView",
    "Projection",
    "ProjectionRunner",
    "RecordedEvent",
    "RiverbedError",
    "ServiceDraining",
    "ServiceOptions",
    "ServiceReplaying",
    "ServiceRunner",
    "ServiceUnavailable",
    "StoreClosed",
    "StoreFailed",
    "UnknownEventType",
    "ValidationError",
    "ViewQueries",
    "WrongExpectedVersion",
    "__version__",
    "applies",
    "event_type",
    "handles",
    "open_store",
    "open_view_store",
]
