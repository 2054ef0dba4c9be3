import asyncio
import sqlite3
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import pytest

from riverbed.adapters.memory.bus import MemoryBus
from riverbed.adapters.memory.event_store import MemoryEventStore
from riverbed.adapters.memory.inbox import MemoryInbox, MemoryRelayCheckpoints
from riverbed.adapters.sqlite.inbox import SQLiteInbox, SQLiteRelayCheckpoints
from riverbed.cloudevents import CloudEvent
from riverbed.errors import StoreClosed
from riverbed.ports.event_store import Checkpoint
from riverbed.ports.topology import Pond, River, Topology
from riverbed.runtime.pond_worker import PondWorker
from riverbed.runtime.relay import Relay

TOPOLOGY = Topology(rivers=(River(name="all"),), ponds=(Pond(name="p", river="all"),))


def event(n: int, stream: str = "acct-1") -> CloudEvent:
    return CloudEvent(id=f"e{n}", source="urn:test", type="t.v1", subject=stream, data={"n": n})


async def fill(store: MemoryEventStore, count: int) -> None:
    for n in range(count):
        await store.append(f"acct-{n % 5}", [event(n, f"acct-{n % 5}")])


async def test_relay_publishes_the_global_order_and_saves_its_checkpoint() -> None:
    store, bus, checkpoints = MemoryEventStore(), MemoryBus(), MemoryRelayCheckpoints()
    await bus.declare(TOPOLOGY)
    await fill(store, 25)
    relay = Relay(store, bus, checkpoints, batch_size=7, batches_in_flight=2)
    assert await relay.lag() == 25
    assert await relay.run_until_caught_up() == 25
    assert checkpoints.saved["relay"] == Checkpoint(0, 25)
    assert await relay.lag() == 0
    got = await bus.fetch("p", max_messages=100, max_wait=0)
    assert [d.event.id for d in got] == [f"e{n}" for n in range(25)]


async def test_relay_follows_live_appends_and_stops_cleanly() -> None:
    store, bus, checkpoints = MemoryEventStore(), MemoryBus(), MemoryRelayCheckpoints()
    await bus.declare(TOPOLOGY)
    relay = Relay(store, bus, checkpoints, batch_size=10)
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop=stop))
    await fill(store, 30)
    got: list[str] = []
    while len(got) < 30:
        batch = await asyncio.wait_for(bus.fetch("p", max_messages=100, max_wait=1.0), 10)
        for delivery in batch:
            got.append(delivery.event.id)
            await delivery.ack()
    stop.set()
    await asyncio.wait_for(task, 10)
    assert got == [f"e{n}" for n in range(30)]
    assert checkpoints.saved["relay"] == Checkpoint(0, 30)


async def test_a_restarted_relay_republishes_only_from_its_checkpoint() -> None:
    store, bus, checkpoints = MemoryEventStore(), MemoryBus(), MemoryRelayCheckpoints()
    await bus.declare(TOPOLOGY)
    await fill(store, 10)
    await checkpoints.save("relay", Checkpoint(0, 6))
    assert await Relay(store, bus, checkpoints).run_until_caught_up() == 4
    got = await bus.fetch("p", max_messages=100, max_wait=0)
    assert [d.event.id for d in got] == ["e6", "e7", "e8", "e9"]


async def test_memory_inbox_runs_an_effect_once_and_keeps_nothing_of_a_failure() -> None:
    inbox = MemoryInbox("c")

    def credit(state: MutableMapping[str, Any]) -> None:
        state["balance"] = state.get("balance", 0) + 10

    assert await inbox.handle(event(1), credit)
    assert not await inbox.handle(event(1), credit)
    assert inbox.state == {"balance": 10}

    def broken(state: MutableMapping[str, Any]) -> None:
        state["balance"] = 999
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await inbox.handle(event(2), broken)
    assert inbox.state == {"balance": 10}
    assert not await inbox.seen(event(2))
    assert await inbox.handle(event(2), credit)
    assert inbox.state == {"balance": 20}
    await inbox.close()
    with pytest.raises(StoreClosed):
        await inbox.handle(event(3), credit)


