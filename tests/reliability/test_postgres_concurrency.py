"""Proof: optimistic concurrency on PostgreSQL under real contention between OS processes.

8 processes run 500 commands each on 10 hot streams. Each command loads its stream (catching up from a
per-process cache), decides an event that carries the version it believes comes next, and appends it with
that expected version, retrying on WrongExpectedVersion with fresh event ids. Afterwards: every stream's
versions are contiguous, no event is stored twice, no event of a rejected attempt is stored, every stored
event is one that was acknowledged (and vice versa), and each event's decided version equals its stored
version (no decision was ever made on stale state and accepted).
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import random
import uuid
from pathlib import Path

import psycopg  # noqa: TID251 - the proof checks the table directly
import pytest

from riverbed.adapters.postgres.event_store import PostgresEventStore
from riverbed.cloudevents.event import CloudEvent
from riverbed.errors import WrongExpectedVersion
from riverbed.ports.event_store import ExpectedVersion

pytestmark = [pytest.mark.postgres, pytest.mark.reliability]

SOAK = os.environ.get("RIVERBED_SOAK") == "1"
PROCESSES = 8
COMMANDS = 5000 if SOAK else 500
STREAMS = [f"account-{i}" for i in range(10)]


async def _worker(url: str, worker: int, commands: int) -> dict[str, list[str]]:
    rng = random.Random(worker)
    acknowledged: list[str] = []
    rejected: list[str] = []
    cache: dict[str, int] = {}  # stream -> last version seen
    async with PostgresEventStore(url, migrate=False, min_size=1, max_size=1) as store:
        for command in range(commands):
            stream = rng.choice(STREAMS)
            while True:
                async for record in store.read(stream, from_version=cache.get(stream, -1) + 1):
                    cache[stream] = record.version
                current = cache.get(stream)
                decided = 0 if current is None else current + 1
                event = CloudEvent(
                    source=f"/worker/{worker}",
                    type="test.deposited.v1",
                    id=str(uuid.uuid4()),
                    data={"decided_version": decided, "command": f"{worker}-{command}"},
                )
                expected = ExpectedVersion.NO_STREAM if current is None else current
                try:
                    result = await store.append(stream, [event], expected_version=expected)
                except WrongExpectedVersion:
                    rejected.append(event.id)
                    continue
                acknowledged.append(event.id)
                cache[stream] = result.last_version
                break
    return {"acknowledged": acknowledged, "rejected": rejected}


def _run_worker(url: str, worker: int, commands: int, out: str) -> None:
    Path(out).write_text(json.dumps(asyncio.run(_worker(url, worker, commands))))


@pytest.mark.timeout(300)
async def test_eight_processes_on_hot_streams_keep_versions_contiguous(
    pg_schema_url: str, tmp_path: Path
) -> None:
    async with PostgresEventStore(pg_schema_url):
        pass  # creates the schema once, before the workers race
    context = multiprocessing.get_context("spawn")
    outs = [str(tmp_path / f"worker-{n}.json") for n in range(PROCESSES)]
    workers = [
        context.Process(target=_run_worker, args=(pg_schema_url, n, COMMANDS, outs[n]))
        for n in range(PROCESSES)
    ]
    for process in workers:
        process.start()
    for process in workers:
        await asyncio.to_thread(process.join, 280)
        assert process.exitcode == 0, f"worker {process.pid} failed with exit code {process.exitcode}"

    acknowledged: list[str] = []
    rejected: set[str] = set()
    for out in outs:
        result = json.loads(await asyncio.to_thread(Path(out).read_text))
        acknowledged += result["acknowledged"]
        rejected |= set(result["rejected"])

    with psycopg.connect(pg_schema_url) as conn:
        rows = conn.execute(
            "SELECT stream_id, version, event_id, data::text FROM riverbed_events ORDER BY stream_id, version"
        ).fetchall()
    stored_ids = [row[2] for row in rows]
    assert len(acknowledged) == PROCESSES * COMMANDS
    assert len(stored_ids) == len(set(stored_ids)), "an event id is stored twice"
    assert set(stored_ids) == set(acknowledged), "stored events differ from acknowledged ones"
    assert not rejected & set(stored_ids), "an event of a rejected append was stored"
    assert rejected, "no append was ever rejected: the workload did not contend"
    commands = [json.loads(row[3])["command"] for row in rows]
    assert len(commands) == len(set(commands)), "a command was applied twice"
    by_stream: dict[str, list[int]] = {}
    for stream, version, _, data in rows:
        by_stream.setdefault(stream, []).append(version)
        assert json.loads(data)["decided_version"] == version, (
            f"{stream}@{version} was decided on stale state"
        )
    for stream, versions in by_stream.items():
        assert versions == list(range(len(versions))), f"{stream} has a gap or a duplicate version"
