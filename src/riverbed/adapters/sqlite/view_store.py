"""The SQLite view store: view slots in one SQLite file, written in batches with their checkpoint.

One connection lives on one dedicated thread, so the blocking driver never runs on the event loop and
no two statements interleave. A :meth:`SQLiteViewStore.commit` is a single ``BEGIN IMMEDIATE`` ...
``COMMIT`` holding the rows, the stream versions and the checkpoint, so a process killed at any instant
leaves either the whole batch or none of it.

The file runs in WAL mode. ``synchronous`` defaults to ``NORMAL``: a commit survives the process being
killed (what the crash test proves), and a power cut may lose the last few batches but never splits one,
so the projection resumes consistently from an older checkpoint. Views are rebuildable; pass
``synchronous="FULL"`` to trade speed for power-cut durability.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

from riverbed.errors import (
    InvalidStoreUrl,
    StoreClosed,
    StoreFailed,
    UnknownView,
    ValidationError,
    ViewConflict,
)
from riverbed.ports.event_store import Checkpoint
from riverbed.ports.views import ACTIVE_ROW_SQL, SLOT_COLUMNS, Row, SlotState, ViewBatch, slot_from_row

T = TypeVar("T")
_CHUNK = 500
_PAGE = 1000
_SCHEMA = """
CREATE TABLE IF NOT EXISTS rb_view_slots (
    slot TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    checkpoint TEXT NOT NULL DEFAULT '0',
    events INTEGER NOT NULL DEFAULT 0,
    failed_at TEXT,
    error TEXT,
    skip TEXT,
    created INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS rb_view_active (name TEXT PRIMARY KEY, slot TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rb_view_rows (
    slot TEXT NOT NULL, key TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (slot, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rb_view_streams (
    slot TEXT NOT NULL, stream TEXT NOT NULL, version INTEGER NOT NULL, PRIMARY KEY (slot, stream)
) WITHOUT ROWID;
"""
_SYNC_MODES = ("OFF", "NORMAL", "FULL", "EXTRA")


def sqlite_path(url: str) -> str:
    """The file path in ``sqlite:///relative.db`` or ``sqlite:////absolute.db`` (the event store's rule)."""
    parts = urlsplit(url)
    hint = "use sqlite:///relative/views.db or sqlite:////absolute/path/views.db"
    if parts.scheme.lower() != "sqlite" or parts.netloc or parts.query or parts.fragment:
        raise InvalidStoreUrl(f"{url!r} is not a SQLite file URL; {hint}")
    path = unquote(parts.path)
    if not path.startswith("/") or len(path) < 2 or path.endswith("/") or path == "/:memory:":
        raise InvalidStoreUrl(f"{url!r} names no file; {hint} (or memory:// for a view store in memory)")
    return path[1:]


def _dumps(row: Row) -> str:
    return json.dumps(row, separators=(",", ":"), ensure_ascii=False)


class SQLiteViewStore:
    """View slots in a SQLite file (see the module docstring)."""

    def __init__(self, url: str, *, synchronous: str = "NORMAL", busy_timeout_ms: int = 10_000) -> None:
        if synchronous.upper() not in _SYNC_MODES:
            raise ValidationError(f"synchronous must be one of {', '.join(_SYNC_MODES)}, got {synchronous!r}")
        self.url = url
        self.path = sqlite_path(url)
        self._synchronous = synchronous.upper()
        self._busy = busy_timeout_ms
        self._conn: sqlite3.Connection | None = None
        self._pool: ThreadPoolExecutor | None = None

    async def open(self) -> SQLiteViewStore:
        """Open (creating if needed) the file and its tables."""
        if self._conn is not None:
            return self
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="riverbed-sqlite-views")
        self._conn = await self._run(self._connect)
        return self

    async def __aenter__(self) -> SQLiteViewStore:
        return await self.open()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the connection and its thread."""
        if self._conn is None or self._pool is None:
            return
        conn, pool = self._conn, self._pool
        self._conn = None
        await asyncio.get_running_loop().run_in_executor(pool, conn.close)
        pool.shutdown(wait=True)
        self._pool = None

    def _connect(self) -> sqlite3.Connection:
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {int(self._busy)}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute(f"PRAGMA synchronous = {self._synchronous}")
        conn.executescript(_SCHEMA)
        return conn

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        if self._pool is None:
            raise StoreClosed(f"the view store {self.url} is closed (or was never opened); open it first")
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    def _c(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreClosed(f"the view store {self.url} is closed (or was never opened); open it first")
        return self._conn

    async def get(self, slot: str, key: str) -> Row | None:
        """The row under ``key``, or None."""
        found = await self.get_many(slot, [key])
        return found.get(key)

    async def get_many(self, slot: str, keys: Iterable[str]) -> dict[str, Row]:
        """The existing rows among ``keys``."""
        return await self._run(self._get_many, slot, list(keys))

    def _get_many(self, slot: str, keys: list[str]) -> dict[str, Row]:
        conn, out = self._c(), {}
        for i in range(0, len(keys), _CHUNK):
            chunk = keys[i : i + _CHUNK]
            marks = ",".join("?" * len(chunk))
            sql = f"SELECT key, data FROM rb_view_rows WHERE slot = ? AND key IN ({marks})"
            for key, data in conn.execute(sql, (slot, *chunk)):
                out[key] = json.loads(data)
        return out

    async def rows(self, slot: str) -> AsyncIterator[tuple[str, Row]]:
        """Every row in key order, read a page at a time."""
        after: str | None = None
        while True:
            page = await self._run(self._page, slot, after)
            for key, data in page:
                yield key, json.loads(data)
            if len(page) < _PAGE:
                return
            after = page[-1][0]

    def _page(self, slot: str, after: str | None) -> list[tuple[str, str]]:
        if after is None:
            sql = "SELECT key, data FROM rb_view_rows WHERE slot = ? ORDER BY key LIMIT ?"
            return list(self._c().execute(sql, (slot, _PAGE)))
        sql = "SELECT key, data FROM rb_view_rows WHERE slot = ? AND key > ? ORDER BY key LIMIT ?"
        return list(self._c().execute(sql, (slot, after, _PAGE)))

    async def stream_versions(self, slot: str, streams: Iterable[str]) -> dict[str, int]:
        """Last applied version per seen stream."""
        return await self._run(self._versions, slot, list(streams))

    def _versions(self, slot: str, streams: list[str]) -> dict[str, int]:
        conn, out = self._c(), dict[str, int]()
        for i in range(0, len(streams), _CHUNK):
            chunk = streams[i : i + _CHUNK]
            marks = ",".join("?" * len(chunk))
            sql = f"SELECT stream, version FROM rb_view_streams WHERE slot = ? AND stream IN ({marks})"
            out.update(conn.execute(sql, (slot, *chunk)))
        return out

    async def load(
        self, slot: str, streams: Iterable[str], keys: Iterable[str]
    ) -> tuple[dict[str, int], dict[str, Row]]:
        """Stream versions and rows in one trip to the store's thread."""
        return await self._run(self._load, slot, list(streams), list(keys))

    def _load(self, slot: str, streams: list[str], keys: list[str]) -> tuple[dict[str, int], dict[str, Row]]:
        return self._versions(slot, streams), self._get_many(slot, keys)

    async def commit(self, slot: str, batch: ViewBatch) -> None:
        """Rows, stream versions and checkpoint in one transaction."""
        upserts = [(slot, key, _dumps(row)) for key, row in batch.upserts.items()]
        await self._run(self._commit, slot, batch, upserts)

    def _commit(self, slot: str, batch: ViewBatch, upserts: list[tuple[str, str, str]]) -> None:
        conn = self._c()
        self._write(
            conn,
            lambda: self._commit_in(conn, slot, batch, upserts),
        )

    def _commit_in(
        self, conn: sqlite3.Connection, slot: str, batch: ViewBatch, upserts: list[tuple[str, str, str]]
    ) -> None:
        if batch.expected is None:
            cursor = conn.execute(
                "UPDATE rb_view_slots SET checkpoint = ?, events = events + ? WHERE slot = ?",
                (str(batch.checkpoint), batch.events, slot),
            )
        else:
            cursor = conn.execute(
                "UPDATE rb_view_slots SET checkpoint = ?, events = events + ? "
                "WHERE slot = ? AND checkpoint = ?",
                (str(batch.checkpoint), batch.events, slot, str(batch.expected)),
            )
        if cursor.rowcount == 0:
            row = conn.execute("SELECT checkpoint FROM rb_view_slots WHERE slot = ?", (slot,)).fetchone()
            if row is None:
                raise UnknownView(slot)
            raise ViewConflict(
                f"view slot {slot!r} is at {row[0]}, not at {batch.expected} as this batch expected: another "
                "writer got there first; re-read the slot and go on from there"
            )
        if upserts:
            conn.executemany(
                "INSERT INTO rb_view_rows (slot, key, data) VALUES (?, ?, ?) "
                "ON CONFLICT (slot, key) DO UPDATE SET data = excluded.data",
                upserts,
            )
        if batch.deletes:
            conn.executemany(
                "DELETE FROM rb_view_rows WHERE slot = ? AND key = ?", [(slot, k) for k in batch.deletes]
            )
        if batch.stream_versions:
            conn.executemany(
                "INSERT INTO rb_view_streams (slot, stream, version) VALUES (?, ?, ?) "
                "ON CONFLICT (slot, stream) DO UPDATE SET version = excluded.version",
                [(slot, s, v) for s, v in batch.stream_versions.items()],
            )

    def _write(self, conn: sqlite3.Connection, body: Callable[[], None]) -> None:
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise StoreFailed(f"the view store {self.url} could not start a write: {exc}") from exc
        try:
            body()
            conn.execute("COMMIT")
        except BaseException as exc:
            conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise StoreFailed(f"the view store {self.url} failed a write: {exc}") from exc
            raise

    async def slots(self, name: str | None = None) -> list[SlotState]:
        """Every slot (of ``name``), oldest first."""
        return await self._run(self._slots, name)

    def _slots(self, name: str | None) -> list[SlotState]:
        sql = f"SELECT {SLOT_COLUMNS} FROM rb_view_slots s LEFT JOIN rb_view_active a ON a.slot = s.slot"
        args: tuple[str, ...] = ()
        if name is not None:
            sql += " WHERE s.name = ?"
            args = (name,)
        return [slot_from_row(tuple(row)) for row in self._c().execute(sql + " ORDER BY s.created", args)]

    async def read_active(self, name: str, key: str) -> tuple[SlotState | None, Row | None]:
        """The active slot of ``name`` and its row under ``key``, in one statement."""
        return await self._run(self._read_active, name, key)

    def _read_active(self, name: str, key: str) -> tuple[SlotState | None, Row | None]:
        found = self._c().execute(ACTIVE_ROW_SQL.format(key="?", name="?"), (key, name)).fetchone()
        if found is None:
            return None, None
        data = found[-1]
        return slot_from_row(tuple(found[:-1])), json.loads(data) if data is not None else None

    async def create_slot(self, slot: str, *, name: str, version: int) -> SlotState:
        """Create an empty slot (an existing one is returned unchanged)."""

        def create() -> None:
            conn = self._c()

            def body() -> None:
                conn.execute(
                    "INSERT INTO rb_view_slots (slot, name, version, created) "
                    "VALUES (?, ?, ?, (SELECT COALESCE(MAX(created), 0) + 1 FROM rb_view_slots)) "
                    "ON CONFLICT (slot) DO NOTHING",
                    (slot, name, version),
                )

            self._write(conn, body)

        await self._run(create)
        return next(s for s in await self.slots(name) if s.slot == slot)

    async def activate(self, name: str, slot: str) -> None:
        """Point ``name`` at ``slot`` and drop the other slots of ``name``, in one transaction."""

        def activate() -> None:
            conn = self._c()

            def body() -> None:
                row = conn.execute("SELECT name FROM rb_view_slots WHERE slot = ?", (slot,)).fetchone()
                if row is None or row[0] != name:
                    raise UnknownView(slot)
                conn.execute(
                    "INSERT INTO rb_view_active (name, slot) VALUES (?, ?) "
                    "ON CONFLICT (name) DO UPDATE SET slot = excluded.slot",
                    (name, slot),
                )
                others = "SELECT slot FROM rb_view_slots WHERE name = ? AND slot <> ?"
                for table in ("rb_view_rows", "rb_view_streams", "rb_view_slots"):
                    conn.execute(f"DELETE FROM {table} WHERE slot IN ({others})", (name, slot))

            self._write(conn, body)

        await self._run(activate)

    async def drop_slot(self, slot: str) -> None:
        """Delete the slot, its rows and stream versions (and its active mark)."""

        def drop() -> None:
            conn = self._c()

            def body() -> None:
                for table in ("rb_view_rows", "rb_view_streams", "rb_view_active", "rb_view_slots"):
                    conn.execute(f"DELETE FROM {table} WHERE slot = ?", (slot,))

            self._write(conn, body)

        await self._run(drop)

    async def record_failure(self, slot: str, *, at: Checkpoint | None, error: str | None) -> None:
        """Record or clear the failure; clearing also clears a pending skip request."""
        if at is None:
            sql = "UPDATE rb_view_slots SET failed_at = NULL, error = NULL, skip = NULL WHERE slot = ?"
            await self._update(slot, sql, (slot,))
        else:
            sql = "UPDATE rb_view_slots SET failed_at = ?, error = ? WHERE slot = ?"
            await self._update(slot, sql, (str(at), error, slot))

    async def request_skip(self, slot: str, *, at: Checkpoint) -> None:
        """Store the operator's skip request."""
        await self._update(slot, "UPDATE rb_view_slots SET skip = ? WHERE slot = ?", (str(at), slot))

    async def _update(self, slot: str, sql: str, args: tuple[Any, ...]) -> None:
        def update() -> None:
            conn = self._c()

            def body() -> None:
                if conn.execute(sql, args).rowcount == 0:
                    raise UnknownView(slot)

            self._write(conn, body)

        await self._run(update)
