"""The bus contract suite: what every bus adapter (memory, NATS JetStream) must do.

Subclass :class:`BusContract` in a test module and provide an async fixture ``bus`` that yields an open
bus and closes it afterwards, and a fixture ``names`` that returns a prefix unique to the test (stream and
consumer names are built from it, so runs never collide on a shared broker; the fixture's teardown
removes whatever the names created). Every test declares its own small topology.

Timings are kept short (ack waits of one second) but no test asserts a duration: only what is delivered,
how often, in which order, and what is parked with which reason.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from riverbed.cloudevents.event import CloudEvent
from riverbed.errors import ParkedMessageNotFound, TopologyDrift, UnknownPond
from riverbed.ports.bus import Bus, Delivery
from riverbed.ports.topology import Pond, Rapids, RetryPolicy, River, Topology
from riverbed.runtime.pond_worker import PondWorker
from riverbed.runtime.topology import reconcile

FAST_RETRY = RetryPolicy(max_deliveries=3, initial_delay=0.05, multiplier=2.0, max_delay=0.2, jitter=0.1)


def make_event(n: int, *, subject: str = "acct-1", type_: str = "bank.account.deposited.v1") -> CloudEvent:
    """A small test event; ``n`` goes into the data and the id."""
    return CloudEvent(
        id=f"evt-{n}-{subject}-{type_}",
        source="urn:riverbed:test/bank",
        type=type_,
        subject=subject,
        data={"n": n},
    )


def simple_topology(
    names: str, *, ack_wait: float = 30.0, retry: RetryPolicy = FAST_RETRY, **pond: object
) -> Topology:
    """One rapids, one river with everything, one pond ``<names>_p``."""
    return Topology(
        rapids=Rapids(name=f"{names}_R", subject_prefix=f"{names}.rapids", duplicate_window=60.0),
        rivers=(River(name=f"{names}_all"),),
        ponds=(Pond(name=f"{names}_p", river=f"{names}_all", ack_wait=ack_wait, retry=retry, **pond),),  # type: ignore[arg-type]
    )


async def fetch_all(bus: Bus, pond: str, *, want: int, patience: float = 5.0) -> list[Delivery]:
    """Fetch until ``want`` deliveries arrived or ``patience`` seconds passed (the broker may batch them)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + patience
    got: list[Delivery] = []
    while len(got) < want and loop.time() < deadline:
        got.extend(await bus.fetch(pond, max_messages=want - len(got), max_wait=0.5))
    return got


async def ack_all(deliveries: Sequence[Delivery]) -> None:
    """Ack every delivery."""
    for delivery in deliveries:
        await delivery.ack()


