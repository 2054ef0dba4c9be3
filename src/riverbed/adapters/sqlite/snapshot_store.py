"""The SQLite snapshot store: newest snapshot per stream in a table beside (never inside) the events.

It may share the event store's database file (``sqlite:///bank.db``) or use its own. Snapshots are an
optimisation, so writes use ``synchronous=NORMAL`` (a snapshot lost in a power cut is rebuilt from events),
while the event store keeps its own ``FULL`` setting on its own connection. The blocking ``sqlite3`` calls
run in a worker thread, one at a time, so the event loop never waits on the disk.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from riverbed.errors import InvalidStoreUrl, StoreClosed, StoreFailed
from riverbed.ports.snapshot_store import Snapshot

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS riverbed_snapshots (
    stream TEXT PRIMARY KEY,
    aggregate_type TEXT NOT NULL,
    version INTEGER NOT NULL,
    schema_version INTEGER NOT NULL,
    state TEXT NOT NULL
)
"""
_SAVE = """
INSERT INTO riverbed_snapshots (stream, aggregate_type, version, schema_version, state)
VALUES (?, ?, ?, ?, ?)
ON CONFLICT (stream) DO UPDATE SET
    aggregate_type = excluded.aggregate_type, version = excluded.version,
    schema_version = excluded.schema_version, state = excluded.state
WHERE excluded.version > riverbed_snapshots.version
"""


def sqlite_path(url: str) -> str:
    """The file path of ``sqlite:///relative.db`` or ``sqlite:////absolute.db`` (query string dropped)."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or len(url) == len(prefix):
        raise InvalidStoreUrl(f"{url!r} is not a SQLite URL; use sqlite:///path/to/file.db")
    return url[len(prefix) :].split("?", 1)[0]


class SQLiteSnapshotStore:
    """Snapshots in a SQLite table (see :class:`~riverbed.ports.snapshot_store.SnapshotStore`)."""

    def __init__(self, url: str, *, busy_timeout_ms: int = 10_000) -> None:
        self.url = url
        self._path = sqlite_path(url)
        self._busy_timeout_ms = busy_timeout_ms
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    async def open(self) -> SQLiteSnapshotStore:
        """Open the file and create the table when it is missing."""
        if self._conn is None:
            self._conn = await asyncio.to_thread(self._connect)
        return self

    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(self._path, check_same_thread=False, isolation_level=None)
            conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms)}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute(_SCHEMA)
        except sqlite3.Error as exc:
            raise StoreFailed(f"cannot open the snapshot store {self.url}: {exc}") from exc
        return conn

    async def __aenter__(self) -> SQLiteSnapshotStore:
        return await self.open()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def save(self, snapshot: Snapshot) -> None:
        """Keep ``snapshot`` unless a newer one is stored."""
        row = (
            snapshot.stream,
            snapshot.aggregate_type,
            snapshot.version,
            snapshot.schema_version,
            snapshot.state,
        )
        await self._run(lambda conn: conn.execute(_SAVE, row))

    async def load(self, stream: str) -> Snapshot | None:
        """The newest snapshot of ``stream``, or None."""

        def fetch(conn: sqlite3.Connection) -> Any:
            return conn.execute(
                "SELECT aggregate_type, version, schema_version, state FROM riverbed_snapshots "
                "WHERE stream = ?",
                (stream,),
            ).fetchone()

        row = await self._run(fetch)
        if row is None:
            return None
        aggregate_type, version, schema_version, state = row
        return Snapshot(stream, str(aggregate_type), int(version), int(schema_version), str(state))

    async def delete(self, stream: str) -> None:
        """Forget the snapshot of ``stream``."""
        await self._run(
            lambda conn: conn.execute("DELETE FROM riverbed_snapshots WHERE stream = ?", (stream,))
        )

    async def close(self) -> None:
        """Close the connection."""
        conn, self._conn = self._conn, None
        if conn is not None:
            await asyncio.to_thread(self._close, conn)

    def _close(self, conn: sqlite3.Connection) -> None:
        with self._lock:
            conn.close()

    async def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        conn = self._conn
        if conn is None:
            raise StoreClosed(f"the snapshot store {self.url} is closed; open it first")

        def locked() -> T:
            with self._lock:
                try:
                    return work(conn)
                except sqlite3.Error as exc:
                    raise StoreFailed(f"snapshot store {self.url}: {exc}") from exc

        return await asyncio.to_thread(locked)
