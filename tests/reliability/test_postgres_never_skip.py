"""Proof: the PostgreSQL global order never skips an event, and a naive reader on the same workload does.

16 writer connections commit 20,000 events through the store's own append statement, each in
an explicit transaction with a random delay before COMMIT; 5 % of the transactions roll back and a few
are held open for 2 s. Meanwhile a subscription runs, and is killed (cancelled, its store closed) and
resumed from its last checkpoint on a fresh store 10 times. Afterwards the delivered events equal the
committed ones exactly once each, no rolled-back event was delivered, and each stream arrived in version
order. In the same run a naive reader (``global_position > last_seen``) follows the same table: it must
miss at least one event, which proves the workload can expose a skip at all.
"""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import Callable

import psycopg  # noqa: TID251 - the writers drive the append function in their own transactions
import pytest

from riverbed.adapters.postgres.codec import Columns
from riverbed.adapters.postgres.event_store import PostgresEventStore
from riverbed.adapters.postgres.statements import append_params, statements
from riverbed.cloudevents.event import CloudEvent
from riverbed.ports.event_store import Checkpoint, RecordedEvent

pytestmark = [pytest.mark.postgres, pytest.mark.reliability]

SOAK = os.environ.get("RIVERBED_SOAK") == "1"
WRITERS = 16
EVENTS = 200_000 if SOAK else 20_000
STREAMS = 64
ROLLBACK_RATE = 0.05
HELD_OPEN = 12  # transactions kept open for 2 s, spread over the run
KILLS = 10


class Ledger:
    """What the writers committed and rolled back."""

    def __init__(self) -> None:
        self.committed: set[str] = set()
        self.rolled_back: set[str] = set()
        self.inserted = 0
        self.held = 0


async def _writer(url: str, rng: random.Random, ledger: Ledger, quota: list[int], hold: set[int]) -> None:
    append_sql = statements(url.rsplit("%3D", 1)[1])
    async with await psycopg.AsyncConnection.connect(url) as conn:
        while quota[0] > 0:
            size = rng.randint(1, 4)
            quota[0] -= size
            stream = f"stream-{rng.randrange(STREAMS)}"
            events = [CloudEvent(source="/w", type="t", data={"writer": id(conn)}) for _ in range(size)]
            ids = [event.id for event in events]
            query = append_sql["append_one" if size == 1 else "append"]
            try:
                cur = await conn.execute(query, append_params(stream, -1, Columns(events)))
                inserted = await cur.fetchone()
                assert inserted is not None
                assert inserted[3] is not None, f"the append statement refused to write: {inserted}"
            except psycopg.errors.UniqueViolation:
                await conn.rollback()  # a concurrent append took the version: retry as ANY would
                quota[0] += size
                continue
            ledger.inserted += 1  # transactions that inserted (and will commit or roll back)
            if ledger.inserted in hold:
                ledger.held += 1
                await asyncio.sleep(2.0)
            else:
                await asyncio.sleep(rng.random() * 0.004)
            if rng.random() < ROLLBACK_RATE:
                await conn.rollback()
                ledger.rolled_back.update(ids)
                quota[0] += size  # the quota counts committed events
            else:
                await conn.commit()
                ledger.committed.update(ids)


async def _naive_reader(url: str, seen: set[str], stop: asyncio.Event) -> None:
    """The broken design: trust that position order is commit order."""
    last = 0
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        while True:
            done = stop.is_set()
            cur = await conn.execute(
                "SELECT global_position, event_id FROM riverbed_events WHERE global_position > %s "
                "ORDER BY global_position LIMIT 5000",
                [last],
            )
            rows = await cur.fetchall()
            for position, event_id in rows:
                seen.add(event_id)
                last = position
            if done and not rows:
                return
            await asyncio.sleep(0.002)


class Subscriber:
    """A subscription that keeps its checkpoint with what it processed, and can be killed any time."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.delivered: list[RecordedEvent] = []
        self.checkpoint = Checkpoint(0, 0)
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        store = await PostgresEventStore(self.url, migrate=False, max_size=2).open()
        try:
            async for record in store.subscribe(after=self.checkpoint):
                # Processing and checkpointing happen together (no await in between), as a projection
                # writes its rows and checkpoint in one transaction.
                self.delivered.append(record)
                self.checkpoint = record.checkpoint
        finally:
            await store.close()

    async def kill(self) -> None:
        assert self.task is not None
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


async def _until(condition: Callable[[], bool], seconds: float) -> bool:
    for _ in range(int(seconds / 0.05)):
        if condition():
            return True
        await asyncio.sleep(0.05)
    return condition()


@pytest.mark.timeout(600 if SOAK else 240)
async def test_subscription_never_skips_and_the_naive_reader_does(pg_schema_url: str) -> None:
    async with PostgresEventStore(pg_schema_url):
        pass
    rng = random.Random(20_000)
    ledger = Ledger()
    # About EVENTS / 2.5 transactions run (1-4 events each): hold some among the first EVENTS / 3.
    hold = set(rng.sample(range(50, EVENTS // 3), HELD_OPEN))
    quota = [EVENTS]

    naive_seen: set[str] = set()
    stop_naive = asyncio.Event()
    naive = asyncio.create_task(_naive_reader(pg_schema_url, naive_seen, stop_naive))
    subscriber = Subscriber(pg_schema_url)
    subscriber.start()
    writers = asyncio.gather(
        *(_writer(pg_schema_url, random.Random(n), ledger, quota, hold) for n in range(WRITERS))
    )

    # Kill points are spread over the writers' progress (not over wall time), so every machine, fast or
    # slow, kills the subscription 10 times while the workload runs.
    kill_points = sorted(rng.uniform(0.05, 0.95) * EVENTS for _ in range(KILLS))
    kills = 0
    while not writers.done() and kills < KILLS:
        await asyncio.sleep(0.01)
        if len(ledger.committed) >= kill_points[kills]:
            await subscriber.kill()
            kills += 1
            subscriber.start()
    await writers
    assert kills == KILLS, "the writers finished before the subscription was killed 10 times"
    assert ledger.rolled_back, "no transaction rolled back"
    assert ledger.held == HELD_OPEN, "not every long transaction happened"

    caught_up = await _until(lambda: len(subscriber.delivered) >= len(ledger.committed), 60)
    await asyncio.sleep(0.5)  # anything extra (a duplicate, a rolled-back event) would arrive by now
    await subscriber.kill()
    stop_naive.set()
    await naive

    delivered_ids = [record.event.id for record in subscriber.delivered]
    assert caught_up, f"the subscription delivered {len(delivered_ids)} of {len(ledger.committed)} events"
    assert len(delivered_ids) == len(set(delivered_ids)), "an event was delivered twice"
    assert not set(delivered_ids) & ledger.rolled_back, "a rolled-back event was delivered"
    assert set(delivered_ids) == ledger.committed, "delivered set differs from the committed set"
    assert len(ledger.committed) >= EVENTS
    last_version: dict[str, int] = {}
    for record in subscriber.delivered:
        assert record.version == last_version.get(record.stream, -1) + 1, f"{record.stream} out of order"
        last_version[record.stream] = record.version
    checkpoints = [record.checkpoint for record in subscriber.delivered]
    assert checkpoints == sorted(checkpoints), "the global order went backwards"

    missed = ledger.committed - naive_seen
    assert missed, "negative control failed: the naive reader missed nothing, so this workload proves nothing"
