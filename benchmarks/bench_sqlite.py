"""SQLite event store against raw stdlib sqlite3 doing the same work, measured in the same run.

Appends (1 and 100 events per append; one writer and 8 concurrent tasks), ``read_all`` with decoding,
and reading one 10k-event stream. The raw baseline uses the same table and indexes, WAL and
``synchronous=FULL``, ``BEGIN IMMEDIATE ... COMMIT`` per append, and ``json.dumps``/``json.loads`` of
the same data: the physical limit a store built on this driver could reach.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from benchmarks.harness import Report, Row, Timer, rate
from riverbed.adapters.sqlite import SQLiteEventStore
from riverbed.adapters.sqlite.schema import DDL
from riverbed.cloudevents import CloudEvent

GROUP = "sqlite event store"
SINGLE_APPENDS = 2000
CONCURRENT_TASKS = 8
CONCURRENT_APPENDS = 500  # per task
BATCH = 100
BATCH_APPENDS = 200
LOG_EVENTS = 100_000
STREAM_EVENTS = 10_000
RUNS = 5

INSERT = (
    "INSERT INTO events (position, stream, version, id, source, type, time, datacontenttype, dataschema, "
    "data, extensions) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def event(n: int) -> CloudEvent:
    return CloudEvent(
        source="/bench/accounts",
        type="bank.account.money-deposited.v1",
        datacontenttype="application/json",
        data={
            "account": f"acc-{n % 1000}",
            "amount": n % 977,
            "currency": "GBP",
            "note": "benchmark deposit",
        },
    )


def raw_connection(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2
    for statement in DDL:
        conn.execute(statement)
    return conn


def raw_row(position: int, stream: str, version: int, ev: CloudEvent) -> tuple[object, ...]:
    return (
        position, stream, version, ev.id, ev.source, ev.type, None, ev.datacontenttype, None,
        json.dumps(ev.data, separators=(",", ":")), None,
    )  # fmt: skip


def raw_appends(path: Path, appends: int, per_append: int) -> float:
    """Events/s for ``appends`` transactions of ``per_append`` events, one connection."""
    conn = raw_connection(path)
    events = [event(n) for n in range(appends * per_append)]
    position = 0
    with Timer() as t:
        for a in range(appends):
            conn.execute("BEGIN IMMEDIATE")
            rows = [
                raw_row(
                    position + i + 1, f"raw-{a % 50}", a // 50 * per_append + i, events[a * per_append + i]
                )
                for i in range(per_append)
            ]
            conn.executemany(INSERT, rows)
            conn.execute("COMMIT")
            position += per_append
    conn.close()
    return rate(appends * per_append, t.seconds)


async def raw_appends_off_loop(path: Path, appends: int) -> float:
    """Events/s for raw 1-event transactions, each awaited from the event loop on one worker thread.

    The same SQL as :func:`raw_appends`, plus the one thing an asyncio store may not skip: keeping the
    blocking call off the loop. Its gap to the raw figure is the loop-to-thread hand-off and back.
    """
    events = [event(n) for n in range(appends)]
    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor(max_workers=1) as worker:
        conn = await loop.run_in_executor(worker, raw_connection, path)

        def one(a: int) -> None:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(INSERT, raw_row(a + 1, f"raw-{a % 50}", a // 50, events[a]))
            conn.execute("COMMIT")

        with Timer() as t:
            for a in range(appends):
                await loop.run_in_executor(worker, one, a)
        await loop.run_in_executor(worker, conn.close)
    return rate(appends, t.seconds)


async def store_appends(path: Path, tasks: int, appends: int, per_append: int) -> float:
    """Events/s for ``tasks`` concurrent tasks each doing ``appends`` appends of ``per_append`` events."""
    async with SQLiteEventStore(f"sqlite:///{path}") as store:
        batches = [[[event(n) for n in range(per_append)] for _ in range(appends)] for _ in range(tasks)]

        async def one(t: int) -> None:
            stream = f"acc-{t}-{uuid.uuid4().hex[:6]}"
            for batch in batches[t]:
                await store.append(stream, batch)

        with Timer() as timer:
            await asyncio.gather(*(one(t) for t in range(tasks)))
    return rate(tasks * appends * per_append, timer.seconds)


async def fill(path: Path) -> str:
    """A log of LOG_EVENTS events in which one stream of STREAM_EVENTS is interleaved every 10th event."""
    async with SQLiteEventStore(f"sqlite:///{path}") as store:
        hot = "hot-stream"
        other = 0
        per_round = 10
        for _ in range(STREAM_EVENTS // BATCH):
            for _ in range(per_round - 1):
                await store.append(f"cold-{other % 97}", [event(n) for n in range(BATCH)])
                other += 1
            await store.append(hot, [event(n) for n in range(BATCH)])
    return hot


def raw_read_all(path: Path) -> float:
    conn = sqlite3.connect(path)
    with Timer() as t:
        cursor = conn.execute(
            "SELECT position, stream, version, id, source, type, time, datacontenttype, dataschema, data, "
            "extensions FROM events ORDER BY position"
        )
        count = 0
        loads = json.loads
        while rows := cursor.fetchmany(1000):
            for row in rows:
                loads(row[9])
            count += len(rows)
    conn.close()
    return rate(count, t.seconds)


def raw_read_stream(path: Path, stream: str) -> float:
    conn = sqlite3.connect(path)
    with Timer() as t:
        rows = conn.execute(
            "SELECT position, stream, version, id, source, type, time, datacontenttype, dataschema, data, "
            "extensions FROM events WHERE stream = ? ORDER BY version",
            (stream,),
        ).fetchall()
        for row in rows:
            json.loads(row[9])
    conn.close()
    assert len(rows) == STREAM_EVENTS
    return rate(len(rows), t.seconds)


async def warm_up(store: SQLiteEventStore) -> None:
    """Start the reader threads and their connections, as the raw side's connect() is not timed either."""
    await asyncio.gather(*(store.stream_version("warm-up") for _ in range(4)))


