"""ProcessManager and Reaction refuse a wrong declaration when made, with a message saying what to fix."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from tests.process_support import Notified, Notify, OpenTicket, TicketAnswered, ticket_events, ticket_manager

from riverbed.application.processes import Reaction
from riverbed.domain import Event, EventTypeRegistry
from riverbed.errors import InvalidFlow


@dataclass(frozen=True, slots=True, kw_only=True)
class Unregistered(Event):
    ticket_id: str


class NotADataclass:
    pass


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": ""}, "non-empty name"),
        ({"name": "has space"}, "letters, digits"),
        ({"state_type": NotADataclass}, "state_type must be a dataclass"),
        ({"initial_state": lambda: 0}, "initial_state\\(\\) returned a int"),
        ({"react": "not callable"}, "react must be a function"),
        ({"starts": [OpenTicket]}, "starts must be a tuple"),
        ({"starts": (OpenTicket, OpenTicket)}, "two commands named 'OpenTicket'"),
        ({"starts": (TicketAnswered,)}, "not a Command dataclass"),
        ({"consumes": (Unregistered,)}, "registry does not know"),
        ({"consumes": (Notify,)}, "not an Event class"),
        ({"starts": (), "consumes": ()}, "neither starts on a command nor consumes an event"),
        ({"registry": EventTypeRegistry()}, "registry does not know"),
    ],
)
def test_a_wrong_process_manager_is_refused(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidFlow, match=message):
        ticket_manager(**changes)


def test_a_right_process_manager_says_what_it_consumes_and_starts() -> None:
    manager = ticket_manager()
    assert manager.consumed_types() == {"test.ticket.answered.v1"}
    assert manager.starts_by_name() == {"OpenTicket": OpenTicket}
    assert manager.source == "urn:riverbed:process:test.ticket"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": " "}, "non-empty name"),
        ({"consumes": ()}, "non-empty tuple"),
        ({"consumes": (Unregistered,)}, "registry does not know"),
        ({"react": None}, "react must be a function"),
    ],
)
def test_a_wrong_reaction_is_refused(changes: dict[str, Any], message: str) -> None:
    fields: dict[str, Any] = {
        "name": "r",
        "consumes": (Notified,),
        "react": lambda event: None,
        "registry": ticket_events,
    }
    fields.update(changes)
    with pytest.raises(InvalidFlow, match=message):
        Reaction(**fields)
