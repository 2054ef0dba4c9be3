"""The read half of the event store contract: one stream, the global log, and live subscriptions."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from riverbed.errors import InvalidPosition, ValidationError
from riverbed.ports.event_store import EventStore, RecordedEvent
from riverbed.testing.contracts.event_store_base import (
    EventStoreContractBase,
    close_subscription,
    make_event,
    make_events,
    take,
)


class ReadContract(EventStoreContractBase):
    """Reads return what was committed, in order, and subscriptions never miss or repeat an event."""

    async def fill(self, store: EventStore, stream: str, count: int) -> list[RecordedEvent]:
        """Append ``count`` events to ``stream`` and return them as read back."""
        await store.append(stream, make_events(count))
        return await self.read_stream(store, stream)

    # -- one stream -----------------------------------------------------------------------------------

    async def test_read_returns_the_stream_forwards(self, store: EventStore) -> None:
        events = make_events(5)
        await store.append("acc", events[:2])
        await store.append("noise", [make_event()])
        await store.append("acc", events[2:])
        records = await self.read_stream(store, "acc")
        assert [r.event.id for r in records] == [e.id for e in events]
        assert [r.version for r in records] == [0, 1, 2, 3, 4]
        assert all(r.stream == "acc" for r in records)
        positions = [r.position for r in records]
        assert positions == sorted(positions)

    async def test_read_from_version_and_limit(self, store: EventStore) -> None:
        await self.fill(store, "acc", 10)
        assert [r.version for r in await self.read_stream(store, "acc", from_version=7)] == [7, 8, 9]
        assert [r.version for r in await self.read_stream(store, "acc", from_version=3, limit=2)] == [3, 4]
        assert [r.version for r in await self.read_stream(store, "acc", limit=3)] == [0, 1, 2]
        assert await self.read_stream(store, "acc", from_version=10) == []
        assert await self.read_stream(store, "acc", from_version=99) == []
        assert await self.read_stream(store, "acc", limit=0) == []

    async def test_read_backwards(self, store: EventStore) -> None:
        await self.fill(store, "acc", 10)
        backwards = await self.read_stream(store, "acc", backwards=True)
        assert [r.version for r in backwards] == list(range(9, -1, -1))
        assert [r.version for r in await self.read_stream(store, "acc", backwards=True, limit=3)] == [9, 8, 7]
        some = await self.read_stream(store, "acc", backwards=True, from_version=4, limit=2)
        assert [r.version for r in some] == [4, 3]
        from_end = await self.read_stream(store, "acc", backwards=True, from_version=99)
        assert [r.version for r in from_end] == list(range(9, -1, -1))
        assert [r.version for r in await self.read_stream(store, "acc", backwards=True, from_version=0)] == [
            0
        ]

    async def test_a_missing_stream_yields_nothing(self, store: EventStore) -> None:
        await store.append("present", [make_event()])
        assert await self.read_stream(store, "absent") == []
        assert await self.read_stream(store, "absent", backwards=True) == []

    async def test_a_long_stream_reads_completely_in_both_directions(self, store: EventStore) -> None:
        for _ in range(5):
            await store.append("long", make_events(500))
            await store.append("noise", make_events(50))
        forwards = await self.read_stream(store, "long")
        assert [r.version for r in forwards] == list(range(2500))
        backwards = await self.read_stream(store, "long", backwards=True)
        assert backwards == forwards[::-1]
        assert await self.read_stream(store, "long", from_version=1234, limit=1500) == forwards[1234:2500]

    @pytest.mark.parametrize(
        "options", [{"from_version": -1}, {"limit": -1}, {"limit": "3"}, {"from_version": "2"}]
    )
    async def test_bad_read_options_are_refused(self, store: EventStore, options: dict[str, Any]) -> None:
        await self.fill(store, "acc", 2)
        with pytest.raises(ValidationError):
            await self.read_stream(store, "acc", **options)

    # -- the global log -------------------------------------------------------------------------------

    async def test_read_all_returns_everything_in_commit_order(self, store: EventStore) -> None:
        appended: list[str] = []
        for n in range(6):
            events = make_events(1 + n % 3)
            await store.append(f"s-{n % 3}", events)
            appended.extend(e.id for e in events)
        records = await self.read_everything(store)
        assert self.ids(records) == appended
        checkpoints = [r.checkpoint for r in records]
        assert checkpoints == sorted(checkpoints)
        assert len(set(checkpoints)) == len(checkpoints)

    async def test_read_all_after_a_checkpoint_an_int_or_a_string(self, store: EventStore) -> None:
        for n in range(4):
            await store.append(f"s-{n}", make_events(3))
        everything = await self.read_everything(store)
        middle = everything[5]
        expected_rest = everything[6:]
        assert await self.read_everything(store, after=middle.checkpoint) == expected_rest
        assert await self.read_everything(store, after=str(middle.checkpoint)) == expected_rest
        if middle.checkpoint.commit == 0:
            assert await self.read_everything(store, after=middle.position) == expected_rest
        assert await self.read_everything(store, after=everything[-1].checkpoint) == []
        assert await self.read_everything(store, after=None) == everything

    async def test_read_all_with_a_limit(self, store: EventStore) -> None:
        await store.append("a", make_events(10))
        everything = await self.read_everything(store)
        assert await self.read_everything(store, limit=4) == everything[:4]
        assert await self.read_everything(store, after=everything[3].checkpoint, limit=4) == everything[4:8]
        assert await self.read_everything(store, limit=0) == []
        assert await self.read_everything(store, limit=100) == everything

    async def test_read_all_pages_through_a_large_log(self, store: EventStore) -> None:
        for n in range(6):
            await store.append(f"big-{n % 2}", make_events(500))
        everything = await self.read_everything(store)
        assert len(everything) == 3000
        positions = [r.position for r in everything]
        assert positions == sorted(set(positions))
        assert await self.read_everything(store, after=everything[1499].checkpoint) == everything[1500:]

    async def test_read_all_of_an_empty_store_yields_nothing(self, store: EventStore) -> None:
        assert await self.read_everything(store) == []

    @pytest.mark.parametrize("after", ["not-a-position", -1, 1.5, "1:x"])
    async def test_a_bad_after_is_refused(self, store: EventStore, after: Any) -> None:
        await store.append("a", [make_event()])
        with pytest.raises(InvalidPosition):
            await self.read_everything(store, after=after)

    # -- subscriptions --------------------------------------------------------------------------------

    async def test_subscribe_catches_up_then_follows_live_appends(self, store: EventStore) -> None:
        await store.append("a", make_events(3))
        await store.append("b", make_events(2))
        history = await self.read_everything(store)
        subscription = store.subscribe()
        try:
            assert await take(subscription, 5) == history
            pending = asyncio.ensure_future(take(subscription, 4))
            await asyncio.sleep(0.01)
            await store.append("a", make_events(3))
            await store.append("c", [make_event()])
            live = await pending
        finally:
            await close_subscription(subscription)
        assert live == (await self.read_everything(store))[5:]

    async def test_subscribe_resumes_exactly_after_a_checkpoint(self, store: EventStore) -> None:
        await store.append("a", make_events(6))
        everything = await self.read_everything(store)
        for index in (0, 2, 5):
            for after in (everything[index].checkpoint, str(everything[index].checkpoint)):
                subscription = store.subscribe(after=after)
                try:
                    rest = await take(subscription, len(everything) - index - 1)
                    assert rest == everything[index + 1 :]
                    await store.append("z", [make_event()])
                    (new,) = await take(subscription, 1)
                    assert new.event.id == (await self.read_everything(store))[-1].event.id
                finally:
                    await close_subscription(subscription)
                everything = await self.read_everything(store)

    async def test_subscribe_from_the_end_waits_for_the_next_append(self, store: EventStore) -> None:
        result = await store.append("a", make_events(3))
        subscription = store.subscribe(after=result.checkpoint)
        try:
            pending = asyncio.ensure_future(take(subscription, 1))
            await asyncio.sleep(0.05)
            assert not pending.done(), "nothing was appended after the checkpoint"
            event = make_event()
            await store.append("b", [event])
            (rec,) = await pending
        finally:
            await close_subscription(subscription)
        assert rec.event.id == event.id
        assert rec.stream == "b"

    async def test_concurrent_writers_reach_a_subscriber_once_each_in_order(self, store: EventStore) -> None:
        writers, per_writer = 5, 20
        subscription = store.subscribe()
        try:
            pending = asyncio.ensure_future(take(subscription, writers * per_writer))

            async def writer(w: int) -> None:
                for n in range(per_writer):
                    await store.append(f"w-{w}", [make_event(n)])

            await asyncio.gather(*(writer(w) for w in range(writers)))
            received = await pending
        finally:
            await close_subscription(subscription)
        assert received == await self.read_everything(store)
        assert len({r.event.id for r in received}) == writers * per_writer

    async def test_two_subscribers_each_receive_everything(self, store: EventStore) -> None:
        first, second = store.subscribe(), store.subscribe()
        try:
            pending = asyncio.gather(take(first, 6), take(second, 6))
            for n in range(3):
                await store.append("a", make_events(2, data={"n": n}))
            got_first, got_second = await pending
        finally:
            await close_subscription(first)
            await close_subscription(second)
        assert got_first == got_second == await self.read_everything(store)

    async def test_subscribe_refuses_a_bad_after(self, store: EventStore) -> None:
        subscription = store.subscribe(after="nope")
        try:
            with pytest.raises(InvalidPosition):
                await take(subscription, 1)
        finally:
            await close_subscription(subscription)
