"""The event store contract, run against the in-memory adapter (the reference behaviour)."""

from __future__ import annotations

from riverbed.adapters.memory import MemoryEventStore
from riverbed.ports.event_store import EventStore
from riverbed.testing.contracts import EventStoreContract


class TestMemoryEventStore(EventStoreContract):
    async def open_store(self) -> EventStore:
        return await MemoryEventStore().open()
