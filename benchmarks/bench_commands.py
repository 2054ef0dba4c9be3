"""Command side: rehydration with and without a snapshot, and command throughput, on SQLite and PostgreSQL.

Baselines in the same run:

* rehydrating a 10k-event aggregate is compared with the ``eventsourcing`` library (its Application and
  Aggregate, on the same database engine) doing the same fold; targets ≤ 100 ms and ≥ 2x faster;
* with a snapshot the target is ≤ 2 ms (the library's own snapshot load is shown beside it);
* command throughput (load → decide → append, one command at a time) is compared with raw appends of
  the same CloudEvents to the same store (target ≥ 70 %), with the state cache on and off; the library's own
  command loop is shown too.

PostgreSQL runs in a fresh schema of ``RIVERBED_TEST_PG_URL`` and is skipped (with a note) when the server
is not reachable. Figures on a shared 2-core machine are noisy: read them as ratios.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate as LibAggregate
from eventsourcing.domain import event as lib_event
from tests.bank_domain import (
    Account,
    AccountOpened,
    Deposit,
    MoneyDeposited,
    OpenAccount,
    account_decider,
    bank_events,
)
from tests.command_side_support import bank_service

from benchmarks.harness import Report, Row, Timer, rate
from riverbed.application.command_service import ServiceOptions
from riverbed.bootstrap import create_snapshot_store, open_store
from riverbed.cloudevents.event import CloudEvent
from riverbed.cloudevents.mapping import to_cloudevent
from riverbed.errors import ConfigurationError
from riverbed.ports.event_store import EventStore, Expected, ExpectedVersion

PG_URL = os.environ.get("RIVERBED_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
EVENTS = int(os.environ.get("RIVERBED_BENCH_AGGREGATE_EVENTS", "10000"))
COMMANDS = int(os.environ.get("RIVERBED_BENCH_COMMANDS", "600"))
ACCOUNTS = 20
RUNS = 5


class LibAccount(LibAggregate):
    """The same bank account in the eventsourcing library's style."""

    @lib_event("Opened")
    def __init__(self, owner: str) -> None:
        self.owner = owner
        self.balance = 0

    @lib_event("Deposited")
    def deposit(self, amount: int) -> None:
        self.balance += amount


class LibBank(Application):  # type: ignore[type-arg,misc,unused-ignore]
    """An eventsourcing application holding LibAccounts."""


def _median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


@contextmanager
def _pg_schema() -> Iterator[tuple[str, str] | None]:
    import psycopg  # noqa: TID251 - the benchmark sets up its own schema on the server

    schema = f"bench_cmd_{uuid.uuid4().hex[:8]}"
    try:
        with psycopg.connect(PG_URL, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
    except psycopg.OperationalError as exc:
        print(f"  PostgreSQL not reachable at {PG_URL} ({exc}); skipping its rows", flush=True)
        yield None
        return
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}", schema
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def _lib_env(engine: str, where: str) -> dict[str, str]:
    if engine == "sqlite":
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": where,
            "IS_SNAPSHOTTING_ENABLED": "y",
        }
    from urllib.parse import urlsplit

    parts = urlsplit(PG_URL)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": parts.path.lstrip("/") or "postgres",
        "POSTGRES_HOST": parts.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(parts.port or 5432),
        "POSTGRES_USER": parts.username or "postgres",
        "POSTGRES_PASSWORD": parts.password or "",
        "POSTGRES_SCHEMA": where,
        "IS_SNAPSHOTTING_ENABLED": "y",
    }


@asynccontextmanager
async def _stores(url: str) -> AsyncIterator[tuple[EventStore, Any]]:
    snapshots = create_snapshot_store(url)
    await snapshots.open()
    try:
        async with open_store(url) as store:
            yield store, snapshots
    finally:
        await snapshots.close()


async def _seed_big_stream(store: EventStore, stream: str) -> None:
    source = "urn:riverbed:service:bank.accounts"
    events = [AccountOpened(account_id="big", holder="Ada")] + [
        MoneyDeposited(account_id="big", amount=1) for _ in range(EVENTS - 1)
    ]
    batch = 500
    for start in range(0, len(events), batch):
        chunk = [
            to_cloudevent(
                e, source=source, registry=bank_events, extensions={"commandid": f"seed-{start + i}"}
            )
            for i, e in enumerate(events[start : start + batch])
        ]
        await store.append(stream, chunk)


