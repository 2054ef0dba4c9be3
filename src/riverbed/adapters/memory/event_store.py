"""The in-memory event store: the default for tests and the reference behaviour for the contract suite.

Nothing is durable (it lives as long as the process), which is the one guarantee it cannot give; every
other rule of the port is kept exactly, so a test written against it behaves the same on SQLite and
PostgreSQL.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

from riverbed.cloudevents.event import CloudEvent
from riverbed.errors import StoreClosed
from riverbed.ports.event_store import (
    After,
    AppendResult,
    Checkpoint,
    Expected,
    ExpectedVersion,
    RecordedEvent,
    StoreStats,
)
from riverbed.ports.event_store_rules import (
    StoredPlace,
    as_checkpoint,
    check_expected_argument,
    check_expected_version,
    check_limit,
    check_read,
    check_stream_name,
    decode_data,
    encode_data,
    prepare_events,
    replayed_append,
)


def _as_stored(event: CloudEvent) -> CloudEvent:
    """The event as a durable store would give it back: data through its JSON form.

    This refuses data JSON cannot carry exactly as SQLite and PostgreSQL do, and keeps later mutation of
    the caller's ``data`` from changing what is stored.
    """
    stored = encode_data(event)
    if stored is None or isinstance(stored, bytes):
        return event
    return CloudEvent.trusted(
        id=event.id,
        source=event.source,
        type=event.type,
        subject=event.subject,
        time=event.time,
        datacontenttype=event.datacontenttype,
        dataschema=event.dataschema,
        data=decode_data(stored),
        extensions=event.extensions,
    )


class MemoryEventStore:
    """An event store held in a Python list; one asyncio loop at a time."""

    def __init__(self, url: str = "memory://") -> None:
        self.url = url
        self._log: list[RecordedEvent] = []
        self._streams: dict[str, list[RecordedEvent]] = {}
        self._by_id: dict[str, RecordedEvent] = {}
        self._changed: asyncio.Event | None = None
        self._closed = False

    async def open(self) -> MemoryEventStore:
        """Nothing to open; present so every store opens the same way."""
        self._closed = False
        return self

    async def __aenter__(self) -> MemoryEventStore:
        return await self.open()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def append(
        self, stream: str, events: Sequence[CloudEvent], *, expected_version: Expected = ExpectedVersion.ANY
    ) -> AppendResult:
        """Append atomically (see :class:`~riverbed.ports.event_store.EventStore`)."""
        self._check_open()
        expected = check_expected_argument(expected_version)
        prepared = [_as_stored(event) for event in prepare_events(stream, events)]
        stored = {
            event.id: StoredPlace(rec.stream, rec.version, rec.position)
            for event in prepared
            if (rec := self._by_id.get(event.id)) is not None
        }
        replay = replayed_append(stream, prepared, expected, stored)
        if replay is not None:
            return replay
        records = self._streams.get(stream)
        current = records[-1].version if records else None
        check_expected_version(stream, expected, current)
        base_version = -1 if current is None else current
        new = [
            RecordedEvent(
                event=event, stream=stream, version=base_version + 1 + i, position=len(self._log) + 1 + i
            )
            for i, event in enumerate(prepared)
        ]
        self._log.extend(new)
        self._streams.setdefault(stream, []).extend(new)
        for rec in new:
            self._by_id[rec.event.id] = rec
        self._wake()
        return AppendResult(
            stream=stream,
            first_version=new[0].version,
            last_version=new[-1].version,
            first_position=new[0].position,
            last_position=new[-1].position,
            checkpoint=new[-1].checkpoint,
            event_ids=tuple(rec.event.id for rec in new),
        )

    async def read(
        self,
        stream: str,
        *,
        from_version: int | None = None,
        backwards: bool = False,
        limit: int | None = None,
    ) -> AsyncIterator[RecordedEvent]:
        """Read one stream forwards or backwards."""
        self._check_open()
        check_read(stream, from_version, limit)
        records = self._streams.get(stream, [])
        if backwards:
            start = len(records) - 1 if from_version is None else min(from_version, len(records) - 1)
            selected = records[start::-1] if start >= 0 else []
        else:
            selected = records[from_version or 0 :]
        for rec in selected[:limit] if limit is not None else selected:
            yield rec

    async def read_all(
        self, *, after: After = None, limit: int | None = None
    ) -> AsyncIterator[RecordedEvent]:
        """Everything after ``after``, in global order, as it stands now."""
        self._check_open()
        check_limit(limit)
        start = self._start_index(after)
        end = len(self._log) if limit is None else min(len(self._log), start + limit)
        for rec in self._log[start:end]:
            yield rec

    async def subscribe(self, *, after: After = None) -> AsyncIterator[RecordedEvent]:
        """Catch up, then wait for new appends; never ends by itself."""
        self._check_open()
        index = self._start_index(after)
        while True:
            while index < len(self._log):
                rec = self._log[index]
                index += 1
                yield rec
            self._check_open()
            changed = self._changed_event()
            if index >= len(self._log):
                await changed.wait()

    async def stream_version(self, stream: str) -> int | None:
        """The stream's last version, or None."""
        self._check_open()
        records = self._streams.get(check_stream_name(stream))
        return records[-1].version if records else None

    async def stats(self) -> StoreStats:
        """Counts of events and streams."""
        self._check_open()
        return StoreStats(
            url=self.url, events=len(self._log), streams=len(self._streams), last_position=len(self._log)
        )

    async def close(self) -> None:
        """Mark the store closed and release any waiting subscribers."""
        self._closed = True
        self._wake()

    def _start_index(self, after: After) -> int:
        checkpoint = as_checkpoint(after) or Checkpoint(0, 0)
        return min(checkpoint.position, len(self._log))

    def _changed_event(self) -> asyncio.Event:
        if self._changed is None:
            self._changed = asyncio.Event()
        return self._changed

    def _wake(self) -> None:
        if self._changed is not None:
            self._changed.set()
            self._changed = None

    def _check_open(self) -> None:
        if self._closed:
            raise StoreClosed(f"the store {self.url} is closed; open it again")
