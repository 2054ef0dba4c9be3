"""Open the event store and snapshot store of one kind (memory, SQLite, PostgreSQL) for a test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from riverbed.bootstrap import create_snapshot_store, open_store
from riverbed.ports.event_store import EventStore


@dataclass
class Stores:
    url: str
    events: EventStore
    snapshots: Any


def store_url(kind: str, tmp_path: Path, pg_schema_url: str | None) -> str:
    if kind == "memory":
        return "memory://"
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'events.db'}"
    assert pg_schema_url is not None
    return pg_schema_url


@asynccontextmanager
async def opened(url: str) -> AsyncIterator[Stores]:
    """Both stores on ``url``; memory:// gives fresh in-memory stores each time."""
    snapshots = create_snapshot_store(url)
    await snapshots.open()
    async with open_store(url) as events:
        try:
            yield Stores(url, events, snapshots)
        finally:
            await snapshots.close()
