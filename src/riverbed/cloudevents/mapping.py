"""Mapping between domain events and CloudEvents.

The CloudEvent ``type`` is the event's registered type name, ``data`` is its JSON dict, and the stream name
travels as ``subject``. The domain never sees the CloudEvent.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from riverbed.cloudevents.event import CloudEvent, ExtensionValue
from riverbed.domain.messages import Event
from riverbed.domain.registry import EventTypeRegistry, default_registry
from riverbed.domain.serialization import from_data, to_data


def to_cloudevent(
    event: Event,
    *,
    source: str,
    subject: str | None = None,
    id: str | None = None,
    time: datetime | None = None,
    extensions: Mapping[str, ExtensionValue] | None = None,
    registry: EventTypeRegistry | None = None,
) -> CloudEvent:
    """Wrap a domain event in a CloudEvent of its registered type."""
    name = (registry or default_registry).name_for(type(event))
    fields: dict[str, object] = {}
    if id is not None:
        fields["id"] = id
    return CloudEvent(
        source=source,
        type=name,
        subject=subject,
        time=time,
        datacontenttype="application/json",
        data=to_data(event),
        extensions=dict(extensions or {}),
        **fields,  # type: ignore[arg-type]
    )


def from_cloudevent(event: CloudEvent, *, registry: EventTypeRegistry | None = None) -> Event:
    """Rebuild the domain event carried by a CloudEvent; raises UnknownEventType for unregistered types."""
    cls = (registry or default_registry).class_for(event.type, stream=event.subject)
    instance: Event = from_data(cls, event.data)
    return instance
