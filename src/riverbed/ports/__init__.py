"""Ports: small role-named Protocols and the value types they exchange."""

from riverbed.ports.event_store import (
    START,
    After,
    AppendResult,
    Checkpoint,
    EventStore,
    Expected,
    ExpectedVersion,
    RecordedEvent,
    StoreStats,
)

__all__ = [
    "START",
    "After",
    "AppendResult",
    "Checkpoint",
    "EventStore",
    "Expected",
    "ExpectedVersion",
    "RecordedEvent",
    "StoreStats",
]
