"""The CloudEvent value object refuses what the CloudEvents 1.0 spec forbids, naming attribute and rule."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from riverbed import CloudEvent, InvalidCloudEvent, ValidationError


def make(**overrides: Any) -> CloudEvent:
    fields: dict[str, Any] = {"source": "urn:test", "type": "test.happened.v1"}
    fields.update(overrides)
    return CloudEvent(**fields)


def refused(attribute: str, rule: str, **overrides: Any) -> InvalidCloudEvent:
    with pytest.raises(InvalidCloudEvent) as caught:
        make(**overrides)
    assert caught.value.attribute == attribute
    assert rule in str(caught.value), str(caught.value)
    assert repr(attribute)[1:-1] in str(caught.value)
    return caught.value


def test_a_minimal_event_gets_a_uuid_id_and_specversion_1_0() -> None:
    event = make()
    assert event.specversion == "1.0"
    assert uuid.UUID(event.id).version == 4
    assert make().id != event.id


def test_invalid_cloudevent_is_a_validation_error_and_a_value_error() -> None:
    with pytest.raises(ValidationError):
        make(source="")
    with pytest.raises(ValueError, match="source"):
        make(source="")


@pytest.mark.parametrize("attribute", ["id", "source", "type"])
def test_required_attributes_must_be_non_empty_strings(attribute: str) -> None:
    refused(attribute, "non-empty", **{attribute: ""})
    refused(attribute, "must be a string", **{attribute: 42})
    refused(attribute, "must be a string", **{attribute: None})


@pytest.mark.parametrize("attribute", ["subject", "datacontenttype", "dataschema"])
def test_optional_string_attributes_refuse_empty_and_non_strings(attribute: str) -> None:
    refused(attribute, "non-empty", **{attribute: ""})
    refused(attribute, "must be a string", **{attribute: 7})


@pytest.mark.parametrize("version", ["0.3", "1", "2.0", "1.0 "])
def test_specversion_must_be_1_0(version: str) -> None:
    refused("specversion", "must be '1.0'", specversion=version)


def test_time_must_be_an_aware_datetime() -> None:
    refused("time", "timezone-aware", time=datetime(2024, 1, 1, 12, 0))
    refused("time", "must be a datetime", time="2024-01-01T12:00:00Z")
    assert make(time=datetime(2024, 1, 1, tzinfo=UTC)).time == datetime(2024, 1, 1, tzinfo=UTC)
    plus_five_thirty = timezone(timedelta(hours=5, minutes=30))
    assert make(time=datetime(2024, 1, 1, tzinfo=plus_five_thirty)).time is not None


def test_time_offset_must_be_whole_minutes_as_rfc_3339_writes_them() -> None:
    odd = timezone(timedelta(minutes=1, seconds=30))
    refused("time", "whole minutes", time=datetime(2024, 1, 1, tzinfo=odd))


@pytest.mark.parametrize("schema", ["schemas/order.json", "/abs/path", "//host/x", "1http://x"])
def test_dataschema_must_be_an_absolute_uri(schema: str) -> None:
    refused("dataschema", "absolute URI", dataschema=schema)


@pytest.mark.parametrize("schema", ["https://example.com/order.json", "urn:schema:order:1", "x-y.z+w:q"])
def test_absolute_dataschemas_are_accepted(schema: str) -> None:
    assert make(dataschema=schema).dataschema == schema


@pytest.mark.parametrize("name", ["traceId", "trace-id", "trace_id", "trace.id", "", "ü", "a b", "trace\n"])
def test_extension_names_are_lower_case_ascii_letters_and_digits(name: str) -> None:
    refused(name, "lower-case ASCII letters and digits", extensions={name: "x"})


@pytest.mark.parametrize("name", ["id", "source", "type", "specversion", "subject", "time", "data"])
def test_extension_names_may_not_be_reserved(name: str) -> None:
    refused(name, "reserved", extensions={name: "x"})


def test_extension_values_of_every_cloudevents_type_are_accepted() -> None:
    stamp = datetime(2024, 5, 1, 8, 30, tzinfo=UTC)
    event = make(
        extensions={
            "text": "hello",
            "int": 2**31 - 1,
            "negative": -(2**31),
            "flag": False,
            "blob": bytearray(b"\x00\x01"),
            "stamp": stamp,
            "9lives": "digits first are fine",
        }
    )
    assert dict(event.extensions) == {
        "text": "hello",
        "int": 2**31 - 1,
        "negative": -(2**31),
        "flag": False,
        "blob": b"\x00\x01",
        "stamp": stamp,
        "9lives": "digits first are fine",
    }
    assert isinstance(event.extensions["blob"], bytes)


@pytest.mark.parametrize("value", [2**31, -(2**31) - 1, 10**20])
def test_extension_integers_must_fit_in_32_bits(value: int) -> None:
    refused("big", "32 bits", extensions={"big": value})


@pytest.mark.parametrize("value", [1.5, None, [1], {"a": 1}, object()])
def test_extension_values_outside_the_type_system_are_refused(value: object) -> None:
    refused("ext", "not a CloudEvents type", extensions={"ext": value})


def test_extension_timestamps_must_be_aware() -> None:
    refused("when", "timezone-aware", extensions={"when": datetime(2024, 1, 1)})


def test_extensions_must_be_a_mapping() -> None:
    with pytest.raises(InvalidCloudEvent) as caught:
        make(extensions=[("a", "b")])
    assert caught.value.attribute == "extensions"


def test_events_are_immutable_and_extensions_read_only() -> None:
    event = make(extensions={"a": "b"})
    with pytest.raises(AttributeError):
        event.source = "urn:other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        event.extensions["a"] = "c"  # type: ignore[index]


def test_with_changes_validates_again() -> None:
    event = make()
    with pytest.raises(InvalidCloudEvent) as caught:
        event.with_changes(type="")
    assert caught.value.attribute == "type"
    assert event.with_changes(subject="s-1").subject == "s-1"


def test_with_extensions_adds_replaces_and_removes() -> None:
    event = make(extensions={"a": "1", "b": 2})
    changed = event.with_extensions(a="x", b=None, c=True)
    assert dict(changed.extensions) == {"a": "x", "c": True}
    with pytest.raises(InvalidCloudEvent):
        event.with_extensions(Bad="x")


def test_attributes_lists_set_context_and_extension_attributes() -> None:
    stamp = datetime(2024, 1, 1, tzinfo=UTC)
    event = make(id="e-1", subject="s", time=stamp, extensions={"traceparent": "00-abc"})
    assert event.attributes() == {
        "specversion": "1.0",
        "id": "e-1",
        "source": "urn:test",
        "type": "test.happened.v1",
        "subject": "s",
        "time": stamp,
        "traceparent": "00-abc",
    }


def test_trusted_skips_validation_but_builds_an_equal_event() -> None:
    stamp = datetime(2024, 1, 1, tzinfo=UTC)
    checked = make(id="e-1", subject="s", time=stamp, data={"a": 1}, extensions={"x": 1})
    trusted = CloudEvent.trusted(
        id="e-1",
        source="urn:test",
        type="test.happened.v1",
        subject="s",
        time=stamp,
        datacontenttype=None,
        dataschema=None,
        data={"a": 1},
        extensions={"x": 1},
    )
    assert trusted == checked


def test_memoryview_data_is_stored_as_bytes() -> None:
    assert make(data=memoryview(b"abc")).data == b"abc"