def _lib_seed(app: LibBank) -> Any:
    account = LibAccount(owner="Ada")
    pending = 1
    for _ in range(EVENTS - 1):
        account.deposit(1)
        pending += 1
        if pending >= 500:
            app.save(account)
            pending = 0
    app.save(account)
    return account.id


def _lib_rehydrate_s(app: LibBank, account_id: Any, runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        account: Any = app.repository.get(account_id)
        samples.append(time.perf_counter() - start)
        assert account.balance == EVENTS - 1
    return samples


async def _bench_engine(report: Report, engine: str, url: str, lib_where: str) -> None:
    group = f"commands/{engine}"
    async with _stores(url) as (store, snapshots):
        # -- rehydration without snapshot --
        await _seed_big_stream(store, "account-big")
        style_ms: dict[str, float] = {}
        for style, aggregate in (("class", Account), ("decider", account_decider)):
            service = bank_service(store, aggregate, options=ServiceOptions(cache_size=0))
            samples = []
            for _ in range(RUNS):
                with Timer() as t:
                    loaded = await service.load("account-big")
                samples.append(t.seconds)
                assert loaded.state.balance == EVENTS - 1
                assert loaded.version == EVENTS - 1
            style_ms[style] = _median_ms(samples)
        ours = style_ms["class"]
        samples = []
        for _ in range(RUNS):
            with Timer() as t:
                count = sum([1 async for _ in store.read("account-big")])
            samples.append(t.seconds)
            assert count == EVENTS
        read_ms = _median_ms(samples)

        app = LibBank(env=_lib_env(engine, lib_where))
        lib_id = await asyncio.to_thread(_lib_seed, app)
        theirs = _median_ms(await asyncio.to_thread(_lib_rehydrate_s, app, lib_id, RUNS))
        report.add(
            Row(
                group=group,
                name=f"rehydrate {EVENTS:,} events, no snapshot",
                value=ours,
                unit="ms",
                baseline_name="eventsourcing lib",
                baseline_value=theirs,
                target="≤ 100 ms and ≥ 2x faster than eventsourcing",
                met=ours <= 100 and theirs / ours >= 2,
                notes=(
                    f"class-style aggregate; decider style {style_ms['decider']:.1f} ms; "
                    f"the store's own read of the stream alone: {read_ms:.1f} ms"
                ),
            )
        )

        # -- rehydration from a snapshot --
        snap_options = ServiceOptions(cache_size=0, snapshot_every=EVENTS)
        snapper = bank_service(store, account_decider, snapshots=snapshots, options=snap_options)
        assert snapper.snapshotter is not None
        await snapper.snapshotter.save("account-big", loaded.state, EVENTS - 1)
        samples = []
        for _ in range(RUNS * 4):
            with Timer() as t:
                snap_loaded = await snapper.load("account-big")
            samples.append(t.seconds)
            assert snap_loaded.state.balance == EVENTS - 1
        ours_snap = _median_ms(samples)
        await asyncio.to_thread(app.take_snapshot, lib_id)
        theirs_snap = _median_ms(await asyncio.to_thread(_lib_rehydrate_s, app, lib_id, RUNS * 4))
        report.add(
            Row(
                group=group,
                name=f"rehydrate {EVENTS:,} events from a snapshot",
                value=ours_snap,
                unit="ms",
                baseline_name="eventsourcing lib (snapshot)",
                baseline_value=theirs_snap,
                target="≤ 2 ms",
                met=ours_snap <= 2,
            )
        )

        # -- command throughput vs raw appends --
        # Raw appends and commands alternate in rounds, so that warm-up, WAL checkpoints and the noise of a
        # shared machine hit both sides alike; each side's rate is its total over all rounds.
        commands = bank_service(store, account_decider)
        for a in range(ACCOUNTS):
            await commands.handle(OpenAccount(account_id=f"t{a}", owner="Ada"), command_id=f"open-{a}")
        cold = bank_service(store, account_decider, name="bank.cold", options=ServiceOptions(cache_size=0))
        for a in range(ACCOUNTS):
            await cold.handle(OpenAccount(account_id=f"u{a}", owner="Ada"), command_id=f"open-{a}")
        raw_seconds = cmd_seconds = cold_seconds = 0.0
        raw_versions: dict[str, Expected] = {}
        rounds, per_round = 6, max(1, COMMANDS // 6)
        for r in range(rounds):
            # The same CloudEvents a command stores (time and the three tracking extensions), built
            # before the clock starts: the baseline is the store's append alone.
            raw_events = [
                CloudEvent(
                    source="urn:riverbed:service:bank.raw",
                    type="bank.account.money-deposited.v1",
                    time=datetime.now(UTC),
                    datacontenttype="application/json",
                    data={"account_id": f"r{i % ACCOUNTS}", "amount": 1},
                    extensions={
                        "commandid": f"raw-{r}-{i}",
                        "correlationid": f"raw-{r}-{i}",
                        "causationid": f"raw-{r}-{i}",
                    },
                )
                for i in range(per_round)
            ]
            with Timer() as t:
                for i, ce in enumerate(raw_events):
                    raw_stream = f"raw-{i % ACCOUNTS}"
                    appended = await store.append(
                        raw_stream,
                        [ce],
                        expected_version=raw_versions.get(raw_stream, ExpectedVersion.NO_STREAM),
                    )
                    raw_versions[raw_stream] = appended.last_version
            raw_seconds += t.seconds
            with Timer() as t:
                for i in range(per_round):
                    deposit = Deposit(account_id=f"t{i % ACCOUNTS}", amount=1)
                    await commands.handle(deposit, command_id=f"dep-{r}-{i}")
            cmd_seconds += t.seconds
            with Timer() as t:
                for i in range(per_round):
                    deposit = Deposit(account_id=f"u{i % ACCOUNTS}", amount=1)
                    await cold.handle(deposit, command_id=f"dep-{r}-{i}")
            cold_seconds += t.seconds
        raw_rate = rate(rounds * per_round, raw_seconds)
        cmd_rate = rate(rounds * per_round, cmd_seconds)
        cold_rate = rate(rounds * per_round, cold_seconds)
        report.add(
            Row(
                group=group,
                name="commands (load → decide → append), sequential",
                value=cmd_rate,
                unit="cmd/s",
                baseline_name="raw appends of the same events",
                baseline_value=raw_rate,
                target="≥ 70 % of raw appends",
                met=cmd_rate >= 0.7 * raw_rate,
            )
        )
        report.add(
            Row(
                group=group,
                name="commands with the state cache off (read + fold each time)",
                value=cold_rate,
                unit="cmd/s",
                baseline_name="raw appends of the same events",
                baseline_value=raw_rate,
                notes=(
                    "context row, the worst case: every command reads and folds its stream "
                    f"(streams grow to ~{rounds * per_round // ACCOUNTS} events)"
                ),
            )
        )
        lib_rate = await asyncio.to_thread(_lib_commands, app)
        report.add(
            Row(
                group=group,
                name="eventsourcing lib commands (get → deposit → save), sequential",
                value=lib_rate,
                unit="cmd/s",
                baseline_name="riverbed commands",
                baseline_value=cmd_rate,
                notes="context row: the Python peer doing the same loop",
            )
        )
        app.close()


def _lib_commands(app: LibBank) -> float:
    ids = []
    for _ in range(ACCOUNTS):
        account = LibAccount(owner="Ada")
        app.save(account)
        ids.append(account.id)
    with Timer() as t:
        for i in range(COMMANDS):
            account = app.repository.get(ids[i % ACCOUNTS])
            account.deposit(1)
            app.save(account)
    return rate(COMMANDS, t.seconds)


async def run(report: Report) -> None:
    """Measure on SQLite, then on PostgreSQL when it is reachable."""
    with tempfile.TemporaryDirectory() as tmp:
        await _bench_engine(
            report, "sqlite", f"sqlite:///{Path(tmp) / 'riverbed.db'}", str(Path(tmp) / "lib.db")
        )
    with _pg_schema() as pg:
        if pg is not None:
            url, schema = pg
            try:
                await _bench_engine(report, "postgres", url, schema)
            except ConfigurationError as exc:  # the PostgreSQL adapter is not installed in this build
                print(f"  skipping PostgreSQL: {exc}", flush=True)
