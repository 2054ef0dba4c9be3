"""Reading and writing the CLI's JSON lines.

``append`` takes CloudEvents in the structured JSON format, one per line. The whole input is checked before
anything is stored, so a bad line refuses the run with nothing written; each refusal names the input line.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from riverbed.cloudevents import CloudEvent, from_dict, to_dict
from riverbed.cloudevents.codec import dumps
from riverbed.errors import InvalidCloudEvent, ValidationError
from riverbed.ports.event_store import RecordedEvent
from riverbed.ports.event_store_rules import check_stream_name


@dataclass(frozen=True, slots=True)
class InputEvent:
    """One checked input line: the event and the stream it goes to."""

    line: int
    stream: str
    event: CloudEvent


def parse_input(lines: Iterable[bytes], *, default_stream: str | None) -> list[InputEvent]:
    """Check every line and return the events in input order; raise ValidationError naming the line.

    Blank lines are skipped. The stream is the event's ``subject``, else ``default_stream``.
    """
    if default_stream is not None:
        _check_stream(default_stream, where="--stream")
    parsed: list[InputEvent] = []
    first_line_of_id: dict[str, int] = {}
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        event = _parse_line(number, raw)
        stream = event.subject if event.subject is not None else default_stream
        if stream is None:
            raise ValidationError(
                f"line {number}: event {event.id!r} has no subject, which names its stream; "
                "add a subject or pass --stream"
            )
        _check_stream(stream, where=f"line {number}")
        earlier = first_line_of_id.setdefault(event.id, number)
        if earlier != number:
            raise ValidationError(
                f"line {number}: event id {event.id!r} already appears on line {earlier}; ids must be unique"
            )
        parsed.append(InputEvent(line=number, stream=stream, event=event))
    return parsed


def _parse_line(number: int, raw: bytes) -> CloudEvent:
    try:
        text = raw.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError:
        raise ValidationError(f"line {number}: not UTF-8 text") from None
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(
            f"line {number}: malformed JSON: {exc.msg} at character {exc.pos + 1}"
        ) from None
    try:
        return from_dict(obj)
    except InvalidCloudEvent as exc:
        raise ValidationError(f"line {number}: invalid CloudEvent: {exc}") from None


def _check_stream(stream: str, *, where: str) -> None:
    try:
        check_stream_name(stream)
    except ValidationError as exc:
        raise ValidationError(f"{where}: {exc}") from None


def appended_line(event_id: str, stream: str, version: int, position: int) -> str:
    """The line ``append`` prints once an event is durably stored."""
    return dumps({"id": event_id, "stream": stream, "version": version, "position": position})


def record_line(record: RecordedEvent) -> str:
    """The line ``read`` and ``tail`` print: where the event is stored, and the event in JSON format."""
    out: dict[str, Any] = {
        "stream": record.stream,
        "version": record.version,
        "position": record.position,
        "checkpoint": str(record.checkpoint),
        "event": to_dict(record.event),
    }
    return dumps(out)
