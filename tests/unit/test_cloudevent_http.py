"""The CloudEvents HTTP binding: binary, structured and batch content modes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from riverbed import CloudEvent, InvalidCloudEvent
from riverbed.cloudevents import from_http, from_http_events, to_http, to_http_batch

STAMP = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def event(**overrides: Any) -> CloudEvent:
    fields: dict[str, Any] = {"id": "e-1", "source": "urn:shop", "type": "shop.order.placed.v1"}
    fields.update(overrides)
    return CloudEvent(**fields)


def single(headers: dict[str, str], body: bytes | str) -> CloudEvent:
    decoded = from_http(headers, body)
    assert isinstance(decoded, CloudEvent)
    return decoded


def test_binary_mode_puts_attributes_in_ce_headers_and_data_in_the_body() -> None:
    ce = event(
        subject="order-7",
        time=STAMP,
        datacontenttype="application/json",
        dataschema="https://example.com/s.json",
        data={"total": 3},
        extensions={"traceparent": "00-abc-01", "count": 5, "flag": True, "blob": b"\x01\x02"},
    )
    headers, body = to_http(ce, mode="binary")
    assert headers == {
        "ce-specversion": "1.0",
        "ce-id": "e-1",
        "ce-source": "urn:shop",
        "ce-type": "shop.order.placed.v1",
        "ce-subject": "order-7",
        "ce-time": "2024-03-01T12:00:00Z",
        "ce-dataschema": "https://example.com/s.json",
        "ce-traceparent": "00-abc-01",
        "ce-count": "5",
        "ce-flag": "true",
        "ce-blob": "AQI=",
        "content-type": "application/json",
    }
    assert json.loads(body) == {"total": 3}


def test_binary_is_the_default_mode() -> None:
    assert to_http(event()) == to_http(event(), mode="binary")


def test_binary_mode_round_trips_with_extensions_as_strings() -> None:
    ce = event(subject="s", time=STAMP, data={"a": [1, 2]}, extensions={"n": 5, "ok": False})
    back = single(*to_http(ce, mode="binary"))
    assert back == ce.with_changes(datacontenttype="application/json", extensions={"n": "5", "ok": "false"})


def test_binary_mode_states_the_content_type_of_bytes_without_one() -> None:
    headers, body = to_http(event(data=b"\x00\xff"), mode="binary")
    assert headers["content-type"] == "application/octet-stream"
    assert body == b"\x00\xff"
    assert single(headers, body).data == b"\x00\xff"


def test_binary_mode_text_data_is_the_raw_body() -> None:
    headers, body = to_http(event(datacontenttype="text/plain; charset=utf-8", data="héllo"), mode="binary")
    assert body == "héllo".encode()
    assert single(headers, body).data == "héllo"


def test_binary_mode_without_data_has_an_empty_body() -> None:
    headers, body = to_http(event(), mode="binary")
    assert body == b""
    assert "content-type" not in headers
    assert single(headers, body).data is None


def test_binary_mode_refuses_data_the_content_type_cannot_carry() -> None:
    with pytest.raises(InvalidCloudEvent) as caught:
        to_http(event(datacontenttype="application/octet-stream", data={"a": 1}), mode="binary")
    assert caught.value.attribute == "data"


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        ("plain", "plain"),
        ("with space", "with%20space"),
        ('say "hi"', "say%20%22hi%22"),
        ("100%", "100%25"),
        ("ünïcode €", "%C3%BCn%C3%AFcode%20%E2%82%AC"),
        ("line\nbreak", "line%0Abreak"),
        ("tab\there", "tab%09here"),
        ("a/b?c=d&e:f#g", "a/b?c=d&e:f#g"),
    ],
)
def test_header_values_are_percent_encoded_as_the_binding_requires(value: str, encoded: str) -> None:
    headers, body = to_http(event(subject=value, extensions={"note": value}), mode="binary")
    assert headers["ce-subject"] == encoded
    assert headers["ce-note"] == encoded
    assert all(0x21 <= ord(ch) <= 0x7E for ch in headers["ce-subject"])
    back = single(headers, body)
    assert back.subject == value
    assert back.extensions["note"] == value


def test_header_names_are_case_insensitive() -> None:
    headers = {
        "CE-SpecVersion": "1.0",
        "Ce-Id": "e-9",
        "ce-SOURCE": "urn:x",
        "CE-TYPE": "x.v1",
        "Ce-TraceParent": "00-1",
        "Content-Type": "application/json",
    }
    back = single(headers, b'{"a": 1}')
    assert back.id == "e-9"
    assert back.source == "urn:x"
    assert back.type == "x.v1"
    assert dict(back.extensions) == {"traceparent": "00-1"}
    assert back.data == {"a": 1}
    assert back.datacontenttype == "application/json"


def test_binary_mode_body_may_be_given_as_str() -> None:
    headers, body = to_http(event(data={"a": 1}), mode="binary")
    assert single(headers, body.decode()).data == {"a": 1}


@pytest.mark.parametrize("missing", ["id", "source", "type"])
def test_binary_mode_requires_the_required_headers(missing: str) -> None:
    headers, body = to_http(event(), mode="binary")
    del headers[f"ce-{missing}"]
    with pytest.raises(InvalidCloudEvent) as caught:
        from_http(headers, body)
    assert caught.value.attribute == missing
    assert f"ce-{missing}" in str(caught.value)


def test_binary_mode_refuses_a_wrong_specversion() -> None:
    headers, body = to_http(event(), mode="binary")
    headers["ce-specversion"] = "0.3"
    with pytest.raises(InvalidCloudEvent) as caught:
        from_http(headers, body)
    assert caught.value.attribute == "specversion"


def test_binary_mode_refuses_bad_time_and_bad_json_body() -> None:
    headers, body = to_http(event(data={"a": 1}), mode="binary")
    with pytest.raises(InvalidCloudEvent) as caught:
        from_http({**headers, "ce-time": "noon"}, body)
    assert caught.value.attribute == "time"
    with pytest.raises(InvalidCloudEvent) as caught:
        from_http(headers, b"{not json")
    assert caught.value.attribute == "data"


def test_a_message_that_is_no_cloudevent_is_refused() -> None:
    with pytest.raises(InvalidCloudEvent, match="not a CloudEvent"):
        from_http({"content-type": "application/json"}, b"{}")


def test_structured_mode_carries_the_json_format_in_the_body() -> None:
    ce = event(subject="s", time=STAMP, data=b"\x01", extensions={"n": 5})
    headers, body = to_http(ce, mode="structured")
    assert headers == {"content-type": "application/cloudevents+json; charset=utf-8"}
    obj = json.loads(body)
    assert obj["data_base64"] == "AQ=="
    assert obj["n"] == 5
    assert single(headers, body) == ce


def test_structured_mode_ignores_ce_headers_and_reads_content_type_case_insensitively() -> None:
    _, body = to_http(event(subject="from-body"), mode="structured")
    back = single({"Content-Type": "Application/CloudEvents+JSON", "ce-subject": "from-header"}, body)
    assert back.subject == "from-body"


def test_an_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="mode must be"):
        to_http(event(), mode="batch")  # type: ignore[arg-type]


def test_batch_mode_carries_a_json_array() -> None:
    events = [event(id="a"), event(id="b", data="x", datacontenttype="text/plain")]
    headers, body = to_http_batch(events)
    assert headers == {"content-type": "application/cloudevents-batch+json; charset=utf-8"}
    assert from_http(headers, body) == events
    assert from_http_events(headers, body) == events


def test_from_http_events_always_gives_a_list() -> None:
    ce = event(data={"a": 1})
    assert from_http_events(*to_http(ce, mode="structured")) == [ce]
    assert len(from_http_events(*to_http(ce, mode="binary"))) == 1
