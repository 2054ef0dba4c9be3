"""The SQLite inbox and relay checkpoints (stdlib ``sqlite3``, WAL, ``synchronous=FULL``).

An effect is a plain function ``effect(conn: sqlite3.Connection) -> None`` that writes through ``conn``; it
runs inside ``BEGIN IMMEDIATE`` together with the insert of the handled key, on the inbox's own worker
thread (the event loop never blocks on SQLite). Either the effect's rows and the key are committed (and
fsynced) together, or neither is. Concurrent calls share one commit (group commit), each effect in its
own savepoint. The consumer's own tables may live in the same database file.
"""

from __future__ import annotations

import asyncio
import functools
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


_Item = tuple[tuple[str, str, str, str], SQLiteEffect, "asyncio.Future[bool]"]


def _commit_group(
    conn: sqlite3.Connection, items: list[tuple[tuple[str, str, str, str], SQLiteEffect]]
) -> list[bool | Exception]:
    """Run each effect in its own savepoint inside one transaction; one commit (one fsync) for all."""
    results: list[bool | Exception] = []
    conn.execute("BEGIN IMMEDIATE")
    try:
        for key, effect in items:
            conn.execute("SAVEPOINT riverbed_effect")
            try:
                inserted = conn.execute(
                    "INSERT OR IGNORE INTO riverbed_inbox (consumer, source, id, handled_at) "
                    "VALUES (?,?,?,?)",
                    key,
                ).rowcount
                if inserted:
                    effect(conn)
            except Exception as exc:
                conn.execute("ROLLBACK TO riverbed_effect")
                conn.execute("RELEASE riverbed_effect")
                results.append(exc)
                continue
            conn.execute("RELEASE riverbed_effect")
            results.append(bool(inserted))
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return results


class SQLiteInbox:
    """An inbox in a SQLite file, keyed by consumer name, CloudEvent source and id.

    Concurrent ``handle`` calls are committed together (group commit): each effect runs in its own
    savepoint, so one that raises is rolled back alone, and one fsynced commit covers the group. No call
    returns before the commit that holds its effect.
    """

    def __init__(self, path: str | Path, *, consumer: str, max_group: int = 256) -> None:
        self.consumer = consumer
        self.max_group = max_group
        self._db = _Database(path)
        self._closed = False
        self._pending: list[_Item] = []
        self._flusher: asyncio.Task[None] | None = None

    async def handle(self, event: CloudEvent, effect: SQLiteEffect) -> bool:
        """Run ``effect`` and record the event in one transaction; False when already handled."""
        self._check_open()
        key = (self.consumer, event.source, event.id, datetime.now(UTC).isoformat())
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._pending.append((key, effect, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        while self._pending:
            group, self._pending = self._pending[: self.max_group], self._pending[self.max_group :]
            work = [(key, effect) for key, effect, _ in group]
            try:
                results = await self._db.run(functools.partial(_commit_group, items=work))
            except Exception as exc:
                for _, _, future in group:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, _, future), result in zip(group, results, strict=True):
                if future.done():
                    continue
                if isinstance(result, Exception):
                    future.set_exception(result)
                else:
                    future.set_result(result)

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
        """Wait for pending commits, then close the connection."""
        self._closed = True
        if self._flusher is not None:
            await asyncio.gather(self._flusher, return_exceptions=True)
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
