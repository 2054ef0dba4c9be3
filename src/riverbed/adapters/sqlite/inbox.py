"""The SQLite inbox and relay checkpoints (stdlib ``sqlite3``, WAL, ``synchronous=FULL``).

An effect is a plain function ``effect(conn: sqlite3.Connection) -> None`` that writes through ``conn``; it
runs inside ``BEGIN IMMEDIATE`` together with the insert of the handled key, on the inbox's own worker
thread (the event loop never blocks on SQLite). Either the effect's rows and the key are committed (and
fsynced) together, or neither is. The consumer's own tables may live in the same database file.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from riverbed.cloudevents.event import CloudEvent
from riverbed.errors import StoreClosed, StoreFailed
from riverbed.ports.event_store import Checkpoint

SQLiteEffect = Callable[[sqlite3.Connection], None]
"""An effect on the SQLite inbox: it writes through the connection it is given, inside the transaction."""

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS riverbed_inbox (
    consumer   TEXT NOT NULL,
    source     TEXT NOT NULL,
    id         TEXT NOT NULL,
    handled_at TEXT NOT NULL,
    PRIMARY KEY (consumer, source, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS riverbed_relay_checkpoints (
    name       TEXT PRIMARY KEY,
    checkpoint TEXT NOT NULL
) WITHOUT ROWID;
"""


class _Database:
    """One connection on one worker thread, opened with the durability settings asserted."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._pool: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None

    async def run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="riverbed-sqlite-inbox")
            await asyncio.get_running_loop().run_in_executor(self._pool, self._open)
        conn = self._conn
        if conn is None:
            raise StoreClosed(f"the SQLite inbox at {self.path} is closed")
        return await asyncio.get_running_loop().run_in_executor(self._pool, work, conn)

    def _open(self) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None, timeout=30.0)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        level = conn.execute("PRAGMA synchronous").fetchone()[0]
        if level < 2:
            conn.close()
            raise StoreFailed(f"SQLite at {self.path} refused synchronous=FULL (got {level}); not durable")
        conn.executescript(_SCHEMA)
        self._conn = conn

    async def close(self) -> None:
        pool, conn = self._pool, self._conn
        self._conn = None
        self._pool = None
        if pool is not None:
            if conn is not None:
                await asyncio.get_running_loop().run_in_executor(pool, conn.close)
            pool.shutdown(wait=True)


class SQLiteInbox:
    """An inbox in a SQLite file, keyed by consumer name, CloudEvent source and id."""

    def __init__(self, path: str | Path, *, consumer: str) -> None:
        self.consumer = consumer
        self._db = _Database(path)
        self._closed = False

    async def handle(self, event: CloudEvent, effect: SQLiteEffect) -> bool:
        """Run ``effect`` and record the event in one transaction; False when already handled."""
        self._check_open()
        consumer, source, event_id = self.consumer, event.source, event.id
        stamp = datetime.now(UTC).isoformat()

        def work(conn: sqlite3.Connection) -> bool:
            conn.execute("BEGIN IMMEDIATE")
            try:
                inserted = conn.execute(
                    "INSERT OR IGNORE INTO riverbed_inbox (consumer, source, id, handled_at) "
                    "VALUES (?,?,?,?)",
                    (consumer, source, event_id, stamp),
                ).rowcount
                if inserted == 0:
                    conn.execute("ROLLBACK")
                    return False
                effect(conn)
                conn.execute("COMMIT")
                return True
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

        return await self._db.run(work)

    async def seen(self, event: CloudEvent) -> bool:
        """Whether the event was handled by this consumer."""
        self._check_open()
        key = (self.consumer, event.source, event.id)

        def work(conn: sqlite3.Connection) -> bool:
            row = conn.execute(
                "SELECT 1 FROM riverbed_inbox WHERE consumer=? AND source=? AND id=?", key
            ).fetchone()
            return row is not None

        return await self._db.run(work)

    async def count(self) -> int:
        """How many events this consumer handled."""
        self._check_open()
        consumer = self.consumer
        return await self._db.run(
            lambda conn: int(
                conn.execute("SELECT count(*) FROM riverbed_inbox WHERE consumer=?", (consumer,)).fetchone()[
                    0
                ]
            )
        )

    async def close(self) -> None:
        """Close the connection."""
        self._closed = True
        await self._db.close()

    def _check_open(self) -> None:
        if self._closed:
            raise StoreClosed(f"the SQLite inbox at {self._db.path} is closed; open a new one")


class SQLiteRelayCheckpoints:
    """Relay checkpoints in a SQLite file (committed with ``synchronous=FULL``)."""

    def __init__(self, path: str | Path) -> None:
        self._db = _Database(path)

    async def load(self, name: str) -> Checkpoint | None:
        """The last saved checkpoint of relay ``name``."""
        row = await self._db.run(
            lambda conn: conn.execute(
                "SELECT checkpoint FROM riverbed_relay_checkpoints WHERE name=?", (name,)
            ).fetchone()
        )
        return None if row is None else Checkpoint.parse(row[0])

    async def save(self, name: str, checkpoint: Checkpoint) -> None:
        """Record the checkpoint durably."""
        text = str(checkpoint)
        await self._db.run(
            lambda conn: conn.execute(
                "INSERT INTO riverbed_relay_checkpoints (name, checkpoint) VALUES (?, ?) "
                "ON CONFLICT(name) DO UPDATE SET checkpoint=excluded.checkpoint",
                (name, text),
            )
        )

    async def close(self) -> None:
        """Close the connection."""
        await self._db.close()
