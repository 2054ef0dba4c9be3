"""The two processes the bus ledger test kills: the relay and the pond consumer.

``python -m tests.reliability.bus_ledger_children relay|consumer CONFIG_JSON``. Each runs until it is
killed. The consumer's effect is one row per handled event in ``effects`` (no uniqueness constraint, so a
duplicate effect would show), committed with the inbox key in one SQLite transaction.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import sys
from typing import Any

from riverbed.adapters.nats.bus import NatsBus
from riverbed.adapters.sqlite.inbox import SQLiteInbox, SQLiteRelayCheckpoints
from riverbed.bootstrap import open_store
from riverbed.cloudevents import CloudEvent
from riverbed.ports.topology import Pond, Rapids, RetryPolicy, River, Topology
from riverbed.runtime.pond_worker import PondWorker
from riverbed.runtime.relay import Relay


def topology(config: dict[str, Any]) -> Topology:
    names = config["names"]
    return Topology(
        rapids=Rapids(name=f"{names}_R", subject_prefix=f"{names}.rapids", duplicate_window=600.0),
        rivers=(River(name=f"{names}_ledger", types=("ledger.entry.v1",)),),
        ponds=(
            Pond(
                name="ledger",
                river=f"{names}_ledger",
                concurrency=8,
                ordered=False,
                ack_wait=2.0,
                retry=RetryPolicy(max_deliveries=100, initial_delay=0.05, max_delay=0.5),
            ),
        ),
    )


async def relay(config: dict[str, Any]) -> None:
    bus = await NatsBus(config["nats_url"]).open()
    await bus.declare(topology(config))
    async with open_store(config["store_url"]) as store:
        checkpoints = SQLiteRelayCheckpoints(config["checkpoint_db"])
        await Relay(store, bus, checkpoints, batch_size=200, batches_in_flight=4).run()


async def consumer(config: dict[str, Any]) -> None:
    bus = await NatsBus(config["nats_url"]).open()
    spec = topology(config)
    await bus.declare(spec)
    inbox = SQLiteInbox(config["inbox_db"], consumer="ledger")

    async def handle(event: CloudEvent) -> None:
        def effect(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO effects (event_id, amount) VALUES (?, ?)", (event.id, event.data["amount"])
            )

        await inbox.handle(event, effect)

    await PondWorker(bus, spec.pond("ledger"), handle, batch_size=100, fetch_timeout=0.5).run()


def main() -> None:
    role, raw = sys.argv[1], sys.argv[2]
    config = json.loads(raw)
    asyncio.run(relay(config) if role == "relay" else consumer(config))


if __name__ == "__main__":
    main()
