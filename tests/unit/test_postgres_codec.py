"""The PostgreSQL row codec, without a server: what goes into the columns comes back the same."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone

import pytest

from riverbed.adapters.postgres.codec import Columns, decode_extensions, decode_rows, encode_extensions
from riverbed.cloudevents.event import CloudEvent, ExtensionValue
from riverbed.errors import InvalidCloudEvent


def test_extensions_keep_their_cloudevents_types() -> None:
    when = datetime(2026, 1, 2, 3, 4, 5, 6000, tzinfo=timezone(timedelta(hours=2)))
    extensions: dict[str, ExtensionValue] = {
        "text": "x",
        "number": 7,
        "flag": True,
        "blob": b"\x00\xff",
        "at": when,
    }
    assert decode_extensions(encode_extensions(extensions) or "") == extensions
    assert encode_extensions({}) is None


def test_a_row_decodes_to_the_event_that_was_encoded() -> None:
    when = datetime(2026, 5, 6, 7, 8, 9, tzinfo=UTC)
    event = CloudEvent(
        source="/s",
        type="t.v1",
        subject="stream-1",
        time=when,
        datacontenttype="application/json",
        dataschema="https://example.com/schema",
        data={"b": [1, 2.5, None], "a": "é"},
        extensions={"traceparent": "00-abc", "blob": b"\x01"},
    )
    cols = Columns([event])
    row = (
        9, "748", "stream-1", 3, event.id, event.source, event.type, cols.times[0], event.datacontenttype,
        event.dataschema, cols.data[0], cols.binary[0], cols.extensions[0],
    )  # fmt: skip
    [record] = decode_rows([row])
    assert record.event == event
    assert (record.position, record.version, record.commit, record.stream) == (9, 3, 748, "stream-1")
    assert record.event.time == when
    assert record.event.time.utcoffset() == timedelta(0)
    assert list(record.event.data) == ["b", "a"], "JSON text is kept verbatim, key order included"


def test_binary_and_missing_data_use_their_own_columns() -> None:
    cols = Columns([CloudEvent(source="/s", type="t", data=b"\x00"), CloudEvent(source="/s", type="t")])
    assert cols.data == [None, None]
    assert cols.binary == [b"\x00", None]
    params = cols.as_params()
    assert params[6] is None, "an all-NULL column is sent as one NULL"
    assert params[7] == [b"\x00", None]


def test_data_json_cannot_carry_is_refused_before_anything_is_sent() -> None:
    with pytest.raises(InvalidCloudEvent, match="cannot be stored as JSON"):
        Columns([CloudEvent(source="/s", type="t", data={"x": math.nan})])
    with pytest.raises(InvalidCloudEvent, match="cannot be stored as JSON"):
        Columns([CloudEvent(source="/s", type="t", data={1, 2})])
