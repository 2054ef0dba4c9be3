"""A hypothesis state machine that compares an event store with a plain Python model of the contract.

The model is a list (the global log) and a dict of lists (the streams). Hypothesis drives random appends
with random expected versions (most of them clashes), idempotent retries, duplicate ids, reads, reads of
the log after random checkpoints, subscriptions from random checkpoints that then receive a live append,
and (for durable stores) reopening the store; after every step the store must agree with the model.
Global positions are opaque to the model (PostgreSQL may skip some): it checks only that they increase.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, TypeVar

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from riverbed.cloudevents.event import CloudEvent
from riverbed.errors import DuplicateEventId, WrongExpectedVersion
from riverbed.ports.event_store import (
    AppendResult,
    Checkpoint,
    EventStore,
    Expected,
    ExpectedVersion,
    RecordedEvent,
)
from riverbed.testing.contracts.event_store_base import LIVE_TIMEOUT, close_subscription

T = TypeVar("T")
STREAMS = ("acc-a", "acc-b", "acc-c")
EXPECTED = st.one_of(
    st.sampled_from([ExpectedVersion.ANY, ExpectedVersion.NO_STREAM, ExpectedVersion.EXISTS]),
    st.integers(min_value=0, max_value=6),
)


class StoreFactory(Protocol):
    """What the machine needs from the contract class that runs it."""

    durable: ClassVar[bool]

    async def fresh_store(self) -> EventStore:
        """A new, empty store."""
        ...

    async def open_store(self) -> EventStore:
        """The same store again (after close)."""
        ...


@dataclass
class Model:
    """The contract in plain Python: the log of (id, stream, version) and each stream's ids."""

    log: list[tuple[str, str, int]] = field(default_factory=list)
    streams: dict[str, list[str]] = field(default_factory=dict)
    checkpoints: list[Checkpoint] = field(default_factory=list)
    appends: list[tuple[str, list[CloudEvent], Expected, AppendResult]] = field(default_factory=list)

    def version(self, stream: str) -> int | None:
        """The stream's current version, or None."""
        ids = self.streams.get(stream)
        return len(ids) - 1 if ids else None

    def accepts(self, stream: str, expected: Expected) -> bool:
        """Whether an append of fresh ids with ``expected`` succeeds."""
        current = self.version(stream)
        if expected is ExpectedVersion.ANY:
            return True
        if expected is ExpectedVersion.NO_STREAM:
            return current is None
        if expected is ExpectedVersion.EXISTS:
            return current is not None
        return current == expected

    def record(self, stream: str, events: list[CloudEvent], result: AppendResult, expected: Expected) -> None:
        """Apply a successful append."""
        ids = self.streams.setdefault(stream, [])
        for event in events:
            self.log.append((event.id, stream, len(ids)))
            ids.append(event.id)
        self.appends.append((stream, events, expected, result))


