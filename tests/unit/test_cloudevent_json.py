"""The CloudEvents JSON event format and its batch format."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from riverbed import CloudEvent, InvalidCloudEvent
from riverbed.cloudevents import from_dict, from_json, from_json_batch, to_dict, to_json, to_json_batch

STAMP = datetime(2024, 3, 1, 12, 30, 15, 250000, tzinfo=UTC)


def event(**overrides: Any) -> CloudEvent:
    fields: dict[str, Any] = {"id": "e-1", "source": "urn:shop", "type": "shop.order.placed.v1"}
    fields.update(overrides)
    return CloudEvent(**fields)


def wire(**members: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "specversion": "1.0",
        "id": "e-1",
        "source": "urn:shop",
        "type": "shop.order.placed.v1",
    }
    base.update(members)
    return base


def test_every_context_attribute_is_written_by_its_spec_name() -> None:
    ce = event(
        subject="order-7",
        time=STAMP,
        datacontenttype="application/json",
        dataschema="https://example.com/order.json",
        data={"total": 12.5, "items": ["a", "b"]},
    )
    assert json.loads(to_json(ce)) == wire(
        subject="order-7",
        time="2024-03-01T12:30:15.250000Z",
        datacontenttype="application/json",
        dataschema="https://example.com/order.json",
        data={"total": 12.5, "items": ["a", "b"]},
    )


def test_unset_optional_attributes_and_no_data_are_omitted() -> None:
    assert to_dict(event()) == wire()


def test_time_keeps_a_non_utc_offset() -> None:
    plus_two = timezone(timedelta(hours=2))
    ce = event(time=datetime(2024, 3, 1, 14, 0, tzinfo=plus_two))
    assert to_dict(ce)["time"] == "2024-03-01T14:00:00+02:00"
    assert from_json(to_json(ce)).time == datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def test_bytes_data_travels_as_data_base64() -> None:
    payload = bytes(range(256))
    ce = event(datacontenttype="application/octet-stream", data=payload)
    obj = json.loads(to_json(ce))
    assert "data" not in obj
    assert base64.b64decode(obj["data_base64"]) == payload
    assert from_json(to_json(ce)) == ce


def test_empty_bytes_data_round_trips() -> None:
    ce = event(data=b"")
    assert to_dict(ce)["data_base64"] == ""
    assert from_json(to_json(ce)).data == b""


def test_text_data_with_a_non_json_content_type_is_a_json_string() -> None:
    ce = event(datacontenttype="text/xml", data="<order id='7'/>")
    obj = json.loads(to_json(ce))
    assert obj["data"] == "<order id='7'/>"
    back = from_json(to_json(ce))
    assert back.data == "<order id='7'/>"
    assert back.datacontenttype == "text/xml"


@pytest.mark.parametrize("value", [None, True, 0, -1.25, "text", [1, "two", None], {"nested": {"deep": []}}])
def test_any_json_value_is_data(value: Any) -> None:
    ce = event(data=value)
    back = from_json(to_json(ce))
    assert back.data == value


def test_extensions_of_every_type_are_top_level_members() -> None:
    ce = event(
        extensions={
            "text": "héllo",
            "count": -42,
            "flag": True,
            "blob": b"\xff\x00",
            "when": STAMP,
        }
    )
    obj = to_dict(ce)
    assert obj["text"] == "héllo"
    assert obj["count"] == -42
    assert obj["flag"] is True
    assert obj["blob"] == base64.b64encode(b"\xff\x00").decode()
    assert obj["when"] == "2024-03-01T12:30:15.250000Z"
    back = from_dict(obj)
    # JSON carries Binary and Timestamp as strings; the receiver gets those strings.
    assert dict(back.extensions) == {
        "text": "héllo",
        "count": -42,
        "flag": True,
        "blob": obj["blob"],
        "when": obj["when"],
    }


def test_non_ascii_is_written_as_utf_8_not_escaped() -> None:
    text = to_json(event(subject="konto-ø", data={"name": "Åsa"}))
    assert "konto-ø" in text
    assert "Åsa" in text
    assert from_json(text.encode()).subject == "konto-ø"


def test_null_members_mean_unset() -> None:
    ce = from_dict(wire(subject=None, time=None, data=None, data_base64=None, traceparent=None))
    assert ce == event()


def test_an_integral_float_extension_is_read_as_an_integer() -> None:
    assert from_dict(wire(count=3.0)).extensions["count"] == 3


@pytest.mark.parametrize(
    ("obj", "attribute", "rule"),
    [
        ({"id": "1", "source": "s", "type": "t"}, "specversion", "required"),
        (wire(specversion="0.3"), "specversion", "must be '1.0'"),
        ({"specversion": "1.0", "source": "s", "type": "t"}, "id", "required"),
        ({"specversion": "1.0", "id": "1", "type": "t"}, "source", "required"),
        ({"specversion": "1.0", "id": "1", "source": "s"}, "type", "required"),
        (wire(id=None), "id", "required"),
        (wire(id=7), "id", "must be a string"),
        (wire(time="yesterday"), "time", "not an RFC 3339 timestamp"),
        (wire(time="2024-01-01T00:00:00"), "time", "no offset"),
        (wire(time=1700000000), "time", "RFC 3339 string"),
        (wire(dataschema="relative/path"), "dataschema", "absolute URI"),
        (wire(data={"a": 1}, data_base64="AA=="), "data_base64", "cannot both"),
        (wire(data_base64="not base64!"), "data_base64", "not valid base64"),
        (wire(data_base64=5), "data_base64", "base64 string"),
        (wire(ratio=0.5), "ratio", "must be a string, an integer or a boolean"),
        (wire(big=2**40), "big", "32 bits"),
        (wire(Bad="x"), "Bad", "lower-case"),
        (wire(subject=""), "subject", "non-empty"),
    ],
)
def test_bad_json_events_name_the_attribute_and_rule(obj: dict[str, Any], attribute: str, rule: str) -> None:
    with pytest.raises(InvalidCloudEvent) as caught:
        from_dict(obj)
    assert caught.value.attribute == attribute
    assert rule in str(caught.value)


@pytest.mark.parametrize("text", ["", "{", "[1, 2", "not json", b"\xff\xfe"])
def test_malformed_json_is_an_invalid_cloudevent(text: str | bytes) -> None:
    with pytest.raises(InvalidCloudEvent, match="not valid JSON"):
        from_json(text)


@pytest.mark.parametrize("text", ["[]", "42", '"event"', "null"])
def test_a_json_event_must_be_an_object(text: str) -> None:
    with pytest.raises(InvalidCloudEvent, match="must be an object"):
        from_json(text)


def test_data_that_json_cannot_carry_is_refused_when_written() -> None:
    with pytest.raises(InvalidCloudEvent) as caught:
        to_json(event(data={"bad": float("nan")}))
    assert caught.value.attribute == "data"
    with pytest.raises(InvalidCloudEvent) as caught:
        to_json(event(data={"bad": {1, 2}}))
    assert caught.value.attribute == "data"


def test_batch_is_a_json_array_of_events() -> None:
    events = [event(id="a", data={"n": 1}), event(id="b", data=b"\x01"), event(id="c")]
    text = to_json_batch(events)
    parsed = json.loads(text)
    assert [item["id"] for item in parsed] == ["a", "b", "c"]
    assert parsed[1]["data_base64"] == "AQ=="
    assert from_json_batch(text) == events


def test_an_empty_batch_is_valid() -> None:
    assert to_json_batch([]) == "[]"
    assert from_json_batch("[]") == []


def test_a_bad_batch_item_is_named_by_its_index() -> None:
    text = json.dumps([wire(id="ok"), wire(id="bad", time="nope")])
    with pytest.raises(InvalidCloudEvent) as caught:
        from_json_batch(text)
    assert "batch item 1" in str(caught.value)
    assert caught.value.attribute == "time"


def test_a_batch_must_be_an_array() -> None:
    with pytest.raises(InvalidCloudEvent, match="must be a JSON array"):
        from_json_batch(json.dumps(wire()))
