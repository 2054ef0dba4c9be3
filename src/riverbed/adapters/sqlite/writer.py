"""The writer thread: the only place that writes to a SQLite event store file, with group commit.

Appends are queued from the event loop. The thread takes every append waiting in the queue (up to a
limit) and commits them in ONE transaction, so one fsync acknowledges many appends: under concurrent load
this is what lifts SQLite past its single-commit rate. Each append runs inside its own SAVEPOINT and is
checked on its own (idempotency, expected version), so one append's clash rolls back only that append.
No future is resolved before the COMMIT has returned.

Fail-stop: an unexpected SQLite error while writing or committing (an I/O error, a full disk) means the
file's state is unknown; the writer rolls back, fails every append of the batch with StoreFailed and
refuses every later append until the store is reopened.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sqlite3
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from riverbed.adapters.sqlite.codec import INSERT_EVENT, EventRow
from riverbed.adapters.sqlite.schema import Durability, connect, prepare_writer
from riverbed.cloudevents.event import CloudEvent
from riverbed.errors import EventStoreError, RiverbedError, StoreFailed
from riverbed.ports.event_store import AppendResult, Checkpoint, Expected
from riverbed.ports.event_store_rules import StoredPlace, check_expected_version, replayed_append

_LOOKUP_CHUNK = 500
_BUSY_CODES = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


@dataclass(slots=True, eq=False)
class AppendJob:
    """One append on its way to the writer, and (later) its outcome."""

    stream: str
    events: Sequence[CloudEvent]
    rows: list[EventRow]
    expected: Expected
    future: asyncio.Future[AppendResult]
    outcome: AppendResult | BaseException | None = field(default=None)
    inserted: bool = False
    """True when this append wrote its rows (False for an idempotent replay of stored events)."""


_STOP = object()


class Writer:
    """Owns the writing connection and the thread that uses it."""

    def __init__(
        self,
        path: Path,
        *,
        durability: Durability,
        busy_timeout: float,
        max_batch: int,
        loop: asyncio.AbstractEventLoop,
        on_batch_done: Callable[[list[AppendJob]], None],
    ) -> None:
        self._path = path
        self._durability = durability
        self._busy_timeout = busy_timeout
        self._max_batch = max_batch
        self._loop = loop
        self._on_batch_done = on_batch_done
        self._queue: queue.SimpleQueue[AppendJob | object] = queue.SimpleQueue()
        self._ready: asyncio.Future[None] = loop.create_future()
        self._thread = threading.Thread(
            target=self._main, name=f"riverbed-sqlite-writer:{path.name}", daemon=True
        )
        self.failure: BaseException | None = None
        self.commits = 0
        self.appends = 0

    async def start(self) -> None:
        """Start the thread; returns once the file is open, checked and ready (or raises why not)."""
        self._thread.start()
        await self._ready

    def queued(self) -> int:
        """Appends waiting for the writer thread (not yet in a transaction)."""
        return self._queue.qsize()

    def submit(self, job: AppendJob) -> None:
        """Queue an append (called on the event loop; never blocks)."""
        self._queue.put(job)

    async def stop(self) -> None:
        """Finish the queued appends, close the connection and end the thread."""
        self._queue.put(_STOP)
        await asyncio.to_thread(self._thread.join)

    # -- the thread -----------------------------------------------------------------------------------

    def _main(self) -> None:
        try:
            conn = connect(self._path, busy_timeout=self._busy_timeout, read_only=False)
        except BaseException as exc:
            self._notify(_settle, self._ready, exc)
            return
        try:
            prepare_writer(conn, self._path, self._durability, self._busy_timeout)
        except BaseException as exc:
            conn.close()
            self._notify(_settle, self._ready, exc)
            return
        self._notify(_settle, self._ready, None)
        try:
            self._serve(conn)
        finally:
            conn.close()

    def _notify(self, callback: Callable[..., None], *args: Any) -> None:
        """Run ``callback`` on the store's loop; a loop closed without closing the store hears nothing."""
        # A closed loop raises RuntimeError: nobody is waiting for these results any more.
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(callback, *args)

    def _serve(self, conn: sqlite3.Connection) -> None:
        stopping = False
        while not stopping:
            item = self._queue.get()
            if item is _STOP:
                return
            batch = [item]
            while len(batch) < self._max_batch and not self._queue.empty():
                item = self._queue.get_nowait()
                if item is _STOP:
                    stopping = True
                    break
                batch.append(item)
            jobs: list[AppendJob] = batch  # type: ignore[assignment]
            self._commit(conn, jobs)
            self._notify(self._on_batch_done, jobs)

    def _commit(self, conn: sqlite3.Connection, jobs: list[AppendJob]) -> None:
        if self.failure is not None:
            for job in jobs:
                job.outcome = self._refusal()
            return
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode in _BUSY_CODES:
                for job in jobs:
                    job.outcome = EventStoreError(
                        f"the SQLite store {self._path} stayed locked by another process for "
                        f"{self._busy_timeout:g} s; retry, or raise busy_timeout"
                    )
                return
            self._fail(conn, jobs, exc)
            return
        except sqlite3.Error as exc:
            self._fail(conn, jobs, exc)
            return
        savepoints = len(jobs) > 1
        try:
            for job in jobs:
                self._apply_one(conn, job, savepoints=savepoints)
            if any(isinstance(job.outcome, AppendResult) for job in jobs):
                conn.execute("COMMIT")
                self.commits += 1
            else:
                conn.execute("ROLLBACK")
        except _RolledBack:
            return
        except BaseException as exc:
            self._fail(conn, jobs, exc)
            return
        self.appends += sum(isinstance(job.outcome, AppendResult) for job in jobs)

    def _apply_one(self, conn: sqlite3.Connection, job: AppendJob, *, savepoints: bool) -> None:
        if savepoints:
            conn.execute("SAVEPOINT append")
        try:
            job.outcome = self._append(conn, job)
        except RiverbedError as exc:
            # A rule said no before anything was inserted; the savepoint (or the whole transaction when
            # the batch holds only this append) still guarantees nothing of it stays.
            job.outcome = exc
            if savepoints:
                conn.execute("ROLLBACK TO append")
            else:
                conn.execute("ROLLBACK")
                raise _RolledBack from None
        except sqlite3.IntegrityError as exc:
            job.outcome = EventStoreError(f"append to {job.stream!r} broke a constraint unexpectedly: {exc}")
            if savepoints:
                conn.execute("ROLLBACK TO append")
            else:
                conn.execute("ROLLBACK")
                raise _RolledBack from None
        if savepoints:
            conn.execute("RELEASE append")

    def _append(self, conn: sqlite3.Connection, job: AppendJob) -> AppendResult:
        stream, events = job.stream, job.events
        stored, current, last_position = _look_up(conn, stream, [event.id for event in events])
        if stored:
            replay = replayed_append(stream, events, job.expected, stored)
            if replay is not None:
                return replay
        check_expected_version(stream, job.expected, current)
        first_version = 0 if current is None else current + 1
        first_position = 1 if last_position is None else last_position + 1
        conn.executemany(
            INSERT_EVENT,
            [(first_position + i, stream, first_version + i, *row) for i, row in enumerate(job.rows)],
        )
        count = len(job.rows)
        last = first_position + count - 1
        job.inserted = True
        return AppendResult(
            stream=stream,
            first_version=first_version,
            last_version=first_version + count - 1,
            first_position=first_position,
            last_position=last,
            checkpoint=Checkpoint(0, last),
            event_ids=tuple(event.id for event in events),
        )

    def _fail(self, conn: sqlite3.Connection, jobs: list[AppendJob], exc: BaseException) -> None:
        self.failure = exc
        try:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass  # the connection is already broken; the failure above is what matters
        for job in jobs:
            job.outcome = self._refusal()

    def _refusal(self) -> StoreFailed:
        refusal = StoreFailed(
            f"the SQLite store {self._path} hit an error while writing ({self.failure!r}) and refuses writes "
            "until it is reopened; nothing of the failed appends was acknowledged"
        )
        refusal.__cause__ = self.failure
        return refusal


