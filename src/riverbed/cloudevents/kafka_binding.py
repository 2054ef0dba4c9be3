"""The CloudEvents Kafka protocol binding (v1.0): ``ce_`` headers (binary) or the JSON format (structured).

A Kafka record is a key, a list of ``(name, bytes)`` headers and a value. Binary mode puts each attribute
in a ``ce_<name>`` header as UTF-8 (no percent-encoding: Kafka headers are bytes), ``datacontenttype`` in
``content-type`` and the data in the value. Structured mode puts the JSON event format in the value with
``content-type: application/cloudevents+json``. The key is the ``partitionkey`` extension when the event
has one (the binding's default key mapping), else ``None``. No broker or client library is involved.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from riverbed.cloudevents.binary_mode import attribute_text, event_from_attributes
from riverbed.cloudevents.codec import encode_body, format_time
from riverbed.cloudevents.event import CloudEvent
from riverbed.cloudevents.json_format import JSON_CONTENT_TYPE, from_json, to_json
from riverbed.errors import InvalidCloudEvent

KafkaMode = Literal["binary", "structured"]


@dataclass(frozen=True, slots=True)
class KafkaRecord:
    """What a Kafka producer sends: key, headers and value."""

    key: bytes | None
    headers: tuple[tuple[str, bytes], ...]
    value: bytes


def to_kafka(event: CloudEvent, mode: KafkaMode = "binary") -> KafkaRecord:
    """Encode ``event`` as a Kafka record."""
    partition_key = event.extensions.get("partitionkey")
    key = None if partition_key is None else attribute_text(partition_key).encode()
    if mode == "structured":
        return KafkaRecord(
            key, (("content-type", f"{JSON_CONTENT_TYPE}; charset=utf-8".encode()),), to_json(event).encode()
        )
    if mode != "binary":
        raise ValueError(f"mode must be 'binary' or 'structured', got {mode!r}")
    headers: list[tuple[str, bytes]] = [
        ("ce_specversion", event.specversion.encode()),
        ("ce_id", event.id.encode()),
        ("ce_source", event.source.encode()),
        ("ce_type", event.type.encode()),
    ]
    if event.subject is not None:
        headers.append(("ce_subject", event.subject.encode()))
    if event.time is not None:
        headers.append(("ce_time", format_time(event.time).encode()))
    if event.dataschema is not None:
        headers.append(("ce_dataschema", event.dataschema.encode()))
    for name, value in event.extensions.items():
        headers.append((f"ce_{name}", attribute_text(value).encode()))
    content_type = event.datacontenttype
    if content_type is None and event.data is not None and not isinstance(event.data, bytes):
        content_type = "application/json"
    if content_type is not None:
        headers.append(("content-type", content_type.encode()))
    return KafkaRecord(key, tuple(headers), encode_body(event.data, content_type))


def from_kafka(headers: Iterable[tuple[str, bytes]], value: bytes | None) -> CloudEvent:
    """Decode a Kafka record in binary or structured mode (header names match case-insensitively)."""
    lowered: dict[str, str] = {}
    for name, raw in headers:
        try:
            lowered[name.lower()] = raw.decode()
        except UnicodeDecodeError as exc:
            raise InvalidCloudEvent(f"Kafka header {name!r} is not UTF-8", attribute=name) from exc
    body = value or b""
    media = lowered.get("content-type", "").split(";", 1)[0].strip().lower()
    if media.startswith("application/cloudevents") and media.endswith("+json"):
        return from_json(body)
    if "ce_specversion" not in lowered:
        raise InvalidCloudEvent(
            "not a CloudEvent: no ce_specversion header (binary mode) and content-type is not "
            f"{JSON_CONTENT_TYPE} (structured mode)",
            attribute="specversion",
        )
    attributes = {name[3:]: text for name, text in lowered.items() if name.startswith("ce_")}
    return event_from_attributes(
        attributes, content_type=lowered.get("content-type"), body=body, header_prefix="ce_"
    )
