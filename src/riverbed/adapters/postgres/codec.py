"""How a CloudEvent maps to a row of the PostgreSQL events table, and back.

Writing builds one array per column (the append sends them as binary arrays to ``unnest``). Reading
fetches ``data`` and ``extensions`` as text and decodes them here (``data`` with
:func:`~riverbed.ports.event_store_rules.decode_data`), several times faster than the driver's per-value
JSON loader, and builds events with :meth:`CloudEvent.trusted`
because they were validated when they were written.

Storage forms: ``data`` is JSON text in a ``json`` column (kept verbatim: key order and number spelling
survive the round trip), ``bytes`` data goes to a ``bytea`` column, ``None`` leaves both NULL. ``time`` is
kept as its RFC 3339 text so its offset survives. Extensions are a JSON object; ``bytes`` and ``datetime``
values are tagged (``{"$b": base64}``, ``{"$t": rfc3339}``) so their CloudEvents type comes back.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from riverbed.cloudevents.codec import format_time
from riverbed.cloudevents.event import CloudEvent, ExtensionValue
from riverbed.ports.event_store import RecordedEvent
from riverbed.ports.event_store_rules import decode_data, encode_data

_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode
_fromiso = datetime.fromisoformat
_trusted = CloudEvent.trusted


class Columns:
    """The column arrays of one append (see :func:`~.statements.append_params`)."""

    __slots__ = (
        "binary",
        "contenttypes",
        "data",
        "extensions",
        "ids",
        "schemas",
        "sources",
        "times",
        "types",
    )

    def __init__(self, events: Sequence[CloudEvent]) -> None:
        self.ids = [event.id for event in events]
        self.sources = [event.source for event in events]
        self.types = [event.type for event in events]
        self.times = [None if event.time is None else format_time(event.time) for event in events]
        self.contenttypes = [event.datacontenttype for event in events]
        self.schemas = [event.dataschema for event in events]
        self.data: list[str | None] = []
        self.binary: list[bytes | None] = []
        for event in events:
            stored = encode_data(event)  # the shared rule: every store refuses the same data
            if isinstance(stored, bytes):
                self.data.append(None)
                self.binary.append(stored)
            else:
                self.data.append(stored)
                self.binary.append(None)
        self.extensions = [encode_extensions(event.extensions) for event in events]

    def as_scalars(self) -> tuple[Any, ...]:
        """The one event's values, as parameters of the one-event append statement."""
        return (
            self.ids[0],
            self.sources[0],
            self.types[0],
            self.times[0],
            self.contenttypes[0],
            self.schemas[0],
            self.data[0],
            self.binary[0],
            self.extensions[0],
        )

    def as_params(self) -> tuple[list[Any] | None, ...]:
        """The arrays, as parameters of the batch append statement (``unnest``).

        A column that is NULL for every event is sent as one NULL instead of an array of NULLs (``unnest``
        pads it with NULLs), which saves dumping, sending and unpacking it.
        """
        return (
            self.ids,
            self.sources,
            self.types,
            _or_null(self.times),
            _or_null(self.contenttypes),
            _or_null(self.schemas),
            _or_null(self.data),
            _or_null(self.binary),
            _or_null(self.extensions),
        )


def _or_null(column: list[Any]) -> list[Any] | None:
    for value in column:
        if value is not None:
            return column
    return None


def encode_extensions(extensions: Mapping[str, ExtensionValue]) -> str | None:
    """The extensions as a JSON object (NULL when there are none)."""
    if not extensions:
        return None
    out: dict[str, Any] = {}
    for name, value in extensions.items():
        if isinstance(value, bytes):
            out[name] = {"$b": base64.b64encode(value).decode("ascii")}
        elif isinstance(value, datetime):
            out[name] = {"$t": format_time(value)}
        else:
            out[name] = value
    return _dumps(out)


def decode_extensions(text: str) -> dict[str, ExtensionValue]:
    """The inverse of :func:`encode_extensions`."""
    out: dict[str, ExtensionValue] = {}
    for name, value in decode_data(text).items():
        if type(value) is dict:
            if "$b" in value:
                out[name] = base64.b64decode(value["$b"])
            else:
                out[name] = _fromiso(value["$t"])
        else:
            out[name] = value
    return out


SELECT_COLUMNS = (
    "e.global_position, e.transaction_id::text, e.stream_id, e.version, e.event_id, e.source, e.type, "
    "e.time, e.datacontenttype, e.dataschema, e.data::text, e.data_binary, e.extensions::text"
)
"""The columns :func:`decode_rows` expects, in order (the events table aliased as ``e``)."""


def decode_rows(rows: Sequence[tuple[Any, ...]]) -> list[RecordedEvent]:
    """Build recorded events from rows selected with :data:`SELECT_COLUMNS`."""
    out: list[RecordedEvent] = []
    append = out.append
    for position, xid, stream, version, eid, source, etype, time, ctype, dschema, data, raw, ext in rows:
        event = _trusted(
            id=eid,
            source=source,
            type=etype,
            subject=stream,
            time=None if time is None else _fromiso(time),
            datacontenttype=ctype,
            dataschema=dschema,
            data=decode_data(data) if data is not None else raw,
            extensions=decode_extensions(ext) if ext is not None else {},
        )
        append(RecordedEvent(event, stream, version, position, int(xid)))
    return out
