from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from riverbed.cloudevents import CloudEvent
from riverbed.cloudevents.kafka_binding import from_kafka, to_kafka
from riverbed.cloudevents.nats_binding import binary_is_exact, from_nats, to_nats
from riverbed.errors import InvalidCloudEvent

EVENTS = [
    CloudEvent(
        id="e-1",
        source="urn:bank/accounts",
        type="bank.account.opened.v1",
        subject="acct ü 1",
        time=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        data={"owner": "Zoë", "amount": 10},
        extensions={"partitionkey": "acct-1", "traceparent": "00-abc-def-01", "flag": True},
    ),
    CloudEvent(id="e-2", source="s", type="t", data=b"\x00\x01raw"),
    CloudEvent(id="e-3", source="s", type="t", datacontenttype="text/plain", data="hello"),
    CloudEvent(id="e-4", source="s", type="t"),
]


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: e.id)
@pytest.mark.parametrize("mode", ["binary", "structured"])
def test_nats_binding_round_trips(event: CloudEvent, mode: str) -> None:
    headers, payload = to_nats(event, mode)  # type: ignore[arg-type]
    assert from_nats(headers, payload) == event
    if mode == "binary" and binary_is_exact(event):
        assert headers["ce-id"] == event.id
    else:
        assert headers["content-type"].startswith("application/cloudevents+json")


def test_binary_mode_is_used_when_it_is_exact() -> None:
    event = CloudEvent(id="x", source="s", type="t", data={"a": 1}, extensions={"traceparent": "00-1"})
    headers, payload = to_nats(event)
    assert headers == {
        "ce-specversion": "1.0",
        "ce-id": "x",
        "ce-source": "s",
        "ce-type": "t",
        "ce-traceparent": "00-1",
    }
    assert payload == b'{"a":1}' or payload == b'{"a": 1}'
    assert not binary_is_exact(EVENTS[0])


def test_kafka_binary_mode_uses_ce_underscore_headers_and_the_partition_key() -> None:
    record = to_kafka(EVENTS[0])
    names = dict(record.headers)
    assert names["ce_id"] == b"e-1"
    assert names["ce_subject"] == "acct ü 1".encode()
    assert names["content-type"] == b"application/json"
    assert names["ce_flag"] == b"true"
    assert record.key == b"acct-1"
    decoded = from_kafka(record.headers, record.value)
    assert decoded.data == EVENTS[0].data
    assert decoded.subject == EVENTS[0].subject
    assert decoded.time == EVENTS[0].time
    # extension values travel as strings in binary mode (the binding's type system on the wire)
    assert decoded.extensions["flag"] == "true"


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: e.id)
def test_kafka_structured_mode_round_trips_exactly(event: CloudEvent) -> None:
    record = to_kafka(event, "structured")
    assert dict(record.headers)["content-type"].startswith(b"application/cloudevents+json")
    assert from_kafka(record.headers, record.value) == event


def test_kafka_rejects_what_is_not_a_cloudevent() -> None:
    with pytest.raises(InvalidCloudEvent, match="ce_specversion"):
        from_kafka([("content-type", b"application/json")], b"{}")
    with pytest.raises(InvalidCloudEvent, match="ce_source"):
        from_kafka([("ce_specversion", b"1.0"), ("ce_id", b"1"), ("ce_type", b"t")], b"")


_text = st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=30)


@given(id_=_text, source=_text, type_=_text, subject=st.none() | _text, ext=st.none() | _text)
def test_nats_binary_mode_round_trips_any_text(
    id_: str, source: str, type_: str, subject: str | None, ext: str | None
) -> None:
    event = CloudEvent(
        id=id_,
        source=source,
        type=type_,
        subject=subject,
        data={"v": ext},
        extensions={} if ext is None else {"note": ext},
    )
    headers, payload = to_nats(event)
    assert all("\n" not in value and "\r" not in value for value in headers.values())
    assert from_nats(headers, payload) == event
