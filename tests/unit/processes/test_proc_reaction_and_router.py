"""Reactions send derived command ids (a redelivery runs nothing twice); the router; the process endpoint."""

from __future__ import annotations

from typing import Any

import pytest
from tests.process_support import (
    Clock,
    Notified,
    Notify,
    OpenTicket,
    RecordingSender,
    notes,
    notifications_endpoint,
    ticket_events,
    ticket_manager,
)

from riverbed.adapters.memory.event_store import MemoryEventStore
from riverbed.application.endpoints import CommandRequest
from riverbed.application.processes import (
    CommandRouter,
    ProcessEndpoint,
    ProcessHost,
    Reaction,
    ReactionHandler,
)
from riverbed.cloudevents.mapping import to_cloudevent
from riverbed.domain import Command
from riverbed.errors import (
    DuplicateRegistration,
    InvalidCommand,
    ServiceReplaying,
    ServiceStarting,
    UnknownCommand,
)


@pytest.fixture
async def store() -> MemoryEventStore:
    store = MemoryEventStore()
    await store.open()
    return store


def echo(event: Notified) -> list[Command]:
    """Two commands per event, to check the index in the derived ids."""
    return [
        Notify(ticket_id=f"echo-{event.ticket_id}", text="1"),
        Notify(ticket_id=f"echo-{event.ticket_id}", text="2"),
    ]


async def test_a_redelivered_event_sends_the_same_ids_and_the_owner_runs_nothing_twice(
    store: MemoryEventStore,
) -> None:
    sender = RecordingSender(CommandRouter([await notifications_endpoint(store)]))
    handler = ReactionHandler(
        Reaction(name="echo", consumes=(Notified,), react=echo, registry=ticket_events), sender
    )
    event = to_cloudevent(
        Notified(ticket_id="t1", text="x"),
        source="urn:test",
        id="ev-1",
        registry=ticket_events,
        extensions={"tenant": "acme", "correlationid": "corr-9"},
    )
    await handler(event)
    await handler(event)
    assert await notes(store, "echo-t1", tenant="acme") == ["1", "2"], (
        "the non-idempotent owner ran each once"
    )
    first, second = sender.calls[:2], sender.calls[2:]
    assert [c[1] for c in first] == [c[1] for c in second]
    assert len({c[1] for c in first}) == 2
    assert [c[2] for c in sender.calls] == [False, False, True, True]
    assert (handler.sent, handler.duplicates) == (4, 2)
    stored = [r.event async for r in store.read("acme:notes-echo-t1")]
    assert {e.extensions["correlationid"] for e in stored} == {"corr-9"}
    assert {e.extensions["causationid"] for e in stored} == {"ev-1"}


async def test_a_reaction_ignores_other_types_and_may_send_nothing(store: MemoryEventStore) -> None:
    sender = RecordingSender(CommandRouter([await notifications_endpoint(store)]))
    handler = ReactionHandler(
        Reaction(name="quiet", consumes=(Notified,), react=lambda event: None, registry=ticket_events), sender
    )
    event = to_cloudevent(Notified(ticket_id="t1", text="x"), source="urn:test", registry=ticket_events)
    assert await handler.handle(event) == []
    assert await handler.handle(event.with_changes(type="other.type.v1")) == []

    def wrong(event: Notified) -> Any:
        return "nope"

    bad = ReactionHandler(
        Reaction(name="bad", consumes=(Notified,), react=wrong, registry=ticket_events), sender
    )
    with pytest.raises(TypeError, match="return a Command"):
        await bad(event)
    assert sender.calls == []


async def test_without_a_tenant_the_router_sends_an_empty_tenant_which_runner_endpoints_read_as_none(
    store: MemoryEventStore,
) -> None:
    router = CommandRouter([await notifications_endpoint(store)])
    outcome = await router.send(
        Notify(ticket_id="t1", text="hi"), command_id="n-1", tenant=None, correlation_id="c"
    )
    assert outcome.stream == "notes-t1"
    assert await notes(store, "t1") == ["hi"]


async def test_the_router_refuses_unknown_and_doubly_owned_commands(store: MemoryEventStore) -> None:
    endpoint = await notifications_endpoint(store)
    with pytest.raises(UnknownCommand, match="OpenTicket"):
        CommandRouter([endpoint], require=(OpenTicket,))
    router = CommandRouter([endpoint])
    with pytest.raises(UnknownCommand, match="no endpoint accepts command 'OpenTicket'"):
        await router.send(
            OpenTicket(ticket_id="t", title="x"), command_id="x", tenant=None, correlation_id="c"
        )
    twin = await notifications_endpoint(store)
    twin.name = "twin"
    with pytest.raises(DuplicateRegistration, match="one owner"):
        CommandRouter([endpoint, twin])


async def test_the_process_endpoint_takes_start_commands_only_when_ready(store: MemoryEventStore) -> None:
    host = ProcessHost(ticket_manager(), store, clock=Clock())
    endpoint = ProcessEndpoint(host)
    assert list(endpoint.commands()) == ["OpenTicket"]
    assert endpoint.commands()["OpenTicket"].model is OpenTicket
    request = CommandRequest(
        command="OpenTicket",
        payload={"ticket_id": "t1", "title": "x"},
        tenant="acme",
        command_id="c-1",
        correlation_id="corr",
    )
    assert (await endpoint.status()).state == "starting"
    with pytest.raises(ServiceStarting):
        await endpoint.send(request)
    host.move_to("replaying", progress={"events_done": 3, "events_behind": 4})
    with pytest.raises(ServiceReplaying) as refused:
        await endpoint.send(request)
    assert (refused.value.events_done, refused.value.events_behind) == (3, 4)
    host.move_to("ready")
    outcome = await endpoint.send(request)
    assert outcome.stream == "acme:ticket-t1"
    assert (await endpoint.send(request)).duplicate
    with pytest.raises(InvalidCommand):
        await endpoint.send(
            CommandRequest(
                command="OpenTicket",
                payload={"ticket_id": 1},
                tenant="acme",
                command_id="c-2",
                correlation_id="corr",
            )
        )
    with pytest.raises(UnknownCommand):
        await endpoint.send(
            CommandRequest(
                command="Notify", payload={}, tenant="acme", command_id="c-3", correlation_id="corr"
            )
        )
    assert (await endpoint.status()).state == "ready"
