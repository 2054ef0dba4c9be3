"""Lifecycle: starting -> replaying -> ready -> draining -> stopped, and the service registry."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from tests.bank_domain import Account, Deposit, OpenAccount, account_decider
from tests.command_side_support import deposits_service, withdrawals_service

from riverbed.adapters.memory.event_store import MemoryEventStore
from riverbed.application.command_service import ServiceOptions
from riverbed.errors import (
    DuplicateRegistration,
    InvalidCommand,
    ServiceDraining,
    ServiceReplaying,
    ServiceStarting,
    ServiceUnavailable,
    UnknownCommand,
)
from riverbed.ports.event_store import After, RecordedEvent
from riverbed.runtime.lifecycle import Lifecycle, LifecycleState, Progress, ServiceRunner
from riverbed.runtime.services import ServiceRegistry


class GatedStore(MemoryEventStore):
    """Holds ``read_all`` after its first batch until ``gate`` is set, to observe a replay in progress."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.batches = 0

    async def read_all(
        self, *, after: After = None, limit: int | None = None
    ) -> AsyncIterator[RecordedEvent]:
        self.batches += 1
        if self.batches > 1:
            await self.gate.wait()
        async for record in super().read_all(after=after, limit=limit):
            yield record


async def test_replaying_refuses_at_once_with_progress_then_ready() -> None:
    store = GatedStore()
    seed = deposits_service(store, Account)
    for i in range(10):
        await seed.handle(OpenAccount(account_id=f"a{i}", owner="Ada"), command_id=f"open-{i}")
    runner = ServiceRunner(
        deposits_service(store, Account, options=ServiceOptions(replay_batch=4)), retry_after=2
    )
    assert runner.state is LifecycleState.STARTING
    with pytest.raises(ServiceStarting):
        await runner.handle(Deposit(account_id="a1", amount=1), command_id="d-1")
    starting = asyncio.create_task(runner.start())
    for _ in range(100):
        await asyncio.sleep(0)
        if runner.progress.events_done:
            break
    progress = runner.progress
    assert progress.state is LifecycleState.REPLAYING
    assert not progress.ready
    assert (progress.events_done, progress.events_behind) == (4, 6)
    with pytest.raises(ServiceReplaying) as refused:
        await runner.handle(Deposit(account_id="a1", amount=1), command_id="d-1")
    assert isinstance(refused.value, ServiceUnavailable)
    assert (refused.value.events_done, refused.value.events_behind, refused.value.retry_after) == (4, 6, 2)
    assert "4 events done, 6 behind" in str(refused.value)
    store.gate.set()
    await starting
    assert runner.ready
    assert runner.progress.as_dict() == {
        "service": "bank.deposits",
        "state": "ready",
        "ready": True,
        "events_done": 10,
        "events_behind": 0,
        "in_flight": 0,
    }
    result = await runner.handle(Deposit(account_id="a1", amount=1), command_id="d-1")
    assert result.version == 1
    # replay filled the dedupe index: an old command id is answered from the store
    assert (await runner.handle(OpenAccount(account_id="a3", owner="Ada"), command_id="open-3")).duplicate


class SlowStore(MemoryEventStore):
    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()
        self.slow = False

    async def stream_version(self, stream: str) -> int | None:
        return await super().stream_version(stream)

    async def append(self, stream: str, events: Any, **kw: Any) -> Any:
        if self.slow:
            await self.release.wait()
        return await super().append(stream, events, **kw)


async def test_draining_finishes_in_flight_and_refuses_new_commands() -> None:
    store = SlowStore()
    runner = ServiceRunner(deposits_service(store, account_decider))
    await runner.start()
    await runner.handle(OpenAccount(account_id="a1", owner="Ada"), command_id="open")
    store.slow = True
    in_flight = asyncio.create_task(runner.handle(Deposit(account_id="a1", amount=5), command_id="d-1"))
    for _ in range(50):
        await asyncio.sleep(0)
    assert runner.progress.in_flight == 1
    stopping = asyncio.create_task(runner.stop(grace=30))
    await asyncio.sleep(0)
    assert runner.state is LifecycleState.DRAINING
    with pytest.raises(ServiceDraining):
        await runner.handle(Deposit(account_id="a1", amount=5), command_id="d-2")
    store.release.set()
    result = await in_flight
    await stopping
    assert result.version == 1
    assert runner.progress.state is LifecycleState.STOPPED
    with pytest.raises(ServiceDraining, match="stopped"):
        await runner.handle(Deposit(account_id="a1", amount=5), command_id="d-3")


def test_lifecycle_refuses_illegal_moves_and_notifies() -> None:
    lifecycle = Lifecycle("svc")
    seen: list[Progress] = []
    lifecycle.on_change(seen.append)
    with pytest.raises(RuntimeError, match="from starting to ready"):
        lifecycle.move(LifecycleState.READY)
    lifecycle.move(LifecycleState.REPLAYING)
    lifecycle.move(LifecycleState.READY)
    lifecycle.move(LifecycleState.DRAINING)
    with pytest.raises(RuntimeError):
        lifecycle.move(LifecycleState.READY)
    assert [p.state.value for p in seen] == ["replaying", "ready", "draining"]


async def test_registry_routes_each_command_to_its_one_owner() -> None:
    store = MemoryEventStore()
    deposits = ServiceRunner(deposits_service(store, Account))
    withdrawals = ServiceRunner(withdrawals_service(store, Account))
    registry = ServiceRegistry([deposits, withdrawals])
    assert registry.route("Withdraw") is withdrawals
    assert registry.route("Deposit") is deposits
    assert set(registry.commands) == {"OpenAccount", "Deposit", "Withdraw"}
    assert {name: p.state.value for name, p in registry.health().items()} == {
        "bank.deposits": "starting",
        "bank.withdrawals": "starting",
    }
    for runner in registry:
        await runner.start()
    await registry.handle("OpenAccount", {"account_id": "a1", "owner": "Ada"}, command_id="o")
    result = await registry.handle(
        "Withdraw", {"account_id": "a1", "amount": 3}, command_id="w", correlation_id="corr"
    )
    assert result.event_types == ("bank.account.withdrawal-refused.v1",)
    assert result.records[0].extensions["correlationid"] == "corr"
    with pytest.raises(UnknownCommand, match="Close"):
        registry.route("Close")
    with pytest.raises(InvalidCommand):
        await registry.handle("Deposit", {"account_id": "a1"}, command_id="bad")
    with pytest.raises(DuplicateRegistration, match="one owner"):
        registry.add(ServiceRunner(deposits_service(store, Account, name="bank.deposits.2")))
    assert registry.service("bank.deposits") is deposits
    with pytest.raises(KeyError, match="known services"):
        registry.service("nope")
