"""What handling a command gives back to its caller."""

from __future__ import annotations

from dataclasses import dataclass

from riverbed.cloudevents.event import CloudEvent
from riverbed.domain.messages import Event
from riverbed.ports.event_store import Checkpoint


@dataclass(frozen=True, slots=True)
class CommandResult:
    """The outcome of one command: the events it produced and where they were stored.

    ``version`` is the stream's version after the command (None when the stream still has no events);
    ``duplicate`` is True when the command id had already been handled and this is the first result again
    (nothing was appended this time). A command that decided no events has empty ``events`` and no
    positions.
    """

    command_id: str
    stream: str
    events: tuple[Event, ...]
    records: tuple[CloudEvent, ...]
    version: int | None
    first_position: int | None = None
    last_position: int | None = None
    checkpoint: Checkpoint | None = None
    duplicate: bool = False

    @property
    def event_types(self) -> tuple[str, ...]:
        """The type names of the produced events, in order."""
        return tuple(record.type for record in self.records)
