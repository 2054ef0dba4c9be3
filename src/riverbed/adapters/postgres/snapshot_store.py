"""The PostgreSQL snapshot store: newest snapshot per stream in ``riverbed_snapshots``, apart from events.

One autocommit connection (snapshots are small, infrequent writes), used one statement at a time. The upsert
keeps the newest version when two services snapshot the same stream concurrently. The table lives in the
connection's ``search_path`` schema, like the event store's tables.
"""

from __future__ import annotations

import asyncio

import psycopg

from riverbed.errors import StoreClosed, StoreFailed
from riverbed.ports.snapshot_store import Snapshot

_SCHEMA = """
CREATE TABLE IF NOT EXISTS riverbed_snapshots (
    stream TEXT PRIMARY KEY,
    aggregate_type TEXT NOT NULL,
    version BIGINT NOT NULL,
    schema_version INTEGER NOT NULL,
    state TEXT NOT NULL
)
"""
_SAVE = """
INSERT INTO riverbed_snapshots (stream, aggregate_type, version, schema_version, state)
VALUES (%s, %s, %s, %s, %s)
ON CONFLICT (stream) DO UPDATE SET
    aggregate_type = EXCLUDED.aggregate_type, version = EXCLUDED.version,
    schema_version = EXCLUDED.schema_version, state = EXCLUDED.state
WHERE EXCLUDED.version > riverbed_snapshots.version
"""


class PostgresSnapshotStore:
    """Snapshots in a PostgreSQL table (see :class:`~riverbed.ports.snapshot_store.SnapshotStore`)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._conn: psycopg.AsyncConnection[tuple[object, ...]] | None = None
        self._lock = asyncio.Lock()

    async def open(self) -> PostgresSnapshotStore:
        """Connect and create the table when it is missing."""
        if self._conn is None:
            try:
                conn = await psycopg.AsyncConnection.connect(self.url, autocommit=True)
                await conn.execute(_SCHEMA)
            except psycopg.Error as exc:
                raise StoreFailed(f"cannot open the snapshot store at {self.url}: {exc}") from exc
            self._conn = conn
        return self

    async def __aenter__(self) -> PostgresSnapshotStore:
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
        async with self._lock:
            try:
                await self._open_conn().execute(_SAVE, row)
            except psycopg.Error as exc:
                raise StoreFailed(f"snapshot store: cannot save {snapshot.stream!r}: {exc}") from exc

    async def load(self, stream: str) -> Snapshot | None:
        """The newest snapshot of ``stream``, or None."""
        async with self._lock:
            try:
                cursor = await self._open_conn().execute(
                    "SELECT aggregate_type, version, schema_version, state FROM riverbed_snapshots "
                    "WHERE stream = %s",
                    (stream,),
                )
                row = await cursor.fetchone()
            except psycopg.Error as exc:
                raise StoreFailed(f"snapshot store: cannot load {stream!r}: {exc}") from exc
        if row is None:
            return None
        aggregate_type, version, schema_version, state = row
        return Snapshot(stream, str(aggregate_type), int(str(version)), int(str(schema_version)), str(state))

    async def delete(self, stream: str) -> None:
        """Forget the snapshot of ``stream``."""
        async with self._lock:
            try:
                await self._open_conn().execute("DELETE FROM riverbed_snapshots WHERE stream = %s", (stream,))
            except psycopg.Error as exc:
                raise StoreFailed(f"snapshot store: cannot delete {stream!r}: {exc}") from exc

    async def close(self) -> None:
        """Close the connection."""
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.close()

    def _open_conn(self) -> psycopg.AsyncConnection[tuple[object, ...]]:
        if self._conn is None:
            raise StoreClosed(f"the snapshot store at {self.url} is closed; open it first")
        return self._conn
