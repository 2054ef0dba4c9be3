"""Views: rebuild a keyed balance view from N events (default 1,000,000) on SQLite and on PostgreSQL.

Beside, in the same run: the raw driver reading the same event rows, riverbed's own ``read_all`` of them
(a rebuild cannot be faster than reading), and the ``eventsourcing`` library's projection building the
same balance view from the same kind of events (one transaction per event, as the library does it).

Sizes: ``RIVERBED_BENCH_VIEW_EVENTS`` (default 1,000,000), ``RIVERBED_BENCH_ES_EVENTS`` for the library
(default 20,000: at its ~2k events/s a million would take ten minutes; its rate does not depend on size).
PostgreSQL: ``RIVERBED_BENCH_PG_URL`` (default ``RIVERBED_TEST_PG_URL`` or the local test server); the
rows are skipped with a note when the server or the PostgreSQL store is not available.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from benchmarks.harness import Report, Row, Timer, rate
from riverbed.application.projections import Projection, build_view, handles
from riverbed.bootstrap import open_store, open_view_store
from riverbed.cloudevents import CloudEvent
from riverbed.errors import ConfigurationError
from riverbed.ports.event_store import EventStore, RecordedEvent
from riverbed.ports.views import Row as ViewRow
from riverbed.ports.views import ViewStore
from riverbed.testing.ports import reachable

EVENTS = int(os.environ.get("RIVERBED_BENCH_VIEW_EVENTS", "1000000"))
ES_EVENTS = int(os.environ.get("RIVERBED_BENCH_ES_EVENTS", "20000"))
ACCOUNTS = max(1, min(10_000, EVENTS // 20))
BATCH = 2000
PG_URL = os.environ.get(
    "RIVERBED_BENCH_PG_URL",
    os.environ.get("RIVERBED_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test"),
)
OPENED = "bench.account.opened.v1"
DEPOSITED = "bench.account.deposited.v1"
WHEN = datetime(2026, 1, 1, tzinfo=UTC)


class Balances(Projection):
    name = "bench_balances"
    version = 1

    def key(self, record: RecordedEvent) -> str | None:
        return str(record.event.data["account"])

    @handles(OPENED)
    def opened(self, row: ViewRow | None, record: RecordedEvent) -> ViewRow | None:
        return {"account": record.event.data["account"], "balance": 0, "deposits": 0}

    @handles(DEPOSITED)
    def deposited(self, row: ViewRow | None, record: RecordedEvent) -> ViewRow | None:
        assert row is not None
        row["balance"] += record.event.data["amount"]
        row["deposits"] += 1
        return row


def _event(kind: str, account: str, **data: Any) -> CloudEvent:
    return CloudEvent.trusted(
        id=uuid.uuid4().hex,
        source="/bench/bank",
        type=kind,
        subject=None,
        time=WHEN,
        datacontenttype="application/json",
        dataschema=None,
        data={"account": account, **data},
        extensions={},
    )


async def fill(store: EventStore, events: int) -> int:
    """Open ACCOUNTS accounts, then append deposits 100 per append; returns the expected total balance."""
    for start in range(0, ACCOUNTS, 100):
        await asyncio.gather(
            *(
                store.append(f"account-a{i}", [_event(OPENED, f"a{i}")])
                for i in range(start, min(ACCOUNTS, start + 100))
            )
        )
    written, i, total = ACCOUNTS, 0, 0
    pending = []
    while written < events:
        account = f"a{i % ACCOUNTS}"
        size = min(100, events - written)
        amounts = [(i + j) % 7 + 1 for j in range(size)]
        total += sum(amounts)
        pending.append(
            store.append(f"account-{account}", [_event(DEPOSITED, account, amount=a) for a in amounts])
        )
        written += size
        i += 1
        if len(pending) == 8:  # different streams: appends can be in flight together
            await asyncio.gather(*pending)
            pending = []
    await asyncio.gather(*pending)
    return total


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


@asynccontextmanager
async def _peak_rss() -> AsyncIterator[list[float]]:
    """Samples resident memory every 20 ms; yields [baseline, peak] (filled in on exit)."""
    result = [_rss_mb(), 0.0]
    peak = result[0]
    stop = asyncio.Event()

    async def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, _rss_mb())
            await asyncio.sleep(0.02)

    task = asyncio.create_task(sample())
    try:
        yield result
    finally:
        stop.set()
        await task
        result[1] = max(peak, _rss_mb())


async def _read_all_rate(store: EventStore) -> float:
    count = 0
    with Timer() as t:
        async for _ in store.read_all():
            count += 1
    return rate(count, t.seconds)


async def _rebuild(store: EventStore, views: ViewStore, total: int) -> tuple[float, float]:
    """Rebuild the balance view; returns (events/s, RSS growth MB) after checking the view's sums."""
    async with _peak_rss() as rss:
        with Timer() as t:
            state = await build_view(store, views, Balances(), batch_size=BATCH)
    balance = deposits = rows = 0
    async for _, row in views.rows(state.slot):
        balance += row["balance"]
        deposits += row["deposits"]
        rows += 1
    assert (rows, balance, deposits + rows) == (ACCOUNTS, total, EVENTS), "the rebuilt view is wrong"
    return rate(EVENTS, t.seconds), rss[1] - rss[0]


