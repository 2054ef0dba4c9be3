"""The rules of the event store contract as pure functions, shared by every adapter.

Adapters call these inside their write transaction so that every store refuses and forgives exactly the
same appends, with the same errors.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic_core import from_json as _from_json

from riverbed.cloudevents.event import CloudEvent
from riverbed.errors import (
    DuplicateEventId,
    InvalidCloudEvent,
    InvalidPosition,
    ValidationError,
    WrongExpectedVersion,
)
from riverbed.ports.event_store import After, AppendResult, Checkpoint, Expected, ExpectedVersion

MAX_STREAM_NAME = 255


@dataclass(frozen=True, slots=True)
class StoredPlace:
    """Where an event id is already stored."""

    stream: str
    version: int
    position: int
    commit: int = 0


def check_stream_name(stream: object) -> str:
    """A stream name is a non-empty string of at most 255 characters without control characters."""
    if not isinstance(stream, str) or not stream:
        raise ValidationError(f"stream name must be a non-empty string, got {stream!r}")
    if len(stream) > MAX_STREAM_NAME:
        raise ValidationError(f"stream name is {len(stream)} characters long; the limit is {MAX_STREAM_NAME}")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in stream):
        raise ValidationError(f"stream name {stream!r} contains a control character")
    return stream


def check_expected_argument(expected: object) -> Expected:
    """Refuse an expected version that is neither an ExpectedVersion nor an int ≥ 0."""
    if isinstance(expected, ExpectedVersion):
        return expected
    if isinstance(expected, int) and not isinstance(expected, bool) and expected >= 0:
        return expected
    raise ValidationError(
        f"expected_version must be ExpectedVersion.ANY, NO_STREAM, EXISTS or a version ≥ 0, got {expected!r}"
    )


def prepare_events(stream: str, events: Sequence[CloudEvent]) -> list[CloudEvent]:
    """Validate an append's events and set each ``subject`` to the stream name.

    Refuses an empty list, non-CloudEvents, duplicate ids within the append and a subject naming another
    stream.
    """
    check_stream_name(stream)
    if isinstance(events, CloudEvent):
        raise ValidationError("append takes a sequence of CloudEvents, not a single event: wrap it in a list")
    if not events:
        raise ValidationError(f"append to {stream!r} needs at least one event")
    seen: set[str] = set()
    prepared = []
    for index, event in enumerate(events):
        if not isinstance(event, CloudEvent):
            raise ValidationError(
                f"event {index} of the append is a {type(event).__name__}, not a CloudEvent; "
                "map domain events with riverbed.cloudevents.to_cloudevent"
            )
        if event.id in seen:
            raise ValidationError(f"event id {event.id!r} appears twice in one append to {stream!r}")
        seen.add(event.id)
        if event.subject is None:
            event = with_subject(event, stream)
        elif event.subject != stream:
            raise InvalidCloudEvent(
                f"event {event.id!r} has subject {event.subject!r} but is appended to stream {stream!r}; "
                "the subject of a stored event is its stream name",
                attribute="subject",
            )
        prepared.append(event)
    return prepared


_encode_json = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode
"""Compact JSON refusing NaN: one encoder for every call (``json.dumps`` with options builds one per call)."""


def encode_data(event: CloudEvent) -> str | bytes | None:
    """The stored form of ``event.data``: ``bytes`` as they are, anything else as compact JSON text.

    Every store keeps data this way, so every store refuses the same data (NaN, sets, objects JSON cannot
    carry) with InvalidCloudEvent before anything is written, and gives back the same values.
    """
    data = event.data
    if data is None or type(data) is bytes:
        return data
    try:
        return _encode_json(data)
    except (TypeError, ValueError) as exc:
        raise InvalidCloudEvent(
            f"event {event.id!r}: data of type {type(data).__name__} cannot be stored as JSON ({exc}); "
            "use JSON values (dict, list, str, int, float, bool, None) or bytes",
            attribute="data",
        ) from None


def decode_data(stored: str | bytes | None) -> Any:
    """The inverse of :func:`encode_data`.

    pydantic-core's parser is about 4x faster than ``json.loads`` here (this is every replay's hot path)
    and gives the same values for what :func:`encode_data` writes; ``json.loads`` takes whatever it refuses.
    """
    if stored is None or type(stored) is bytes:
        return stored
    try:
        return _from_json(stored)
    except (ValueError, TypeError):  # TypeError: a str that is not UTF-8 (a lone surrogate)
        return json.loads(stored)


def check_from_version(from_version: object) -> None:
    """A read's ``from_version`` is None or an int ≥ 0."""
    if from_version is not None and (
        isinstance(from_version, bool) or not isinstance(from_version, int) or from_version < 0
    ):
        raise ValidationError(f"from_version must be None or a version ≥ 0, got {from_version!r}")


