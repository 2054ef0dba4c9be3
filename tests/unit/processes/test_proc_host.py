"""ProcessHost (memory store): one transition event per message, idempotent redelivery, timers, tenants."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest
from tests.process_support import (
    REMIND_AFTER,
    T0,
    Clock,
    Notify,
    OpenTicket,
    Ticket,
    answered,
    ticket_manager,
)

from riverbed.adapters.memory.event_store import MemoryEventStore
from riverbed.application.processes import TRANSITION_TYPE, ProcessHost, TransitionRecord
from riverbed.domain import Transition
from riverbed.errors import UnknownCommand, ValidationError, WrongExpectedVersion
from riverbed.ports.event_store import ExpectedVersion


@pytest.fixture
async def store() -> MemoryEventStore:
    store = MemoryEventStore()
    await store.open()
    return store


async def test_a_start_command_appends_one_transition_event_with_everything_the_dispatcher_needs(
    store: MemoryEventStore,
) -> None:
    clock = Clock()
    host = ProcessHost(ticket_manager(), store, clock=clock)
    outcome = await host.start_command(
        OpenTicket(ticket_id="t1", title="printer"), command_id="c-1", tenant=None, correlation_id="corr-1"
    )

    records = [r async for r in store.read("ticket-t1")]
    assert len(records) == 1
    event = records[0].event
    assert event.type == TRANSITION_TYPE
    assert event.source == "urn:riverbed:process:test.ticket"
    assert event.subject == "ticket-t1"
    assert event.extensions["correlationid"] == "corr-1"
    assert event.extensions["causationid"] == "c-1"
    assert "tenant" not in event.extensions
    data = event.data
    assert isinstance(data, dict)
    assert data["message"] == {"kind": "command", "source": "", "id": "c-1", "type": "OpenTicket"}
    assert data["state"] == {"phase": "open", "ticket_id": "t1", "title": "printer", "reminders": 0}
    [command] = data["commands"]
    assert command["type"] == "Notify"
    assert command["payload"] == {"ticket_id": "t1", "text": "opened: printer"}
    uuid.UUID(command["id"])
    assert data["timers_set"] == [{"name": "reminder", "due_at": (T0 + REMIND_AFTER).isoformat()}]
    assert data["timers_cancelled"] == []
    assert data["fired"] is None
    assert outcome.stream == "ticket-t1"
    assert outcome.version == 0
    assert outcome.events == ({"id": event.id, "type": TRANSITION_TYPE},)
    assert not outcome.duplicate
    assert await host.state("t1") == Ticket(phase="open", ticket_id="t1", title="printer")


async def test_the_same_command_id_again_is_a_duplicate_that_appends_nothing(store: MemoryEventStore) -> None:
    host = ProcessHost(ticket_manager(), store, clock=Clock())
    first = await host.start_command(OpenTicket(ticket_id="t1", title="x"), command_id="c-1", tenant=None)
    again = await host.start_command(OpenTicket(ticket_id="t1", title="x"), command_id="c-1", tenant=None)
    assert again.duplicate
    assert (again.version, again.position, again.events) == (first.version, first.position, first.events)
    assert await store.stream_version("ticket-t1") == 0


async def test_a_transition_that_changes_nothing_appends_nothing(store: MemoryEventStore) -> None:
    host = ProcessHost(ticket_manager(), store, clock=Clock())
    await host.start_command(OpenTicket(ticket_id="t1", title="x"), command_id="c-1", tenant=None)
    # a second start under a new id: the ticket is open already, so start returns the state unchanged
    outcome = await host.start_command(OpenTicket(ticket_id="t1", title="x"), command_id="c-2", tenant=None)
    assert not outcome.duplicate
    assert outcome.events == ()
    assert await store.stream_version("ticket-t1") == 0


async def test_a_redelivered_event_is_handled_once(store: MemoryEventStore) -> None:
    host = ProcessHost(ticket_manager(), store, clock=Clock())
    await host.start_command(OpenTicket(ticket_id="t1", title="x"), command_id="c-1", tenant=None)
    assert await host.handle_event(answered("t1"))
    assert not await host.handle_event(answered("t1"))
    records = [r async for r in store.read("ticket-t1")]
    assert len(records) == 2
    data = records[1].event.data
    assert isinstance(data, dict)
    assert data["timers_cancelled"] == ["reminder"]
    assert records[1].event.extensions["causationid"] == "answer-1"
    assert (await host.state("t1")).phase == "answered"
    assert (await host.load("t1")).pending == {}


async def test_events_it_does_not_consume_or_cannot_route_are_ignored(store: MemoryEventStore) -> None:
    host = ProcessHost(ticket_manager(), store, clock=Clock())
    other = answered("t1").with_changes(type="test.something-else.v1")
    assert not await host.handle_event(other)
    unroutable = ProcessHost(ticket_manager(key_of=lambda message: None), store, clock=Clock())
    assert not await unroutable.handle_event(answered("t1"))
    assert (await store.stats()).events == 0


async def test_a_timer_fires_once_and_only_for_its_current_deadline(store: MemoryEventStore) -> None:
    clock = Clock()
    host = ProcessHost(ticket_manager(), store, clock=clock)
    await host.start_command(OpenTicket(ticket_id="t1", title="x"), command_id="c-1", tenant=None)
    due = T0 + REMIND_AFTER
    assert not await host.fire(None, "t1", "reminder", due + timedelta(seconds=1)), "a deadline never set"
    clock.advance(minutes=11)
    assert await host.fire(None, "t1", "reminder", due)
    assert not await host.fire(None, "t1", "reminder", due), "fired twice"
    fold = await host.load("t1")
    assert fold.state.reminders == 1
    # the reaction set the reminder again, for a new deadline computed from the clock at firing time
    assert fold.pending["reminder"].due_at == clock.now + REMIND_AFTER
    last = [r async for r in store.read("ticket-t1")][-1].event
    record = TransitionRecord.from_data(last.data)
    assert record.fired == "reminder"
    assert record.message.kind == "timer"
    first = [r async for r in store.read("ticket-t1", limit=1)]
    assert last.extensions["causationid"] == first[0].event.id


async def test_a_cancelled_timer_is_refused(store: MemoryEventStore) -> None:
    host = ProcessHost(ticket_manager(), store, clock=Clock())
    await host.start_command(OpenTicket(ticket_id="t1", title="x"), command_id="c-1", tenant=None)
    await host.handle_event(answered("t1"))
    assert not await host.fire(None, "t1", "reminder", T0 + REMIND_AFTER)
    assert await store.stream_version("ticket-t1") == 1


async def test_tenants_get_their_own_streams(store: MemoryEventStore) -> None:
    host = ProcessHost(ticket_manager(), store, clock=Clock())
    a = await host.start_command(OpenTicket(ticket_id="t1", title="a"), command_id="c-1", tenant="acme")
    b = await host.start_command(OpenTicket(ticket_id="t1", title="b"), command_id="c-1", tenant="globex")
    assert (a.stream, b.stream) == ("acme:ticket-t1", "globex:ticket-t1")
    assert not b.duplicate
    assert (await host.state("t1", tenant="acme")).title == "a"
    assert (await host.state("t1", tenant="globex")).title == "b"
    assert (await host.state("t1")).phase == "new"
    assert await host.handle_event(answered("t1", tenant="acme"))
    assert (await host.state("t1", tenant="acme")).phase == "answered"
    assert (await host.state("t1", tenant="globex")).phase == "open"
    [event, *_] = [r.event async for r in store.read("acme:ticket-t1")]
    assert event.extensions["tenant"] == "acme"
    with pytest.raises(ValidationError, match="must not contain ':'"):
        await host.start_command(OpenTicket(ticket_id="t2", title="x"), command_id="c-2", tenant="a:b")


async def test_two_hosts_racing_on_one_message_store_it_once(store: MemoryEventStore) -> None:
    one = ProcessHost(ticket_manager(), store, clock=Clock())
    two = ProcessHost(ticket_manager(), store, clock=Clock())
    await one.start_command(OpenTicket(ticket_id="t1", title="x"), command_id="c-1", tenant=None)
    results = await asyncio.gather(one.handle_event(answered("t1")), two.handle_event(answered("t1")))
    assert sorted(results) == [False, True]
    assert await store.stream_version("ticket-t1") == 1


async def test_a_version_clash_reloads_and_redecides(store: MemoryEventStore) -> None:
    host = ProcessHost(ticket_manager(), store, clock=Clock())
    await host.start_command(OpenTicket(ticket_id="t1", title="x"), command_id="c-1", tenant=None)
    real_append = store.append
    sneaked = False

    async def append_after_a_rival(stream, events, *, expected_version=ExpectedVersion.ANY):  # type: ignore[no-untyped-def]
        nonlocal sneaked
        if not sneaked:
            sneaked = True  # another host answers first
            rival = ProcessHost(ticket_manager(), store, clock=Clock())
            await rival.handle_event(answered("t1", event_id="answer-0"))
        return await real_append(stream, events, expected_version=expected_version)

    store.append = append_after_a_rival  # type: ignore[method-assign]
    assert not await host.handle_event(answered("t1", event_id="answer-1")), (
        "re-decided on the answered state"
    )
    assert host.conflicts == 1
    assert await store.stream_version("ticket-t1") == 1


async def test_a_clash_on_every_attempt_is_raised(store: MemoryEventStore) -> None:
    host = ProcessHost(ticket_manager(), store, clock=Clock(), max_attempts=2)

    async def always_clash(*args: object, **kwargs: object) -> None:
        raise WrongExpectedVersion("ticket-t1", expected=0, actual=1)

    store.append = always_clash  # type: ignore[method-assign,assignment]
    with pytest.raises(WrongExpectedVersion):
        await host.start_command(OpenTicket(ticket_id="t1", title="x"), command_id="c-1", tenant=None)
    assert host.conflicts == 2


async def test_bad_inputs_are_refused_before_any_effect(store: MemoryEventStore) -> None:
    host = ProcessHost(ticket_manager(), store, clock=Clock())
    with pytest.raises(UnknownCommand, match="does not start on Notify"):
        await host.start_command(Notify(ticket_id="t1", text="x"), command_id="c-1", tenant=None)
    with pytest.raises(ValidationError, match="command_id"):
        await host.start_command(OpenTicket(ticket_id="t1", title="x"), command_id="", tenant=None)
    with pytest.raises(ValidationError, match="process key"):
        await host.start_command(OpenTicket(ticket_id="", title="x"), command_id="c-1", tenant=None)
    undeclared = ProcessHost(ticket_manager(sends=(OpenTicket,)), store, clock=Clock())
    with pytest.raises(UnknownCommand, match="does not declare"):
        await undeclared.start_command(OpenTicket(ticket_id="t1", title="x"), command_id="c-1", tenant=None)
    wrong_state = ProcessHost(
        ticket_manager(start=lambda state, command: Transition(state="not a ticket")), store, clock=Clock()
    )
    with pytest.raises(TypeError, match="not a Ticket"):
        await wrong_state.start_command(OpenTicket(ticket_id="t1", title="x"), command_id="c-1", tenant=None)
    assert (await store.stats()).events == 0
