"""The CloudEvents NATS protocol binding (v1.0.1): binary mode in ``ce-`` headers, or structured mode.

Binary mode puts each attribute in a ``ce-<name>`` header (values percent-encoded exactly as in the HTTP
binding, so a header never carries a line break), ``datacontenttype`` in ``content-type`` and the data in
the payload. Structured mode sends the JSON event format with ``content-type:
application/cloudevents+json``. Pure functions over ``dict[str, str]`` headers; no NATS client involved.
"""

from __future__ import annotations

from collections.abc import Mapping

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
    headers, payload = to_http(event, mode)
    if mode == "binary" and event.datacontenttype is None:
        headers.pop("content-type", None)
    return headers, payload


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
