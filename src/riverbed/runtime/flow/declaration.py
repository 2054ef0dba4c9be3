"""What a service declares about its place in the flow of events.

A service belongs to one bounded context. It *consumes* event types (a subscription: another service's
facts flow into it), *produces* event types (its own facts, published to the rapids), *handles* commands
(its public command API) and *sends* commands to other services' public command APIs. Sending a command is
a call to an owner, not a subscription, so it adds no edge to the flow of events: what comes back is the
owner's events, which the sender consumes like any other subscription.

Declarations name event types by their versioned type names (``bank.account.opened.v1``) and commands by
name (the class name when a class is given), so a declaration can be written without importing the code it
describes, and an event class can be passed in place of its name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from riverbed.domain import Command, Event
from riverbed.domain.registry import check_type_name
from riverbed.errors import InvalidFlow

EventRef = str | type[Event]
"""An event type: its registered versioned name or its (registered) class."""

CommandRef = str | type[Command]
"""A command: its name or its class (named by the class name)."""

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
"""Service, context and command names: words joined by ``.``, ``-`` or ``_`` (safe in logs and diagrams)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceDeclaration:
    """One service's declared place in the flow: its context, what it consumes, produces, handles, sends.

    Build it with :func:`service`, which checks the names and accepts classes as well as names.
    """

    name: str
    context: str
    consumes: frozenset[str] = frozenset()
    produces: frozenset[str] = frozenset()
    handles: frozenset[str] = frozenset()
    sends: frozenset[str] = frozenset()
    description: str = ""


def service(
    name: str,
    *,
    context: str,
    consumes: Iterable[EventRef] = (),
    produces: Iterable[EventRef] = (),
    handles: Iterable[CommandRef] = (),
    sends: Iterable[CommandRef] = (),
    description: str = "",
) -> ServiceDeclaration:
    """Declare a service; raises InvalidFlow naming the service and the bad entry."""
    _check_name(name, what="service name", service=name or "?")
    _check_name(context, what="bounded context", service=name)
    return ServiceDeclaration(
        name=name,
        context=context,
        consumes=frozenset(event_name(ref, service=name) for ref in consumes),
        produces=frozenset(event_name(ref, service=name) for ref in produces),
        handles=frozenset(command_name(ref, service=name) for ref in handles),
        sends=frozenset(command_name(ref, service=name) for ref in sends),
        description=description,
    )


def event_name(ref: EventRef, *, service: str) -> str:
    """The versioned type name of an event reference, checked."""
    if isinstance(ref, str):
        name = ref
    elif isinstance(ref, type) and issubclass(ref, Event):
        name = getattr(ref, "type_name", "")
        if not name:
            raise InvalidFlow(
                f"service {service!r}: event class {ref.__qualname__} has no type name; register it with "
                "@event_type('context.thing.happened.v1') before declaring the service"
            )
    else:
        raise InvalidFlow(f"service {service!r}: {ref!r} is neither an event type name nor an Event subclass")
    try:
        return check_type_name(name)
    except ValueError as exc:
        raise InvalidFlow(f"service {service!r}: {exc}") from None


def command_name(ref: CommandRef, *, service: str) -> str:
    """The name of a command reference: the string itself or the class name."""
    if isinstance(ref, str):
        _check_name(ref, what="command name", service=service)
        return ref
    if isinstance(ref, type) and issubclass(ref, Command):
        return ref.__name__
    raise InvalidFlow(f"service {service!r}: {ref!r} is neither a command name nor a Command subclass")


def _check_name(value: object, *, what: str, service: str) -> None:
    if not isinstance(value, str) or not NAME.match(value):
        raise InvalidFlow(
            f"service {service!r}: the {what} must be letters, digits, '.', '-' or '_' (starting with a "
            f"letter or digit), got {value!r}"
        )
