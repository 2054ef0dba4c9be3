"""The transition event: what a process host stores for every message that changed its process.

One event of type ``riverbed.process.transition.v1`` per handled message, appended to the process
instance's stream. Its ``data``::

    {
      "process": "shop.checkout",            # the process manager's name
      "key": "o-1",                          # the process key (unscoped)
      "message": {"kind": "event", "source": "urn:...", "id": "…", "type": "shop.stock.reserved.v1"},
      "state": {...},                        # to_data(new state)
      "commands": [{"type": "TakePayment", "id": "<uuid5>", "payload": {...}}],
      "timers_set": [{"name": "payment-timeout", "due_at": "2026-01-02T03:04:35+00:00"}],
      "timers_cancelled": [],
      "fired": null                          # the timer's name when the message is a TimerFired
    }

``message.kind`` is ``command`` (id = the command id), ``event`` (source + id of the CloudEvent) or
``timer`` (id = ``<name>@<due_at>``). Every id derived here is a UUID5 of its inputs, so a redelivered
message gives the same transition event id and the same command ids: a repeat is harmless at the store
(idempotent append) and downstream (command ids are de-duplicated by their owners).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from riverbed.errors import InvalidMessage

TRANSITION_TYPE = "riverbed.process.transition.v1"
"""The CloudEvent type of every transition event."""

NAMESPACE = uuid.UUID("3f0c2a9e-5d71-4b8e-9c36-1e2d7a4b5f60")


@dataclass(frozen=True, slots=True)
class MessageRef:
    """The message a transition answered: a start command, a consumed event or a fired timer."""

    kind: str
    id: str
    type: str
    source: str = ""

    @property
    def key(self) -> str:
        """What makes the message unique within one process stream."""
        return f"{self.kind}\x00{self.source}\x00{self.id}"

    @classmethod
    def timer(cls, name: str, due_at: datetime) -> MessageRef:
        """The message of timer ``name`` firing for its deadline ``due_at``."""
        return cls("timer", f"{name}@{utc_text(due_at)}", name)


@dataclass(frozen=True, slots=True)
class SentCommand:
    """A command a transition sends: its class name, its deterministic id and its JSON payload."""

    type: str
    id: str
    payload: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class TimerSet:
    """A timer a transition set, with its absolute deadline."""

    name: str
    due_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class TransitionRecord:
    """The ``data`` of one transition event, typed."""

    process: str
    key: str
    message: MessageRef
    state: Mapping[str, Any]
    commands: tuple[SentCommand, ...] = ()
    timers_set: tuple[TimerSet, ...] = ()
    timers_cancelled: tuple[str, ...] = ()
    fired: str | None = None

    def to_data(self) -> dict[str, Any]:
        """The JSON ``data`` of the transition event."""
        message = self.message
        return {
            "process": self.process,
            "key": self.key,
            "message": {
                "kind": message.kind,
                "source": message.source,
                "id": message.id,
                "type": message.type,
            },
            "state": dict(self.state),
            "commands": [{"type": c.type, "id": c.id, "payload": dict(c.payload)} for c in self.commands],
            "timers_set": [{"name": t.name, "due_at": utc_text(t.due_at)} for t in self.timers_set],
            "timers_cancelled": list(self.timers_cancelled),
            "fired": self.fired,
        }

    @classmethod
    def from_data(cls, data: object) -> TransitionRecord:
        """Read the ``data`` of a transition event; raises InvalidMessage when it is not one."""
        try:
            if not isinstance(data, Mapping):
                raise TypeError("data is not a JSON object")
            message = data["message"]
            return cls(
                process=str(data["process"]),
                key=str(data["key"]),
                message=MessageRef(
                    kind=str(message["kind"]),
                    id=str(message["id"]),
                    type=str(message["type"]),
                    source=str(message.get("source") or ""),
                ),
                state=dict(data["state"]),
                commands=tuple(
                    SentCommand(type=str(c["type"]), id=str(c["id"]), payload=dict(c["payload"]))
                    for c in data.get("commands") or ()
                ),
                timers_set=tuple(
                    TimerSet(name=str(t["name"]), due_at=parse_utc(str(t["due_at"])))
                    for t in data.get("timers_set") or ()
                ),
                timers_cancelled=tuple(str(name) for name in data.get("timers_cancelled") or ()),
                fired=None if data.get("fired") is None else str(data["fired"]),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InvalidMessage(
                f"a {TRANSITION_TYPE} event has data that is not a process transition ({exc!r}); "
                "was something else appended to a process stream?"
            ) from exc


def transition_id(process: str, stream: str, message: MessageRef) -> str:
    """The event id of the transition that answers ``message`` in ``stream`` (the same on redelivery)."""
    return str(uuid.uuid5(NAMESPACE, f"transition\x00{process}\x00{stream}\x00{message.key}"))


def process_command_id(process: str, stream: str, message: MessageRef, index: int) -> str:
    """The command id of the ``index``-th command a transition sends (the same on redelivery)."""
    return str(uuid.uuid5(NAMESPACE, f"command\x00{process}\x00{stream}\x00{message.key}\x00{index}"))


def reaction_command_id(reaction: str, source: str, event_id: str, index: int) -> str:
    """The command id of the ``index``-th command a reaction sends for one event (the same on redelivery)."""
    return str(uuid.uuid5(NAMESPACE, f"reaction\x00{reaction}\x00{source}\x00{event_id}\x00{index}"))


def utc_text(moment: datetime) -> str:
    """An aware datetime as ISO 8601 in UTC (one spelling per instant, so ids built from it are stable)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{moment!r} is a naive datetime; process clocks must return aware datetimes")
    return moment.astimezone(UTC).isoformat()


def parse_utc(text: str) -> datetime:
    """Read back what :func:`utc_text` wrote."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no UTC offset")
    return moment.astimezone(UTC)
