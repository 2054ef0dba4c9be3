"""The SQLite event store: embedded, durable, with group commit, on the standard library's sqlite3.

``SQLiteEventStore("sqlite:///bank.db")`` keeps every event in one file in WAL mode with
``synchronous=FULL`` (set and read back on open), so an append is acknowledged only after its commit is
on disk. All writes go through one writer thread (:mod:`.writer`) that commits concurrent appends
together; reads run on reader threads with their own connections (:mod:`.readers`). Nothing blocking
ever runs on the event loop. Subscriptions are woken at once by appends of this process, and take the rows
this process just committed from memory (no read back, no thread hop); they poll, with backoff, for
appends of other processes, and read the file for anything memory does not hold contiguously.

A store is used from the event loop that opened it.
"""

from __future__ import annotations

import asyncio
import bisect
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

from riverbed.adapters.sqlite.codec import SELECT_COLUMNS, decode_rows, event_row
from riverbed.adapters.sqlite.readers import Readers
from riverbed.adapters.sqlite.schema import SCHEMA_VERSION, Durability, path_from_url
from riverbed.adapters.sqlite.writer import AppendJob, Writer
from riverbed.cloudevents.event import CloudEvent
from riverbed.errors import ConfigurationError, StoreClosed, StoreFailed
from riverbed.ports.event_store import (
    After,
    AppendResult,
    Expected,
    ExpectedVersion,
    RecordedEvent,
    StoreStats,
)
from riverbed.ports.event_store_rules import (
    as_checkpoint,
    check_expected_argument,
    check_limit,
    check_read,
    check_stream_name,
    prepare_events,
)

_READ_ALL = (
    f"SELECT {SELECT_COLUMNS} FROM events WHERE position > ? AND position <= ? ORDER BY position LIMIT ?"
)
_RECENT_ROWS = 4096
_RECENT_BYTES = 8 * 1024 * 1024
"""Rows (and bytes of them) this process committed that stay in memory for its live subscribers; when
either is exceeded, the oldest are dropped down to half."""
_READ_TAIL = f"SELECT {SELECT_COLUMNS} FROM events WHERE position > ? ORDER BY position LIMIT ?"
_READ_FORWARDS = (
    f"SELECT {SELECT_COLUMNS} FROM events WHERE stream = ? AND version >= ? ORDER BY version LIMIT ?"
)
_READ_BACKWARDS = (
    f"SELECT {SELECT_COLUMNS} FROM events WHERE stream = ? AND version <= ? ORDER BY version DESC LIMIT ?"
)


def _positive(name: str, value: object, *, integer: bool = False) -> None:
    kind = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind) or value <= 0:
        raise ConfigurationError(
            f"{name} must be a positive {'integer' if integer else 'number'}, got {value!r}"
        )


