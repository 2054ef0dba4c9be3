"""What the SQLite store promises beyond the shared contract.

URLs, durability settings, integrity, schema versions, group commit, contiguous positions, threads, and
subscriptions across processes.
"""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from riverbed.adapters.sqlite import SQLiteEventStore
from riverbed.adapters.sqlite import schema as sqlite_schema
from riverbed.bootstrap import create_store, open_store
from riverbed.errors import (
    ConfigurationError,
    InvalidStoreUrl,
    SchemaVersionMismatch,
    StoreClosed,
    StoreCorrupted,
    WrongExpectedVersion,
)
from riverbed.ports.event_store import AppendResult, ExpectedVersion
from riverbed.testing.contracts import make_event


def url(path: Path) -> str:
    return f"sqlite:///{path}"


# -- URLs -------------------------------------------------------------------------------------------------


async def test_relative_url_creates_parent_directories(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    async with open_store("sqlite:///data/deep/bank.db") as store:
        await store.append("acc", [make_event()])
    assert (tmp_path / "data" / "deep" / "bank.db").is_file()


async def test_absolute_url(tmp_path: Path) -> None:
    target = tmp_path / "abs" / "store.db"
    assert url(target).startswith("sqlite:////")
    store = create_store(url(target))
    assert isinstance(store, SQLiteEventStore)
    await store.open()
    try:
        assert (await store.append("acc", [make_event()])).first_position == 1
    finally:
        await store.close()
    assert target.is_file()


@pytest.mark.parametrize(
    "bad",
    [
        "sqlite://host/file.db",
        "sqlite:///",
        "sqlite:///:memory:",
        "sqlite:///file.db?mode=ro",
        "sqlite:///dir/",
    ],
)
def test_bad_urls_are_refused_with_a_hint(bad: str) -> None:
    with pytest.raises(InvalidStoreUrl, match="sqlite:///"):
        SQLiteEventStore(bad)


# -- durability settings -----------------------------------------------------------------------------------


async def test_the_file_runs_wal_and_the_store_reports_full(tmp_path: Path) -> None:
    async with SQLiteEventStore(url(tmp_path / "s.db")) as store:
        await store.append("acc", [make_event()])
        stats = await store.stats()
        assert stats.details["synchronous"] == "FULL"
        assert stats.details["journal_mode"] == "wal"
        with sqlite3.connect(tmp_path / "s.db") as other:
            assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_normal_is_refused_without_the_unsafe_option(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="unsafe_allow_data_loss"):
        SQLiteEventStore(url(tmp_path / "s.db"), synchronous="NORMAL")
    with pytest.raises(ConfigurationError, match="synchronous"):
        SQLiteEventStore(url(tmp_path / "s.db"), synchronous="OFF")


@pytest.mark.parametrize(("level", "unsafe"), [("EXTRA", False), ("extra", False), ("NORMAL", True)])
async def test_other_levels_are_set_and_read_back(tmp_path: Path, level: str, unsafe: bool) -> None:
    async with SQLiteEventStore(
        url(tmp_path / "s.db"), synchronous=level, unsafe_allow_data_loss=unsafe
    ) as store:
        assert (await store.stats()).details["synchronous"] == level.upper()


async def test_the_store_refuses_to_run_when_sqlite_does_not_take_the_level(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Pretend this SQLite build maps FULL to another number: the read-back must catch it.
    monkeypatch.setitem(sqlite_schema.SYNCHRONOUS_LEVELS, "FULL", 3)
    with pytest.raises(ConfigurationError, match="reports 2"):
        await SQLiteEventStore(url(tmp_path / "s.db")).open()


@pytest.mark.parametrize(
    "option", [{"busy_timeout": 0}, {"readers": 0}, {"max_batch": 1.5}, {"page_size": -1}]
)
def test_bad_options_are_refused(tmp_path: Path, option: dict[str, float]) -> None:
    with pytest.raises(ConfigurationError):
        SQLiteEventStore(url(tmp_path / "s.db"), **option)  # type: ignore[arg-type]


# -- integrity and schema ---------------------------------------------------------------------------------


async def test_a_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not a database file, it is a text file " * 200)
    with pytest.raises(StoreCorrupted, match=r"junk\.db"):
        await SQLiteEventStore(url(path)).open()


async def test_a_corrupted_database_fails_quick_check(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    async with SQLiteEventStore(url(path)) as store:
        for n in range(20):
            await store.append(f"acc-{n}", [make_event(data={"pad": "x" * 2000})])
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    raw = bytearray(path.read_bytes())
    # Scribble over the B-tree page headers after the first page (the header stays valid).
    for page in range(1, len(raw) // page_size):
        raw[page * page_size : page * page_size + 16] = b"\xff" * 16
    path.write_bytes(bytes(raw))
    with pytest.raises(StoreCorrupted):
        await SQLiteEventStore(url(path)).open()


async def test_a_newer_schema_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    async with SQLiteEventStore(url(path)):
        pass
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT value FROM riverbed_meta WHERE key = 'schema_version'").fetchone() == (
            "1",
        )
        conn.execute("UPDATE riverbed_meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(SchemaVersionMismatch, match="99"):
        await SQLiteEventStore(url(path)).open()


async def test_a_store_never_opened_is_closed(tmp_path: Path) -> None:
    store = SQLiteEventStore(url(tmp_path / "s.db"))
    with pytest.raises(StoreClosed):
        await store.append("acc", [make_event()])
    assert not (tmp_path / "s.db").exists()


# -- group commit and positions ----------------------------------------------------------------------------


async def test_concurrent_appends_share_one_commit_and_a_clash_fails_alone(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    async with SQLiteEventStore(url(path), busy_timeout=60) as store:
        await store.append("busy", [make_event()])
        commits_before = (await store.stats()).details["commits"]
        # Hold the write lock from another connection so the writer queues up everything sent meanwhile.
        blocker = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            first = asyncio.ensure_future(store.append("first", [make_event()]))
            await asyncio.sleep(0)  # the append's task runs and queues it
            async with asyncio.timeout(30):  # until the writer took it and waits for the lock with it
                while (await store.stats()).details["queued"]:  # noqa: ASYNC110 - polls another thread's state
                    await asyncio.sleep(0.01)
            rest = [
                asyncio.ensure_future(store.append(f"s-{n}", [make_event(n), make_event(n)]))
                for n in range(6)
            ]
            clash = asyncio.ensure_future(
                store.append("busy", [make_event()], expected_version=ExpectedVersion.NO_STREAM)
            )
            await asyncio.sleep(0.05)
            assert not first.done()
            assert not any(task.done() for task in rest)
        finally:
            await asyncio.to_thread(blocker.execute, "ROLLBACK")
            blocker.close()
        results = await asyncio.gather(first, *rest)
        with pytest.raises(WrongExpectedVersion):
            await clash
        stats = await store.stats()
        assert stats.details["commits"] - commits_before == 2, "the queued appends must share one commit"
        assert all(isinstance(r, AppendResult) for r in results)
        positions = [rec.position async for rec in store.read_all()]
        assert positions == list(range(1, 1 + 1 + 1 + 12)), "SQLite positions have no gaps"


async def test_positions_stay_contiguous_across_refused_appends(tmp_path: Path) -> None:
    async with SQLiteEventStore(url(tmp_path / "s.db")) as store:
        for n in range(10):
            await store.append("acc", [make_event(n)])
            with pytest.raises(WrongExpectedVersion):
                await store.append("acc", [make_event(n)], expected_version=ExpectedVersion.NO_STREAM)
        await asyncio.gather(
            *(store.append("acc", [make_event(n)], expected_version=9) for n in range(5)),
            return_exceptions=True,
        )
        assert [rec.position async for rec in store.read_all()] == list(range(1, 12))


# -- threads ----------------------------------------------------------------------------------------------


async def test_sqlite_connections_are_never_opened_on_the_event_loop_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened_on: list[str] = []
    real_connect = sqlite3.connect

    def spy(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        opened_on.append(threading.current_thread().name)
        conn: sqlite3.Connection = real_connect(*args, **kwargs)
        return conn

    monkeypatch.setattr(sqlite3, "connect", spy)
    async with SQLiteEventStore(url(tmp_path / "s.db")) as store:
        await store.append("acc", [make_event()])
        assert [rec async for rec in store.read("acc")]
        assert await store.stream_version("acc") == 0
    loop_thread = threading.current_thread().name
    assert opened_on, "the spy saw no connection"
    assert loop_thread not in opened_on
    assert any(name.startswith("riverbed-sqlite-writer") for name in opened_on)
    assert any(name.startswith("riverbed-sqlite-reader") for name in opened_on)


# -- other processes ---------------------------------------------------------------------------------------

WRITER_SCRIPT = """
import asyncio, sys
from riverbed.adapters.sqlite import SQLiteEventStore
from riverbed.cloudevents import CloudEvent

async def main() -> None:
    async with SQLiteEventStore(sys.argv[1]) as store:
        for n in range(int(sys.argv[2])):
            await store.append("from-another-process", [CloudEvent(source="/p", type="t.v1", data={"n": n})])

asyncio.run(main())
"""


async def test_a_subscription_sees_appends_of_another_process(tmp_path: Path) -> None:
    store_url = url(tmp_path / "s.db")
    async with SQLiteEventStore(store_url) as store:
        await store.append("here", [make_event()])
        subscription = store.subscribe()
        try:
            (first,) = [await anext(subscription)]
            assert first.stream == "here"
            proc = await asyncio.create_subprocess_exec(sys.executable, "-c", WRITER_SCRIPT, store_url, "5")
            async with asyncio.timeout(60):
                received = [await anext(subscription) for _ in range(5)]
                assert await proc.wait() == 0
        finally:
            await subscription.aclose()  # type: ignore[attr-defined]
        assert [rec.event.data["n"] for rec in received] == [0, 1, 2, 3, 4]
        assert [rec.version for rec in received] == [0, 1, 2, 3, 4]


def test_two_processes_appending_to_one_file_keep_versions_contiguous(tmp_path: Path) -> None:
    store_url = url(tmp_path / "s.db")
    procs = [subprocess.Popen([sys.executable, "-c", WRITER_SCRIPT, store_url, "30"]) for _ in range(2)]
    assert [p.wait(timeout=100) for p in procs] == [0, 0]
    with sqlite3.connect(tmp_path / "s.db") as conn:
        versions = [v for (v,) in conn.execute("SELECT version FROM events ORDER BY position")]
        assert versions == list(range(60))
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


async def test_opening_twice_at_once_starts_one_writer(tmp_path: Path) -> None:
    store = SQLiteEventStore(url(tmp_path / "once.db"))
    await asyncio.gather(store.open(), store.open())
    try:
        writers = [t for t in threading.enumerate() if t.name == "riverbed-sqlite-writer:once.db"]
        assert len(writers) == 1
        assert (await store.append("acc", [make_event()])).first_version == 0
    finally:
        await store.close()
    assert not any(t.name == "riverbed-sqlite-writer:once.db" for t in threading.enumerate())


# -- live subscribers fed from memory ---------------------------------------------------------------------


async def test_live_subscribers_get_this_processes_appends_from_memory_exactly_as_a_read_gives_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with SQLiteEventStore(url(tmp_path / "s.db")) as store:
        await store.append("a", [make_event(n=0)])
        subscriptions = [store.subscribe(after=1), store.subscribe(after=1)]
        from riverbed.adapters.sqlite import event_store as module

        tail_reads = 0
        real_tail = module._tail_page

        def counting_tail(*args: Any) -> Any:
            nonlocal tail_reads
            tail_reads += 1
            return real_tail(*args)

        monkeypatch.setattr(module, "_tail_page", counting_tail)
        try:
            waiting = [asyncio.ensure_future(anext(s)) for s in subscriptions]
            await asyncio.sleep(0.05)  # both subscriptions have read the (empty) tail and wait live
            reads_before = tail_reads
            await asyncio.gather(
                store.append("a", [make_event(n=1), make_event(n=2)], expected_version=0),
                store.append("b", [make_event(n=3)]),
                store.append("a", [make_event()], expected_version=0),  # refused: writes nothing
                return_exceptions=True,
            )
            received = [[await w] for w in waiting]
            for got, subscription in zip(received, subscriptions, strict=True):
                got += [await anext(subscription) for _ in range(2)]
            assert tail_reads == reads_before  # the three new events came from memory, not from the file
        finally:
            for subscription in subscriptions:
                await subscription.aclose()  # type: ignore[attr-defined]
        stored = [r async for r in store.read_all(after=1)]
        assert received[0] == received[1] == stored
        assert [r.position for r in stored] == [2, 3, 4]
        received[0][0].event.data["n"] = "changed"  # each subscriber decodes its own copy
        assert received[1][0].event.data["n"] == 1


async def test_appends_of_another_writer_in_between_are_read_from_the_file_in_order(tmp_path: Path) -> None:
    async with (
        SQLiteEventStore(url(tmp_path / "s.db")) as here,
        SQLiteEventStore(url(tmp_path / "s.db")) as other,
    ):
        subscription = here.subscribe()
        try:
            await here.append("x", [make_event(n=1)])
            await other.append("y", [make_event(n=2)])  # a position this store's memory never saw
            await here.append("x", [make_event(n=3)])
            async with asyncio.timeout(30):
                received = [await anext(subscription) for _ in range(3)]
            await other.append("y", [make_event(n=4)])
            await here.append("x", [make_event(n=5)])
            async with asyncio.timeout(30):
                received += [await anext(subscription) for _ in range(2)]
        finally:
            await subscription.aclose()  # type: ignore[attr-defined]
    assert [(r.position, r.event.data["n"]) for r in received] == [(1, 1), (2, 2), (3, 3), (4, 4), (5, 5)]


async def test_memory_kept_for_subscribers_is_bounded_and_big_events_come_from_the_file(
    tmp_path: Path,
) -> None:
    from riverbed.adapters.sqlite import event_store as module

    async with SQLiteEventStore(url(tmp_path / "s.db")) as store:
        subscription = store.subscribe()
        try:
            big = make_event(data={"blob": "x" * (module._RECENT_BYTES // 4 + 1)})
            await store.append("big", [big])
            assert store._recent == []  # over the per-row budget: not kept
            async with asyncio.timeout(30):
                assert (await anext(subscription)).event.data == big.data
            for n in range(40):
                await store.append("many", [make_event(data={"blob": "y" * 500_000, "n": n})])
                assert store._recent_total <= module._RECENT_BYTES
            async with asyncio.timeout(30):
                assert [(await anext(subscription)).event.data["n"] for _ in range(40)] == list(range(40))
        finally:
            await subscription.aclose()  # type: ignore[attr-defined]
        assert 0 < len(store._recent) < 40
        assert store._recent_total == sum(module._row_bytes(row[3:]) for row in store._recent)