def check_read(stream: str, from_version: int | None, limit: int | None) -> None:
    """The arguments of a stream read: a valid stream name, ``from_version`` and ``limit``."""
    check_stream_name(stream)
    check_from_version(from_version)
    check_limit(limit)


def with_subject(event: CloudEvent, stream: str) -> CloudEvent:
    """A copy of a valid event with its subject set to a checked stream name, without validating again."""
    return CloudEvent.trusted(
        id=event.id,
        source=event.source,
        type=event.type,
        subject=stream,
        time=event.time,
        datacontenttype=event.datacontenttype,
        dataschema=event.dataschema,
        data=event.data,
        extensions=event.extensions,
    )


def check_expected_version(stream: str, expected: Expected, current: int | None) -> None:
    """Raise WrongExpectedVersion unless ``current`` (None: no stream) satisfies ``expected``."""
    if expected is ExpectedVersion.ANY:
        return
    if expected is ExpectedVersion.NO_STREAM:
        ok = current is None
    elif expected is ExpectedVersion.EXISTS:
        ok = current is not None
    else:
        ok = current == expected
    if not ok:
        raise WrongExpectedVersion(stream, expected=expected, actual=current)


def replayed_append(
    stream: str,
    events: Sequence[CloudEvent],
    expected: Expected,
    stored: Mapping[str, StoredPlace],
) -> AppendResult | None:
    """Decide what an append of already-stored ids means.

    ``stored`` maps the ids of ``events`` that are already stored to where they are. Returns None when
    none is stored (a normal append), the original result when all are stored at the same place (an
    idempotent retry), and raises DuplicateEventId otherwise.
    """
    if not stored:
        return None
    places = [stored.get(event.id) for event in events]
    first = places[0]
    same_place = first is not None and first.stream == stream
    if same_place and first is not None:
        for offset, place in enumerate(places):
            if place is None or place.stream != stream or place.version != first.version + offset:
                same_place = False
                break
        if expected is ExpectedVersion.NO_STREAM and first.version != 0:
            same_place = False
        if expected is ExpectedVersion.EXISTS and first.version == 0:
            # The original append cannot have been this one: it would have found no stream.
            same_place = False
        if isinstance(expected, int) and not isinstance(expected, ExpectedVersion):
            same_place = same_place and first.version == expected + 1
    if same_place:
        last = places[-1]
        assert first is not None
        assert last is not None
        return AppendResult(
            stream=stream,
            first_version=first.version,
            last_version=last.version,
            first_position=first.position,
            last_position=last.position,
            checkpoint=Checkpoint(last.commit, last.position),
            event_ids=tuple(event.id for event in events),
        )
    for event, place in zip(events, places, strict=True):
        if place is not None:
            raise DuplicateEventId(
                event.id, stream=stream, stored_stream=place.stream, stored_version=place.version
            )
    raise AssertionError("unreachable: stored was not empty")  # pragma: no cover


def as_checkpoint(after: After) -> Checkpoint | None:
    """Normalise a read's ``after`` for stores whose commit order is position order.

    Returns None for "from the start". An int or a str without a commit part is a global position.
    """
    if after is None:
        return None
    if isinstance(after, Checkpoint):
        return after
    if isinstance(after, str):
        return Checkpoint.parse(after)
    if isinstance(after, bool) or not isinstance(after, int) or after < 0:
        raise InvalidPosition(f"after must be a Checkpoint, a position ≥ 0 or None, got {after!r}")
    return Checkpoint(0, after)


def check_limit(limit: int | None) -> None:
    """A limit is None or an int ≥ 0."""
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise ValidationError(f"limit must be None or an integer ≥ 0, got {limit!r}")
