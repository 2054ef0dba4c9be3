"""ProcessDispatcher (memory store): sends recorded commands, survives crashes and restarts, fires timers."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from tests.process_support import (
    REMIND_AFTER,
    T0,
    Clock,
    OpenTicket,
    RecordingSender,
    answered,
    notes,
    notifications_endpoint,
    ticket_manager,
)

from riverbed.adapters.memory.event_store import MemoryEventStore
from riverbed.adapters.memory.inbox import MemoryRelayCheckpoints
from riverbed.application.endpoints import CommandOutcome
from riverbed.application.processes import CommandRouter, ProcessHost
from riverbed.domain import Command
from riverbed.errors import InvalidFlow, ServiceUnavailable, ValidationError
from riverbed.ports.event_store import Checkpoint
from riverbed.runtime.process_dispatcher import ProcessDispatcher


class Rig:
    """The ticket process, its notifications service and a dispatcher, all on one memory store."""

    def __init__(self, store: MemoryEventStore, router: CommandRouter, clock: Clock) -> None:
        self.store = store
        self.router = router
        self.clock = clock
        self.checkpoints = MemoryRelayCheckpoints()
        self.host = ProcessHost(ticket_manager(), store, clock=clock)
        self.sender = RecordingSender(router)

    def dispatcher(self, sender: Any = None, **options: Any) -> ProcessDispatcher:
        """A fresh dispatcher (and a fresh host): what a restarted process would build."""
        self.host = ProcessHost(ticket_manager(), self.store, clock=self.clock)
        options.setdefault("retry_initial", 0.001)
        options.setdefault("retry_max", 0.002)
        return ProcessDispatcher(self.host, sender or self.sender, self.checkpoints, **options)

    async def open(self, ticket_id: str = "t1") -> None:
        await self.host.start_command(
            OpenTicket(ticket_id=ticket_id, title="printer"), command_id=f"open-{ticket_id}", tenant=None
        )


@pytest.fixture
async def rig() -> Rig:
    store = MemoryEventStore()
    await store.open()
    return Rig(store, CommandRouter([await notifications_endpoint(store)]), Clock())


async def test_recorded_commands_are_sent_once_and_not_again_after_a_restart(rig: Rig) -> None:
    await rig.open()
    first = rig.dispatcher()
    assert await first.run_until_caught_up() == 1
    assert first.sent == 1
    assert await notes(rig.store, "t1") == ["opened: printer"]
    second = rig.dispatcher()
    await second.run_until_caught_up()
    assert second.sent == 0
    assert rig.sender.first_sends() == [rig.sender.calls[0][1]]


async def test_a_crash_between_append_and_dispatch_loses_nothing(rig: Rig) -> None:
    await rig.open()  # appended; no dispatcher ran (the process died here)
    assert await notes(rig.store, "t1") == []
    dispatcher = rig.dispatcher()
    await dispatcher.run_until_caught_up()
    assert await notes(rig.store, "t1") == ["opened: printer"]
    assert dispatcher.sent == 1


class FailingSaves(MemoryRelayCheckpoints):
    async def save(self, name: str, checkpoint: Checkpoint) -> None:
        raise OSError("disk gone")


async def test_a_crash_after_sending_but_before_the_checkpoint_resends_and_the_owner_deduplicates(
    rig: Rig,
) -> None:
    await rig.open()
    crashing = ProcessDispatcher(rig.host, rig.sender, FailingSaves())
    with pytest.raises(OSError, match="disk gone"):
        await crashing.run_until_caught_up()
    restarted = rig.dispatcher()
    await restarted.run_until_caught_up()
    assert [c[2] for c in rig.sender.calls] == [False, True], "re-sent with the same id, answered duplicate"
    assert len({c[1] for c in rig.sender.calls}) == 1
    assert await notes(rig.store, "t1") == ["opened: printer"]


async def test_a_timer_fires_when_due_and_its_commands_are_sent(rig: Rig) -> None:
    await rig.open()
    dispatcher = rig.dispatcher()
    await dispatcher.run_until_caught_up()
    assert dispatcher.pending_timers == 1
    assert dispatcher.next_due() == T0 + REMIND_AFTER
    rig.clock.advance(minutes=9)
    await dispatcher.run_until_caught_up()
    assert dispatcher.fired == 0
    rig.clock.advance(minutes=2)
    await dispatcher.run_until_caught_up()
    assert dispatcher.fired == 1
    assert dispatcher.pending_timers == 1, "the reminder was set again"
    assert await notes(rig.store, "t1") == ["opened: printer", "reminder 1"]
    rig.clock.advance(minutes=10)
    await dispatcher.run_until_caught_up()
    assert (await rig.host.state("t1")).phase == "escalated"
    assert dispatcher.pending_timers == 0
    assert await notes(rig.store, "t1") == ["opened: printer", "reminder 1", "reminder 2"]


async def test_a_pending_timer_survives_a_restart_and_fires_once(rig: Rig) -> None:
    await rig.open("t1")
    first = rig.dispatcher()
    await first.run_until_caught_up()
    for n in range(2, 5):  # later transitions move the dispatched checkpoint past the timer's setter
        await rig.open(f"t{n}")
        await rig.host.handle_event(answered(f"t{n}", event_id=f"a{n}"))
        await first.run_until_caught_up()
    dispatched = await rig.checkpoints.load(f"{first.name}:dispatched")
    timers = await rig.checkpoints.load(f"{first.name}:timers")
    assert dispatched is not None
    assert timers is not None
    assert timers < dispatched
    rig.clock.advance(minutes=11)
    restarted = rig.dispatcher()
    await restarted.run_until_caught_up(fire_due=False)
    assert restarted.sent == 0, "nothing before the dispatched checkpoint is sent again"
    assert restarted.pending_timers == 1
    await restarted.run_until_caught_up()
    assert restarted.fired == 1
    again = rig.dispatcher()
    rig.clock.advance(minutes=1)
    await again.run_until_caught_up(fire_due=False)
    assert again.pending_timers == 1, "the reminder set by the firing"
    assert await notes(rig.store, "t1") == ["opened: printer", "reminder 1"]


async def test_a_cancelled_timer_never_fires_after_a_restart(rig: Rig) -> None:
    await rig.open()
    await rig.dispatcher().run_until_caught_up()
    await rig.host.handle_event(answered("t1"))
    rig.clock.advance(hours=5)
    restarted = rig.dispatcher()
    await restarted.run_until_caught_up()
    assert (restarted.fired, restarted.pending_timers) == (0, 0)
    assert await notes(rig.store, "t1") == ["opened: printer", "answered"]


class Flaky:
    """Fails ``failures`` times with ``error``, then delegates."""

    def __init__(self, inner: Any, error: Exception, failures: int) -> None:
        self.inner, self.error, self.failures = inner, error, failures

    async def send(self, command: Command, **kwargs: Any) -> CommandOutcome:
        if self.failures:
            self.failures -= 1
            raise self.error
        outcome: CommandOutcome = await self.inner.send(command, **kwargs)
        return outcome


async def test_an_unavailable_owner_is_retried_until_it_takes_the_command(rig: Rig) -> None:
    await rig.open()
    dispatcher = rig.dispatcher(Flaky(rig.router, ServiceUnavailable("replaying"), failures=3))
    await dispatcher.run_until_caught_up()
    assert (dispatcher.sent, dispatcher.retries, dispatcher.refused) == (1, 3, 0)
    assert await notes(rig.store, "t1") == ["opened: printer"]


async def test_a_refused_command_is_counted_and_skipped(rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    await rig.open("t1")
    await rig.open("t2")
    dispatcher = rig.dispatcher(Flaky(rig.router, ValidationError("no such ticket"), failures=1))
    await dispatcher.run_until_caught_up()
    assert (dispatcher.sent, dispatcher.refused) == (1, 1)
    assert await notes(rig.store, "t1") == []
    assert await notes(rig.store, "t2") == ["opened: printer"]
    assert "'t1'" in caplog.text
    assert "no such ticket" in caplog.text


async def test_a_sender_that_cannot_rebuild_commands_is_refused_at_wiring_time(rig: Rig) -> None:
    host = ProcessHost(ticket_manager(sends=()), rig.store, clock=rig.clock)
    with pytest.raises(InvalidFlow, match="sends"):
        ProcessDispatcher(host, rig.sender, rig.checkpoints)
    ProcessDispatcher(host, rig.router, rig.checkpoints)  # a router knows its command classes


async def test_run_replays_then_follows_live_and_fires_by_the_clock(rig: Rig) -> None:
    await rig.open("t1")
    dispatcher = rig.dispatcher(timer_tick=0.01)
    stop = asyncio.Event()
    task = asyncio.create_task(dispatcher.run(stop=stop))
    await _until(lambda: rig.host.lifecycle == "ready")
    await _until(lambda: dispatcher.sent == 1)
    await rig.host.start_command(OpenTicket(ticket_id="t2", title="x"), command_id="open-t2", tenant=None)
    await _until(lambda: dispatcher.sent == 2)
    assert dispatcher.pending_timers == 2
    await rig.host.handle_event(answered("t2"))
    await _until(lambda: dispatcher.sent == 3)
    rig.clock.advance(minutes=11)
    await _until(lambda: dispatcher.fired == 1)
    await _until(lambda: dispatcher.sent == 4)
    stop.set()
    await task
    assert rig.host.lifecycle == "stopped"
    assert await notes(rig.store, "t1") == ["opened: printer", "reminder 1"]
    assert await notes(rig.store, "t2") == ["opened: x", "answered"]
    restarted = rig.dispatcher()
    await restarted.run_until_caught_up()
    assert (restarted.sent, restarted.fired, restarted.pending_timers) == (0, 0, 1)


async def _until(condition: Any) -> None:
    while not condition():  # noqa: ASYNC110 - polling the dispatcher's progress is the point
        await asyncio.sleep(0.005)
