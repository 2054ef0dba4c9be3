"""PostgreSQL event store beside raw psycopg and the ``eventsourcing`` library, in the same run.

Each scenario stores the same events three ways, in a fresh schema dropped afterwards:

* **raw psycopg** (async, autocommit): a bare INSERT per event, or ``unnest`` binary arrays / COPY for a
  batch, into a table of the same shape as riverbed's (same columns, keys and commit-order index), so the
  server does the same storage work. This is the limit: no version check, no idempotency rules, no
  CloudEvent mapping, no pool.
* **riverbed**: ``PostgresEventStore.append`` with an expected version, reads decoded into CloudEvents.
* **eventsourcing** (9.x ``PostgresApplicationRecorder``, its default table-lock insert path), given
  pre-serialised state so only its recorder is measured.

Server: ``RIVERBED_BENCH_PG_URL`` (default: ``RIVERBED_TEST_PG_URL``, then the local ``test`` database).
The machine is shared and noisy (other jobs come and go within seconds), so the contestants of a scenario
run interleaved, round after round, and each figure is the median over the rounds: a burst of outside
load then hits every contestant alike. Compare ratios, not absolute values.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg  # noqa: TID251 - the raw baseline talks to the driver directly
from psycopg import sql  # noqa: TID251

from benchmarks.harness import Report, Row, rate
from riverbed.adapters.postgres.event_store import PostgresEventStore
from riverbed.cloudevents.event import CloudEvent
from riverbed.ports.event_store import ExpectedVersion

URL = os.environ.get(
    "RIVERBED_BENCH_PG_URL",
    os.environ.get("RIVERBED_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test"),
)
SINGLE = 300  # single-event appends per round
CONCURRENT = 1600  # single-event appends per round, over 8 writers
BATCHES = 30  # 100-event appends per round
READ_EVENTS = 60_000
STREAM_EVENTS = 10_000
ROUNDS = 7

RAW_TABLE = """
CREATE TABLE {schema}.raw_events (
    global_position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    transaction_id xid8 NOT NULL DEFAULT pg_current_xact_id(),
    stream_id text NOT NULL, version bigint NOT NULL, event_id text NOT NULL, source text NOT NULL,
    type text NOT NULL, time text, datacontenttype text, dataschema text, data json, data_binary bytea,
    extensions json, recorded_at timestamptz NOT NULL DEFAULT statement_timestamp(),
    UNIQUE (stream_id, version), UNIQUE (event_id)
);
CREATE INDEX ON {schema}.raw_events (transaction_id, global_position);
"""


def payload(n: int) -> dict[str, Any]:
    return {"account": f"acc-{n % 1000}", "amount": n * 7 % 10_000, "currency": "GBP", "memo": "monthly rent"}


def cloud_event(n: int) -> CloudEvent:
    return CloudEvent(source="/bench", type="bank.money-deposited.v1", id=str(uuid.uuid4()), data=payload(n))


class Bench:
    """One schema holding the raw table, riverbed's tables and eventsourcing's table."""

    def __init__(self, report: Report) -> None:
        self.report = report
        self.schema = f"rb_bench_{uuid.uuid4().hex[:8]}"
        sep = "&" if "?" in URL else "?"
        self.url = f"{URL}{sep}options=-csearch_path%3D{self.schema}"
        self.store = PostgresEventStore(self.url, max_size=8)
        self.raw: list[psycopg.AsyncConnection[Any]] = []
        self.es: Any = None
        self.es_datastore: Any = None
        self.counter = 0

    def next_stream(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}-{self.counter}"

    async def __aenter__(self) -> Bench:
        async with await psycopg.AsyncConnection.connect(URL, autocommit=True) as conn:
            await conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(self.schema)))
            await conn.execute(RAW_TABLE.format(schema=sql.Identifier(self.schema).as_string(conn)).encode())
        await self.store.open()
        self.raw = [await psycopg.AsyncConnection.connect(self.url, autocommit=True) for _ in range(8)]
        self.es = await asyncio.to_thread(self._eventsourcing_recorder)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.store.close()
        for conn in self.raw:
            await conn.close()
        if self.es_datastore is not None:
            await asyncio.to_thread(self.es_datastore.close)
        async with await psycopg.AsyncConnection.connect(URL, autocommit=True) as conn:
            await conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(self.schema)))

    def _eventsourcing_recorder(self) -> Any:
        from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore

        info = psycopg.conninfo.conninfo_to_dict(URL)
        self.es_datastore = PostgresDatastore(
            dbname=str(info.get("dbname", "postgres")),
            host=str(info.get("host", "127.0.0.1")),
            port=str(info.get("port", 5432)),
            user=str(info.get("user", "postgres")),
            password=str(info.get("password", "")),
            schema=self.schema,
            pool_size=8,
        )
        recorder = PostgresApplicationRecorder(self.es_datastore, events_table_name="es_events")
        recorder.create_table()
        return recorder

    # -- raw psycopg -------------------------------------------------------------------------------

    async def raw_single(self, conn: psycopg.AsyncConnection[Any], stream: str, count: int) -> None:
        for n in range(count):
            event = cloud_event(n)
            await conn.execute(
                "INSERT INTO raw_events (stream_id, version, event_id, source, type, time, data) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s::json)",
                (stream, n, event.id, event.source, event.type, None, json.dumps(event.data)),
            )

    async def raw_unnest(self, stream: str, batches: int) -> None:
        conn = self.raw[0]
        for b in range(batches):
            events = [cloud_event(i) for i in range(100)]
            await conn.execute(
                "INSERT INTO raw_events (stream_id, version, event_id, source, type, data) "
                "SELECT %s, v, i, s, t, d::json FROM unnest(%b, %b, %b, %b, %b) AS u(v, i, s, t, d) "
                "RETURNING global_position",
                (
                    stream,
                    list(range(b * 100, b * 100 + 100)),
                    [e.id for e in events],
                    [e.source for e in events],
                    [e.type for e in events],
                    [json.dumps(e.data) for e in events],
                ),
            )

    async def raw_copy(self, stream: str, batches: int) -> None:
        conn = self.raw[0]
        for b in range(batches):
            events = [cloud_event(i) for i in range(100)]
            async with (
                conn.cursor() as cur,
                cur.copy(
                    "COPY raw_events (stream_id, version, event_id, source, type, data) FROM STDIN"
                ) as copy,
            ):
                for i, e in enumerate(events):
                    await copy.write_row((stream, b * 100 + i, e.id, e.source, e.type, json.dumps(e.data)))

    # -- eventsourcing -----------------------------------------------------------------------------

    def eventsourcing(self, appends: int, per_append: int) -> None:
        from eventsourcing.persistence import StoredEvent

        originator = uuid.uuid4()
        version = 0
        for _ in range(appends):
            batch = []
            for i in range(per_append):
                version += 1
                state = json.dumps(payload(i)).encode()
                batch.append(StoredEvent(originator, version, "bank.money-deposited.v1", state))
            self.es.insert_events(batch)


async def interleaved(count: int, contestants: dict[str, Callable[[], Awaitable[None]]]) -> dict[str, float]:
    """Run every contestant once per round, ROUNDS rounds; the median rate (per second) of each."""
    rates: dict[str, list[float]] = {name: [] for name in contestants}
    for _ in range(ROUNDS):
        for name, once in contestants.items():
            start = time.perf_counter()
            await once()
            rates[name].append(rate(count, time.perf_counter() - start))
    return {name: statistics.median(values) for name, values in rates.items()}


async def run(report: Report) -> None:
    """Every PostgreSQL scenario; see the module docstring."""
    try:
        probe = await psycopg.AsyncConnection.connect(URL, connect_timeout=5)
    except psycopg.OperationalError as exc:
        print(f"  postgres | skipped: no PostgreSQL server at {URL} ({exc})", flush=True)
        return
    await probe.close()
    async with Bench(report) as bench:
        await _single_writer(bench, report)
        await _concurrent_writers(bench, report)
        await _batches(bench, report)
        await _reads(bench, report)


async def _single_writer(bench: Bench, report: Report) -> None:

    async def riverbed_single() -> None:
        stream = bench.next_stream("rb")
        expected: ExpectedVersion | int = ExpectedVersion.NO_STREAM
        for n in range(SINGLE):
            expected = (
                await bench.store.append(stream, [cloud_event(n)], expected_version=expected)
            ).last_version

    rates = await interleaved(
        SINGLE,
        {
            "raw": lambda: bench.raw_single(bench.raw[0], bench.next_stream("raw"), SINGLE),
            "riverbed": riverbed_single,
            "eventsourcing": lambda: asyncio.to_thread(bench.eventsourcing, SINGLE, 1),
        },
    )
    raw, ours, es = rates["raw"], rates["riverbed"], rates["eventsourcing"]
    report.add(
        Row("postgres", "append 1 event/append, 1 writer", ours, "ev/s", "raw INSERT autocommit", raw,
            "≥ 45 % of raw", ours >= 0.45 * raw)
    )  # fmt: skip
    report.add(
        Row("postgres", "append 1 event/append vs eventsourcing", ours, "ev/s", "eventsourcing recorder", es,
            "≥ 1.7x eventsourcing", ours >= 1.7 * es)
    )  # fmt: skip


async def _concurrent_writers(bench: Bench, report: Report) -> None:
    per = CONCURRENT // 8

    async def raw_once() -> None:
        await asyncio.gather(*(bench.raw_single(conn, bench.next_stream("raw8"), per) for conn in bench.raw))

    async def one_writer() -> None:
        stream = bench.next_stream("rb8")
        expected: ExpectedVersion | int = ExpectedVersion.NO_STREAM
        for n in range(per):
            expected = (
                await bench.store.append(stream, [cloud_event(n)], expected_version=expected)
            ).last_version

    async def riverbed_once() -> None:
        await asyncio.gather(*(one_writer() for _ in range(8)))

    def es_once() -> None:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda _: bench.eventsourcing(per, 1), range(8)))

    rates = await interleaved(
        per * 8,
        {"raw": raw_once, "riverbed": riverbed_once, "eventsourcing": lambda: asyncio.to_thread(es_once)},
    )
    raw, ours, es = rates["raw"], rates["riverbed"], rates["eventsourcing"]
    report.add(Row("postgres", "append 1 event/append, 8 writers", ours, "ev/s", "raw INSERT, 8 conns", raw))
    report.add(
        Row("postgres", "append 1 event/append, 8 writers vs eventsourcing", ours, "ev/s",
            "eventsourcing, 8 threads", es)
    )  # fmt: skip


async def _batches(bench: Bench, report: Report) -> None:
    count = BATCHES * 100

    async def riverbed_once() -> None:
        stream = bench.next_stream("rbb")
        expected: ExpectedVersion | int = ExpectedVersion.NO_STREAM
        for _ in range(BATCHES):
            events = [cloud_event(i) for i in range(100)]
            expected = (await bench.store.append(stream, events, expected_version=expected)).last_version

    rates = await interleaved(
        count,
        {
            "unnest": lambda: bench.raw_unnest(bench.next_stream("rawb"), BATCHES),
            "copy": lambda: bench.raw_copy(bench.next_stream("rawc"), BATCHES),
            "riverbed": riverbed_once,
            "eventsourcing": lambda: asyncio.to_thread(bench.eventsourcing, BATCHES, 100),
        },
    )
    unnest, copy, ours, es = rates["unnest"], rates["copy"], rates["riverbed"], rates["eventsourcing"]
    best_name, best = ("raw unnest (binary arrays)", unnest) if unnest >= copy else ("raw COPY", copy)
    report.add(
        Row("postgres", "append 100 events/append", ours, "ev/s", best_name, best,
            "≥ 70 % of raw unnest/COPY", ours >= 0.7 * best,
            notes=f"raw unnest {unnest:,.0f}/s, raw COPY {copy:,.0f}/s")
    )  # fmt: skip
    report.add(
        Row("postgres", "append 100 events/append vs eventsourcing", ours, "ev/s", "eventsourcing", es)
    )


async def _reads(bench: Bench, report: Report) -> None:
    # Fill up to READ_EVENTS events with a 10k-event stream interleaved with others.
    stats = await bench.store.stats()
    missing = max(0, READ_EVENTS - stats.events)
    target = "long-stream"
    expected: ExpectedVersion | int = ExpectedVersion.NO_STREAM
    written = in_stream = 0
    while written < missing or in_stream < STREAM_EVENTS:
        await bench.store.append(bench.next_stream("filler"), [cloud_event(i) for i in range(100)])
        written += 100
        if in_stream < STREAM_EVENTS:
            events = [cloud_event(i) for i in range(100)]
            expected = (await bench.store.append(target, events, expected_version=expected)).last_version
            in_stream += 100
            written += 100
    total = (await bench.store.stats()).events

    async def read_all_once() -> None:
        n = 0
        async for _ in bench.store.read_all():
            n += 1
        assert n == total

    async def raw_read_once() -> None:
        conn = bench.raw[0]
        async with conn.transaction(), conn.cursor(name="raw_read") as cur:
            await cur.execute(
                "SELECT global_position, transaction_id::text, stream_id, version, event_id, source, "
                "type, time, datacontenttype, dataschema, data::text, data_binary, extensions::text "
                "FROM riverbed_events ORDER BY global_position"
            )
            n = 0
            while rows := await cur.fetchmany(5000):
                for row in rows:
                    json.loads(row[10])
                n += len(rows)
        assert n == total

    rates = await interleaved(total, {"raw": raw_read_once, "riverbed": read_all_once})
    raw, ours = rates["raw"], rates["riverbed"]
    report.add(
        Row("postgres", "read_all decoded to CloudEvents", ours, "ev/s", "raw rows + json.loads", raw,
            "≥ 100k ev/s", ours >= 100_000, notes=f"{total:,} events")
    )  # fmt: skip

    async def stream_once() -> None:
        n = 0
        async for _ in bench.store.read(target):
            n += 1
        assert n == STREAM_EVENTS

    async def raw_stream_once() -> None:
        cur = await bench.raw[0].execute(
            "SELECT global_position, transaction_id::text, stream_id, version, event_id, source, type, time, "
            "datacontenttype, dataschema, data::text, data_binary, extensions::text "
            "FROM riverbed_events WHERE stream_id = %s ORDER BY version",
            [target],
        )
        rows = await cur.fetchall()
        for row in rows:
            json.loads(row[10])
        assert len(rows) == STREAM_EVENTS, len(rows)

    rates = await interleaved(STREAM_EVENTS, {"raw": raw_stream_once, "riverbed": stream_once})
    raw_ms, ours_ms = 1000 * STREAM_EVENTS / rates["raw"], 1000 * STREAM_EVENTS / rates["riverbed"]
    report.add(
        Row("postgres", "read one 10k-event stream", ours_ms, "ms", "raw SELECT + json.loads", raw_ms,
            notes=f"lower is better; {total:,} events in the table")
    )  # fmt: skip