class BusContract:
    """The contract. Subclasses provide the ``bus`` and ``names`` fixtures.

    ``exact_attempts_after_ack_wait``: whether a redelivery after an ack timeout always reports the next
    attempt number. JetStream does not promise it: a delivery that races a pull request expiring in
    flight is sent again without being counted (seen here: the same message with delivered=1 at
    consumer sequences 1 and 2). Attempts then run low, never high, so parking comes later, not sooner.
    """

    exact_attempts_after_ack_wait = True

    async def test_published_events_reach_the_pond_once_in_order(self, bus: Bus, names: str) -> None:
        topology = simple_topology(names)
        await reconcile(bus, topology)
        events = [make_event(i) for i in range(20)]
        await bus.publish(events)
        got = await fetch_all(bus, f"{names}_p", want=20)
        assert [d.event.id for d in got] == [e.id for e in events]
        assert got[0].event == events[0]
        assert all(d.attempt == 1 for d in got)
        await ack_all(got)
        assert await bus.fetch(f"{names}_p", max_messages=10, max_wait=0.3) == []
        stats = await bus.stats(f"{names}_p")
        assert stats.settled
        assert stats.parked == 0

    async def test_same_id_within_the_duplicate_window_is_stored_once(self, bus: Bus, names: str) -> None:
        await reconcile(bus, simple_topology(names))
        event = make_event(1)
        await bus.publish([event])
        await bus.publish([event, make_event(2)])
        got = await fetch_all(bus, f"{names}_p", want=3, patience=2.0)
        assert [d.event.id for d in got] == [event.id, make_event(2).id]
        await ack_all(got)

    async def test_rivers_filter_on_type_source_and_subject(self, bus: Bus, names: str) -> None:
        rapids = Rapids(name=f"{names}_R", subject_prefix=f"{names}.rapids", duplicate_window=60.0)
        topology = Topology(
            rapids=rapids,
            rivers=(
                River(name=f"{names}_types", types=("bank.account.opened.v1", "bank.account.closed.v1")),
                River(name=f"{names}_subj", subjects=("vip-*",)),
                River(name=f"{names}_src", sources=("urn:other",)),
            ),
            ponds=(
                Pond(name=f"{names}_pt", river=f"{names}_types"),
                Pond(name=f"{names}_ps", river=f"{names}_subj"),
                Pond(name=f"{names}_po", river=f"{names}_src"),
            ),
        )
        await reconcile(bus, topology)
        opened = make_event(1, type_="bank.account.opened.v1")
        closed = make_event(2, type_="bank.account.closed.v1", subject="vip-7")
        deposited = make_event(3, subject="vip-8")
        other = CloudEvent(id="o-1", source="urn:other", type="x.y.v1", subject="plain", data=None)
        await bus.publish([opened, closed, deposited, other])
        by_type = await fetch_all(bus, f"{names}_pt", want=2)
        by_subject = await fetch_all(bus, f"{names}_ps", want=2)
        by_source = await fetch_all(bus, f"{names}_po", want=1)
        assert [d.event.id for d in by_type] == [opened.id, closed.id]
        assert [d.event.id for d in by_subject] == [closed.id, deposited.id]
        assert [d.event.id for d in by_source] == [other.id]
        for batch in (by_type, by_subject, by_source):
            await ack_all(batch)
        for pond in (f"{names}_pt", f"{names}_ps", f"{names}_po"):
            assert await bus.fetch(pond, max_wait=0.3) == []

    async def test_a_river_with_several_filters_keeps_the_rapids_order(self, bus: Bus, names: str) -> None:
        types = ("bank.account.opened.v1", "bank.account.credited.v1", "bank.account.closed.v1")
        topology = Topology(
            rapids=Rapids(name=f"{names}_R", subject_prefix=f"{names}.rapids", duplicate_window=60.0),
            rivers=(River(name=f"{names}_acct", types=types),),
            ponds=(Pond(name=f"{names}_p", river=f"{names}_acct"),),
        )
        await reconcile(bus, topology)
        events = [make_event(n, type_=types[n % 3]) for n in range(60)]
        for n in range(0, 60, 10):
            await bus.publish(events[n : n + 10])
        got = await fetch_all(bus, f"{names}_p", want=60)
        assert [d.event.id for d in got] == [e.id for e in events]
        await ack_all(got)

    async def test_every_pond_of_a_river_gets_every_event(self, bus: Bus, names: str) -> None:
        base = simple_topology(names)
        topology = Topology(
            rapids=base.rapids,
            rivers=base.rivers,
            ponds=(*base.ponds, Pond(name=f"{names}_q", river=f"{names}_all")),
        )
        await reconcile(bus, topology)
        await bus.publish([make_event(i) for i in range(5)])
        first = await fetch_all(bus, f"{names}_p", want=5)
        second = await fetch_all(bus, f"{names}_q", want=5)
        assert [d.event.id for d in first] == [d.event.id for d in second]
        assert len(first) == 5
        await ack_all(first)
        await ack_all(second)

    async def test_nack_redelivers_with_the_next_attempt(self, bus: Bus, names: str) -> None:
        await reconcile(bus, simple_topology(names))
        await bus.publish([make_event(1)])
        (first,) = await fetch_all(bus, f"{names}_p", want=1)
        await first.nack(0.0)
        (second,) = await fetch_all(bus, f"{names}_p", want=1)
        assert second.event.id == first.event.id
        assert second.attempt == 2
        await second.ack()
        assert await bus.fetch(f"{names}_p", max_wait=0.3) == []

    async def test_unacknowledged_delivery_comes_back_after_ack_wait(self, bus: Bus, names: str) -> None:
        await reconcile(bus, simple_topology(names, ack_wait=1.0))
        await bus.publish([make_event(1)])
        (first,) = await fetch_all(bus, f"{names}_p", want=1)
        # neither acked nor nacked: the consumer "crashed"
        (again,) = await fetch_all(bus, f"{names}_p", want=1, patience=6.0)
        assert again.event.id == first.event.id
        if self.exact_attempts_after_ack_wait:
            assert again.attempt == 2
        else:
            assert again.attempt in (1, 2)
        await again.ack()

    async def test_spent_deliveries_are_parked_with_the_reason(self, bus: Bus, names: str) -> None:
        retry = RetryPolicy(max_deliveries=2, initial_delay=0.0, jitter=0.0)
        await reconcile(bus, simple_topology(names, retry=retry))
        event = make_event(1)
        await bus.publish([event])
        for attempt in (1, 2):
            (delivery,) = await fetch_all(bus, f"{names}_p", want=1)
            assert delivery.attempt == attempt
            await delivery.nack(0.0)
        assert await fetch_all(bus, f"{names}_p", want=1, patience=1.0) == []
        parked = await bus.parked.list(f"{names}_p")
        assert len(parked) == 1
        assert parked[0].event == event
        assert parked[0].pond == f"{names}_p"
        assert parked[0].river == f"{names}_all"
        assert parked[0].attempts == 2
        assert "2" in parked[0].reason
        assert (await bus.stats(f"{names}_p")).parked == 1

    async def test_parked_messages_can_be_replayed_and_dropped(self, bus: Bus, names: str) -> None:
        base = simple_topology(names)
        topology = Topology(
            rapids=base.rapids,
            rivers=base.rivers,
            ponds=(*base.ponds, Pond(name=f"{names}_q", river=f"{names}_all")),
        )
        await reconcile(bus, topology)
        poison, other = make_event(1), make_event(2)
        await bus.publish([poison, other])
        q_got = await fetch_all(bus, f"{names}_q", want=2)
        await ack_all(q_got)
        got = await fetch_all(bus, f"{names}_p", want=2)
        await got[0].park("handler failed: ValueError: bad amount")
        await got[1].park("second")
        listed = await bus.parked.list(f"{names}_p")
        assert [p.event.id for p in listed] == [poison.id, other.id]
        assert listed[0].reason == "handler failed: ValueError: bad amount"
        assert (await bus.parked.get(listed[0].id)).event == poison

        await bus.parked.replay(listed[0].id)
        (replayed,) = await fetch_all(bus, f"{names}_p", want=1)
        assert replayed.event == poison
        await replayed.ack()
        # the replay went to its own pond only
        assert await bus.fetch(f"{names}_q", max_wait=0.5) == []

        await bus.parked.drop(listed[1].id)
        assert await bus.parked.list(f"{names}_p") == []
        with pytest.raises(ParkedMessageNotFound):
            await bus.parked.get(listed[1].id)

    async def test_a_poison_event_is_parked_without_blocking_its_pond(self, bus: Bus, names: str) -> None:
        topology = simple_topology(names, ordered=False)
        await reconcile(bus, topology)
        events = [make_event(i, subject=f"acct-{i}") for i in range(10)]
        await bus.publish(events)
        handled: list[str] = []

        async def handler(event: CloudEvent) -> None:
            if event.data == {"n": 3}:
                raise ValueError("poison")
            handled.append(event.id)

        worker = PondWorker(bus, topology.pond(f"{names}_p"), handler, fetch_timeout=0.2)
        stats = await asyncio.wait_for(worker.drain(), 30)
        assert sorted(handled) == sorted(e.id for e in events if e.data != {"n": 3})
        assert stats.parked == 1
        assert stats.retried == FAST_RETRY.max_deliveries - 1
        (parked,) = await bus.parked.list(f"{names}_p")
        assert parked.event.id == events[3].id
        assert "ValueError: poison" in parked.reason

    async def test_ordered_pond_keeps_each_stream_in_order_across_retries(self, bus: Bus, names: str) -> None:
        topology = simple_topology(names, concurrency=4, ordered=True)
        await reconcile(bus, topology)
        events = [make_event(i, subject=f"acct-{i % 3}") for i in range(30)]
        await bus.publish(events)
        seen: dict[str, list[int]] = {}
        failed_once: set[str] = set()

        async def handler(event: CloudEvent) -> None:
            n = event.data["n"]
            if n % 7 == 0 and event.id not in failed_once:
                failed_once.add(event.id)
                raise RuntimeError("transient")
            seen.setdefault(event.subject or "", []).append(n)

        worker = PondWorker(bus, topology.pond(f"{names}_p"), handler, fetch_timeout=0.2)
        await asyncio.wait_for(worker.drain(), 30)
        for subject, numbers in seen.items():
            expected = [e.data["n"] for e in events if e.subject == subject]
            assert numbers == expected, subject

    async def test_declaring_twice_changes_nothing(self, bus: Bus, names: str) -> None:
        topology = simple_topology(names)
        first = await reconcile(bus, topology)
        assert f"pond {names}_p" in first.created
        second = await reconcile(bus, topology)
        assert second.created == ()
        assert f"pond {names}_p" in second.unchanged

    async def test_moving_a_pond_to_another_river_is_refused(self, bus: Bus, names: str) -> None:
        topology = simple_topology(names)
        await reconcile(bus, topology)
        moved = Topology(
            rapids=topology.rapids,
            rivers=(*topology.rivers, River(name=f"{names}_other", types=("x.v1",))),
            ponds=(Pond(name=f"{names}_p", river=f"{names}_other"),),
        )
        with pytest.raises(TopologyDrift, match=f"{names}_p"):
            await reconcile(bus, moved)

    async def test_an_undeclared_pond_is_refused(self, bus: Bus, names: str) -> None:
        await reconcile(bus, simple_topology(names))
        with pytest.raises(UnknownPond, match="nope"):
            await bus.fetch("nope", max_wait=0.1)
