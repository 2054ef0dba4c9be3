"""A process manager declared as data: its pure functions and how messages are routed to its instances.

A :class:`ProcessManager` says everything the host needs to run a durable, event-sourced process (a saga):
the pure ``start``/``react`` functions (see :mod:`riverbed.domain.process`), which commands start an
instance and which events it consumes, how a message is routed to its instance (``key_of``) and which
stream holds that instance (``stream``). Nothing here does I/O; :class:`~riverbed.application.processes.host.
ProcessHost` runs it over an event store. The declaration is checked when it is made, so a wiring mistake
fails at start-up, not on the first message.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from riverbed.domain.messages import Command, Event
from riverbed.domain.process import Transition
from riverbed.domain.registry import EventTypeRegistry
from riverbed.errors import InvalidFlow, UnknownEventType

S = TypeVar("S")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


@dataclass(frozen=True, slots=True, kw_only=True)
class ProcessManager(Generic[S]):
    """A durable process: pure transitions plus routing.

    ``name``: unique process name (also in the CloudEvent source ``urn:riverbed:process:<name>``).
    ``stream``: process key -> the (unscoped) stream that holds that instance's transitions.
    ``state_type``: the state dataclass (stored with ``to_data`` in every transition).
    ``initial_state``: the state of an instance that has not started.
    ``start``: ``(state, command) -> Transition``, called with one of ``starts``.
    ``react``: ``(state, event_or_timer) -> Transition``, called with one of ``consumes`` or a TimerFired.
    ``starts``: the command classes that start (or are sent to) an instance.
    ``consumes``: the event classes the process reacts to (registered in ``registry``).
    ``key_of``: the process key a command, event or TimerFired is about; None means "not for this process".
    ``registry``: decodes the consumed events from their CloudEvents.
    ``sends``: the command classes its transitions may send (optional; checked when given, so a router
    can be verified against it at start-up).
    """

    name: str
    stream: Callable[[str], str]
    state_type: type[S]
    initial_state: Callable[[], S]
    start: Callable[[S, Any], Transition[S]]
    react: Callable[[S, Any], Transition[S]]
    starts: tuple[type[Command], ...]
    consumes: tuple[type[Event], ...]
    key_of: Callable[[Any], str | None]
    registry: EventTypeRegistry
    sends: tuple[type[Command], ...] = ()

    def __post_init__(self) -> None:
        _check_name(self.name)
        for field in ("stream", "initial_state", "start", "react", "key_of"):
            if not callable(getattr(self, field)):
                raise InvalidFlow(f"process manager {self.name!r}: {field} must be a function")
        if not (isinstance(self.state_type, type) and dataclasses.is_dataclass(self.state_type)):
            raise InvalidFlow(
                f"process manager {self.name!r}: state_type must be a dataclass (its state is stored "
                f"with to_data in every transition), got {self.state_type!r}"
            )
        initial = self.initial_state()
        if not isinstance(initial, self.state_type):
            raise InvalidFlow(
                f"process manager {self.name!r}: initial_state() returned a {type(initial).__name__}, "
                f"not a {self.state_type.__name__}"
            )
        _check_commands(self.name, "starts", self.starts)
        _check_commands(self.name, "sends", self.sends)
        if not isinstance(self.consumes, tuple):
            raise InvalidFlow(f"process manager {self.name!r}: consumes must be a tuple of event classes")
        if not self.starts and not self.consumes:
            raise InvalidFlow(
                f"process manager {self.name!r} neither starts on a command nor consumes an event; "
                "declare starts=(...) or consumes=(...)"
            )
        for cls in self.consumes:
            if not (isinstance(cls, type) and issubclass(cls, Event)):
                raise InvalidFlow(
                    f"process manager {self.name!r}: consumes holds {cls!r}, not an Event class"
                )
            try:
                self.registry.name_for(cls)
            except UnknownEventType:
                raise InvalidFlow(
                    f"process manager {self.name!r} consumes {cls.__qualname__}, which its registry does "
                    "not know; register the event type (or pass the registry that has it)"
                ) from None

    @property
    def source(self) -> str:
        """The CloudEvent source of this process's transition events."""
        return f"urn:riverbed:process:{self.name}"

    def consumed_types(self) -> frozenset[str]:
        """The CloudEvent type names of the consumed events."""
        return frozenset(self.registry.name_for(cls) for cls in self.consumes)

    def starts_by_name(self) -> dict[str, type[Command]]:
        """The start commands by wire name (their class name)."""
        return {cls.__name__: cls for cls in self.starts}


def _check_name(name: object) -> None:
    if not isinstance(name, str) or not name.strip():
        raise InvalidFlow(f"a process manager needs a non-empty name, got {name!r}")
    if not _NAME.fullmatch(name):
        raise InvalidFlow(
            f"process manager name {name!r} must be letters, digits, '.', '-' or '_' (it becomes part of the "
            "CloudEvent source urn:riverbed:process:<name> and of checkpoint names)"
        )


def _check_commands(process: str, field: str, commands: object) -> None:
    if not isinstance(commands, tuple):
        raise InvalidFlow(f"process manager {process!r}: {field} must be a tuple of command classes")
    names: set[str] = set()
    for cls in commands:
        if not (isinstance(cls, type) and issubclass(cls, Command) and _is_dataclass(cls)):
            raise InvalidFlow(f"process manager {process!r}: {field} holds {cls!r}, not a Command dataclass")
        if cls.__name__ in names:
            raise InvalidFlow(
                f"process manager {process!r}: {field} holds two commands named {cls.__name__!r}; "
                "command wire names are class names and must be unique"
            )
        names.add(cls.__name__)


def _is_dataclass(cls: object) -> bool:
    return dataclasses.is_dataclass(cls)
