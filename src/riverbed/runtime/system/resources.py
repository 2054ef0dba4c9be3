"""What a running system needs from outside: its stores, its view stores, checkpoints and the bus.

The runtime never picks a concrete adapter (import rule: those arrive through :mod:`riverbed.bootstrap`).
It asks a :class:`Resources` object, which bootstrap builds for the mode: embedded (SQLite files under the
data directory, the in-process bus) or distributed (a PostgreSQL schema per context and per view replica,
NATS JetStream). Each call opens on first use and returns the same object afterwards; ``close`` closes
everything that was opened.
"""

from __future__ import annotations

from typing import Protocol

from riverbed.ports.bus import Bus
from riverbed.ports.event_store import EventStore
from riverbed.ports.outbox import RelayCheckpoints
from riverbed.ports.topology import Rapids
from riverbed.ports.views import ViewStore


class Resources(Protocol):
    """The adapters one process of a system uses, opened lazily and shared within the process."""

    @property
    def rapids(self) -> Rapids:
        """The rapids this system publishes to (its name keeps systems on one broker apart)."""
        ...

    async def store(self, context: str) -> EventStore:
        """The event store of a bounded context."""
        ...

    async def view_store(self, view: str, replica: int) -> ViewStore:
        """The view store of one replica of a view (on-demand views get a throwaway one)."""
        ...

    async def relay_checkpoints(self, context: str) -> RelayCheckpoints:
        """Where the relay of ``context`` keeps how far it has published.

        Embedded, the bus lives in memory, so these do too: a restarted process republishes its stores
        from the start and the idempotent consumers ignore what they have seen. Distributed, they are
        durable, next to the context's store.
        """
        ...

    async def process_checkpoints(self, context: str) -> RelayCheckpoints:
        """Durable checkpoints of the process-manager dispatchers of ``context`` (always durable)."""
        ...

    async def bus(self) -> Bus:
        """The bus (the rapids, its rivers and ponds)."""
        ...

    async def close(self) -> None:
        """Close everything opened so far."""
        ...
