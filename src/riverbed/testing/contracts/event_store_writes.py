"""The append half of the event store contract: versions, expected versions, idempotency, validation."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import pytest

from riverbed.cloudevents.event import CloudEvent
from riverbed.errors import DuplicateEventId, InvalidCloudEvent, ValidationError, WrongExpectedVersion
from riverbed.ports.event_store import AppendResult, Checkpoint, EventStore, Expected, ExpectedVersion
from riverbed.testing.contracts.event_store_base import EventStoreContractBase, make_event, make_events


class AppendContract(EventStoreContractBase):
    """Appends: what they store, what they refuse, and that a refusal stores nothing."""

    async def snapshot(self, store: EventStore) -> list[tuple[str, str, int, int]]:
        """Everything stored, as comparable tuples."""
        return [(r.event.id, r.stream, r.version, r.position) for r in await self.read_everything(store)]

    async def assert_refused(
        self,
        store: EventStore,
        error: type[Exception],
        stream: str,
        events: Any,
        expected: Any = ExpectedVersion.ANY,
    ) -> pytest.ExceptionInfo[Exception]:
        """The append raises ``error`` and the store is exactly as it was before."""
        before = await self.snapshot(store)
        with pytest.raises(error) as info:
            await store.append(stream, events, expected_version=expected)
        assert await self.snapshot(store) == before, "a refused append must persist nothing"
        return info

    # -- versions and positions -----------------------------------------------------------------------

    async def test_first_append_starts_the_stream_at_version_0(self, store: EventStore) -> None:
        events = make_events(3)
        result = await store.append("order-1", events)
        assert (result.first_version, result.last_version) == (0, 2)
        assert result.next_expected_version == 2
        assert result.stream == "order-1"
        assert result.event_ids == tuple(e.id for e in events)
        assert result.first_position >= 1
        assert result.last_position - result.first_position >= 2
        assert result.checkpoint.position == result.last_position
        records = await self.read_stream(store, "order-1")
        assert [r.version for r in records] == [0, 1, 2]
        assert records[0].position == result.first_position
        assert records[-1].position == result.last_position
        assert records[-1].checkpoint == result.checkpoint
        assert await store.stream_version("order-1") == 2

    async def test_streams_have_independent_versions_and_one_global_order(self, store: EventStore) -> None:
        results: list[AppendResult] = []
        for n in range(6):
            results.append(await store.append(f"s-{n % 2}", [make_event(n), make_event(n)]))
        assert [r.first_version for r in results] == [0, 0, 2, 2, 4, 4]
        positions = [p for r in results for p in (r.first_position, r.last_position)]
        assert positions == sorted(positions)
        assert len(set(positions)) == len(positions)
        checkpoints = [r.checkpoint for r in results]
        assert checkpoints == sorted(checkpoints)
        assert await store.stream_version("s-0") == 5
        assert await store.stream_version("s-1") == 5

    async def test_stream_version_of_a_missing_stream_is_none(self, store: EventStore) -> None:
        assert await store.stream_version("nobody") is None
        await store.append("somebody", [make_event()])
        assert await store.stream_version("nobody") is None

    async def test_stats_count_events_and_streams(self, store: EventStore) -> None:
        empty = await store.stats()
        assert (empty.events, empty.streams) == (0, 0)
        await store.append("a", make_events(3))
        result = await store.append("b", make_events(2))
        stats = await store.stats()
        assert (stats.events, stats.streams) == (5, 2)
        assert stats.last_position == result.last_position

    # -- expected versions ----------------------------------------------------------------------------

    async def test_any_appends_whatever_the_stream_holds(self, store: EventStore) -> None:
        await store.append("acc", [make_event()], expected_version=ExpectedVersion.ANY)
        result = await store.append("acc", [make_event()], expected_version=ExpectedVersion.ANY)
        assert result.first_version == 1

    async def test_no_stream_succeeds_on_a_new_stream(self, store: EventStore) -> None:
        result = await store.append("acc", [make_event()], expected_version=ExpectedVersion.NO_STREAM)
        assert result.first_version == 0

    async def test_no_stream_clashes_with_an_existing_stream(self, store: EventStore) -> None:
        await store.append("acc", make_events(2))
        info = await self.assert_refused(
            store, WrongExpectedVersion, "acc", [make_event()], ExpectedVersion.NO_STREAM
        )
        assert isinstance(info.value, WrongExpectedVersion)
        assert info.value.actual == 1
        assert info.value.stream == "acc"

    async def test_exists_succeeds_on_an_existing_stream(self, store: EventStore) -> None:
        await store.append("acc", [make_event()])
        result = await store.append("acc", [make_event()], expected_version=ExpectedVersion.EXISTS)
        assert result.first_version == 1

    async def test_exists_clashes_with_a_missing_stream(self, store: EventStore) -> None:
        await store.append("other", [make_event()])
        info = await self.assert_refused(
            store, WrongExpectedVersion, "acc", [make_event()], ExpectedVersion.EXISTS
        )
        assert isinstance(info.value, WrongExpectedVersion)
        assert info.value.actual is None

    async def test_exact_version_succeeds_when_current(self, store: EventStore) -> None:
        first = await store.append("acc", make_events(2), expected_version=ExpectedVersion.NO_STREAM)
        second = await store.append("acc", [make_event()], expected_version=first.next_expected_version)
        assert second.first_version == 2
        third = await store.append("acc", make_events(2), expected_version=2)
        assert (third.first_version, third.last_version) == (3, 4)

    @pytest.mark.parametrize("stale", [0, 1, 3, 10])
    async def test_exact_version_clashes_when_not_current(self, store: EventStore, stale: int) -> None:
        await store.append("acc", make_events(3))
        info = await self.assert_refused(store, WrongExpectedVersion, "acc", make_events(2), stale)
        assert isinstance(info.value, WrongExpectedVersion)
        assert info.value.actual == 2
        assert info.value.expected == stale

    async def test_exact_version_clashes_with_a_missing_stream(self, store: EventStore) -> None:
        info = await self.assert_refused(store, WrongExpectedVersion, "acc", [make_event()], 0)
        assert isinstance(info.value, WrongExpectedVersion)
        assert info.value.actual is None

    @pytest.mark.parametrize("bad", [-1, "0", 1.0, True, None])
    async def test_a_malformed_expected_version_is_refused(self, store: EventStore, bad: Any) -> None:
        await store.append("acc", [make_event()])
        await self.assert_refused(store, ValidationError, "acc", [make_event()], bad)

    # -- idempotency ----------------------------------------------------------------------------------

    @pytest.mark.parametrize("again", ["same", "any"])
    async def test_re_appending_the_same_events_returns_the_original_result(
        self, store: EventStore, again: str
    ) -> None:
        await store.append("acc", [make_event()])
        events = make_events(3)
        original = await store.append("acc", events, expected_version=0)
        await store.append("other", [make_event()])
        await store.append("acc", [make_event()])
        before = await self.snapshot(store)
        expected: Expected = 0 if again == "same" else ExpectedVersion.ANY
        replay = await store.append("acc", events, expected_version=expected)
        assert replay == original
        assert await self.snapshot(store) == before, "an idempotent retry must store nothing"

    async def test_re_appending_a_new_stream_with_no_stream_is_idempotent(self, store: EventStore) -> None:
        events = make_events(2)
        original = await store.append("acc", events, expected_version=ExpectedVersion.NO_STREAM)
        replay = await store.append("acc", events, expected_version=ExpectedVersion.NO_STREAM)
        assert replay == original
        assert len(await self.read_stream(store, "acc")) == 2

    async def test_re_appending_the_leading_part_of_an_append_is_idempotent(self, store: EventStore) -> None:
        events = make_events(3)
        original = await store.append("acc", events)
        replay = await store.append("acc", events[:2])
        assert (replay.first_version, replay.last_version) == (0, 1)
        assert replay.first_position == original.first_position
        assert len(await self.read_stream(store, "acc")) == 3

    async def test_the_same_id_in_another_stream_is_refused(self, store: EventStore) -> None:
        event = make_event()
        await store.append("acc-1", [event])
        info = await self.assert_refused(store, DuplicateEventId, "acc-2", [event])
        assert isinstance(info.value, DuplicateEventId)
        assert info.value.event_id == event.id
        assert info.value.stored_stream == "acc-1"
        assert await store.stream_version("acc-2") is None

    async def test_the_same_id_at_another_version_is_refused(self, store: EventStore) -> None:
        event = make_event()
        await store.append("acc", [event])
        await store.append("acc", [make_event()])
        await self.assert_refused(store, DuplicateEventId, "acc", [event], 1)
        await self.assert_refused(store, DuplicateEventId, "acc", [make_event(), event])

    async def test_a_retry_whose_expected_version_does_not_match_where_it_was_stored_is_refused(
        self, store: EventStore
    ) -> None:
        await store.append("acc", make_events(2))
        events = make_events(2)
        await store.append("acc", events, expected_version=1)
        await self.assert_refused(store, DuplicateEventId, "acc", events, 0)
        await self.assert_refused(store, DuplicateEventId, "acc", events, ExpectedVersion.NO_STREAM)

    @pytest.mark.parametrize("shape", ["new-then-old", "old-then-new", "gap"])
    async def test_partially_stored_appends_are_refused(self, store: EventStore, shape: str) -> None:
        stored = make_events(3)
        await store.append("acc", stored)
        fresh = make_event()
        batch = {
            "new-then-old": [fresh, stored[0]],
            "old-then-new": [stored[1], stored[2], fresh],
            "gap": [stored[0], stored[2]],
        }[shape]
        await self.assert_refused(store, DuplicateEventId, "acc", batch)
        ids = self.ids(await self.read_stream(store, "acc"))
        assert fresh.id not in ids

    # -- validation -----------------------------------------------------------------------------------

    async def test_an_empty_append_is_refused(self, store: EventStore) -> None:
        await self.assert_refused(store, ValidationError, "acc", [])

    @pytest.mark.parametrize("stream", ["", "x" * 256, "bad\nname", "tab\there", None, 42])
    async def test_a_bad_stream_name_is_refused(self, store: EventStore, stream: Any) -> None:
        await self.assert_refused(store, ValidationError, stream, [make_event()])

    async def test_a_bad_stream_name_is_refused_by_reads(self, store: EventStore) -> None:
        with pytest.raises(ValidationError):
            await self.read_stream(store, "")
        with pytest.raises(ValidationError):
            await store.stream_version("")

    async def test_a_subject_naming_another_stream_is_refused(self, store: EventStore) -> None:
        good = make_event()
        info = await self.assert_refused(
            store, InvalidCloudEvent, "acc-1", [good, make_event(subject="acc-2")]
        )
        assert isinstance(info.value, InvalidCloudEvent)
        assert info.value.attribute == "subject"

    async def test_the_subject_is_set_to_the_stream(self, store: EventStore) -> None:
        await store.append("acc-1", [make_event(), make_event(subject="acc-1")])
        records = await self.read_stream(store, "acc-1")
        assert [r.event.subject for r in records] == ["acc-1", "acc-1"]

    @pytest.mark.parametrize("bad", ["a string", {"id": "x"}, None, 42])
    async def test_a_non_cloudevent_is_refused(self, store: EventStore, bad: Any) -> None:
        await self.assert_refused(store, ValidationError, "acc", [make_event(), bad])

    async def test_a_single_event_not_in_a_list_is_refused(self, store: EventStore) -> None:
        await self.assert_refused(store, ValidationError, "acc", make_event())

    async def test_one_id_twice_in_one_append_is_refused(self, store: EventStore) -> None:
        event = make_event()
        await self.assert_refused(store, ValidationError, "acc", [event, event])

    @pytest.mark.parametrize("data", [math.nan, {1, 2}, {"when": Checkpoint(0, 1)}, {"x": math.inf}])
    async def test_data_json_cannot_carry_is_refused(self, store: EventStore, data: Any) -> None:
        info = await self.assert_refused(
            store, InvalidCloudEvent, "acc", [make_event(), make_event(data=data)]
        )
        assert isinstance(info.value, InvalidCloudEvent)
        assert info.value.attribute == "data"

    # -- concurrency ----------------------------------------------------------------------------------

    async def test_racing_appends_have_exactly_one_winner_per_version(self, store: EventStore) -> None:
        rounds, racers = 12, 8
        for version in range(rounds):
            expected: Expected = ExpectedVersion.NO_STREAM if version == 0 else version - 1
            outcomes = await asyncio.gather(
                *(store.append("hot", [make_event(n)], expected_version=expected) for n in range(racers)),
                return_exceptions=True,
            )
            winners = [o for o in outcomes if isinstance(o, AppendResult)]
            losers = [o for o in outcomes if isinstance(o, WrongExpectedVersion)]
            assert len(winners) == 1, f"version {version}: {outcomes!r}"
            assert len(losers) == racers - 1, f"version {version}: {outcomes!r}"
            assert winners[0].first_version == version
        records = await self.read_stream(store, "hot")
        assert [r.version for r in records] == list(range(rounds))
        assert len(await self.read_everything(store)) == rounds

    async def test_concurrent_writers_retrying_on_clashes_store_everything_once(
        self, store: EventStore
    ) -> None:
        writers, per_writer = 8, 8

        async def writer(w: int) -> list[str]:
            written = []
            for n in range(per_writer):
                event = make_event(n, data={"writer": w, "n": n})
                while True:
                    current = await store.stream_version("shared")
                    expected: Expected = ExpectedVersion.NO_STREAM if current is None else current
                    try:
                        await store.append("shared", [event], expected_version=expected)
                    except WrongExpectedVersion:
                        await asyncio.sleep(0)
                        continue
                    written.append(event.id)
                    break
            return written

        written = await asyncio.gather(*(writer(w) for w in range(writers)))
        records = await self.read_stream(store, "shared")
        assert [r.version for r in records] == list(range(writers * per_writer))
        assert sorted(self.ids(records)) == sorted(i for ids in written for i in ids)
        for w, ids in enumerate(written):
            mine = [r.event.id for r in records if r.event.data["writer"] == w]
            assert mine == ids, "each writer's events keep its order"
        checkpoints = [r.checkpoint for r in records]
        assert checkpoints == sorted(checkpoints), "a stream's versions follow the global order"

    async def test_concurrent_appends_to_many_streams_all_land(self, store: EventStore) -> None:
        results = await asyncio.gather(
            *(
                store.append(f"s-{n % 5}", make_events(1 + n % 3), expected_version=ExpectedVersion.ANY)
                for n in range(40)
            )
        )
        everything = await self.read_everything(store)
        assert len(everything) == sum(r.last_version - r.first_version + 1 for r in results)
        # Concurrent transactions may commit out of position order (PostgreSQL): the checkpoint orders.
        checkpoints = [r.checkpoint for r in everything]
        assert checkpoints == sorted(set(checkpoints))
        assert len({r.position for r in everything}) == len(everything)
        assert {r.event.id for r in everything} == {i for r in results for i in r.event_ids}
        for n in range(5):
            versions = [r.version for r in await self.read_stream(store, f"s-{n}")]
            assert versions == list(range(len(versions)))

    async def test_a_clash_in_a_concurrent_burst_does_not_fail_its_neighbours(
        self, store: EventStore
    ) -> None:
        await store.append("busy", [make_event()])
        good = [
            store.append(f"calm-{n}", [make_event(n)], expected_version=ExpectedVersion.NO_STREAM)
            for n in range(6)
        ]
        bad = store.append("busy", [make_event()], expected_version=ExpectedVersion.NO_STREAM)
        outcomes = await asyncio.gather(*good[:3], bad, *good[3:], return_exceptions=True)
        assert isinstance(outcomes[3], WrongExpectedVersion)
        assert all(isinstance(o, AppendResult) for i, o in enumerate(outcomes) if i != 3), outcomes
        assert len(await self.read_everything(store)) == 7
        assert await store.stream_version("busy") == 0

    async def test_events_are_stored_as_given_when_given_as_a_tuple(self, store: EventStore) -> None:
        events: tuple[CloudEvent, ...] = tuple(make_events(2))
        result = await store.append("acc", events)
        assert result.last_version == 1
