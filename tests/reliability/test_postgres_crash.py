"""Proof: an acknowledged append survives a PostgreSQL crash, and writes resume after restart.

A private cluster (never the shared server) is stopped with ``pg_ctl stop -m immediate`` 10 times while a
writer appends. The writer retries an append whose outcome it did not learn with the same event ids
(idempotent), so nothing is stored twice. After the last restart every acknowledged event is there, at
the version its acknowledgement named, each stream's versions are contiguous, and new appends succeed.
"""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import Iterator

import psycopg  # noqa: TID251 - the proof reads the table directly
import pytest

from riverbed.adapters.postgres.event_store import PostgresEventStore
from riverbed.cloudevents.event import CloudEvent
from riverbed.errors import StoreUnavailable
from tests.reliability.pg_cluster import PrivateCluster, private_cluster

pytestmark = [pytest.mark.postgres, pytest.mark.reliability]

CRASHES = 50 if os.environ.get("RIVERBED_SOAK") == "1" else 10


@pytest.fixture
def cluster() -> Iterator[PrivateCluster]:
    created = private_cluster()
    try:
        created.start()
        yield created
    finally:
        created.destroy()


class Writer:
    """Appends batches forever; an append is retried with the same ids until it is acknowledged."""

    def __init__(self, store: PostgresEventStore) -> None:
        self.store = store
        self.acknowledged: dict[str, tuple[str, int]] = {}
        self.failures = 0
        self.stop = False

    async def run(self, rng: random.Random) -> None:
        batch = 0
        while not self.stop:
            batch += 1
            stream = f"stream-{batch % 7}"
            events = [
                CloudEvent(source="/crash", type="test.appended.v1", data={"batch": batch, "i": i})
                for i in range(rng.randint(1, 3))
            ]
            while True:
                try:
                    result = await self.store.append(stream, events)
                    break
                except StoreUnavailable:
                    self.failures += 1
                    await asyncio.sleep(0.02)
            for offset, event in enumerate(events):
                self.acknowledged[event.id] = (stream, result.first_version + offset)


async def _until_more(writer: Writer, count: int, seconds: float) -> bool:
    for _ in range(int(seconds / 0.02)):
        if len(writer.acknowledged) > count:
            return True
        await asyncio.sleep(0.02)
    return False


@pytest.mark.timeout(300)
async def test_acknowledged_events_survive_immediate_stops(cluster: PrivateCluster) -> None:
    rng = random.Random(10)
    store = await PostgresEventStore(cluster.url, max_size=2, pool_timeout=5).open()
    writer = Writer(store)
    task = asyncio.create_task(writer.run(rng))
    try:
        for _ in range(CRASHES):
            assert await _until_more(writer, len(writer.acknowledged), 60), "writes did not resume"
            await asyncio.sleep(rng.uniform(0.05, 0.4))
            await asyncio.to_thread(cluster.crash)
            await asyncio.sleep(rng.uniform(0.0, 0.3))
            await asyncio.to_thread(cluster.start)
        resumed_from = len(writer.acknowledged)
        assert await _until_more(writer, resumed_from + 20, 60), (
            "writes did not resume after the last restart"
        )
        retries = (await store.stats()).details["connection_retries"]
    finally:
        writer.stop = True
        await asyncio.wait_for(task, 60)
        await store.close()

    assert retries + writer.failures >= CRASHES, "appends did not see the server go down: crashes hit nothing"
    async with await psycopg.AsyncConnection.connect(cluster.url) as conn:
        cur = await conn.execute(
            "SELECT event_id, stream_id, version FROM riverbed_events ORDER BY global_position"
        )
        rows = await cur.fetchall()
    stored = {event_id: (stream, version) for event_id, stream, version in rows}
    assert len(stored) == len(rows), "an event id is stored twice"
    lost = {event_id for event_id in writer.acknowledged if event_id not in stored}
    assert not lost, f"{len(lost)} acknowledged events were lost in the crashes"
    for event_id, place in writer.acknowledged.items():
        assert stored[event_id] == place, f"{event_id} is not where its acknowledgement said"
    versions: dict[str, list[int]] = {}
    for _, stream, version in rows:
        versions.setdefault(stream, []).append(version)
    for stream, found in versions.items():
        assert sorted(found) == list(range(len(found))), f"{stream} has a gap"
