"""The PostgreSQL view store: view slots in the schema of the connection's ``search_path``.

Each replica of a view may have its own database or schema. A :meth:`PostgresViewStore.commit` is one
statement (the checkpoint ``UPDATE``, and set-based upserts, deletes and stream versions through ``unnest``
arrays that run only when it found the slot as expected), so a batch of thousands of events costs one
round trip and the rows and the checkpoint land together or not at all. Rows are ``jsonb``; keys use the
"C" collation so that rows come back in the same (code point) order as from every other view store.

Commits run with ``synchronous_commit = off`` unless ``synchronous_commit=True``: a view is rebuilt from the
events, and a commit lost to a server crash takes its checkpoint with it, so the projection re-applies
those events; the view never waits for a WAL flush in the meantime (as SQLite views run ``NORMAL``).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from riverbed.errors import StoreClosed, StoreFailed, UnknownView, ViewConflict
from riverbed.ports.event_store import Checkpoint
from riverbed.ports.views import ACTIVE_ROW_SQL, SLOT_COLUMNS, Row, SlotState, ViewBatch, slot_from_row

_PAGE = 1000
_SCHEMA = """
SELECT pg_advisory_xact_lock(hashtext('riverbed.view_store.schema'));
CREATE TABLE IF NOT EXISTS rb_view_slots (
    slot text PRIMARY KEY,
    name text NOT NULL,
    version integer NOT NULL,
    checkpoint text NOT NULL DEFAULT '0',
    events bigint NOT NULL DEFAULT 0,
    failed_at text,
    error text,
    skip text,
    created bigint GENERATED ALWAYS AS IDENTITY
);
CREATE TABLE IF NOT EXISTS rb_view_active (name text PRIMARY KEY, slot text NOT NULL);
CREATE TABLE IF NOT EXISTS rb_view_rows (
    slot text NOT NULL, key text COLLATE "C" NOT NULL, data jsonb NOT NULL, PRIMARY KEY (slot, key)
);
CREATE TABLE IF NOT EXISTS rb_view_streams (
    slot text NOT NULL, stream text NOT NULL, version bigint NOT NULL, PRIMARY KEY (slot, stream)
);
"""


async def _asynchronous_commits(conn: psycopg.AsyncConnection[Any]) -> None:
    await conn.execute("SET synchronous_commit = off")


_COMMIT = """
WITH cp AS (
    UPDATE rb_view_slots SET checkpoint = %(checkpoint)s, events = events + %(events)s
    WHERE slot = %(slot)s AND (%(expected)s::text IS NULL OR checkpoint = %(expected)s::text)
    RETURNING 1
), upserted AS (
    INSERT INTO rb_view_rows (slot, key, data)
    SELECT %(slot)s, k, d::jsonb FROM unnest(%(keys)s::text[], %(datas)s::text[]) AS t(k, d)
    WHERE EXISTS (SELECT FROM cp)
    ON CONFLICT (slot, key) DO UPDATE SET data = excluded.data
), deleted AS (
    DELETE FROM rb_view_rows
    WHERE slot = %(slot)s AND key = ANY(%(deletes)s::text[]) AND EXISTS (SELECT FROM cp)
), versions AS (
    INSERT INTO rb_view_streams (slot, stream, version)
    SELECT %(slot)s, s, v FROM unnest(%(streams)s::text[], %(versions)s::bigint[]) AS t(s, v)
    WHERE EXISTS (SELECT FROM cp)
    ON CONFLICT (slot, stream) DO UPDATE SET version = excluded.version
)
SELECT count(*) FROM cp
"""
"""A batch in one statement: every write depends on the checkpoint ``UPDATE`` finding the slot where the
batch expects it, so a refused batch writes nothing."""


class PostgresViewStore:
    """View slots in PostgreSQL through a psycopg async connection pool (see the module docstring)."""

    def __init__(
        self, url: str, *, min_size: int = 1, max_size: int = 4, synchronous_commit: bool = False
    ) -> None:
        self.url = url
        self._min = min_size
        self._max = max_size
        self._synchronous = synchronous_commit
        self._pool: AsyncConnectionPool | None = None

    async def open(self) -> PostgresViewStore:
        """Open the pool and create the tables if they are missing."""
        if self._pool is not None:
            return self
        configure = None if self._synchronous else _asynchronous_commits
        pool = AsyncConnectionPool(
            self.url,
            min_size=self._min,
            max_size=self._max,
            open=False,
            configure=configure,
            kwargs={"autocommit": True},  # a read or a commit is one statement: no BEGIN/COMMIT trips
        )
        try:
            await pool.open(wait=True, timeout=30)
            async with pool.connection() as conn:
                await conn.execute(_SCHEMA)
        except psycopg.Error as exc:
            await pool.close()
            raise StoreFailed(f"cannot open the view store at {self.url}: {exc}") from exc
        self._pool = pool
        return self

    async def __aenter__(self) -> PostgresViewStore:
        return await self.open()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the pool."""
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()

    def _p(self) -> AsyncConnectionPool:
        if self._pool is None:
            raise StoreClosed(f"the view store {self.url} is closed (or was never opened); open it first")
        return self._pool

    async def _fetch(self, sql: str, args: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        try:
            async with self._p().connection() as conn:
                cursor = await conn.execute(sql, args)
                return await cursor.fetchall()
        except psycopg.Error as exc:
            raise StoreFailed(f"the view store {self.url} failed a read: {exc}") from exc

    async def get(self, slot: str, key: str) -> Row | None:
        """The row under ``key``, or None."""
        rows = await self._fetch("SELECT data FROM rb_view_rows WHERE slot = %s AND key = %s", (slot, key))
        return rows[0][0] if rows else None

    async def get_many(self, slot: str, keys: Iterable[str]) -> dict[str, Row]:
        """The existing rows among ``keys``, in one statement."""
        wanted = list(keys)
        if not wanted:
            return {}
        sql = "SELECT key, data FROM rb_view_rows WHERE slot = %s AND key = ANY(%s)"
        return dict(await self._fetch(sql, (slot, wanted)))

    async def rows(self, slot: str) -> AsyncIterator[tuple[str, Row]]:
        """Every row in key order, a page at a time."""
        after = ""
        while True:
            page = await self._fetch(
                "SELECT key, data FROM rb_view_rows WHERE slot = %s AND key > %s ORDER BY key LIMIT %s",
                (slot, after, _PAGE),
            )
            for key, data in page:
                yield key, data
            if len(page) < _PAGE:
                return
            after = page[-1][0]

    async def stream_versions(self, slot: str, streams: Iterable[str]) -> dict[str, int]:
        """Last applied version per seen stream."""
        wanted = list(streams)
        if not wanted:
            return {}
        sql = "SELECT stream, version FROM rb_view_streams WHERE slot = %s AND stream = ANY(%s)"
        return dict(await self._fetch(sql, (slot, wanted)))

    async def load(
        self, slot: str, streams: Iterable[str], keys: Iterable[str]
    ) -> tuple[dict[str, int], dict[str, Row]]:
        """Stream versions and rows in one statement (one round trip)."""
        found = await self._fetch(
            "SELECT false, stream, to_jsonb(version) FROM rb_view_streams "
            "WHERE slot = %s AND stream = ANY(%s::text[]) "
            "UNION ALL SELECT true, key, data FROM rb_view_rows WHERE slot = %s AND key = ANY(%s::text[])",
            (slot, list(streams), slot, list(keys)),
        )
        versions = {name: int(value) for is_row, name, value in found if not is_row}
        return versions, {name: value for is_row, name, value in found if is_row}

    async def commit(self, slot: str, batch: ViewBatch) -> None:
        """Rows, stream versions and checkpoint in one statement (one round trip, one transaction)."""
        expected = str(batch.expected) if batch.expected is not None else None
        deletes = sorted(batch.deletes)
        keys = [k for k in batch.upserts if k not in batch.deletes]  # a key in both is deleted
        datas = [json.dumps(batch.upserts[k], separators=(",", ":")) for k in keys]
        args = {
            "slot": slot,
            "checkpoint": str(batch.checkpoint),
            "events": batch.events,
            "expected": expected,
            "keys": keys,
            "datas": datas,
            "deletes": deletes,
            "streams": list(batch.stream_versions),
            "versions": list(batch.stream_versions.values()),
        }
        try:
            async with self._p().connection() as conn:
                done = await (await conn.execute(_COMMIT, args)).fetchone()
                if done is not None and done[0] == 1:
                    return
                found = await (
                    await conn.execute("SELECT checkpoint FROM rb_view_slots WHERE slot = %s", (slot,))
                ).fetchone()
        except psycopg.Error as exc:
            raise StoreFailed(f"the view store {self.url} failed a commit: {exc}") from exc
        if found is None:
            raise UnknownView(slot)
        raise ViewConflict(
            f"view slot {slot!r} is at {found[0]}, not at {expected} as this batch expected: "
            "another writer got there first; re-read the slot and go on from there"
        )

    async def slots(self, name: str | None = None) -> list[SlotState]:
        """Every slot (of ``name``), oldest first."""
        sql = f"SELECT {SLOT_COLUMNS} FROM rb_view_slots s LEFT JOIN rb_view_active a ON a.slot = s.slot"
        args: tuple[Any, ...] = ()
        if name is not None:
            sql += " WHERE s.name = %s"
            args = (name,)
        return [slot_from_row(tuple(row)) for row in await self._fetch(sql + " ORDER BY s.created", args)]

    async def read_active(self, name: str, key: str) -> tuple[SlotState | None, Row | None]:
        """The active slot of ``name`` and its row under ``key``, in one statement."""
        found = await self._fetch(ACTIVE_ROW_SQL.format(key="%s", name="%s"), (key, name))
        if not found:
            return None, None
        return slot_from_row(tuple(found[0][:-1])), found[0][-1]

    async def create_slot(self, slot: str, *, name: str, version: int) -> SlotState:
        """Create an empty slot (an existing one is returned unchanged)."""
        await self._write(
            "INSERT INTO rb_view_slots (slot, name, version) VALUES (%s, %s, %s) "
            "ON CONFLICT (slot) DO NOTHING",
            (slot, name, version),
        )
        return next(s for s in await self.slots(name) if s.slot == slot)

    async def activate(self, name: str, slot: str) -> None:
        """Point ``name`` at ``slot`` and drop the other slots of ``name``, in one transaction.

        A transaction-scoped advisory lock on the name serialises concurrent cut-overs of one view.
        """
        try:
            async with self._p().connection() as conn, conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"riverbed.view:{name}",))
                cursor = await conn.execute(
                    "INSERT INTO rb_view_active (name, slot) SELECT name, slot FROM rb_view_slots "
                    "WHERE slot = %s AND name = %s ON CONFLICT (name) DO UPDATE SET slot = excluded.slot",
                    (slot, name),
                )
                if cursor.rowcount == 0:
                    raise UnknownView(slot)
                # The slot rows first, as a commit locks them first: the two never deadlock.
                dropped = await (
                    await conn.execute(
                        "DELETE FROM rb_view_slots WHERE name = %s AND slot <> %s RETURNING slot",
                        (name, slot),
                    )
                ).fetchall()
                gone = [row[0] for row in dropped]
                if gone:
                    for table in ("rb_view_rows", "rb_view_streams"):
                        await conn.execute(f"DELETE FROM {table} WHERE slot = ANY(%s)", (gone,))
        except psycopg.Error as exc:
            raise StoreFailed(f"the view store {self.url} failed to activate {slot!r}: {exc}") from exc

    async def drop_slot(self, slot: str) -> None:
        """Delete the slot, its rows and stream versions (and its active mark), in one transaction."""
        try:
            async with self._p().connection() as conn, conn.transaction():
                # The slot row first, as a commit locks it first: the two never deadlock.
                for table in ("rb_view_slots", "rb_view_active", "rb_view_rows", "rb_view_streams"):
                    await conn.execute(f"DELETE FROM {table} WHERE slot = %s", (slot,))
        except psycopg.Error as exc:
            raise StoreFailed(f"the view store {self.url} failed to drop {slot!r}: {exc}") from exc

    async def record_failure(self, slot: str, *, at: Checkpoint | None, error: str | None) -> None:
        """Record or clear the failure; clearing also clears a pending skip request."""
        if at is None:
            sql = "UPDATE rb_view_slots SET failed_at = NULL, error = NULL, skip = NULL WHERE slot = %s"
            count = await self._write(sql, (slot,))
        else:
            sql = "UPDATE rb_view_slots SET failed_at = %s, error = %s WHERE slot = %s"
            count = await self._write(sql, (str(at), error, slot))
        if count == 0:
            raise UnknownView(slot)

    async def request_skip(self, slot: str, *, at: Checkpoint) -> None:
        """Store the operator's skip request."""
        if await self._write("UPDATE rb_view_slots SET skip = %s WHERE slot = %s", (str(at), slot)) == 0:
            raise UnknownView(slot)

    async def _write(self, sql: str, args: tuple[Any, ...]) -> int:
        try:
            async with self._p().connection() as conn, conn.transaction():
                cursor = await conn.execute(sql, args)
                return cursor.rowcount
        except psycopg.Error as exc:
            raise StoreFailed(f"the view store {self.url} failed a write: {exc}") from exc