def _look_up(
    conn: sqlite3.Connection, stream: str, ids: list[str]
) -> tuple[dict[str, StoredPlace], int | None, int | None]:
    """Where the append's ids are already stored, the stream's version and the last position.

    One statement for the usual small append (every statement is a round through the Python driver);
    large appends look their ids up in chunks that stay under SQLite's parameter limit.
    """
    stored: dict[str, StoredPlace] = {}
    head, rest = ids[:_LOOKUP_CHUNK], ids[_LOOKUP_CHUNK:]
    marks = ",".join("?" * len(head))
    rows = conn.execute(
        f"SELECT id, stream, version, position FROM events WHERE id IN ({marks}) "
        "UNION ALL SELECT NULL, NULL, (SELECT max(version) FROM events WHERE stream = ?), "
        "(SELECT max(position) FROM events)",
        (*head, stream),
    ).fetchall()
    # The aggregate row is the one without an id (stored ids are never NULL); do not rely on row order.
    current = last_position = None
    found = []
    for row in rows:
        if row[0] is None:
            current, last_position = row[2], row[3]
        else:
            found.append(row)
    for start in range(0, len(rest), _LOOKUP_CHUNK):
        chunk = rest[start : start + _LOOKUP_CHUNK]
        found += conn.execute(
            f"SELECT id, stream, version, position FROM events WHERE id IN ({','.join('?' * len(chunk))})",
            chunk,
        ).fetchall()
    for event_id, place_stream, version, position in found:
        stored[event_id] = StoredPlace(place_stream, version, position)
    return stored, current, last_position


class _RolledBack(Exception):
    """The single append of a batch was refused and its transaction rolled back."""


def _settle(future: asyncio.Future[None], error: BaseException | None) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)
