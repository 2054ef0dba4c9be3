"""SQLite adapters (stdlib sqlite3): the embedded, durable event store."""
