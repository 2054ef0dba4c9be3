"""The CloudEvents NATS protocol binding (v1.0.1): binary mode in ``ce-`` headers, or structured mode.

Binary mode puts each attribute in a ``ce-<name>`` header (values percent-encoded exactly as in the HTTP
binding, so a header never carries a line break), ``datacontenttype`` in ``content-type`` and the data in
the payload. Structured mode sends the JSON event format with ``content-type:
application/cloudevents+json``. Pure functions over ``dict[str, str]`` headers; no NATS client involved.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import quote

from riverbed.cloudevents.codec import encode_body, format_time
from riverbed.cloudevents.event import CloudEvent
from riverbed.cloudevents.http import Mode, from_http, to_http
from riverbed.errors import InvalidCloudEvent


def to_nats(event: CloudEvent, mode: Mode = "binary") -> tuple[dict[str, str], bytes]:
    """Encode ``event`` as NATS headers and payload; :func:`from_nats` gives back an equal event.

    An event without ``datacontenttype`` keeps it unset (JSON data travels without a ``content-type``,
    which the binding reads as JSON). Binary mode cannot carry everything exactly (header values are
    strings, so an Integer or Boolean extension would come back as a String, and bytes of no declared
    type would be read as JSON): such events go in structured mode instead, which keeps them exact.
    """
    if mode == "binary" and not binary_is_exact(event):
        mode = "structured"
    if mode != "binary":
        return to_http(event, mode)
    # the HTTP binding's binary mode, written out so that values that need no percent-encoding (nearly
    # all of them) skip urllib's quote: the relay encodes every event it publishes
    headers: dict[str, str] = {
        "ce-specversion": event.specversion,
        "ce-id": _encode(event.id),
        "ce-source": _encode(event.source),
        "ce-type": _encode(event.type),
    }
    if event.subject is not None:
        headers["ce-subject"] = _encode(event.subject)
    if event.time is not None:
        headers["ce-time"] = format_time(event.time)
    if event.dataschema is not None:
        headers["ce-dataschema"] = _encode(event.dataschema)
    for name, value in event.extensions.items():
        headers[f"ce-{name}"] = _encode(str(value))  # binary mode is only chosen for string extensions
    content_type = event.datacontenttype
    if content_type is not None:
        headers["content-type"] = content_type
    body_type = content_type if content_type is not None or event.data is None else "application/json"
    return headers, encode_body(event.data, body_type)


_PLAIN = re.compile(r"[\x21\x23\x24\x26-\x7e]*")
_SAFE = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in '"%')


def _encode(value: str) -> str:
    return value if _PLAIN.fullmatch(value) else quote(value, safe=_SAFE)


def binary_is_exact(event: CloudEvent) -> bool:
    """Whether binary mode gives back an equal event (string extensions; bytes only with a content type)."""
    if event.datacontenttype is None and isinstance(event.data, bytes):
        return False
    return all(isinstance(value, str) for value in event.extensions.values())


def from_nats(headers: Mapping[str, str] | None, payload: bytes) -> CloudEvent:
    """Decode a NATS message in binary or structured mode."""
    decoded = from_http(headers or {}, payload)
    if isinstance(decoded, list):
        raise InvalidCloudEvent("a NATS message carries one CloudEvent, got a batch", attribute=None)
    return decoded
