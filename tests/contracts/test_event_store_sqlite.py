"""The event store contract, run against the SQLite adapter (a durable store)."""

from __future__ import annotations

from riverbed.adapters.sqlite import SQLiteEventStore
from riverbed.ports.event_store import EventStore
from riverbed.testing.contracts import EventStoreContract


class TestSQLiteEventStore(EventStoreContract):
    durable = True
    model_examples = 50
    model_steps = 40

    async def open_store(self) -> EventStore:
        return await SQLiteEventStore(f"sqlite:///{self.tmp_path / 'store.db'}").open()


class TestSQLiteEventStoreSmallPages(EventStoreContract):
    """Tiny pages and one reader thread, so every paging edge of reads and subscriptions is crossed."""

    durable = True
    model_examples = 25

    async def open_store(self) -> EventStore:
        return await SQLiteEventStore(
            f"sqlite:///{self.tmp_path / 'store.db'}", page_size=3, readers=1, max_batch=2
        ).open()
