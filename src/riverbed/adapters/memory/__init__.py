"""In-memory adapters: the defaults for embedded use and the doubles for unit tests."""

from riverbed.adapters.memory.event_store import MemoryEventStore

__all__ = ["MemoryEventStore"]
