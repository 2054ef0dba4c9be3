"""Property tests: every valid CloudEvent survives every format and content mode."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from tests.ce_strategies import after_binary_http, after_json, cloudevents

from riverbed import CloudEvent
from riverbed.cloudevents import (
    from_http,
    from_json,
    from_json_batch,
    to_http,
    to_http_batch,
    to_json,
    to_json_batch,
)

ce_settings = settings(max_examples=150, deadline=None)


@ce_settings
@given(cloudevents())
def test_json_format_round_trips(event: CloudEvent) -> None:
    assert from_json(to_json(event)) == after_json(event)
    assert from_json(to_json(event).encode()) == after_json(event)


@ce_settings
@given(st.lists(cloudevents(), max_size=4))
def test_batch_format_round_trips(events: list[CloudEvent]) -> None:
    assert from_json_batch(to_json_batch(events)) == [after_json(event) for event in events]


@ce_settings
@given(cloudevents())
def test_structured_http_round_trips(event: CloudEvent) -> None:
    assert from_http(*to_http(event, mode="structured")) == after_json(event)


@ce_settings
@given(cloudevents(non_empty_data=True))
def test_binary_http_round_trips(event: CloudEvent) -> None:
    headers, body = to_http(event, mode="binary")
    assert all(value.isascii() and value.isprintable() for value in headers.values())
    assert from_http(headers, body) == after_binary_http(event)


@ce_settings
@given(cloudevents(non_empty_data=True))
def test_binary_http_round_trips_with_header_names_in_any_case(event: CloudEvent) -> None:
    headers, body = to_http(event, mode="binary")
    shouted = {name.upper(): value for name, value in headers.items()}
    assert from_http(shouted, body) == after_binary_http(event)


@ce_settings
@given(st.lists(cloudevents(), max_size=4))
def test_batch_http_round_trips(events: list[CloudEvent]) -> None:
    assert from_http(*to_http_batch(events)) == [after_json(event) for event in events]