async def test_sqlite_inbox_commits_effect_and_key_together(tmp_path: Path) -> None:
    path = tmp_path / "inbox.db"
    inbox = SQLiteInbox(path, consumer="ledger")

    def effect_for(n: int, fail: bool = False) -> Any:
        def effect(conn: sqlite3.Connection) -> None:
            conn.execute("CREATE TABLE IF NOT EXISTS effects (n INTEGER)")
            conn.execute("INSERT INTO effects (n) VALUES (?)", (n,))
            if fail:
                raise ValueError("after writing")

        return effect

    assert await inbox.handle(event(1), effect_for(1))
    assert not await inbox.handle(event(1), effect_for(1))
    with pytest.raises(ValueError, match="after writing"):
        await inbox.handle(event(2), effect_for(2, fail=True))
    assert not await inbox.seen(event(2))
    assert await inbox.seen(event(1))
    assert await inbox.count() == 1
    await inbox.close()

    # a second consumer on the same file has its own keys; reopening keeps everything
    other = SQLiteInbox(path, consumer="other")
    assert await other.handle(event(1), effect_for(1))
    await other.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT n FROM effects ORDER BY rowid").fetchall() == [(1,), (1,)]
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_sqlite_relay_checkpoints_survive_reopening(tmp_path: Path) -> None:
    checkpoints = SQLiteRelayCheckpoints(tmp_path / "relay.db")
    assert await checkpoints.load("r") is None
    await checkpoints.save("r", Checkpoint(0, 5))
    await checkpoints.save("r", Checkpoint(7, 9))
    await checkpoints.close()
    again = SQLiteRelayCheckpoints(tmp_path / "relay.db")
    assert await again.load("r") == Checkpoint(7, 9)
    await again.close()


async def test_duplicates_through_the_whole_path_have_no_effect() -> None:
    store, bus, checkpoints = MemoryEventStore(), MemoryBus(), MemoryRelayCheckpoints()
    await bus.declare(TOPOLOGY)
    await fill(store, 20)
    await Relay(store, bus, checkpoints).run_until_caught_up()
    checkpoints.saved.clear()  # the relay "lost" its checkpoint and publishes everything again
    bus._seen.clear()  # ... after the duplicate window: the broker cannot help any more
    await Relay(store, bus, checkpoints).run_until_caught_up()
    inbox = MemoryInbox("p")

    async def handler(ev: CloudEvent) -> None:
        def effect(state: MutableMapping[str, Any]) -> None:
            state["count"] = state.get("count", 0) + 1

        await inbox.handle(ev, effect)

    stats = await PondWorker(bus, TOPOLOGY.pond("p"), handler, fetch_timeout=0.05).drain()
    assert stats.handled == 40
    assert inbox.state == {"count": 20}


class SlowCheckpoints(MemoryRelayCheckpoints):
    async def save(self, name: str, checkpoint: Checkpoint) -> None:
        await asyncio.sleep(0.002)
        await super().save(name, checkpoint)


async def test_relay_loses_nothing_while_checkpoint_saves_interleave_with_appends() -> None:
    # A regression found by the ledger test: an event taken from the queue while a checkpoint was being
    # saved was dropped, and later checkpoints moved past it.
    store, bus, checkpoints = MemoryEventStore(), MemoryBus(), SlowCheckpoints()
    await bus.declare(TOPOLOGY)
    relay = Relay(store, bus, checkpoints, batch_size=3, batches_in_flight=1)
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop=stop))
    for n in range(300):
        await store.append(f"s-{n % 7}", [event(n, f"s-{n % 7}")])
        await asyncio.sleep(0.0005 if n % 3 else 0)
    for _ in range(1000):
        if checkpoints.saved.get("relay") == Checkpoint(0, 300):
            break
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(task, 10)
    got = await bus.fetch("p", max_messages=1000, max_wait=0)
    assert sorted(d.event.id for d in got) == sorted(f"e{n}" for n in range(300))


async def test_sqlite_inbox_group_commit_isolates_each_effect(tmp_path: Path) -> None:
    inbox = SQLiteInbox(tmp_path / "inbox.db", consumer="c")

    def effect_for(n: int) -> Any:
        def effect(conn: sqlite3.Connection) -> None:
            conn.execute("CREATE TABLE IF NOT EXISTS effects (n INTEGER)")
            conn.execute("INSERT INTO effects (n) VALUES (?)", (n,))
            if n == 13:
                raise ValueError("unlucky")

        return effect

    # 40 concurrent calls (committed in groups): one failing effect, and event 7 delivered three times
    calls = [inbox.handle(event(n), effect_for(n)) for n in range(30)]
    calls += [inbox.handle(event(7), effect_for(7)) for _ in range(2)]
    results = await asyncio.gather(*calls, return_exceptions=True)
    assert isinstance(results[13], ValueError)
    assert results[7] is True
    assert results[30:] == [False, False]
    assert all(r is True for i, r in enumerate(results[:30]) if i != 13)
    assert await inbox.count() == 29
    await inbox.close()
    with sqlite3.connect(tmp_path / "inbox.db") as conn:
        stored = [n for (n,) in conn.execute("SELECT n FROM effects ORDER BY n")]
    assert stored == [n for n in range(30) if n != 13]
