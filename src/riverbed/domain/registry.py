"""The explicit, versioned registry of event type names.

Event type names are written on the wire and in the store, so they are chosen by people, versioned, and
never derived from a Python import path: ``bank.account.money-withdrawn.v1``. Each name maps to exactly one
class and each class to exactly one name.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from riverbed.domain.messages import Event
from riverbed.errors import DuplicateRegistration, UnknownEventType

E = TypeVar("E", bound=type[Event])

TYPE_NAME = re.compile(r"[a-z0-9]+(?:[.\-_][a-z0-9]+)*\.v[1-9][0-9]*")


def check_type_name(name: str) -> str:
    """Return ``name`` if it is a valid versioned type name, else raise ValueError saying the rule."""
    if not isinstance(name, str) or not TYPE_NAME.fullmatch(name):
        raise ValueError(
            f"event type name {name!r} must be lower-case dotted words ending in a version, "
            "like 'bank.account.opened.v1'"
        )
    return name


class EventTypeRegistry:
    """Maps versioned event type names to event classes and back."""

    def __init__(self) -> None:
        self._by_name: dict[str, type[Event]] = {}
        self._by_class: dict[type[Event], str] = {}

    def register(self, name: str, cls: type[Event]) -> None:
        """Register ``cls`` under ``name``; both must be new to this registry."""
        check_type_name(name)
        if name in self._by_name and self._by_name[name] is not cls:
            raise DuplicateRegistration(
                f"event type {name!r} is already registered to {self._by_name[name].__qualname__}"
            )
        if cls in self._by_class and self._by_class[cls] != name:
            raise DuplicateRegistration(
                f"{cls.__qualname__} is already registered as {self._by_class[cls]!r}"
            )
        self._by_name[name] = cls
        self._by_class[cls] = name
        cls.type_name = name

    def event(self, name: str) -> Callable[[E], E]:
        """Class decorator form of :meth:`register`."""

        def decorate(cls: E) -> E:
            self.register(name, cls)
            return cls

        return decorate

    def class_for(self, name: str, *, stream: str | None = None) -> type[Event]:
        """The class registered for ``name``; raises UnknownEventType naming the type (and stream)."""
        try:
            return self._by_name[name]
        except KeyError:
            raise UnknownEventType(name, stream=stream) from None

    def name_for(self, cls: type[Any]) -> str:
        """The type name registered for ``cls``."""
        try:
            return self._by_class[cls]
        except KeyError:
            raise UnknownEventType(getattr(cls, "__qualname__", repr(cls))) from None

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_name)


default_registry = EventTypeRegistry()
"""The process-wide registry used when no other is given."""


def event_type(name: str, *, registry: EventTypeRegistry | None = None) -> Callable[[E], E]:
    """Register an event class under a versioned type name: ``@event_type("bank.account.opened.v1")``."""
    return (registry or default_registry).event(name)
