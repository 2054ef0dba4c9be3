"""The CLI's pure helpers: option parsing, input checking, output lines (the executable has its own tests)."""

from __future__ import annotations

import json

import pytest

from riverbed import CloudEvent, ExpectedVersion, RecordedEvent
from riverbed.cli.jsonlines import appended_line, parse_input, record_line
from riverbed.cli.running import exit_code_for, redact
from riverbed.cli.store import parse_expected
from riverbed.cloudevents import from_dict, to_json
from riverbed.errors import (
    InvalidStoreUrl,
    StoreFailed,
    ValidationError,
    WrongExpectedVersion,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("any", ExpectedVersion.ANY),
        ("no_stream", ExpectedVersion.NO_STREAM),
        ("no-stream", ExpectedVersion.NO_STREAM),
        ("EXISTS", ExpectedVersion.EXISTS),
        ("0", 0),
        ("17", 17),
    ],
)
def test_parse_expected(text: str, expected: object) -> None:
    assert parse_expected(text) == expected


@pytest.mark.parametrize("text", ["", "-1", "1.5", "maybe", "none"])
def test_parse_expected_refuses_the_rest(text: str) -> None:
    with pytest.raises(ValidationError, match="--expected-version"):
        parse_expected(text)


def test_parse_input_assigns_streams_and_keeps_order() -> None:
    lines = [
        to_json(CloudEvent(id="a", source="s", type="t", subject="x")).encode() + b"\r\n",
        b"   \n",
        to_json(CloudEvent(id="b", source="s", type="t")).encode(),
    ]
    parsed = parse_input(lines, default_stream="fallback")
    assert [(p.line, p.stream, p.event.id) for p in parsed] == [(1, "x", "a"), (3, "fallback", "b")]


def test_parse_input_of_nothing_is_nothing() -> None:
    assert parse_input([], default_stream=None) == []


def test_output_lines() -> None:
    assert json.loads(appended_line("a", "s", 3, 9)) == {
        "id": "a",
        "stream": "s",
        "version": 3,
        "position": 9,
    }
    event = CloudEvent(id="a", source="s", type="t", subject="s", data={"ø": 1})
    line = record_line(RecordedEvent(event=event, stream="s", version=3, position=9, commit=7))
    obj = json.loads(line)
    assert (obj["stream"], obj["version"], obj["position"], obj["checkpoint"]) == ("s", 3, 9, "7:9")
    assert from_dict(obj["event"]) == event
    assert "ø" in line


def test_exit_codes() -> None:
    assert exit_code_for(ValidationError("x")) == 2
    assert exit_code_for(InvalidStoreUrl("x")) == 2
    assert exit_code_for(WrongExpectedVersion("s", expected=0, actual=1)) == 1
    assert exit_code_for(StoreFailed("x")) == 1


def test_redact_hides_passwords_only() -> None:
    assert redact("postgresql://app:s3cret@db:5432/bank") == "postgresql://app:***@db:5432/bank"
    assert redact("postgresql://app@db/bank") == "postgresql://app@db/bank"
    assert redact("sqlite:///x.db") == "sqlite:///x.db"