class EventStoreModelMachine(RuleBasedStateMachine):
    """Subclass with ``factory`` set to the contract instance (the contract's test does this)."""

    factory: ClassVar[StoreFactory]
    _ids = itertools.count()

    def __init__(self) -> None:
        super().__init__()
        self.runner = asyncio.Runner()
        self.model = Model()
        self.store: EventStore = self.run(self.factory.fresh_store())

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run one store call to completion on the machine's own event loop."""
        return self.runner.run(coro)

    def teardown(self) -> None:
        """Close the store and the loop."""
        try:
            self.run(self.store.close())
        finally:
            self.runner.close()

    def fresh_events(self, count: int) -> list[CloudEvent]:
        """Events with ids never used before."""
        return [
            CloudEvent(source="/model", type="model.happened.v1", id=f"m-{next(self._ids)}", data={"i": i})
            for i in range(count)
        ]

    async def _all(self, after: Checkpoint | None = None, limit: int | None = None) -> list[RecordedEvent]:
        return [rec async for rec in self.store.read_all(after=after, limit=limit)]

    def _check_log_entries(self, records: list[RecordedEvent], start: int) -> None:
        assert [(r.event.id, r.stream, r.version) for r in records] == self.model.log[
            start : start + len(records)
        ]
        for offset, rec in enumerate(records):
            index = start + offset
            if index < len(self.model.checkpoints):
                assert rec.checkpoint == self.model.checkpoints[index]
            else:
                assert not self.model.checkpoints or rec.checkpoint > self.model.checkpoints[-1]
                self.model.checkpoints.append(rec.checkpoint)

    # -- rules ----------------------------------------------------------------------------------------

    @rule(stream=st.sampled_from(STREAMS), count=st.integers(1, 3), expected=EXPECTED)
    def append(self, stream: str, count: int, expected: Expected) -> None:
        """A fresh append: succeeds exactly when the model says so."""
        events = self.fresh_events(count)
        if self.model.accepts(stream, expected):
            result = self.run(self.store.append(stream, events, expected_version=expected))
            current = self.model.version(stream)
            first = 0 if current is None else current + 1
            assert (result.first_version, result.last_version) == (first, first + count - 1)
            assert result.event_ids == tuple(e.id for e in events)
            start = len(self.model.log)
            self.model.record(stream, events, result, expected)
            self._check_log_entries(self.run(self._all(limit=None))[start:], start)
            assert result.checkpoint == self.model.checkpoints[-1]
        else:
            with pytest.raises(WrongExpectedVersion) as clash:
                self.run(self.store.append(stream, events, expected_version=expected))
            assert clash.value.actual == self.model.version(stream)

    @precondition(lambda self: bool(self.model.appends))
    @rule(pick=st.integers(min_value=0), use_any=st.booleans())
    def retry(self, pick: int, use_any: bool) -> None:
        """Re-appending a stored append returns its original result and stores nothing."""
        stream, events, expected, original = self.model.appends[pick % len(self.model.appends)]
        again: Expected = ExpectedVersion.ANY if use_any else expected
        assert self.run(self.store.append(stream, events, expected_version=again)) == original

    @precondition(lambda self: bool(self.model.log))
    @rule(pick=st.integers(min_value=0), stream=st.sampled_from(STREAMS), fresh_first=st.booleans())
    def duplicate(self, pick: int, stream: str, fresh_first: bool) -> None:
        """A stored id appended anywhere else is refused."""
        event_id, stored_stream, version = self.model.log[pick % len(self.model.log)]
        stored = next(e for _, events, _, _ in self.model.appends for e in events if e.id == event_id)
        events = [*self.fresh_events(1), stored] if fresh_first else [stored]
        if not fresh_first and stream == stored_stream:
            return  # that is a retry (or a partial one), covered by the retry rule
        with pytest.raises(DuplicateEventId) as dup:
            self.run(self.store.append(stream, events, expected_version=ExpectedVersion.ANY))
        assert (dup.value.stored_stream, dup.value.stored_version) == (stored_stream, version)

    @rule(
        stream=st.sampled_from(STREAMS),
        backwards=st.booleans(),
        from_version=st.none() | st.integers(0, 12),
        limit=st.none() | st.integers(0, 5),
    )
    def read(self, stream: str, backwards: bool, from_version: int | None, limit: int | None) -> None:
        """A stream read is the model's slice."""
        ids = self.model.streams.get(stream, [])
        if backwards:
            start = len(ids) - 1 if from_version is None else min(from_version, len(ids) - 1)
            expected = ids[start::-1] if start >= 0 else []
        else:
            expected = ids[from_version or 0 :]
        if limit is not None:
            expected = expected[:limit]

        async def go() -> list[RecordedEvent]:
            return [
                r
                async for r in self.store.read(
                    stream, from_version=from_version, backwards=backwards, limit=limit
                )
            ]

        records = self.run(go())
        assert [r.event.id for r in records] == expected
        assert all(r.stream == stream for r in records)

    @rule(pick=st.integers(min_value=-1), limit=st.none() | st.integers(0, 6))
    def read_all(self, pick: int, limit: int | None) -> None:
        """The log after a checkpoint is the model's log after that index."""
        start, after = self._start(pick)
        records = self.run(self._all(after=after, limit=limit))
        expected_count = (
            len(self.model.log) - start if limit is None else min(limit, len(self.model.log) - start)
        )
        assert len(records) == expected_count
        self._check_log_entries(records, start)

    @rule(pick=st.integers(min_value=-1), stream=st.sampled_from(STREAMS))
    def subscribe(self, pick: int, stream: str) -> None:
        """A subscription from a checkpoint catches up exactly, then receives a live append."""
        start, after = self._start(pick)
        catch_up = len(self.model.log) - start
        events = self.fresh_events(1)

        async def go() -> tuple[list[RecordedEvent], AppendResult]:
            subscription = self.store.subscribe(after=after)
            try:
                async with asyncio.timeout(LIVE_TIMEOUT):
                    old = [await anext(subscription) for _ in range(catch_up)]
                    result = await self.store.append(stream, events)
                    old.append(await anext(subscription))
                return old, result
            finally:
                await close_subscription(subscription)

        records, result = self.run(go())
        self.model.record(stream, events, result, ExpectedVersion.ANY)
        self._check_log_entries(records, start)

    @precondition(lambda self: self.factory.durable)
    @rule()
    def reopen(self) -> None:
        """A durable store gives back everything after close and reopen."""
        self.run(self.store.close())
        self.store = self.run(self.factory.open_store())
        self._check_log_entries(self.run(self._all()), 0)

    def _start(self, pick: int) -> tuple[int, Checkpoint | None]:
        if pick < 0 or not self.model.log:
            return 0, None
        self._check_log_entries(self.run(self._all()), 0)
        index = pick % len(self.model.log)
        return index + 1, self.model.checkpoints[index]

    # -- invariants -----------------------------------------------------------------------------------

    @invariant()
    def versions_match(self) -> None:
        """Every stream's version is the model's."""
        for stream in STREAMS:
            assert self.run(self.store.stream_version(stream)) == self.model.version(stream)

    @invariant()
    def stats_match(self) -> None:
        """The store counts what the model holds."""
        stats = self.run(self.store.stats())
        assert stats.events == len(self.model.log)
        assert stats.streams == len(self.model.streams)
