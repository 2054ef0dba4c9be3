"""Memory-bus behaviour that needs a controlled clock (the contract suite covers the rest)."""

import random
from collections.abc import MutableMapping
from typing import Any

import pytest

from riverbed.adapters.memory.bus import MemoryBus, Stressors
from riverbed.adapters.memory.inbox import MemoryInbox
from riverbed.cloudevents import CloudEvent
from riverbed.ports.topology import Pond, RetryPolicy, River, Topology
from riverbed.runtime.pond_worker import PondWorker


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def topology(max_deliveries: int = 2) -> Topology:
    return Topology(
        rivers=(River(name="all"),),
        ponds=(Pond(name="p", river="all", ack_wait=10.0, retry=RetryPolicy(max_deliveries=max_deliveries)),),
    )


async def test_ack_timeouts_count_as_deliveries_and_end_in_parking() -> None:
    clock = Clock()
    bus = MemoryBus(clock=clock)
    await bus.declare(topology())
    await bus.publish([CloudEvent(id="e1", source="s", type="t")])
    (first,) = await bus.fetch("p", max_wait=0)
    clock.now += 9.9
    assert await bus.fetch("p", max_wait=0) == []  # still within the ack wait
    clock.now += 0.2
    (second,) = await bus.fetch("p", max_wait=0)
    assert second.attempt == 2
    await first.ack()  # a late ack of the lost delivery does not settle the newer one
    assert (await bus.stats("p")).in_flight == 1
    clock.now += 10.1
    assert await bus.fetch("p", max_wait=0) == []
    (parked,) = await bus.parked.list("p")
    assert "not acknowledged within ack_wait=10.0s on any of 2 deliveries" in parked.reason
    assert (await bus.stats("p")).settled


async def test_nack_delay_and_keep_alive_follow_the_clock() -> None:
    clock = Clock()
    bus = MemoryBus(clock=clock)
    await bus.declare(topology(max_deliveries=5))
    await bus.publish([CloudEvent(id="e1", source="s", type="t"), CloudEvent(id="e2", source="s", type="t")])
    first, other = await bus.fetch("p", max_wait=0)
    await first.nack(5.0)
    clock.now += 4.0
    await other.keep_alive()
    clock.now += 0.5
    assert await bus.fetch("p", max_wait=0) == []
    clock.now += 0.6
    (again,) = await bus.fetch("p", max_wait=0)
    assert again.event.id == "e1"
    assert again.attempt == 2
    clock.now += 8.5  # at +13.6: 'other' was kept alive at +4.0, so its ack wait ends at +14.0
    assert await bus.fetch("p", max_wait=0) == []
    clock.now += 0.5
    (other_again,) = await bus.fetch("p", max_wait=0)
    assert other_again.event.id == "e2"
    assert other_again.attempt == 2
    await other_again.ack()
    await again.ack()
    assert (await bus.stats("p")).settled


async def test_stressors_duplicate_delay_and_drop_acks_but_the_inbox_keeps_effects_exact() -> None:

    rng = random.Random(7)
    bus = MemoryBus(
        stressors=Stressors(duplicate=0.3, delay=0.3, max_delay=0.02, drop_ack=0.2), random=rng.random
    )
    spec = Topology(
        rivers=(River(name="all"),),
        ponds=(
            Pond(name="p", river="all", ack_wait=0.05, ordered=False, retry=RetryPolicy(max_deliveries=50)),
        ),
    )
    await bus.declare(spec)
    events = [CloudEvent(id=f"e{n}", source="s", type="t", data={"n": n}) for n in range(200)]
    await bus.publish(events)
    inbox = MemoryInbox("p")
    deliveries = 0

    async def handler(event: CloudEvent) -> None:
        nonlocal deliveries
        deliveries += 1

        def effect(state: MutableMapping[str, Any]) -> None:
            state["sum"] = state.get("sum", 0) + event.data["n"]
            state["count"] = state.get("count", 0) + 1

        await inbox.handle(event, effect)

    await PondWorker(bus, spec.pond("p"), handler, fetch_timeout=0.02).drain()
    assert deliveries > 200  # the stressors really delivered more than once
    assert inbox.state == {"sum": sum(range(200)), "count": 200}
    assert (await bus.stats("p")).parked == 0


def test_stressors_are_probabilities() -> None:

    with pytest.raises(ValueError, match="duplicate"):
        Stressors(duplicate=1.5)
