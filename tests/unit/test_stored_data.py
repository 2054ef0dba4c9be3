"""Stored event data comes back exactly as ``json.loads`` would give it, through the fast parser or not."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from riverbed.cloudevents.event import CloudEvent
from riverbed.ports.event_store_rules import decode_data, encode_data

ANY_TEXT = st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=20)
"""Any code point, lone surrogates included (the fast parser refuses those; the fallback takes them)."""

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | ANY_TEXT,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(ANY_TEXT, inner, max_size=5),
    max_leaves=20,
)


def _event(data: Any) -> CloudEvent:
    return CloudEvent(source="/test", type="test.stored.v1", data=data)


@given(JSON_VALUES)
def test_decode_gives_what_json_loads_gives_for_everything_encode_writes(data: Any) -> None:
    stored = encode_data(_event(data))
    if data is None:  # no data is stored as no data
        assert stored is None
        return
    assert isinstance(stored, str)
    decoded = decode_data(stored)
    # repr tells -0.0 from 0.0, 1 from 1.0 and key order apart, which == does not
    assert repr(decoded) == repr(json.loads(stored))
    assert decoded == data


def test_a_lone_surrogate_is_decoded_by_the_fallback() -> None:
    stored = encode_data(_event({"text": "a\ud800b"}))
    assert isinstance(stored, str)
    assert decode_data(stored) == {"text": "a\ud800b"}


def test_binary_and_missing_data_pass_through() -> None:
    assert decode_data(b"\x00\xff") == b"\x00\xff"
    assert decode_data(None) is None
