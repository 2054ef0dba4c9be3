"""The rest of the event store contract: CloudEvent fidelity, closing, and durability across reopen."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from riverbed.cloudevents.event import CloudEvent
from riverbed.errors import StoreClosed, WrongExpectedVersion
from riverbed.ports.event_store import EventStore, ExpectedVersion, RecordedEvent
from riverbed.testing.contracts.event_store_base import (
    EventStoreContractBase,
    close_subscription,
    collect,
    make_event,
    make_events,
    take,
)

KOLKATA = timezone(timedelta(hours=5, minutes=30))
DENVER = timezone(timedelta(hours=-7))


def rich_events(stream: str) -> list[CloudEvent]:
    """Events that use every attribute and every value type a store must carry unchanged."""
    return [
        CloudEvent(
            id="rich-all-attributes",
            source="https://example.com/shop?tenant=a&x=é",
            type="shop.order.placed.v2",
            subject=stream,
            time=datetime(2026, 3, 1, 12, 30, 45, 123456, tzinfo=KOLKATA),
            datacontenttype="application/json",
            dataschema="https://example.com/schemas/order-placed-v2.json",
            data={
                "text": 'ünïcødé \u2603 \U0001f600 "quoted" \\ back',
                "int": 2**62,
                "negative": -17,
                "float": 0.1,
                "bool": True,
                "none": None,
                "list": [1, "two", [3.5], {"four": False}],
                "nested": {"a": {"b": {"c": []}}},
                "empty": {},
            },
            extensions={
                "text": "value",
                "count": 2**31 - 1,
                "low": -(2**31),
                "yes": True,
                "no": False,
                "blob": b"\x00\xff\x10binary",
                "at": datetime(2025, 12, 31, 23, 59, 59, 5, tzinfo=DENVER),
                "utc": datetime(2025, 1, 1, tzinfo=UTC),
                "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            },
        ),
        CloudEvent(
            id="rich-binary",
            source="/binary",
            type="blob.stored.v1",
            datacontenttype="application/octet-stream",
            data=bytes(range(256)),
        ),
        CloudEvent(
            id="rich-text",
            source="/text",
            type="note.written.v1",
            datacontenttype="text/plain; charset=utf-8",
            data="plain text, not JSON: {\n",
        ),
        CloudEvent(id="rich-json-string", source="/j", type="string.v1", data="just a JSON string"),
        CloudEvent(id="rich-json-list", source="/j", type="list.v1", data=[1, 2, 3]),
        CloudEvent(id="rich-json-scalar", source="/j", type="scalar.v1", data=0),
        CloudEvent(id="rich-json-false", source="/j", type="scalar.v1", data=False),
        CloudEvent(id="rich-no-data", source="/j", type="empty.v1", time=datetime(2026, 1, 1, tzinfo=UTC)),
        CloudEvent(id="rich-empty-bytes", source="/j", type="bytes.v1", data=b""),
    ]


def assert_same_event(got: CloudEvent, sent: CloudEvent, stream: str) -> None:
    """Equal in every attribute, and with the same types and UTC offsets (equality alone hides those)."""
    expected = sent if sent.subject is not None else sent.with_changes(subject=stream)
    assert got == expected
    assert got.attributes() == expected.attributes()
    assert type(got.data) is type(expected.data)
    assert got.data == expected.data
    if expected.time is not None:
        assert got.time is not None
        assert got.time.utcoffset() == expected.time.utcoffset()
    assert dict(got.extensions) == dict(expected.extensions)
    for name, value in expected.extensions.items():
        stored = got.extensions[name]
        assert type(stored) is type(value), f"extension {name!r} came back as {type(stored).__name__}"
        if isinstance(value, datetime):
            assert isinstance(stored, datetime)
            assert stored.utcoffset() == value.utcoffset()


class LifecycleContract(EventStoreContractBase):
    """Fidelity of stored CloudEvents, closing, and (for durable stores) surviving a reopen."""

    async def assert_rich_events_read_back(self, store: EventStore, sent: list[CloudEvent]) -> None:
        """Every way of reading gives back exactly what was appended."""
        by_stream = await self.read_stream(store, "rich")
        by_log = [r for r in await self.read_everything(store) if r.stream == "rich"]
        subscription = store.subscribe()
        try:
            live = [
                r
                for r in await take(subscription, len(await self.read_everything(store)))
                if r.stream == "rich"
            ]
        finally:
            await close_subscription(subscription)
        for records in (by_stream, by_log, live):
            assert len(records) == len(sent)
            for rec, event in zip(records, sent, strict=True):
                assert_same_event(rec.event, event, "rich")

    async def test_every_cloudevent_attribute_survives_the_store(self, store: EventStore) -> None:
        sent = rich_events("rich")
        await store.append("other", [make_event()])
        await store.append("rich", sent[:1])
        await store.append("rich", sent[1:])
        await self.assert_rich_events_read_back(store, sent)

    async def test_data_is_a_copy_not_the_callers_object(self, store: EventStore) -> None:
        data: dict[str, Any] = {"items": [1, 2]}
        await store.append("acc", [make_event(data=data)])
        data["items"].append(3)
        (rec,) = await self.read_stream(store, "acc")
        assert rec.event.data == {"items": [1, 2]}

    # -- closing --------------------------------------------------------------------------------------

    async def test_a_closed_store_refuses_everything(self, store: EventStore) -> None:
        await store.append("acc", [make_event()])
        await store.close()
        with pytest.raises(StoreClosed):
            await store.append("acc", [make_event()])
        with pytest.raises(StoreClosed):
            await collect(store.read("acc"))
        with pytest.raises(StoreClosed):
            await collect(store.read_all())
        subscription = store.subscribe()
        with pytest.raises(StoreClosed):
            await take(subscription, 1)
        await close_subscription(subscription)
        with pytest.raises(StoreClosed):
            await store.stream_version("acc")
        with pytest.raises(StoreClosed):
            await store.stats()
        await store.close()  # closing twice is harmless

    async def test_closing_ends_a_waiting_subscription_with_store_closed(self, store: EventStore) -> None:
        await store.append("acc", [make_event()])
        subscription = store.subscribe()
        try:
            await take(subscription, 1)
            waiting = asyncio.ensure_future(take(subscription, 1))
            await asyncio.sleep(0.02)
            await store.close()
            with pytest.raises(StoreClosed):
                await waiting
        finally:
            await close_subscription(subscription)

    # -- durability -----------------------------------------------------------------------------------

    async def test_everything_survives_close_and_reopen(self, store: EventStore) -> None:
        self.require_durable()
        sent = rich_events("rich")
        await store.append("rich", sent)
        first = await store.append("acc", make_events(3), expected_version=ExpectedVersion.NO_STREAM)
        before: list[RecordedEvent] = await self.read_everything(store)
        reopened = await self.reopen(store)
        assert await self.read_everything(reopened) == before
        await self.assert_rich_events_read_back(reopened, sent)
        assert await reopened.stream_version("acc") == 2
        stats = await reopened.stats()
        assert (stats.events, stats.streams) == (len(before), 2)

        after = await reopened.append("acc", make_events(2), expected_version=first.next_expected_version)
        assert (after.first_version, after.last_version) == (3, 4)
        assert after.checkpoint > before[-1].checkpoint
        rest = await self.read_everything(reopened, after=before[-1].checkpoint)
        assert [(r.stream, r.version) for r in rest] == [("acc", 3), ("acc", 4)]

    async def test_idempotency_and_versions_hold_across_reopen(self, store: EventStore) -> None:
        self.require_durable()
        events = make_events(2)
        original = await store.append("acc", events, expected_version=ExpectedVersion.NO_STREAM)
        reopened = await self.reopen(store)
        assert await reopened.append("acc", events, expected_version=ExpectedVersion.NO_STREAM) == original
        assert len(await self.read_stream(reopened, "acc")) == 2
        with pytest.raises(WrongExpectedVersion):
            await reopened.append("acc", [make_event()], expected_version=0)