async def store_read_all(path: Path) -> float:
    async with SQLiteEventStore(f"sqlite:///{path}") as store:
        await warm_up(store)
        with Timer() as t:
            count = 0
            async for _ in store.read_all():
                count += 1
    assert count == LOG_EVENTS
    return rate(count, t.seconds)


async def store_read_stream(path: Path, stream: str) -> float:
    async with SQLiteEventStore(f"sqlite:///{path}") as store:
        await warm_up(store)
        with Timer() as t:
            records = [rec async for rec in store.read(stream)]
    assert len(records) == STREAM_EVENTS
    return rate(len(records), t.seconds)


def median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


async def run(report: Report) -> None:
    with tempfile.TemporaryDirectory(prefix="riverbed-bench-") as tmp:
        root = Path(tmp)
        counter = iter(range(10_000))

        def fresh() -> Path:
            return root / f"b{next(counter)}.db"

        # Interleave the rounds (raw, riverbed, raw, ...) so a noisy neighbour hits both sides alike.
        samples: dict[str, list[float]] = {}
        for _ in range(RUNS):
            scenarios: list[tuple[str, Callable[[], Awaitable[float]]]] = [
                ("raw1", lambda: asyncio.to_thread(raw_appends, fresh(), SINGLE_APPENDS, 1)),
                ("raw1off", lambda: raw_appends_off_loop(fresh(), SINGLE_APPENDS)),
                ("one", lambda: store_appends(fresh(), 1, SINGLE_APPENDS, 1)),
                ("many", lambda: store_appends(fresh(), CONCURRENT_TASKS, CONCURRENT_APPENDS, 1)),
                ("raw100", lambda: asyncio.to_thread(raw_appends, fresh(), BATCH_APPENDS, BATCH)),
                ("hundred", lambda: store_appends(fresh(), 1, BATCH_APPENDS, BATCH)),
                (
                    "hundred8",
                    lambda: store_appends(
                        fresh(), CONCURRENT_TASKS, BATCH_APPENDS // CONCURRENT_TASKS, BATCH
                    ),
                ),
            ]
            for name, measure in scenarios:
                samples.setdefault(name, []).append(await measure())
        raw1, one, many = median(samples["raw1"]), median(samples["one"]), median(samples["many"])
        raw100, hundred, hundred8 = (
            median(samples["raw100"]),
            median(samples["hundred"]),
            median(samples["hundred8"]),
        )
        report.add(
            Row(GROUP, "append 1 event/append, 1 writer", one, "events/s", "raw sqlite3 FULL 1/txn", raw1,
                "≥ 80 % of raw", one >= 0.8 * raw1)
        )  # fmt: skip
        raw1off = median(samples["raw1off"])
        report.add(
            Row(GROUP, "append 1 event/append, 1 writer (vs raw off the loop)", one, "events/s",
                "raw sqlite3 FULL 1/txn via one worker thread", raw1off,
                notes=f"the hand-off floor: raw through one thread is {raw1off / raw1:.2f}x raw")
        )  # fmt: skip
        report.add(
            Row(GROUP, "append 1 event/append, 8 tasks (group commit)", many, "events/s",
                "riverbed 1 writer", one, "≥ 3x single writer", many >= 3 * one,
                notes=f"{many / raw1:.2f}x raw FULL 1/txn")
        )  # fmt: skip
        report.add(
            Row(GROUP, "append 100 events/append, 1 writer", hundred, "events/s", "raw sqlite3 FULL 100/txn",
                raw100)
        )  # fmt: skip
        report.add(
            Row(GROUP, "append 100 events/append, 8 tasks", hundred8, "events/s", "raw sqlite3 FULL 100/txn",
                raw100)
        )  # fmt: skip

        log = fresh()
        hot = await fill(log)
        raw_all = median([await asyncio.to_thread(raw_read_all, log) for _ in range(RUNS)])
        mine_all = median([await store_read_all(log) for _ in range(RUNS)])
        report.add(
            Row(GROUP, f"read_all {LOG_EVENTS:,} events, decoded", mine_all, "events/s",
                "raw sqlite3 rows + json.loads", raw_all, "≥ 150k events/s", mine_all >= 150_000)
        )  # fmt: skip
        raw_stream = median([await asyncio.to_thread(raw_read_stream, log, hot) for _ in range(RUNS)])
        mine_stream = median([await store_read_stream(log, hot) for _ in range(RUNS)])
        mine_ms, raw_ms = STREAM_EVENTS / mine_stream * 1e3, STREAM_EVENTS / raw_stream * 1e3
        report.add(
            Row(GROUP, f"read one {STREAM_EVENTS:,}-event stream, decoded", mine_stream, "events/s",
                "raw sqlite3 rows + json.loads", raw_stream, notes=f"{mine_ms:.1f} ms vs {raw_ms:.1f} ms raw")
        )  # fmt: skip
