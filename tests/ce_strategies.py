"""Hypothesis strategies that generate valid CloudEvents, and the canonical forms formats reduce them to.

Data comes in three kinds that each content mode can carry without loss: JSON values with a JSON content
type (or none), text with a text content type, and bytes with a binary content type.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

from riverbed.cloudevents import CloudEvent, ExtensionValue
from riverbed.cloudevents.codec import b64encode, format_time
from riverbed.cloudevents.event import RESERVED_NAMES

JSON_TYPES = [
    None,
    "application/json",
    "application/json; charset=utf-8",
    "text/json",
    "application/vnd.x+json",
]
TEXT_TYPES = ["text/plain", "text/plain; charset=utf-8", "text/csv", "application/xml", "text/html"]
BINARY_TYPES = ["application/octet-stream", "image/png", "application/x-protobuf"]

texts = st.text(min_size=1, max_size=30)

offsets = st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
aware_datetimes = st.datetimes(
    min_value=datetime(1900, 1, 1),
    max_value=datetime(2999, 12, 31),
    timezones=st.one_of(st.just(UTC), offsets),
)

json_values: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)

extension_names = st.from_regex(r"\A[a-z0-9]{1,20}\Z").filter(lambda name: name not in RESERVED_NAMES)
extension_values: st.SearchStrategy[ExtensionValue] = st.one_of(
    st.text(min_size=0, max_size=20),
    st.integers(min_value=-(2**31), max_value=2**31 - 1),
    st.booleans(),
    st.binary(max_size=16),
    aware_datetimes,
)
dataschemas = st.from_regex(r"\A[a-z][a-z0-9+.\-]{0,8}:[!-~]{0,30}\Z")


@st.composite
def data_and_type(draw: st.DrawFn, *, non_empty: bool = False) -> tuple[Any, str | None]:
    """A (data, datacontenttype) pair of one kind; ``non_empty`` where an empty body means no data."""
    kind = draw(st.sampled_from(["none", "json", "text", "bytes"]))
    if kind == "none":
        return None, draw(st.sampled_from([None, *JSON_TYPES, *TEXT_TYPES, *BINARY_TYPES]))
    if kind == "json":
        value = draw(json_values.filter(lambda v: v is not None))
        return value, draw(st.sampled_from(JSON_TYPES))
    if kind == "text":
        return draw(st.text(min_size=1 if non_empty else 0)), draw(st.sampled_from(TEXT_TYPES))
    return draw(st.binary(min_size=1 if non_empty else 0)), draw(st.sampled_from([None, *BINARY_TYPES]))


@st.composite
def cloudevents(
    draw: st.DrawFn,
    *,
    non_empty_data: bool = False,
    extension_values: st.SearchStrategy[ExtensionValue] = extension_values,
) -> CloudEvent:
    """A valid CloudEvent with arbitrary optional attributes, extensions and data."""
    data, content_type = draw(data_and_type(non_empty=non_empty_data))
    return CloudEvent(
        id=draw(texts),
        source=draw(texts),
        type=draw(texts),
        subject=draw(st.none() | texts),
        time=draw(st.none() | aware_datetimes),
        datacontenttype=content_type,
        dataschema=draw(st.none() | dataschemas),
        data=data,
        extensions=draw(st.dictionaries(extension_names, extension_values, max_size=4)),
    )


def extension_as_json(value: ExtensionValue) -> str | int | bool:
    """What an extension value becomes after the JSON format (Binary and Timestamp travel as strings)."""
    if isinstance(value, bytes):
        return b64encode(value)
    if isinstance(value, datetime):
        return format_time(value)
    return value


def extension_as_text(value: ExtensionValue) -> str:
    """What an extension value becomes in a binary-mode header: its canonical string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    json_value = extension_as_json(value)
    return json_value if isinstance(json_value, str) else str(json_value)


def after_json(event: CloudEvent) -> CloudEvent:
    """``event`` as a receiver of the JSON format sees it."""
    return event.with_changes(extensions={k: extension_as_json(v) for k, v in event.extensions.items()})


def after_binary_http(event: CloudEvent) -> CloudEvent:
    """``event`` as a receiver of a binary-mode HTTP message sees it.

    Extensions arrive as strings, and an event with data but no datacontenttype gains the Content-Type
    the sender had to state.
    """
    content_type = event.datacontenttype
    if content_type is None and event.data is not None:
        content_type = "application/octet-stream" if isinstance(event.data, bytes) else "application/json"
    return event.with_changes(
        datacontenttype=content_type,
        extensions={k: extension_as_text(v) for k, v in event.extensions.items()},
    )
