"""The ledger proof: store -> relay -> rapids -> river -> pond -> inbox, with SIGKILLs on both processes.

10,000 events are appended to a SQLite event store while the relay and the consumer (real subprocesses)
are each killed with SIGKILL at random moments, at least 10 times each, and restarted. After draining:
every event has exactly one effect (0 lost, 0 duplicates), nothing is stuck in the pond or parked, and
the rapids holds each event once (``Nats-Msg-Id`` dropped every re-publish of the restarted relay).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from riverbed.adapters.nats.bus import NatsBus
from riverbed.bootstrap import open_store
from riverbed.cloudevents import CloudEvent
from tests.nats_cleanup import delete_streams
from tests.reliability.bus_ledger_children import topology

pytestmark = [pytest.mark.nats, pytest.mark.reliability, pytest.mark.slow]

EVENTS = 10_000 * (10 if os.environ.get("RIVERBED_SOAK") else 1)
KILLS_EACH = 10
ROOT = Path(__file__).resolve().parents[2]


class Child:
    def __init__(self, role: str, config: dict[str, Any], log: Path) -> None:
        self.role = role
        self.config = config
        self.log = log
        self.kills = 0
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.reliability.bus_ledger_children",
                    self.role,
                    json.dumps(self.config),
                ],
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def kill(self) -> None:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(
                f"the {self.role} died on its own; see {self.log}:\n{self.log.read_text()[-3000:]}"
            )
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.kills += 1

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()


def effects(inbox_db: Path) -> tuple[int, int, int]:
    with sqlite3.connect(inbox_db) as conn:
        total, distinct, amount = conn.execute(
            "SELECT count(*), count(DISTINCT event_id), coalesce(sum(amount), 0) FROM effects"
        ).fetchone()
    return int(total), int(distinct), int(amount)


@pytest.mark.timeout(600)
async def test_no_event_is_lost_duplicated_or_stuck_under_sigkill(
    tmp_path: Path, nats_url: str, unique_name: str
) -> None:
    config = {
        "names": unique_name,
        "nats_url": nats_url,
        "store_url": f"sqlite:///{tmp_path / 'store.db'}",
        "checkpoint_db": str(tmp_path / "relay.db"),
        "inbox_db": str(tmp_path / "inbox.db"),
    }
    with sqlite3.connect(config["inbox_db"]) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE effects (event_id TEXT NOT NULL, amount INTEGER NOT NULL)")
    spec = topology(config)
    bus = await NatsBus(nats_url).open()
    relay = Child("relay", config, tmp_path / "relay.log")
    consumer = Child("consumer", config, tmp_path / "consumer.log")
    rng = random.Random(int.from_bytes(os.urandom(4)))
    try:
        await bus.declare(spec)
        async with open_store(config["store_url"]) as store:

            async def produce() -> None:
                for batch in range(EVENTS // 20):
                    events = [
                        CloudEvent(
                            id=f"ledger-{batch}-{i}",
                            source="urn:riverbed:test/ledger",
                            type="ledger.entry.v1",
                            subject=f"account-{batch % 50}",
                            data={"amount": batch * 20 + i},
                        )
                        for i in range(20)
                    ]
                    await store.append(f"account-{batch % 50}", events)
                    await asyncio.sleep(0.02)

            relay.start()
            consumer.start()
            producer = asyncio.create_task(produce())
            while not producer.done() or min(relay.kills, consumer.kills) < KILLS_EACH:
                await asyncio.sleep(rng.uniform(0.3, 1.2))
                victim = rng.choice([relay, consumer])
                if victim.kills >= KILLS_EACH and not producer.done():
                    victim = relay if victim is consumer else consumer
                victim.kill()
                victim.start()
            await producer

            # drain: both processes run undisturbed until every effect is there and the pond is settled
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 180
            while loop.time() < deadline:
                stats = await bus.stats("ledger")
                if effects(Path(config["inbox_db"]))[1] >= EVENTS and stats.settled:
                    break
                await asyncio.sleep(0.5)
            stored = (await store.stats()).events
        relay.stop()
        consumer.stop()

        total, distinct, amount = effects(Path(config["inbox_db"]))
        stats = await bus.stats("ledger")
        rapids = await bus._require_js().stream_info(spec.rapids.name)
        report = (
            f"kills: relay {relay.kills}, consumer {consumer.kills}; stored {stored}; effects {total} "
            f"({distinct} distinct); rapids {rapids.state.messages}; pond {stats}"
        )
        print(report)
        assert relay.kills >= KILLS_EACH, report
        assert consumer.kills >= KILLS_EACH, report
        assert stored == EVENTS, report
        assert distinct == EVENTS, f"lost {EVENTS - distinct} events: {report}"
        assert total == distinct, f"{total - distinct} duplicate effects: {report}"
        assert amount == sum(range(EVENTS)), report
        assert stats.settled, f"stuck: {report}"
        assert stats.parked == 0, f"parked: {report}"
        assert rapids.state.messages == EVENTS, f"the rapids holds duplicates: {report}"
    finally:
        relay.stop()
        consumer.stop()
        await bus.close()
        await delete_streams(nats_url, unique_name)
