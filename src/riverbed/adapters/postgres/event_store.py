"""The PostgreSQL event store: one-round-trip appends and a global order that never skips.

* **Append** is one statement (see :mod:`.statements`) with the events as binary arrays, in autocommit:
  the first-write and durability checks, the version check and the INSERT of every event travel and
  commit together. Optimistic concurrency rides on ``UNIQUE (stream_id, version)``; idempotency on
  ``UNIQUE (event_id)``: only when one of them fires (the error path) does the store look up where the
  ids are and let :func:`~riverbed.ports.event_store_rules.replayed_append` decide.
* **Global order** is ``(transaction_id, global_position)``. Readers take, in one statement, only rows
  whose writing transaction is below ``pg_snapshot_xmin(pg_current_snapshot())``: that set is final, so
  resuming after the last pair read never skips an event that committed late, and rolled-back rows never
  appear. A long-running writer delays readers (``stats().details`` names it), it never makes them skip.
* **Subscribers** are woken by LISTEN/NOTIFY (sent after commit, coalesced: see :class:`.Notifier`) and
  fall back to polling with backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import psycopg
from psycopg import AsyncConnection, errors
from psycopg_pool import AsyncConnectionPool, PoolClosed

from riverbed.adapters.postgres import migrations
from riverbed.adapters.postgres.codec import Columns, decode_rows
from riverbed.adapters.postgres.driver import (
    CONNECTION_ERRORS,
    Clash,
    Row,
    configure,
    consume_outcome,
    expected_code,
    mask_password,
    refuse_append,
    translate,
)
from riverbed.adapters.postgres.listener import Listener, Notifier, Wakeup
from riverbed.adapters.postgres.statements import append_params, statements
from riverbed.cloudevents.event import CloudEvent
from riverbed.errors import (
    ConfigurationError,
    InvalidPosition,
    StoreClosed,
    StoreUnavailable,
    WrongExpectedVersion,
)
from riverbed.ports.event_store import (
    After,
    AppendResult,
    Checkpoint,
    Expected,
    ExpectedVersion,
    RecordedEvent,
    StoreStats,
)
from riverbed.ports.event_store_rules import (
    StoredPlace,
    as_checkpoint,
    check_expected_argument,
    check_limit,
    check_read,
    check_stream_name,
    prepare_events,
    replayed_append,
)

MAX_VERSION = 2**63 - 1
_RETRIES = 4
_ANY_RETRIES = 1000
_HELD_BACK_MAX_WAIT = 0.02  # s between re-checks of held-back events: more is read-your-writes latency


class PostgresEventStore:
    """An event store in one PostgreSQL schema (the connection's ``search_path``, or ``schema=``).

    Options: ``schema`` (default: the connection's current schema), ``migrate`` (apply missing schema
    migrations on open; default True), ``min_size``/``max_size`` (connection pool; default 1/10),
    ``page_size`` (rows per read query; default 1000), ``pool_timeout`` (seconds to wait for a connection
    before raising StoreUnavailable; default 30), ``poll_interval`` (seconds an idle subscriber waits
    between safety polls when LISTEN works; default 2), ``notify`` (send NOTIFY wake-ups to subscribers in
    other processes after appends; default True).
    """

    def __init__(
        self,
        url: str,
        *,
        schema: str | None = None,
        migrate: bool = True,
        min_size: int = 1,
        max_size: int = 10,
        page_size: int = 1000,
        pool_timeout: float = 30.0,
        poll_interval: float = 2.0,
        notify: bool = True,
    ) -> None:
        if not isinstance(url, str) or urlsplit(url).scheme.lower() not in ("postgresql", "postgres"):
            raise ConfigurationError(f"{url!r} is not a postgresql:// URL")
        if page_size < 1 or min_size < 0 or max_size < max(1, min_size):
            raise ConfigurationError("page_size and max_size must be ≥ 1, and max_size ≥ min_size")
        self.url = url
        self._schema_option = schema
        self._migrate = migrate
        self._min_size = min_size
        self._max_size = max_size
        self._page_size = page_size
        self._pool_timeout = pool_timeout
        self._poll_interval = poll_interval
        self._pool: AsyncConnectionPool[AsyncConnection[Row]] | None = None
        self._closed = True
        self._wakeup = Wakeup()
        self._listener: Listener | None = None
        self._notify = notify
        self._notifier: Notifier | None = None
        self.schema = ""
        self._sql: dict[str, bytes] = {}
        self.connection_retries = 0

    # -- lifecycle ---------------------------------------------------------------------------------

    async def open(self) -> PostgresEventStore:
        """Connect, check the server and the schema (migrating it when asked), and start the pool."""
        if not self._closed:
            return self
        pool: AsyncConnectionPool[AsyncConnection[Row]] = AsyncConnectionPool(
            self.url,
            min_size=self._min_size,
            max_size=self._max_size,
            open=False,
            timeout=self._pool_timeout,
            kwargs={"autocommit": True},
            configure=configure,
            name=f"riverbed-{id(self):x}",
        )
        try:
            await pool.open(wait=self._min_size > 0, timeout=self._pool_timeout)
            async with pool.connection() as conn:
                await self._prepare(conn)
        except CONNECTION_ERRORS as exc:
            await pool.close()
            raise StoreUnavailable(f"cannot connect to {self.safe_url}: {exc}") from exc
        except BaseException:
            await pool.close()
            raise
        self._pool = pool
        self._wakeup = Wakeup()
        self._closed = False
        return self

    async def migrate(self) -> int:
        """Apply every missing schema migration (what ``riverbed store init`` does); returns the version."""
        conn = await AsyncConnection.connect(self.url, autocommit=True)
        try:
            schema = await self._resolve_schema(conn)
            return await migrations.migrate(conn, schema, where=self.safe_url)
        finally:
            await conn.close()

    async def close(self) -> None:
        """Stop subscribers and the listener, and close every connection. Idempotent."""
        self._closed = True
        self._wakeup.wake()
        listener, self._listener = self._listener, None
        if listener is not None:
            await listener.stop()
        notifier, self._notifier = self._notifier, None
        if notifier is not None:
            await notifier.stop()
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    async def __aenter__(self) -> PostgresEventStore:
        return await self.open()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @property
    def listening(self) -> bool:
        """True while this store's LISTEN connection is up (subscribers are woken by NOTIFY, not polls)."""
        return self._wakeup.listening

    @property
    def safe_url(self) -> str:
        """The URL without its password, for messages and stats."""
        return mask_password(self.url)

    async def _resolve_schema(self, conn: AsyncConnection[Row]) -> str:
        if self._schema_option is not None:
            return self._schema_option
        cur = await conn.execute("SELECT current_schema()")
        row = await cur.fetchone()
        if row is None or row[0] is None:
            raise ConfigurationError(
                f"the search_path of {self.safe_url} names no existing schema; create the schema or pass "
                "schema=... to the store"
            )
        return str(row[0])

    async def _prepare(self, conn: AsyncConnection[Row]) -> None:
        if conn.info.server_version < 130000:
            raise ConfigurationError(
                f"the PostgreSQL store needs PostgreSQL 13 or newer (xid8); {self.safe_url} runs "
                f"{conn.info.server_version}"
            )
        schema = await self._resolve_schema(conn)
        if self._migrate:
            await migrations.migrate(conn, schema, where=self.safe_url)
        else:
            await migrations.require_current(conn, schema, where=self.safe_url)
        self.schema = schema
        self._channel = migrations.channel_name(schema)
        self._sql = statements(schema)
        self._notifier = Notifier(self.url, self._channel) if self._notify else None

    # -- writing -----------------------------------------------------------------------------------

    async def append(
        self, stream: str, events: Sequence[CloudEvent], *, expected_version: Expected = ExpectedVersion.ANY
    ) -> AppendResult:
        """Append atomically in one round trip (see :class:`~riverbed.ports.event_store.EventStore`)."""
        self._check_open()
        expected = check_expected_argument(expected_version)
        prepared = prepare_events(stream, events)
        query = self._sql["append_one" if len(prepared) == 1 else "append"]
        params = append_params(stream, expected_code(expected), Columns(prepared))
        for attempt in range(_ANY_RETRIES):
            try:
                rows = await self._run(query, params)
                (
                    current,
                    first_write,
                    durable,
                    first_position,
                    last_position,
                    first_version,
                    last_version,
                    xid,
                ) = rows[0]
                if first_position is None:
                    refuse_append(first_write=first_write, durable=durable)
                    raise Clash(version_clash=True, actual=current, known=True)
            except Clash as clash:
                replay = await self._replay(stream, prepared, expected)
                if replay is not None:
                    return replay
                actual = clash.actual if clash.known else await self.stream_version(stream)
                if clash.version_clash and (
                    expected is ExpectedVersion.ANY
                    or (expected is ExpectedVersion.EXISTS and actual is not None)
                ):
                    # A concurrent append took the next version first: ANY/EXISTS just retry, backing off
                    # a little (randomised) when the stream is this hot.
                    if attempt >= 3:
                        await asyncio.sleep(random.random() * 0.001 * min(attempt, 20))
                    continue
                raise WrongExpectedVersion(stream, expected=expected, actual=actual) from None
            self._appended()
            return AppendResult(
                stream=stream,
                first_version=first_version,
                last_version=last_version,
                first_position=first_position,
                last_position=last_position,
                checkpoint=Checkpoint(int(xid), last_position),
                event_ids=tuple([event.id for event in prepared]),
            )
        raise WrongExpectedVersion(stream, expected=expected, actual=await self.stream_version(stream))

    async def _replay(
        self, stream: str, events: Sequence[CloudEvent], expected: Expected
    ) -> AppendResult | None:
        rows = await self._run(self._sql["places"], ([event.id for event in events],))
        stored = {row[0]: StoredPlace(row[1], row[2], row[3], int(row[4])) for row in rows}
        return replayed_append(stream, events, expected, stored)

    # -- reading -----------------------------------------------------------------------------------

    async def read(
        self,
        stream: str,
        *,
        from_version: int | None = None,
        backwards: bool = False,
        limit: int | None = None,
    ) -> AsyncIterator[RecordedEvent]:
        """Read one stream from ``from_version`` (inclusive), forwards or backwards, in pages."""
        self._check_open()
        check_read(stream, from_version, limit)
        query = self._sql["read_back" if backwards else "read"]
        cursor = (MAX_VERSION if backwards else 0) if from_version is None else from_version
        remaining = limit
        if remaining == 0:
            return
        size = self._page_size if remaining is None else min(self._page_size, remaining)
        # The next page is fetched while this one is decoded and consumed.
        pending: asyncio.Future[list[Row]] | None = asyncio.ensure_future(
            self._run(query, (stream, cursor, size))
        )
        try:
            while pending is not None:
                rows = await pending
                pending = None
                if remaining is not None:
                    remaining -= len(rows)
                if rows:
                    cursor = rows[-1][3] - 1 if backwards else rows[-1][3] + 1
                if len(rows) == size and cursor >= 0 and (remaining is None or remaining > 0):
                    size = self._page_size if remaining is None else min(self._page_size, remaining)
                    pending = asyncio.ensure_future(self._run(query, (stream, cursor, size)))
                for record in decode_rows(rows):
                    yield record
        finally:
            if pending is not None:  # the reader stopped early: drop the prefetch
                pending.cancel()
                pending.add_done_callback(consume_outcome)

    async def read_all(
        self, *, after: After = None, limit: int | None = None
    ) -> AsyncIterator[RecordedEvent]:
        """Every event committed before the call (and possibly later ones) after ``after``, in order.

        Reads only the final part of the log (below the xmin horizon). When events committed before the
        call are still held back by an older open transaction, it waits (polling) until that transaction
        ends rather than return a result that a resumed read could not continue without a skip.
        """
        self._check_open()
        check_limit(limit)
        checkpoint = await self._resolve(after)
        target_row = await self._run(self._sql["target"], ())
        target, horizon_ok = target_row[0]
        if target is None or int(target) < checkpoint.commit:
            return  # nothing was committed after the checkpoint when the call began
        remaining = limit
        delay = 0.001
        while remaining is None or remaining > 0:
            size = self._page_size if remaining is None else min(self._page_size, remaining)
            rows = await self._run(
                self._sql["page_upto"], (str(checkpoint.commit), checkpoint.position, target, size)
            )
            records = decode_rows(rows)
            for record in records:
                yield record
            if records:
                checkpoint = records[-1].checkpoint
                if remaining is not None:
                    remaining -= len(records)
            if len(rows) == size:
                continue
            if horizon_ok:
                return
            # Events up to ``target`` are committed but an older transaction is still open: wait for it.
            horizon_ok = (await self._run(self._sql["horizon_passed"], (target,)))[0][0]
            if not horizon_ok:
                await asyncio.sleep(delay)
                delay = min(delay * 2, _HELD_BACK_MAX_WAIT)
                self._check_open()

    async def subscribe(self, *, after: After = None) -> AsyncIterator[RecordedEvent]:
        """Catch up after ``after``, then follow new events; never ends by itself (close the store)."""
        self._check_open()
        checkpoint = await self._resolve(after)
        self._ensure_listener()
        delay = 0.001
        while True:
            self._check_open()
            seen = self._wakeup.generation
            rows = await self._run(
                self._sql["page"], (str(checkpoint.commit), checkpoint.position, self._page_size)
            )
            records = decode_rows(rows)
            for record in records:
                yield record
            if records:
                checkpoint = records[-1].checkpoint
                delay = 0.001
            if len(rows) == self._page_size:
                continue
            if (await self._run(self._sql["pending"], ()))[0][0]:
                # Held back by an older open transaction (often an append, which notifies): wait for it.
                await self._wakeup.wait(seen, delay)
                delay = min(delay * 2, _HELD_BACK_MAX_WAIT)
            else:
                timeout = self._poll_interval if self._wakeup.listening else min(self._poll_interval, 0.1)
                await self._wakeup.wait(seen, timeout)

    async def _resolve(self, after: After) -> Checkpoint:
        """Turn ``after`` into an (xid, position) pair; a bare position is looked up."""
        checkpoint = as_checkpoint(after)
        if checkpoint is None or (checkpoint.commit == 0 and checkpoint.position == 0):
            return Checkpoint(0, 0)
        if checkpoint.commit != 0:
            return checkpoint
        rows = await self._run(self._sql["xid_of"], (checkpoint.position,))
        if not rows:
            raise InvalidPosition(
                f"there is no committed event at global position {checkpoint.position} in {self.safe_url}; "
                "resume from a checkpoint this store gave "
                "(RecordedEvent.checkpoint or AppendResult.checkpoint)"
            )
        return Checkpoint(int(rows[0][0]), checkpoint.position)

    # -- inspecting --------------------------------------------------------------------------------

    async def stream_version(self, stream: str) -> int | None:
        """The stream's current version, or None when it has no events."""
        self._check_open()
        rows = await self._run(self._sql["version"], (check_stream_name(stream),))
        value = rows[0][0]
        return None if value is None else int(value)

    async def stats(self) -> StoreStats:
        """Counts, plus what an operator needs to see why subscribers lag.

        ``details``: ``schema``, ``schema_version``, ``horizon`` (the xmin readers stop below),
        ``held_back_events`` (committed but not yet readable because an older transaction is open),
        ``oldest_writer`` (pid, xid, age in seconds, state and database of the oldest open transaction
        that holds a transaction id, cluster-wide), ``prepared_transactions`` and ``connection_retries``
        (statements this store object re-ran after a lost connection).
        """
        self._check_open()
        counts = (await self._run(self._sql["stats"], ()))[0]
        oldest = await self._run(self._sql["oldest_writer"], ())
        names = ("pid", "xid", "age_seconds", "state", "database")
        writer = dict(zip(names, oldest[0], strict=True)) if oldest else None
        return StoreStats(
            url=self.safe_url,
            events=int(counts[0]),
            streams=int(counts[1]),
            last_position=int(counts[2]),
            details={
                "schema": self.schema,
                "schema_version": migrations.LATEST,
                "horizon": int(counts[3]),
                "held_back_events": int(counts[4]),
                "oldest_writer": writer,
                "prepared_transactions": int(counts[5]),
                "connection_retries": self.connection_retries,
            },
        )

    # -- plumbing ----------------------------------------------------------------------------------

    def _appended(self) -> None:
        """Wake this store's own subscribers at once, and other processes' through NOTIFY."""
        self._wakeup.wake()
        if self._notifier is not None:
            self._notifier.poke()

    def _ensure_listener(self) -> None:
        if self._listener is None:
            self._listener = Listener(self.url, self._channel, self._wakeup, {})
            self._listener.start()

    async def _run(self, query: bytes, params: Sequence[Any] | Mapping[str, Any]) -> list[Row]:
        """Run one statement on a pooled connection; retry on a lost connection, translate errors."""
        delay = 0.05
        for attempt in range(_RETRIES):
            pool = self._pool
            if pool is None or self._closed:
                raise StoreClosed(f"the store {self.safe_url} is closed; open it again")
            try:
                conn = await pool.getconn()  # putconn replaces a broken connection; autocommit: no txn
                try:
                    cur = await conn.execute(query, params)
                    return await cur.fetchall()  # every statement of the store returns rows
                finally:
                    await pool.putconn(conn)
            except PoolClosed:
                raise StoreClosed(f"the store {self.safe_url} is closed; open it again") from None
            except errors.UniqueViolation as exc:
                version_clash = exc.diag.constraint_name == "riverbed_events_stream_version"
                raise Clash(version_clash=version_clash, actual=None, known=False) from None
            except CONNECTION_ERRORS as exc:
                # Appends are idempotent by event id and reads have no effect, so retrying is safe even
                # when the first attempt's outcome is unknown.
                if attempt == _RETRIES - 1:
                    raise StoreUnavailable(
                        f"the PostgreSQL server at {self.safe_url} cannot be reached ({exc}); retry the same "
                        "call (appends are idempotent by event id)"
                    ) from exc
                self.connection_retries += 1
                with contextlib.suppress(Exception):
                    await pool.check()
                await asyncio.sleep(delay)
                delay *= 3
            except psycopg.Error as exc:
                raise translate(exc) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def _check_open(self) -> None:
        if self._closed:
            raise StoreClosed(f"the store {self.safe_url} is closed; open it again")
