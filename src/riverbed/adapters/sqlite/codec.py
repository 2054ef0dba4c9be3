"""How a CloudEvent is laid out in the SQLite ``events`` table, and read back fast.

Each attribute has its own column so reads need no envelope parsing: ``time`` is ISO 8601 text (keeping
its UTC offset), ``data`` is JSON text or a BLOB for binary data (the column's storage class tells them
apart), and ``extensions`` is a JSON object (NULL when there are none) in which Binary and Timestamp
values are tagged, because JSON has neither. The subject is not stored: it is the stream name.

Decoding trusts the rows (they were validated on the way in) and builds events with
:meth:`CloudEvent.trusted`; it is the hot path of every replay.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any, TypeAlias

from riverbed.cloudevents.event import CloudEvent, ExtensionValue
from riverbed.ports.event_store import RecordedEvent
from riverbed.ports.event_store_rules import decode_data, encode_data

EventRow: TypeAlias = tuple[str, str, str, str | None, str | None, str | None, str | bytes | None, str | None]
"""The columns an event brings to an insert: id, source, type, time, datacontenttype, dataschema, data,
extensions (the writer adds position, stream and version)."""

SELECT_COLUMNS = (
    "position, stream, version, id, source, type, time, datacontenttype, dataschema, data, extensions"
)
INSERT_EVENT = (
    "INSERT INTO events (position, stream, version, id, source, type, time, datacontenttype, dataschema, "
    "data, extensions) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)

_BINARY_TAG = "$b"
_TIME_TAG = "$t"
_EMPTY: Mapping[str, ExtensionValue] = MappingProxyType({})


def encode_extensions(extensions: Mapping[str, ExtensionValue]) -> str | None:
    """The ``extensions`` column: JSON, with bytes and datetimes tagged; None when there are none."""
    if not extensions:
        return None
    out: dict[str, Any] = {}
    for name, value in extensions.items():
        if isinstance(value, bytes):
            out[name] = {_BINARY_TAG: base64.b64encode(value).decode("ascii")}
        elif isinstance(value, datetime):
            out[name] = {_TIME_TAG: value.isoformat()}
        else:
            out[name] = value
    return json.dumps(out, separators=(",", ":"), ensure_ascii=False)


def decode_extensions(text: str) -> Mapping[str, ExtensionValue]:
    """The inverse of :func:`encode_extensions`."""
    values: dict[str, Any] = decode_data(text)
    for name, value in values.items():
        if type(value) is dict:
            if _BINARY_TAG in value:
                values[name] = base64.b64decode(value[_BINARY_TAG])
            else:
                values[name] = datetime.fromisoformat(value[_TIME_TAG])
    return MappingProxyType(values)


def event_row(event: CloudEvent) -> EventRow:
    """The columns of one (validated, prepared) event; raises InvalidCloudEvent for data JSON cannot carry."""
    return (
        event.id,
        event.source,
        event.type,
        event.time.isoformat() if event.time is not None else None,
        event.datacontenttype,
        event.dataschema,
        encode_data(event),
        encode_extensions(event.extensions),
    )


def decode_rows(rows: Iterable[tuple[Any, ...]]) -> list[RecordedEvent]:
    """Rows selected with :data:`SELECT_COLUMNS` as recorded events, as fast as Python allows."""
    trusted = CloudEvent.trusted
    loads = decode_data
    parse_time = datetime.fromisoformat
    out: list[RecordedEvent] = []
    append = out.append
    for position, stream, version, id_, source, type_, time, content_type, schema, data, ext in rows:
        append(
            RecordedEvent(
                trusted(
                    id=id_,
                    source=source,
                    type=type_,
                    subject=stream,
                    time=None if time is None else parse_time(time),
                    datacontenttype=content_type,
                    dataschema=schema,
                    data=loads(data) if data.__class__ is str else data,
                    extensions=_EMPTY if ext is None else decode_extensions(ext),
                ),
                stream,
                version,
                position,
            )
        )
    return out
