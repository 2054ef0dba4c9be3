"""Memory-bus behaviour that needs a controlled clock (the contract suite covers the rest)."""

from riverbed.adapters.memory.bus import MemoryBus
from riverbed.cloudevents import CloudEvent
from riverbed.ports.topology import Pond, RetryPolicy, River, Topology


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
