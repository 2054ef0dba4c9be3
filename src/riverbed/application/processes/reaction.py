"""A reaction: an event becomes zero or more commands, idempotently under redelivery.

``Reaction.react`` is a pure function of the event. :class:`ReactionHandler` is the pond handler (an
``async (CloudEvent) -> None``) that decodes the event, calls ``react`` and sends each command with a command
id derived from (reaction name, event source, event id, index). A redelivered event therefore sends the same
ids, and the owning command service answers ``duplicate`` and runs nothing: at-least-once delivery becomes
exactly-once effects without an inbox. A sender error propagates, so the pond retries (and parks a poison
event after its retries).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from riverbed.application.endpoints import CommandOutcome
from riverbed.application.processes.records import reaction_command_id
from riverbed.application.processes.sender import CommandSender
from riverbed.cloudevents.event import CloudEvent
from riverbed.cloudevents.mapping import from_cloudevent
from riverbed.domain.messages import Command, Event
from riverbed.domain.registry import EventTypeRegistry
from riverbed.errors import InvalidFlow, UnknownEventType


@dataclass(frozen=True, slots=True, kw_only=True)
class Reaction:
    """``react(event)`` -> a command, several, or None, for each of the ``consumes`` event classes."""

    name: str
    consumes: tuple[type[Event], ...]
    react: Callable[[Any], Command | Sequence[Command] | None]
    registry: EventTypeRegistry

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise InvalidFlow(f"a reaction needs a non-empty name, got {self.name!r}")
        if not callable(self.react):
            raise InvalidFlow(f"reaction {self.name!r}: react must be a function")
        if not isinstance(self.consumes, tuple) or not self.consumes:
            raise InvalidFlow(f"reaction {self.name!r}: consumes must be a non-empty tuple of event classes")
        for cls in self.consumes:
            try:
                self.registry.name_for(cls)
            except UnknownEventType:
                raise InvalidFlow(
                    f"reaction {self.name!r} consumes {cls!r}, which its registry does not know; "
                    "register the event type (or pass the registry that has it)"
                ) from None

    def consumed_types(self) -> frozenset[str]:
        """The CloudEvent type names of the consumed events."""
        return frozenset(self.registry.name_for(cls) for cls in self.consumes)


class ReactionHandler:
    """A pond handler running one reaction; counts what it sent."""

    def __init__(self, reaction: Reaction, sender: CommandSender) -> None:
        self.reaction = reaction
        self.sender = sender
        self.sent = 0
        """Commands sent (repeats of a redelivered event included)."""
        self.duplicates = 0
        """Sends the owner answered as already handled."""
        self._types = reaction.consumed_types()

    async def __call__(self, event: CloudEvent) -> None:
        """React to ``event``; events of other types are ignored."""
        await self.handle(event)

    async def handle(self, event: CloudEvent) -> list[CommandOutcome]:
        """React to ``event`` and return the owners' outcomes (empty for an event of another type)."""
        if event.type not in self._types:
            return []
        produced = self.reaction.react(from_cloudevent(event, registry=self.reaction.registry))
        commands = _as_commands(self.reaction.name, produced)
        tenant = event.extensions.get("tenant")
        correlation = event.extensions.get("correlationid")
        outcomes: list[CommandOutcome] = []
        for index, command in enumerate(commands):
            outcome = await self.sender.send(
                command,
                command_id=reaction_command_id(self.reaction.name, event.source, event.id, index),
                tenant=tenant if isinstance(tenant, str) and tenant else None,
                correlation_id=correlation if isinstance(correlation, str) else event.id,
                causation_id=event.id,
            )
            self.sent += 1
            self.duplicates += outcome.duplicate
            outcomes.append(outcome)
        return outcomes


def _as_commands(name: str, produced: object) -> tuple[Command, ...]:
    if produced is None:
        return ()
    items = (produced,) if isinstance(produced, Command) else produced
    if not isinstance(items, Sequence) or not all(isinstance(c, Command) for c in items):
        raise TypeError(
            f"reaction {name!r} returned {produced!r}; return a Command, a sequence of them or None"
        )
    return tuple(items)