def _raw_sqlite_read(path: str) -> float:
    import json

    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    count = 0
    with Timer() as t:
        cursor = conn.execute("SELECT position, stream, version, type, data FROM events ORDER BY position")
        while rows := cursor.fetchmany(10_000):
            for row in rows:
                json.loads(row[4])
            count += len(rows)
    conn.close()
    return rate(count, t.seconds)


def _add(
    report: Report,
    group: str,
    size: str,
    rebuild: float,
    read: float,
    raw: float,
    es: float,
    rss: float,
    target: float,
    raw_name: str,
) -> None:
    report.add(Row(group, f"read_all, {size} events", read, "events/s", raw_name, raw))
    report.add(
        Row(
            group,
            f"rebuild balance view, {size} events",
            rebuild,
            "events/s",
            "riverbed read_all",
            read,
            target=f"≥ {target:,.0f} events/s",
            met=rebuild >= target,
        )
    )
    report.add(
        Row(
            group,
            "rebuild vs eventsourcing projection",
            rebuild,
            "events/s",
            f"eventsourcing ({ES_EVENTS:,} events)",
            es,
        )
    )
    report.add(
        Row(group, f"RSS growth during rebuild, {size} events", rss, "MB", target="< 200 MB", met=rss < 200)
    )


async def _sqlite(report: Report) -> None:
    from benchmarks.views_eventsourcing import fill as es_fill
    from benchmarks.views_eventsourcing import project_sqlite

    tmp = tempfile.mkdtemp(prefix="riverbed-bench-views-")
    try:
        async with open_store(f"sqlite:///{tmp}/events.db") as store:
            with Timer() as t:
                total = await fill(store, EVENTS)
            print(f"  prepared {EVENTS:,} SQLite events in {t.seconds:.1f}s", flush=True)
            raw = await asyncio.to_thread(_raw_sqlite_read, f"{tmp}/events.db")
            read = await _read_all_rate(store)
            async with open_view_store(f"sqlite:///{tmp}/views.db") as views:
                rebuild, rss = await _rebuild(store, views, total)
        env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": f"{tmp}/es.db"}
        await asyncio.to_thread(es_fill, env, accounts=min(ACCOUNTS, ES_EVENTS // 20 or 1), events=ES_EVENTS)
        es = await asyncio.to_thread(project_sqlite, env)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    _add(
        report, "views SQLite", f"{EVENTS:,}", rebuild, read, raw, es, rss, 50_000, "raw sqlite3 rows + json"
    )


def _raw_pg_read(url: str) -> float:
    import psycopg  # noqa: TID251 - the raw driver is the baseline

    count = 0
    with psycopg.connect(url) as conn, conn.cursor(name="bench") as cursor, Timer() as t:
        cursor.execute(
            "SELECT global_position, stream_id, version, type, data FROM riverbed_events "
            "ORDER BY transaction_id, global_position"
        )
        while rows := cursor.fetchmany(10_000):
            count += len(rows)
    return rate(count, t.seconds)


def _es_postgres(schema: str) -> float:
    from benchmarks.views_eventsourcing import fill as es_fill
    from benchmarks.views_eventsourcing import project_postgres

    parts = urlsplit(PG_URL)
    env = {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": parts.path.lstrip("/") or "postgres",
        "POSTGRES_HOST": parts.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(parts.port or 5432),
        "POSTGRES_USER": parts.username or "postgres",
        "POSTGRES_PASSWORD": parts.password or "",
        "POSTGRES_SCHEMA": schema,
    }
    last = es_fill(env, accounts=min(ACCOUNTS, ES_EVENTS // 20 or 1), events=ES_EVENTS)
    return project_postgres(env, last, timeout=600)


async def _postgres(report: Report) -> None:
    if not reachable(PG_URL, 5432):
        print(f"  PostgreSQL is not reachable at {PG_URL}: PostgreSQL rows skipped", flush=True)
        return
    import psycopg  # noqa: TID251 - creating and dropping the benchmark's own schema

    schema = f"rb_bench_views_{uuid.uuid4().hex[:8]}"
    sep = "&" if "?" in PG_URL else "?"
    url = f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        try:
            store_cm = open_store(url)
            store = await store_cm.__aenter__()
        except (ConfigurationError, ImportError) as exc:
            print(
                f"  the PostgreSQL event store is not available ({exc}): PostgreSQL rows skipped", flush=True
            )
            return
        try:
            with Timer() as t:
                total = await fill(store, EVENTS)
            print(f"  prepared {EVENTS:,} PostgreSQL events in {t.seconds:.1f}s", flush=True)
            raw = await asyncio.to_thread(_raw_pg_read, url)
            read = await _read_all_rate(store)
            async with open_view_store(url) as views:
                rebuild, rss = await _rebuild(store, views, total)
        finally:
            await store_cm.__aexit__(None, None, None)
        es = await asyncio.to_thread(_es_postgres, schema)
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    _add(report, "views PostgreSQL", f"{EVENTS:,}", rebuild, read, raw, es, rss, 30_000, "raw psycopg rows")


async def run(report: Report) -> None:
    """Rebuild the balance view on SQLite, then on PostgreSQL."""
    print(
        f"  {EVENTS:,} events over {ACCOUNTS:,} accounts; eventsourcing on {ES_EVENTS:,} events", flush=True
    )
    started = time.perf_counter()
    await _sqlite(report)
    await _postgres(report)
    print(f"  views benchmark took {time.perf_counter() - started:.0f}s", flush=True)
