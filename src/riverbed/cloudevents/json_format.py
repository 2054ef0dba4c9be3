"""The CloudEvents JSON event format (structured mode) and its batch format."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from riverbed.cloudevents.codec import (
    b64decode,
    b64encode,
    dumps,
    format_time,
    is_json_content_type,
    parse_time,
)
from riverbed.cloudevents.event import CONTEXT_ATTRIBUTES, CloudEvent, ExtensionValue
from riverbed.errors import InvalidCloudEvent

JSON_CONTENT_TYPE = "application/cloudevents+json"
BATCH_CONTENT_TYPE = "application/cloudevents-batch+json"


def to_dict(event: CloudEvent) -> dict[str, Any]:
    """The JSON-format object of ``event`` (what ``to_json`` serialises)."""
    out: dict[str, Any] = {
        "specversion": event.specversion,
        "id": event.id,
        "source": event.source,
        "type": event.type,
    }
    if event.subject is not None:
        out["subject"] = event.subject
    if event.time is not None:
        out["time"] = format_time(event.time)
    if event.datacontenttype is not None:
        out["datacontenttype"] = event.datacontenttype
    if event.dataschema is not None:
        out["dataschema"] = event.dataschema
    for name, value in event.extensions.items():
        out[name] = _extension_to_json(value)
    if isinstance(event.data, bytes):
        out["data_base64"] = b64encode(event.data)
    elif event.data is not None:
        out["data"] = event.data
    return out


def to_json(event: CloudEvent) -> str:
    """Serialise ``event`` in the CloudEvents JSON format."""
    return dumps(to_dict(event))


def to_json_batch(events: Iterable[CloudEvent]) -> str:
    """Serialise events in the CloudEvents JSON batch format (a JSON array)."""
    return dumps([to_dict(event) for event in events])


def from_dict(obj: object) -> CloudEvent:
    """Build a validated CloudEvent from a JSON-format object."""
    if not isinstance(obj, Mapping):
        raise InvalidCloudEvent(f"a CloudEvent in JSON format must be an object, got {type(obj).__name__}")
    specversion = obj.get("specversion")
    if specversion is None:
        raise InvalidCloudEvent("specversion is required", attribute="specversion")
    for name in ("id", "source", "type"):
        if obj.get(name) is None:
            raise InvalidCloudEvent(f"{name} is required", attribute=name)
    # The JSON format says a null member means the attribute is unset.
    if obj.get("data") is not None and obj.get("data_base64") is not None:
        raise InvalidCloudEvent("data and data_base64 cannot both be present", attribute="data_base64")
    datacontenttype = obj.get("datacontenttype")
    data: Any = None
    if obj.get("data_base64") is not None:
        data = b64decode(obj["data_base64"], attribute="data_base64")
    elif "data" in obj:
        data = obj["data"]
    extensions: dict[str, ExtensionValue] = {}
    for name, value in obj.items():
        if name in CONTEXT_ATTRIBUTES or name in ("data", "data_base64") or value is None:
            continue
        extensions[name] = _extension_from_json(name, value)
    time_value = obj.get("time")
    return CloudEvent(
        specversion=specversion,
        id=obj["id"],
        source=obj["source"],
        type=obj["type"],
        subject=obj.get("subject"),
        time=parse_time(time_value) if time_value is not None else None,
        datacontenttype=datacontenttype,
        dataschema=obj.get("dataschema"),
        data=data,
        extensions=extensions,
    )


def from_json(text: str | bytes) -> CloudEvent:
    """Parse one CloudEvent in the JSON format."""
    return from_dict(_loads(text))


def from_json_batch(text: str | bytes) -> list[CloudEvent]:
    """Parse a CloudEvents JSON batch (a JSON array of events)."""
    parsed = _loads(text)
    if not isinstance(parsed, list):
        raise InvalidCloudEvent(f"a CloudEvents batch must be a JSON array, got {type(parsed).__name__}")
    events = []
    for index, item in enumerate(parsed):
        try:
            events.append(from_dict(item))
        except InvalidCloudEvent as exc:
            raise InvalidCloudEvent(f"batch item {index}: {exc}", attribute=exc.attribute) from exc
    return events


def data_is_json(event: CloudEvent) -> bool:
    """True when ``event.data`` is carried as a JSON value (not bytes, not text of another type)."""
    return not isinstance(event.data, bytes) and is_json_content_type(event.datacontenttype)


def _loads(text: str | bytes) -> Any:
    try:
        return json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidCloudEvent(f"not valid JSON: {exc}") from exc


def _extension_to_json(value: ExtensionValue) -> Any:
    if isinstance(value, bytes):
        return b64encode(value)
    if isinstance(value, datetime):
        return format_time(value)
    return value


def _extension_from_json(name: str, value: object) -> ExtensionValue:
    if isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise InvalidCloudEvent(
        f"extension {name!r} must be a string, an integer or a boolean in JSON, got {type(value).__name__}",
        attribute=name,
    )
