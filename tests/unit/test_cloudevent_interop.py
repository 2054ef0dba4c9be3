"""Interop both ways with the official CloudEvents Python SDK (``cloudevents`` 2.x, its ``core`` API).

Our HTTP messages parsed by the SDK give the same attributes and data, and the SDK's messages parsed by us
do too. Where the SDK is lossy on its own (a binary-mode body it cannot tell from text, extension values it
writes with ``str()``), the generated events stay inside what the binding can carry unambiguously.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from cloudevents.core.bindings.http import (
    HTTPMessage,
    from_http_event,
    to_binary_event,
    to_structured_event,
)
from cloudevents.core.v1.event import CloudEvent as SdkEvent
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.ce_strategies import (
    BINARY_TYPES,
    JSON_TYPES,
    TEXT_TYPES,
    after_binary_http,
    after_json,
    aware_datetimes,
    cloudevents,
    extension_names,
    json_values,
    texts,
)

from riverbed import CloudEvent
from riverbed.cloudevents import from_http, to_http
from riverbed.cloudevents.codec import format_time

interop_settings = settings(max_examples=100, deadline=None)
CORE = ("specversion", "id", "source", "type", "subject", "time", "datacontenttype", "dataschema")


def sdk_extensions(sdk: Any) -> dict[str, Any]:
    return {name: value for name, value in sdk.get_attributes().items() if name not in CORE}


def assert_sdk_sees(sdk: Any, expected: CloudEvent, *, lossy_bytes: bool = False) -> None:
    assert sdk.get_specversion() == "1.0"
    assert sdk.get_id() == expected.id
    assert sdk.get_source() == expected.source
    assert sdk.get_type() == expected.type
    assert sdk.get_subject() == expected.subject
    assert sdk.get_datacontenttype() == expected.datacontenttype
    assert sdk.get_dataschema() == expected.dataschema
    if expected.time is not None:  # the SDK invents a time when there is none
        assert sdk.get_time() == expected.time
    assert sdk_extensions(sdk) == dict(expected.extensions)
    data = sdk.get_data()
    if lossy_bytes and isinstance(expected.data, bytes) and isinstance(data, str):
        # In binary mode the SDK hands back bytes that happen to be UTF-8 as str.
        data = data.encode()
    assert data == expected.data


# --- ours -> SDK ---------------------------------------------------------------------------------------


@interop_settings
@given(cloudevents())
def test_sdk_reads_our_structured_messages(event: CloudEvent) -> None:
    headers, body = to_http(event, mode="structured")
    sdk = from_http_event(HTTPMessage(headers=headers, body=body))
    assert_sdk_sees(sdk, after_json(event))


@interop_settings
@given(cloudevents(non_empty_data=True))
def test_sdk_reads_our_binary_messages(event: CloudEvent) -> None:
    headers, body = to_http(event, mode="binary")
    sdk = from_http_event(HTTPMessage(headers=headers, body=body))
    assert_sdk_sees(sdk, after_binary_http(event), lossy_bytes=True)


def test_sdk_reads_our_percent_encoded_headers() -> None:
    event = CloudEvent(
        id="e 1",
        source="urn:ü",
        type='t"%',
        subject="konto ø",
        data={"a": 1},
        extensions={"note": "50 % off"},
    )
    sdk = from_http_event(HTTPMessage(*to_http(event, mode="binary")))
    assert (sdk.get_id(), sdk.get_source(), sdk.get_type(), sdk.get_subject()) == (
        "e 1",
        "urn:ü",
        't"%',
        "konto ø",
    )
    assert sdk.get_extension("note") == "50 % off"


# --- SDK -> ours ---------------------------------------------------------------------------------------


@st.composite
def sdk_events(draw: st.DrawFn, *, binary: bool) -> tuple[dict[str, Any], Any]:
    """Attributes and data for an SDK event that the chosen mode carries unambiguously."""
    attributes: dict[str, Any] = {
        "id": draw(texts),
        "source": draw(texts),
        "type": draw(texts),
        "time": draw(aware_datetimes),
    }
    if draw(st.booleans()):
        attributes["subject"] = draw(texts)
    if draw(st.booleans()):
        attributes["dataschema"] = "https://example.com/schemas/" + draw(
            st.from_regex(r"\A[a-z0-9/]{0,12}\Z")
        )
    # The SDK writes header values with str(): booleans would arrive as "True", so binary mode gets none.
    values = st.text(max_size=12) | st.integers(-(2**31), 2**31 - 1) | aware_datetimes
    if not binary:
        values |= st.booleans()
    attributes.update(draw(st.dictionaries(extension_names, values, max_size=3)))
    kind = draw(st.sampled_from(["none", "json", "text", "bytes"]))
    data: Any = None
    if kind == "json":
        # The SDK only JSON-encodes dicts in binary mode; structured mode takes any JSON value.
        data = draw(st.dictionaries(st.text(max_size=6), json_values, max_size=4) if binary else json_values)
        content_type = draw(st.sampled_from(JSON_TYPES))
    elif kind == "text":
        data = draw(st.text(min_size=1))
        content_type = draw(st.sampled_from(TEXT_TYPES))
    elif kind == "bytes":
        data = draw(st.binary(min_size=1))
        content_type = draw(st.sampled_from(BINARY_TYPES))
    else:
        content_type = draw(st.sampled_from(JSON_TYPES))
    if content_type is not None:
        attributes["datacontenttype"] = content_type
    return attributes, data


def expected_from_sdk(attributes: dict[str, Any], data: Any, *, binary: bool) -> CloudEvent:
    extensions = {k: v for k, v in attributes.items() if k not in CORE}
    if binary:
        extensions = {k: format_time(v) if isinstance(v, datetime) else str(v) for k, v in extensions.items()}
    else:
        extensions = {k: format_time(v) if isinstance(v, datetime) else v for k, v in extensions.items()}
    return CloudEvent(
        id=attributes["id"],
        source=attributes["source"],
        type=attributes["type"],
        subject=attributes.get("subject"),
        time=attributes["time"],
        datacontenttype=attributes.get("datacontenttype"),
        dataschema=attributes.get("dataschema"),
        data=data,
        extensions=extensions,
    )


@interop_settings
@given(sdk_events(binary=False))
def test_we_read_sdk_structured_messages(drawn: tuple[dict[str, Any], Any]) -> None:
    attributes, data = drawn
    message = to_structured_event(SdkEvent(dict(attributes), data))
    assert from_http(message.headers, message.body) == expected_from_sdk(attributes, data, binary=False)


@interop_settings
@given(sdk_events(binary=True))
def test_we_read_sdk_binary_messages(drawn: tuple[dict[str, Any], Any]) -> None:
    attributes, data = drawn
    message = to_binary_event(SdkEvent(dict(attributes), data))
    assert from_http(message.headers, message.body) == expected_from_sdk(attributes, data, binary=True)


@pytest.mark.parametrize("mode", ["binary", "structured"])
def test_a_typical_event_survives_us_sdk_us(mode: str) -> None:
    event = CloudEvent(
        id="e-1",
        source="urn:bank",
        type="bank.account.opened.v1",
        subject="account-42",
        time=datetime.fromisoformat("2024-03-01T12:00:00+00:00"),
        datacontenttype="application/json",
        data={"owner": "Ada", "limits": [1, 2.5]},
        extensions={"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
    )
    sdk = from_http_event(HTTPMessage(*to_http(event, mode=mode)))  # type: ignore[arg-type]
    message = to_binary_event(sdk) if mode == "binary" else to_structured_event(sdk)
    assert from_http(message.headers, message.body) == event


# --- the SDK's legacy 1.x API (``cloudevents.v1``), still what many services run ------------------------
# It does not percent-decode binary-mode headers and hands text bodies back as bytes, so these examples
# keep header values to plain ASCII and compare text data by its UTF-8 bytes.

LEGACY_EVENTS = [
    CloudEvent(
        id="e-1",
        source="urn:bank",
        type="bank.account.opened.v1",
        subject="account-42",
        time=datetime.fromisoformat("2024-03-01T12:00:00.5+02:00"),
        datacontenttype="application/json",
        data={"owner": "Ada", "tags": ["a", "b"]},
        extensions={"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
    ),
    CloudEvent(
        id="e-2",
        source="urn:bank",
        type="bank.statement.rendered.v1",
        time=datetime.fromisoformat("2024-03-01T12:00:00+00:00"),
        datacontenttype="text/plain; charset=utf-8",
        data="Åsa's statement",
    ),
    CloudEvent(
        id="e-3",
        source="urn:bank",
        type="bank.scan.stored.v1",
        time=datetime.fromisoformat("2024-03-01T12:00:00+00:00"),
        datacontenttype="application/octet-stream",
        data=bytes(range(200, 256)),
    ),
]


@pytest.mark.parametrize("event", LEGACY_EVENTS, ids=lambda e: e.id)
@pytest.mark.parametrize("mode", ["binary", "structured"])
def test_legacy_sdk_and_we_read_each_other(event: CloudEvent, mode: str) -> None:
    from cloudevents.v1.conversion import to_binary, to_structured
    from cloudevents.v1.http import CloudEvent as LegacyEvent
    from cloudevents.v1.http import from_http as legacy_from_http

    headers, body = to_http(event, mode=mode)  # type: ignore[arg-type]
    legacy = legacy_from_http(headers, body)
    assert legacy["id"] == event.id
    assert legacy["type"] == event.type
    assert legacy.get("subject") == event.subject
    assert legacy["datacontenttype"] == event.datacontenttype
    assert datetime.fromisoformat(legacy["time"]) == event.time
    for name, value in event.extensions.items():
        assert legacy[name] == value
    legacy_data = legacy.data
    if isinstance(event.data, str) and isinstance(legacy_data, bytes):
        legacy_data = legacy_data.decode()
    assert legacy_data == event.data

    attributes = {k: v for k, v in legacy.get_attributes().items() if v is not None}
    encode = to_binary if mode == "binary" else to_structured
    their_headers, their_body = encode(LegacyEvent(attributes, legacy.data))
    assert from_http(their_headers, their_body) == event