class SQLiteEventStore:
    """An event store in one SQLite file. See the module docstring.

    Options (keyword-only): ``synchronous`` ``"FULL"`` (default) or ``"EXTRA"``; ``"NORMAL"`` is refused
    unless ``unsafe_allow_data_loss=True`` (it can lose acknowledged events on power loss; tests use it to
    prove that their audit sees the loss). ``busy_timeout`` (seconds) bounds the wait for another process
    that holds the write lock. ``readers`` is the number of reader threads, ``max_batch`` the most appends
    one group commit takes, ``page_size`` the rows per read round trip, and ``poll_interval`` /
    ``max_poll_interval`` (seconds) how often an idle subscription looks for other processes' appends.
    """

    def __init__(
        self,
        url: str,
        *,
        synchronous: str = "FULL",
        unsafe_allow_data_loss: bool = False,
        busy_timeout: float = 5.0,
        readers: int = 2,
        max_batch: int = 512,
        page_size: int = 1000,
        poll_interval: float = 0.005,
        max_poll_interval: float = 0.25,
    ) -> None:
        self.url = url
        self.path = path_from_url(url)
        self._durability = Durability.choose(synchronous, unsafe_allow_data_loss=unsafe_allow_data_loss)
        for name, value in (("busy_timeout", busy_timeout), ("poll_interval", poll_interval)):
            _positive(name, value)
        _positive("max_poll_interval", max_poll_interval)
        for name, count in (("readers", readers), ("max_batch", max_batch), ("page_size", page_size)):
            _positive(name, count, integer=True)
        self._busy_timeout = float(busy_timeout)
        self._reader_threads = readers
        self._max_batch = max_batch
        self._page_size = page_size
        self._poll = (float(poll_interval), max(float(poll_interval), float(max_poll_interval)))
        self._writer: Writer | None = None
        self._readers: Readers | None = None
        self._changed: asyncio.Event | None = None
        self._recent: list[tuple[Any, ...]] = []
        self._recent_sizes: list[int] = []
        self._recent_total = 0
        self._lifecycle = asyncio.Lock()

    # -- lifecycle ------------------------------------------------------------------------------------

    async def open(self) -> SQLiteEventStore:
        """Create or open the file, assert WAL + synchronous, run ``quick_check``, check the schema."""
        async with self._lifecycle:
            if self._writer is None:
                await self._open()
        return self

    async def _open(self) -> None:
        # Rows kept from before a close may not describe the file any more (another process, a new file).
        self._recent, self._recent_sizes, self._recent_total = [], [], 0
        try:
            await asyncio.to_thread(self.path.parent.mkdir, parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigurationError(f"cannot create the directory of {str(self.path)!r}: {exc}") from exc
        writer = Writer(
            self.path,
            durability=self._durability,
            busy_timeout=self._busy_timeout,
            max_batch=self._max_batch,
            loop=asyncio.get_running_loop(),
            on_batch_done=self._batch_done,
        )
        await writer.start()
        self._writer = writer
        self._readers = Readers(self.path, threads=self._reader_threads, busy_timeout=self._busy_timeout)

    async def __aenter__(self) -> SQLiteEventStore:
        return await self.open()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Finish queued appends, then close every connection; wakes subscribers with StoreClosed."""
        async with self._lifecycle:
            writer, readers = self._writer, self._readers
            self._writer = self._readers = None
            self._wake()
            if writer is not None:
                await writer.stop()
            if readers is not None:
                await readers.close()

    # -- writing --------------------------------------------------------------------------------------

    async def append(
        self, stream: str, events: Sequence[CloudEvent], *, expected_version: Expected = ExpectedVersion.ANY
    ) -> AppendResult:
        """Append atomically; returns after the commit is durable (see the port for errors)."""
        writer = self._open_writer()
        if writer.failure is not None:
            raise StoreFailed(
                f"the SQLite store {self.path} failed earlier ({writer.failure!r}) and refuses writes until "
                "it is reopened"
            ) from writer.failure
        expected = check_expected_argument(expected_version)
        prepared = prepare_events(stream, events)
        rows = [event_row(event) for event in prepared]
        future: asyncio.Future[AppendResult] = asyncio.get_running_loop().create_future()
        writer.submit(AppendJob(stream, prepared, rows, expected, future))
        return await future

    def _batch_done(self, jobs: list[AppendJob]) -> None:
        """On the loop, after the batch's COMMIT (or failure): settle every append, wake subscribers."""
        for job in jobs:
            if job.future.done():
                continue
            if isinstance(job.outcome, AppendResult):
                job.future.set_result(job.outcome)
            else:
                job.future.set_exception(job.outcome or StoreFailed("the append was not processed"))
        self._remember(jobs)
        self._wake()

    def _remember(self, jobs: list[AppendJob]) -> None:
        """Keep the rows this process just committed, so live subscribers here need not read them back.

        Memory is bounded by rows and by bytes; a row over the byte budget is not kept (a gap: subscribers
        read it from the file).
        """
        recent, sizes = self._recent, self._recent_sizes
        for job in jobs:
            outcome = job.outcome
            if not (job.inserted and isinstance(outcome, AppendResult)):
                continue
            position, version = outcome.first_position, outcome.first_version
            for i, row in enumerate(job.rows):
                size = _row_bytes(row)
                if size <= _RECENT_BYTES // 4:
                    recent.append((position + i, job.stream, version + i, *row))
                    sizes.append(size)
                    self._recent_total += size
        if len(recent) > _RECENT_ROWS or self._recent_total > _RECENT_BYTES:
            drop = len(recent) - _RECENT_ROWS // 2 if len(recent) > _RECENT_ROWS else 0
            kept = self._recent_total - sum(sizes[:drop])
            while kept > _RECENT_BYTES // 2 and drop < len(recent):
                kept -= sizes[drop]
                drop += 1
            del recent[:drop], sizes[:drop]
            self._recent_total = kept

    def _recent_after(self, position: int, size: int) -> tuple[list[RecordedEvent], bool]:
        """The committed rows right after ``position`` still in memory, up to the first gap (decoded anew).

        Also says whether the run reached the newest row in memory. A gap (another process appended to the
        file in between) or rows older than the memory holds end the run; the subscription then reads the
        file, as it does for every row it did not see written here.
        """
        recent = self._recent
        if not recent or recent[-1][0] <= position:
            return [], False
        start = bisect.bisect_right(recent, position, key=_position_of)
        if start == len(recent) or recent[start][0] != position + 1:
            return [], False
        end = start + 1
        limit = min(len(recent), start + size)
        while end < limit and recent[end][0] == recent[end - 1][0] + 1:
            end += 1
        return decode_rows(recent[start:end]), end == len(recent)

    # -- reading --------------------------------------------------------------------------------------

    async def read(
        self,
        stream: str,
        *,
        from_version: int | None = None,
        backwards: bool = False,
        limit: int | None = None,
    ) -> AsyncIterator[RecordedEvent]:
        """Read one stream forwards or backwards, a page at a time."""
        self._open_readers()
        check_read(stream, from_version, limit)
        if backwards:
            sql, first = _READ_BACKWARDS, (1 << 62) if from_version is None else from_version
        else:
            sql, first = _READ_FORWARDS, from_version or 0

        async def fetch(last: RecordedEvent | None, size: int) -> list[RecordedEvent]:
            cursor = first if last is None else (last.version - 1 if backwards else last.version + 1)
            return await self._open_readers().run(_stream_page, sql, stream, cursor, size)

        async for rec in self._paged(fetch, limit):
            yield rec

    async def read_all(
        self, *, after: After = None, limit: int | None = None
    ) -> AsyncIterator[RecordedEvent]:
        """Everything committed up to now after ``after``, in global order, a page at a time."""
        self._open_readers()
        check_limit(limit)
        checkpoint = as_checkpoint(after)
        start = 0 if checkpoint is None else checkpoint.position
        end: int | None = None

        async def fetch(last: RecordedEvent | None, size: int) -> list[RecordedEvent]:
            nonlocal end
            position = start if last is None else last.position
            page, end = await self._open_readers().run(_read_page, position, end, size)
            return page

        async for rec in self._paged(fetch, limit):
            yield rec

    async def _paged(
        self, fetch: Callable[[RecordedEvent | None, int], Awaitable[list[RecordedEvent]]], limit: int | None
    ) -> AsyncIterator[RecordedEvent]:
        """Yield pages from ``fetch(last_record, size)``, fetching the next while this one is consumed."""
        left = limit
        size = self._page_size if left is None else min(left, self._page_size)
        page = await fetch(None, size) if size > 0 else []
        while True:
            if left is not None:
                left -= len(page)
            prefetch: asyncio.Future[list[RecordedEvent]] | None = None
            if page and len(page) == size and (left is None or left > 0):
                size = self._page_size if left is None else min(left, self._page_size)
                prefetch = asyncio.ensure_future(fetch(page[-1], size))
            try:
                for rec in page:
                    yield rec
            except BaseException:  # the caller stopped early (GeneratorExit) or failed
                if prefetch is not None:
                    prefetch.cancel()
                raise
            if prefetch is None:
                return
            page = await prefetch

    async def subscribe(self, *, after: After = None) -> AsyncIterator[RecordedEvent]:
        """Catch up after ``after``, then follow new appends live; never ends by itself."""
        self._open_readers()
        checkpoint = as_checkpoint(after)
        position = 0 if checkpoint is None else checkpoint.position
        delay = self._poll[0]
        while True:
            readers = self._open_readers()
            changed = self._changed_event()
            page, newest = self._recent_after(position, self._page_size)
            if not page:
                page = await readers.run(_tail_page, position, self._page_size)
            if page:
                for rec in page:
                    yield rec
                position = page[-1].position
                delay = self._poll[0]
                if not newest:
                    continue
                # Up to date with this process's own appends: wait for the next one; another process's
                # appends (if any) are found by the poll below, as when idle.
            try:
                async with asyncio.timeout(delay):
                    await changed.wait()
                delay = self._poll[0]
            except TimeoutError:
                delay = min(delay * 2, self._poll[1])

    async def stream_version(self, stream: str) -> int | None:
        """The stream's last version, or None."""
        readers = self._open_readers()
        check_stream_name(stream)
        return await readers.run(_stream_version, stream)

    async def stats(self) -> StoreStats:
        """Counts, the last position, and the durability settings in force."""
        readers = self._open_readers()
        writer = self._open_writer()

        def count(conn: sqlite3.Connection) -> tuple[int, int, int | None, int]:
            events, last = conn.execute("SELECT count(*), max(position) FROM events").fetchone()
            streams = conn.execute("SELECT count(*) FROM events WHERE version = 0").fetchone()[0]
            pages = conn.execute("PRAGMA page_count").fetchone()[0]
            return events, streams, last, pages

        events, streams, last, pages = await readers.run(count)
        return StoreStats(
            url=self.url,
            events=events,
            streams=streams,
            last_position=last or 0,
            details={
                "path": str(self.path),
                "journal_mode": "wal",
                "synchronous": self._durability.level,
                "schema_version": SCHEMA_VERSION,
                "pages": pages,
                "commits": writer.commits,
                "appends_committed": writer.appends,
                "queued": writer.queued(),
                "failed": writer.failure is not None,
            },
        )

    # -- helpers --------------------------------------------------------------------------------------

    def _open_writer(self) -> Writer:
        if self._writer is None:
            raise StoreClosed(f"the store {self.url} is closed (or was never opened); open it first")
        return self._writer

    def _open_readers(self) -> Readers:
        if self._readers is None:
            raise StoreClosed(f"the store {self.url} is closed (or was never opened); open it first")
        return self._readers

    def _changed_event(self) -> asyncio.Event:
        if self._changed is None:
            self._changed = asyncio.Event()
        return self._changed

    def _wake(self) -> None:
        if self._changed is not None:
            self._changed.set()
            self._changed = None

    def __repr__(self) -> str:
        state = "open" if self._writer is not None else "closed"
        return f"<SQLiteEventStore {self.path} {state} synchronous={self._durability.level}>"


def _read_page(
    conn: sqlite3.Connection, position: int, end: int | None, size: int
) -> tuple[list[RecordedEvent], int]:
    """One page of the log, bounded by the last position at the first page (so ``read_all`` is finite)."""
    if end is None:
        end = conn.execute("SELECT coalesce(max(position), 0) FROM events").fetchone()[0]
    rows = conn.execute(_READ_ALL, (position, end, size)).fetchall()
    return decode_rows(rows), end


def _stream_page(
    conn: sqlite3.Connection, sql: str, stream: str, cursor: int, size: int
) -> list[RecordedEvent]:
    """One page of a stream, forwards or backwards from ``cursor``."""
    return decode_rows(conn.execute(sql, (stream, cursor, size)).fetchall())


def _row_bytes(row: tuple[Any, ...]) -> int:
    """About how much memory a kept row holds: its data and extensions text, plus the other columns."""
    data, extensions = row[6], row[7]
    return 200 + (len(data) if data is not None else 0) + (len(extensions) if extensions is not None else 0)


def _position_of(row: tuple[Any, ...]) -> int:
    position: int = row[0]
    return position


def _tail_page(conn: sqlite3.Connection, position: int, size: int) -> list[RecordedEvent]:
    """The next page of the log after ``position`` (unbounded: for subscriptions)."""
    return decode_rows(conn.execute(_READ_TAIL, (position, size)).fetchall())


def _stream_version(conn: sqlite3.Connection, stream: str) -> int | None:
    version: int | None = conn.execute(
        "SELECT max(version) FROM events WHERE stream = ?", (stream,)
    ).fetchone()[0]
    return version
