"""What every binary content mode shares: attributes carried as text beside a raw body.

HTTP (``ce-`` headers), Kafka (``ce_`` headers) and NATS put each attribute in a header of its own and the
data in the body. The header prefix and the escaping differ per binding; turning attributes into text and
text back into a validated :class:`CloudEvent` does not, so it lives here once.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from riverbed.cloudevents.codec import b64encode, decode_body, format_time, parse_time
from riverbed.cloudevents.event import CloudEvent, ExtensionValue
from riverbed.errors import InvalidCloudEvent

HEADER_ATTRIBUTES = frozenset({"specversion", "id", "source", "type", "subject", "time", "dataschema"})
"""The context attributes a binary-mode header carries (``datacontenttype`` travels as the content type)."""


def attribute_text(value: ExtensionValue) -> str:
    """The canonical string form of an attribute value, as binary-mode headers carry it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, bytes):
        return b64encode(value)
    if isinstance(value, datetime):
        return format_time(value)
    return str(value)


def event_from_attributes(
    attributes: Mapping[str, str], *, content_type: str | None, body: bytes, header_prefix: str
) -> CloudEvent:
    """Build a validated CloudEvent from decoded header attributes (prefix stripped) and the body.

    ``header_prefix`` (``"ce-"``, ``"ce_"``) only names the missing header in the error.
    """
    for name in ("id", "source", "type"):
        if name not in attributes:
            raise InvalidCloudEvent(f"{header_prefix}{name} header is required", attribute=name)
    extensions: dict[str, ExtensionValue] = {
        name: value for name, value in attributes.items() if name not in HEADER_ATTRIBUTES
    }
    time_text = attributes.get("time")
    return CloudEvent(
        specversion=attributes["specversion"],
        id=attributes["id"],
        source=attributes["source"],
        type=attributes["type"],
        subject=attributes.get("subject"),
        time=parse_time(time_text) if time_text is not None else None,
        datacontenttype=content_type,
        dataschema=attributes.get("dataschema"),
        data=decode_body(body, content_type),
        extensions=extensions,
    )
