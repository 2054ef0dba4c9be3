"""SQLite adapters (stdlib sqlite3): the embedded, durable event store."""

from riverbed.adapters.sqlite.event_store import SQLiteEventStore

__all__ = ["SQLiteEventStore"]
