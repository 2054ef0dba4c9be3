"""The CloudEvents HTTP protocol binding: binary, structured and batch content modes.

Headers are given and returned as plain ``str -> str`` mappings; names are matched case-insensitively.
Binary-mode header values are percent-encoded as the binding requires (outside printable ASCII, plus
space, ``"`` and ``%``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal
from urllib.parse import quote, unquote

from riverbed.cloudevents.binary_mode import attribute_text, event_from_attributes
from riverbed.cloudevents.codec import encode_body, format_time
from riverbed.cloudevents.event import CloudEvent
from riverbed.cloudevents.json_format import (
    BATCH_CONTENT_TYPE,
    JSON_CONTENT_TYPE,
    from_json,
    from_json_batch,
    to_json,
    to_json_batch,
)
from riverbed.errors import InvalidCloudEvent

Mode = Literal["binary", "structured"]
OCTET_STREAM = "application/octet-stream"
_SAFE = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in '"%')


def to_http(event: CloudEvent, mode: Mode = "binary") -> tuple[dict[str, str], bytes]:
    """Encode ``event`` as HTTP headers and body, in binary (default) or structured mode."""
    if mode == "structured":
        return {"content-type": f"{JSON_CONTENT_TYPE}; charset=utf-8"}, to_json(event).encode()
    if mode != "binary":
        raise ValueError(f"mode must be 'binary' or 'structured', got {mode!r}")
    headers: dict[str, str] = {
        "ce-specversion": event.specversion,
        "ce-id": _encode(event.id),
        "ce-source": _encode(event.source),
        "ce-type": _encode(event.type),
    }
    if event.subject is not None:
        headers["ce-subject"] = _encode(event.subject)
    if event.time is not None:
        headers["ce-time"] = _encode(format_time(event.time))
    if event.dataschema is not None:
        headers["ce-dataschema"] = _encode(event.dataschema)
    for name, value in event.extensions.items():
        headers[f"ce-{name}"] = _encode(attribute_text(value))
    content_type = event.datacontenttype
    if content_type is None and event.data is not None:
        # Without a Content-Type a receiver cannot tell JSON from bytes; say what the body is.
        content_type = OCTET_STREAM if isinstance(event.data, bytes) else "application/json"
    if content_type is not None:
        headers["content-type"] = content_type
    return headers, encode_body(event.data, content_type)


def to_http_batch(events: Iterable[CloudEvent]) -> tuple[dict[str, str], bytes]:
    """Encode events in the batch content mode."""
    return {"content-type": f"{BATCH_CONTENT_TYPE}; charset=utf-8"}, to_json_batch(events).encode()


def from_http(headers: Mapping[str, str], body: bytes | str) -> CloudEvent | list[CloudEvent]:
    """Decode an HTTP message in any content mode.

    Returns one event for binary and structured mode, and a list for the batch mode.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    raw = body.encode() if isinstance(body, str) else body
    media = lowered.get("content-type", "").split(";", 1)[0].strip().lower()
    if media == BATCH_CONTENT_TYPE:
        return from_json_batch(raw)
    if media.startswith("application/cloudevents") and media.endswith("+json"):
        return from_json(raw)
    if "ce-specversion" not in lowered:
        raise InvalidCloudEvent(
            "not a CloudEvent: no ce-specversion header (binary mode) and content-type is not "
            f"{JSON_CONTENT_TYPE} (structured mode)",
            attribute="specversion",
        )
    return _from_binary(lowered, raw)


def from_http_events(headers: Mapping[str, str], body: bytes | str) -> list[CloudEvent]:
    """Decode an HTTP message in any content mode, always as a list."""
    decoded = from_http(headers, body)
    return decoded if isinstance(decoded, list) else [decoded]


def _from_binary(headers: Mapping[str, str], body: bytes) -> CloudEvent:
    attributes: dict[str, str] = {
        name[3:]: unquote(value) for name, value in headers.items() if name.startswith("ce-")
    }
    return event_from_attributes(
        attributes, content_type=headers.get("content-type"), body=body, header_prefix="ce-"
    )


def _encode(value: str) -> str:
    return quote(value, safe=_SAFE)
