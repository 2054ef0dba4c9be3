"""Bus benchmarks beside raw nats-py doing the same work in the same run.

* relay throughput: a store's global order -> the rapids (Relay: store reads, CloudEvent binding,
  Nats-Msg-Id, pipelined batches, checkpoints) against raw ``publish_async`` of the same payloads with the
  same ``Nats-Msg-Id`` header, up to 4,000 in flight (target >= 50 % of raw);
* pond consumption with an inbox: PondWorker + MemoryInbox (and + SQLiteInbox, durable with group
  commit, for reference) against a raw pull consumer doing ``fetch(1000)`` and ``msg.ack()``
  (target >= 50 % of raw);
* end-to-end latency, append -> consumer handled, p50/p99, on the memory bus and on NATS (events appended
  one at a time at a steady rate), with raw nats-py publish -> pull fetch as the NATS baseline.

NATS is ``RIVERBED_TEST_NATS_URL`` (default nats://127.0.0.1:4222). Streams are created per run and deleted.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

import nats  # noqa: TID251 - the raw baseline
from nats.js.api import AckPolicy, ConsumerConfig, StreamConfig  # noqa: TID251

from benchmarks.harness import Report, Row, percentile, rate
from riverbed.adapters.memory.bus import MemoryBus
from riverbed.adapters.memory.event_store import MemoryEventStore
from riverbed.adapters.memory.inbox import MemoryInbox, MemoryRelayCheckpoints
from riverbed.adapters.nats.bus import NatsBus
from riverbed.adapters.sqlite.inbox import SQLiteInbox
from riverbed.cloudevents import CloudEvent
from riverbed.ports.bus import Bus
from riverbed.ports.topology import Pond, Rapids, River, Topology
from riverbed.runtime.pond_worker import PondWorker
from riverbed.runtime.relay import Relay

NATS_URL = os.environ.get("RIVERBED_TEST_NATS_URL", "nats://127.0.0.1:4222")
N = int(os.environ.get("RIVERBED_BENCH_BUS_EVENTS", "20000"))
LATENCY_EVENTS = 2000
GROUP = "bus"


def make_events(count: int, tag: str) -> list[CloudEvent]:
    return [
        CloudEvent(
            id=f"{tag}-{n}",
            source="urn:riverbed:bench/bank",
            type="bank.account.deposited.v1",
            subject=f"account-{(n // 100) % 100}",
            data={
                "account": f"account-{(n // 100) % 100}",
                "amount": n,
                "currency": "GBP",
                "memo": "x" * 120,
            },
        )
        for n in range(count)
    ]


def topology(names: str, *, concurrency: int = 32) -> Topology:
    return Topology(
        rapids=Rapids(name=f"{names}_R", subject_prefix=f"{names}.rapids"),
        rivers=(River(name=f"{names}_deposits", types=("bank.account.deposited.v1",)),),
        ponds=(Pond(name="balances", river=f"{names}_deposits", concurrency=concurrency, ordered=False),),
    )


async def delete_streams(prefix: str) -> None:
    nc = await nats.connect(NATS_URL)
    js = nc.jetstream()
    for info in await js.streams_info():
        if info.config.name and info.config.name.startswith(prefix):
            await js.delete_stream(info.config.name)
    await nc.close()


# -- relay throughput ---------------------------------------------------------------------------------


async def raw_publish(events: list[CloudEvent], names: str) -> float:
    nc = await nats.connect(NATS_URL)
    js = nc.jetstream(publish_async_max_pending=4000)
    await js.add_stream(StreamConfig(name=f"{names}_RAW", subjects=[f"{names}.raw.>"]))
    subject = f"{names}.raw.bank.deposited"
    started = time.perf_counter()
    for event in events:
        payload = json.dumps(event.data).encode()
        await js.publish_async(subject, payload, headers={"Nats-Msg-Id": event.id})
    await js.publish_async_completed()
    seconds = time.perf_counter() - started
    await nc.close()
    return rate(len(events), seconds)


async def relay_publish(events: list[CloudEvent], names: str) -> float:
    store = MemoryEventStore()
    for n in range(0, len(events), 100):
        chunk = events[n : n + 100]
        await store.append(chunk[0].subject or "s", chunk)
    bus = await NatsBus(NATS_URL).open()
    await bus.declare(topology(names))
    relay = Relay(store, bus, MemoryRelayCheckpoints(), batch_size=1000, batches_in_flight=4)
    started = time.perf_counter()
    published = await relay.run_until_caught_up()
    seconds = time.perf_counter() - started
    assert published == len(events)
    await bus.close()
    return rate(len(events), seconds)


# -- pond consumption ----------------------------------------------------------------------------------


async def raw_consume(names: str, count: int) -> float:
    nc = await nats.connect(NATS_URL)
    js = nc.jetstream()
    stream = f"{names}_deposits"
    await js.add_consumer(stream, ConsumerConfig(durable_name="raw", ack_policy=AckPolicy.EXPLICIT))
    sub = await js.pull_subscribe_bind(durable="raw", stream=stream)
    got = 0
    started = time.perf_counter()
    while got < count:
        for msg in await sub.fetch(1000, timeout=5):
            await msg.ack()
            got += 1
    await nc.flush()
    seconds = time.perf_counter() - started
    await nc.close()
    return rate(count, seconds)


async def worker_consume(
    bus: Bus, pond: Pond, count: int, handle: Callable[[CloudEvent], Awaitable[None]]
) -> float:
    done = asyncio.Event()
    handled = 0
    finished = 0.0

    async def handler(event: CloudEvent) -> None:
        nonlocal handled, finished
        await handle(event)
        handled += 1
        if handled == count:
            finished = time.perf_counter()
            done.set()

    worker = PondWorker(bus, pond, handler, batch_size=1000, max_outstanding=2000, fetch_timeout=0.2)
    started = time.perf_counter()
    await worker.run(stop=done)
    return rate(count, finished - started)


async def memory_inbox_handler() -> Callable[[CloudEvent], Awaitable[None]]:
    inbox = MemoryInbox("balances")

    def effect(state: MutableMapping[str, Any]) -> None:
        state["total"] = state.get("total", 0) + 1

    async def handle(event: CloudEvent) -> None:
        await inbox.handle(event, effect)

    return handle


# -- latency -------------------------------------------------------------------------------------------


async def pipeline_latency(bus: Bus, names: str) -> tuple[float, float]:
    spec = topology(names, concurrency=8)
    await bus.declare(spec)
    store = MemoryEventStore()
    appended: dict[str, float] = {}
    latencies: list[float] = []
    done = asyncio.Event()

    async def handler(event: CloudEvent) -> None:
        latencies.append(time.perf_counter() - appended[event.id])
        if len(latencies) == LATENCY_EVENTS:
            done.set()

    stop = asyncio.Event()
    relay = Relay(store, bus, MemoryRelayCheckpoints(), batch_size=100)
    worker = PondWorker(bus, spec.pond("balances"), handler, batch_size=100, fetch_timeout=0.05)
    tasks = [asyncio.create_task(relay.run(stop=stop)), asyncio.create_task(worker.run(stop=done))]
    await asyncio.sleep(0.2)
    for event in make_events(LATENCY_EVENTS, f"lat-{names}"):
        appended[event.id] = time.perf_counter()
        await store.append(event.subject or "s", [event])
        await asyncio.sleep(0.001)
    await asyncio.wait_for(done.wait(), 60)
    stop.set()
    await asyncio.gather(*tasks)
    return percentile(latencies, 50) * 1000, percentile(latencies, 99) * 1000


async def raw_latency(names: str) -> tuple[float, float]:
    nc = await nats.connect(NATS_URL)
    js = nc.jetstream()
    await js.add_stream(StreamConfig(name=f"{names}_RAWLAT", subjects=[f"{names}.rawlat"]))
    await js.add_consumer(
        f"{names}_RAWLAT", ConsumerConfig(durable_name="lat", ack_policy=AckPolicy.EXPLICIT)
    )
    sub = await js.pull_subscribe_bind(durable="lat", stream=f"{names}_RAWLAT")
    sent: dict[str, float] = {}
    latencies: list[float] = []

    async def consume() -> None:
        while len(latencies) < LATENCY_EVENTS:
            try:
                msgs = await sub.fetch(100, timeout=0.05)
            except (nats.errors.TimeoutError, TimeoutError):
                continue
            for msg in msgs:
                latencies.append(time.perf_counter() - sent[msg.headers["Nats-Msg-Id"]])  # type: ignore[index]
                await msg.ack()

    consumer = asyncio.create_task(consume())
    for event in make_events(LATENCY_EVENTS, f"rawlat-{names}"):
        sent[event.id] = time.perf_counter()
        await js.publish(
            f"{names}.rawlat", json.dumps(event.data).encode(), headers={"Nats-Msg-Id": event.id}
        )
        await asyncio.sleep(0.001)
    await asyncio.wait_for(consumer, 60)
    await nc.close()
    return percentile(latencies, 50) * 1000, percentile(latencies, 99) * 1000


async def run(report: Report) -> None:
    names = f"bench{uuid.uuid4().hex[:8]}"
    events = make_events(N, names)
    try:
        raw_pub = await raw_publish(events, names)
        relay_rate = await relay_publish(events, names)
        report.add(
            Row(
                group=GROUP,
                name=f"relay store -> rapids ({N:,} events, NATS)",
                value=relay_rate,
                unit="ev/s",
                baseline_name="raw nats-py publish_async (4,000 in flight)",
                baseline_value=raw_pub,
                target="≥ 50 % of raw",
                met=relay_rate >= 0.5 * raw_pub,
            )
        )

        spec = topology(names)
        bus = await NatsBus(NATS_URL).open()
        await bus.declare(spec)
        raw_con = await raw_consume(names, N)
        pond_rate = await worker_consume(bus, spec.pond("balances"), N, await memory_inbox_handler())
        report.add(
            Row(
                group=GROUP,
                name=f"pond consumption + memory inbox ({N:,} events, NATS)",
                value=pond_rate,
                unit="ev/s",
                baseline_name="raw pull fetch(1000) + ack",
                baseline_value=raw_con,
                target="≥ 50 % of raw",
                met=pond_rate >= 0.5 * raw_con,
            )
        )
        await bus.close()

        # a fresh pond with a durable SQLite inbox (synchronous=FULL, group commit)
        sql_names = f"{names}s"
        sql_spec = topology(sql_names)
        bus = await NatsBus(NATS_URL).open()
        await bus.declare(sql_spec)
        await bus.publish(events[:5000])
        with tempfile.TemporaryDirectory() as tmp:
            inbox = SQLiteInbox(Path(tmp) / "inbox.db", consumer="balances")

            def effect(conn: sqlite3.Connection) -> None:
                conn.execute(
                    "INSERT INTO riverbed_relay_checkpoints VALUES ('total', '0') ON CONFLICT DO NOTHING"
                )

            async def sqlite_handle(event: CloudEvent) -> None:
                await inbox.handle(event, effect)

            sqlite_rate = await worker_consume(bus, sql_spec.pond("balances"), 5000, sqlite_handle)
            await inbox.close()
        await bus.close()
        report.add(
            Row(
                group=GROUP,
                name="pond consumption + SQLite inbox (5,000 events, durable, group commit)",
                value=sqlite_rate,
                unit="ev/s",
                baseline_name="raw pull fetch(1000) + ack",
                baseline_value=raw_con,
                notes="synchronous=FULL; concurrent handles share one commit",
            )
        )

        memory_bus = MemoryBus()
        p50, p99 = await pipeline_latency(memory_bus, f"{names}m")
        await memory_bus.close()
        report.add(Row(group=GROUP, name="latency append -> handled p50, memory bus", value=p50, unit="ms"))
        report.add(Row(group=GROUP, name="latency append -> handled p99, memory bus", value=p99, unit="ms"))

        raw50, raw99 = await raw_latency(names)
        nats_bus = await NatsBus(NATS_URL).open()
        p50, p99 = await pipeline_latency(nats_bus, f"{names}n")
        await nats_bus.close()
        for label, value, base in (("p50", p50, raw50), ("p99", p99, raw99)):
            report.add(
                Row(
                    group=GROUP,
                    name=f"latency append -> handled {label}, NATS",
                    value=value,
                    unit="ms",
                    baseline_name=f"raw js.publish -> pull fetch {label}",
                    baseline_value=base,
                    notes="1 event appended per ms; lower is better",
                )
            )
    finally:
        await delete_streams(names)
