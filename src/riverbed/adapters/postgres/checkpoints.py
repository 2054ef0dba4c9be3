"""Relay checkpoints in PostgreSQL: the same contract as the SQLite and memory ones, for distributed mode.

One row per relay (or dispatcher) name in ``riverbed_relay_checkpoints``, written with an upsert under
``synchronous_commit=on``, so a saved checkpoint is durable when ``save`` returns. The table is created on
:meth:`PostgresRelayCheckpoints.open`, in the schema the URL's ``search_path`` selects.
"""

from __future__ import annotations

import psycopg
from psycopg_pool import AsyncConnectionPool

from riverbed.errors import StoreClosed, StoreFailed, StoreUnavailable
from riverbed.ports.event_store import Checkpoint

_SCHEMA = """
CREATE TABLE IF NOT EXISTS riverbed_relay_checkpoints (
    name       text PRIMARY KEY,
    checkpoint text NOT NULL
)
"""


class PostgresRelayCheckpoints:
    """Relay checkpoints in a PostgreSQL database, over a small connection pool."""

    def __init__(self, url: str, *, connections: int = 2) -> None:
        self.url = url
        self._pool = AsyncConnectionPool(url, min_size=1, max_size=connections, open=False)
        self._opened = False
        self._closed = False

    async def open(self) -> PostgresRelayCheckpoints:
        """Open the pool and create the checkpoint table if it is missing."""
        try:
            await self._pool.open(wait=True)
            async with self._pool.connection() as conn:
                await conn.execute(_SCHEMA)
        except psycopg.Error as exc:
            raise StoreFailed(f"cannot open the PostgreSQL relay checkpoints at {self.url}: {exc}") from exc
        self._opened = True
        return self

    async def load(self, name: str) -> Checkpoint | None:
        """The last saved checkpoint of relay ``name``, or None before its first save."""
        self._check_open()
        try:
            async with self._pool.connection() as conn:
                cursor = await conn.execute(
                    "SELECT checkpoint FROM riverbed_relay_checkpoints WHERE name = %s", (name,)
                )
                row = await cursor.fetchone()
        except psycopg.OperationalError as exc:
            raise StoreUnavailable(f"cannot read relay checkpoint {name!r}: {exc}; retry") from exc
        return None if row is None else Checkpoint.parse(str(row[0]))

    async def save(self, name: str, checkpoint: Checkpoint) -> None:
        """Record the checkpoint durably (committed when this returns)."""
        self._check_open()
        try:
            async with self._pool.connection() as conn, conn.transaction():
                await conn.execute(
                    "INSERT INTO riverbed_relay_checkpoints (name, checkpoint) VALUES (%s, %s) "
                    "ON CONFLICT (name) DO UPDATE SET checkpoint = EXCLUDED.checkpoint",
                    (name, str(checkpoint)),
                )
        except psycopg.OperationalError as exc:
            raise StoreUnavailable(f"cannot save relay checkpoint {name!r}: {exc}; retry") from exc

    async def close(self) -> None:
        """Close the pool."""
        self._closed = True
        await self._pool.close()

    def _check_open(self) -> None:
        if self._closed or not self._opened:
            raise StoreClosed(
                f"the PostgreSQL relay checkpoints at {self.url} are not open; call await checkpoints.open()"
            )
