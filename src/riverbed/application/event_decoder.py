"""Turn stored CloudEvents back into domain events: upcast, look up the class, build it.

Reading is the hot path of rehydration (10k events must fold in well under 100 ms), so the decoder keeps a
per-class plan: classes whose fields are plain JSON values are built with ``cls(**data)`` after a key
check; others go through :func:`~riverbed.domain.serialization.from_data`. Unknown fields are refused in
both cases, so an event that no longer fits its class fails loudly instead of losing data.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable
from typing import Any

from riverbed.domain.messages import Event
from riverbed.domain.registry import EventTypeRegistry, default_registry
from riverbed.domain.serialization import from_data
from riverbed.domain.upcasting import UpcasterChain, default_upcasters
from riverbed.errors import InvalidMessage, UnknownEventType
from riverbed.ports.event_store import RecordedEvent

_PLAIN = (int, str, bool, float)
Builder = Callable[[Any], Event]


class EventDecoder:
    """Decodes stored events with a registry and an upcaster chain."""

    def __init__(
        self, *, registry: EventTypeRegistry | None = None, upcasters: UpcasterChain | None = None
    ) -> None:
        self.registry = registry if registry is not None else default_registry
        self.upcasters = upcasters if upcasters is not None else default_upcasters
        self._builders: dict[str, Builder] = {}

    def decode(self, record: RecordedEvent, *, ignore_unknown: bool = False) -> Event | None:
        """The domain event of ``record``; None when its type is unknown and ``ignore_unknown`` is set.

        Raises :class:`~riverbed.errors.UnknownEventType` naming the type and the stream, and
        :class:`~riverbed.errors.InvalidMessage` when the data does not fit the class.
        """
        event = record.event
        type_name, data = event.type, event.data
        if self.upcasters:
            type_name, data = self.upcasters.upcast(type_name, data)
        builder = self._builders.get(type_name)
        if builder is None:
            if type_name not in self.registry:
                if ignore_unknown:
                    return None
                raise UnknownEventType(type_name, stream=record.stream)
            builder = self._builders[type_name] = _builder(self.registry.class_for(type_name))
        try:
            return builder(data)
        except InvalidMessage as exc:
            raise InvalidMessage(
                f"stored event {event.id!r} ({type_name}) in stream {record.stream!r} at version "
                f"{record.version} does not fit its class: {exc}; register an upcaster for the old shape"
            ) from exc


def _builder(cls: type[Event]) -> Builder:
    hints = typing.get_type_hints(cls)
    fields: list[dataclasses.Field[Any]] = (
        list(dataclasses.fields(cls)) if dataclasses.is_dataclass(cls) else []
    )
    plain = bool(fields) and all(hints.get(f.name) in _PLAIN for f in fields)
    if not plain:
        return lambda data: from_data(cls, data)  # type: ignore[no-any-return,unused-ignore]
    names = frozenset(f.name for f in fields)

    def build(data: Any) -> Event:
        if not isinstance(data, dict) or not data.keys() <= names:
            return from_data(cls, data)  # type: ignore[no-any-return]  # raises the precise error
        try:
            return cls(**data)
        except TypeError as exc:
            raise InvalidMessage(f"{cls.__name__}: {exc}") from exc

    return build
