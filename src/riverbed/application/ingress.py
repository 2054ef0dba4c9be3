"""External CloudEvents coming in through the gateway, appended to the tenant's own streams.

The event's ``subject`` names the stream (``ingress`` when absent); the stream actually written is the
tenant-scoped one, so a tenant can only ever append to its own streams. The append is idempotent on the
event ids (the store forgives re-sending the same events to the same place), so a client may retry.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from riverbed.application.tenancy import scoped
from riverbed.cloudevents.event import CloudEvent
from riverbed.ports.event_store import Checkpoint, EventStore

DEFAULT_STREAM = "ingress"


@dataclass(frozen=True, slots=True)
class Accepted:
    """Where one ingested event was stored (``stream`` unscoped)."""

    id: str
    stream: str
    version: int | None
    position: str | None


class EventSink(Protocol):
    """Where the gateway hands external events."""

    async def accept(
        self, events: Sequence[CloudEvent], *, tenant: str, traceparent: str | None
    ) -> list[Accepted]:
        """Take the events; raises ValidationError for events that cannot be stored as given."""
        ...


class StoreSink:
    """An :class:`EventSink` that appends each event to the tenant-scoped stream named by its subject."""

    def __init__(self, store: EventStore) -> None:
        self._store = store

    async def accept(
        self, events: Sequence[CloudEvent], *, tenant: str, traceparent: str | None
    ) -> list[Accepted]:
        """Append events in order, grouping consecutive events of one stream into one append.

        An id repeated within the batch is a re-delivery of the same event: it is stored once and
        answered with the first one's place.
        """
        accepted: list[Accepted] = []
        groups: list[tuple[str, list[CloudEvent]]] = []
        seen: set[str] = set()
        order: list[str] = []
        for event in events:
            order.append(event.id)
            if event.id in seen:
                continue
            seen.add(event.id)
            stream = event.subject or DEFAULT_STREAM
            extra = (
                {"traceparent": traceparent} if traceparent and "traceparent" not in event.extensions else {}
            )
            stored = event.with_changes(subject=scoped(tenant, stream))
            if extra:
                stored = stored.with_extensions(**extra)
            if groups and groups[-1][0] == stream:
                groups[-1][1].append(stored)
            else:
                groups.append((stream, [stored]))
        for stream, batch in groups:
            result = await self._store.append(scoped(tenant, stream), batch)
            for offset, event in enumerate(batch):
                accepted.append(
                    Accepted(
                        id=event.id,
                        stream=stream,
                        version=result.first_version + offset,
                        position=str(Checkpoint(result.checkpoint.commit, result.first_position + offset)),
                    )
                )
        by_id = {a.id: a for a in accepted}
        return [by_id[event_id] for event_id in order]
