"""Replay mode, snapshots, upcasting and unknown types on memory, SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest
from tests.bank_domain import (
    Account,
    AccountState,
    Deposit,
    MoneyDeposited,
    OpenAccount,
    Withdraw,
    account_decider,
    decide,
    evolve,
)
from tests.command_side_stores import Stores, opened, store_url
from tests.command_side_support import bank_service

from riverbed.application.command_service import ServiceOptions
from riverbed.bootstrap import create_snapshot_store
from riverbed.cloudevents.event import CloudEvent
from riverbed.domain import Aggregate, Decider, UpcasterChain
from riverbed.errors import ServiceReplaying, StoreClosed, UnknownEventType
from riverbed.ports.event_store import After, EventStore, RecordedEvent
from riverbed.ports.snapshot_store import Snapshot
from riverbed.runtime.lifecycle import LifecycleState, ServiceRunner

KINDS = [
    pytest.param("memory"),
    pytest.param("sqlite"),
    pytest.param("postgres", marks=pytest.mark.postgres),
]


@pytest.fixture(params=KINDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    pg = request.getfixturevalue("pg_schema_url") if request.param == "postgres" else None
    return store_url(request.param, tmp_path, pg)


@pytest.fixture
async def stores(url: str) -> AsyncIterator[Stores]:
    async with opened(url) as both:
        yield both


async def _history(stores: Stores, aggregate: type[Aggregate] | Decider[Any], deposits: int) -> None:
    service = bank_service(stores.events, aggregate, snapshots=stores.snapshots)
    await service.handle(OpenAccount(account_id="a1", owner="Ada"), command_id="open")
    for i in range(deposits):
        await service.handle(Deposit(account_id="a1", amount=i + 1), command_id=f"d-{i}")


# -- replay mode ----------------------------------------------------------------------------------------


async def test_replay_rebuilds_dedupe_after_a_restart(url: str) -> None:
    async with opened(url) as first:
        await _history(first, Account, deposits=5)
        if url == "memory://":
            events = first.events  # nothing survives a memory restart: reuse the store itself
            runner = ServiceRunner(bank_service(events, Account))
            await runner.start()
            assert runner.progress.events_done == 6
            return
    async with opened(url) as again:
        runner = ServiceRunner(bank_service(again.events, Account))
        await runner.start()
        assert runner.ready
        assert runner.progress.events_done == 6
        assert runner.progress.events_behind == 0
        repeat = await runner.handle(Deposit(account_id="a1", amount=3), command_id="d-2")
        assert repeat.duplicate
        assert repeat.version == 3
        fresh = await runner.handle(Withdraw(account_id="a1", amount=15), command_id="w-1")
        assert fresh.version == 6
        assert not fresh.duplicate
        assert (await again.events.stats()).events == 7


# -- snapshots ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("aggregate", [Account, account_decider], ids=["class", "decider"])
async def test_snapshots_every_n_events_are_used_on_load(
    stores: Stores, aggregate: type[Aggregate] | Decider[Any]
) -> None:
    options = ServiceOptions(snapshot_every=4)
    service = bank_service(stores.events, aggregate, snapshots=stores.snapshots, options=options)
    await service.handle(OpenAccount(account_id="a1", owner="Ada"), command_id="open")
    for i in range(6):  # versions 1..6: the append to version 3 and to version 7 would cross multiples of 4
        await service.handle(Deposit(account_id="a1", amount=10), command_id=f"d-{i}")
    snapshot = await stores.snapshots.load("account-a1")
    assert snapshot is not None
    assert (snapshot.version, snapshot.aggregate_type, snapshot.schema_version) == (3, "bank.account", 1)
    assert json.loads(snapshot.state)["balance"] == 30
    await service.handle(Deposit(account_id="a1", amount=10), command_id="d-6")
    assert (await stores.snapshots.load("account-a1")).version == 7

    # A planted snapshot proves a cold service starts from it (the events alone would say 70).
    planted = json.dumps({"opened": True, "holder": "Ada", "balance": 1000})
    await stores.snapshots.delete("account-a1")
    await stores.snapshots.save(Snapshot("account-a1", "bank.account", 5, 1, planted))
    cold = bank_service(stores.events, aggregate, snapshots=stores.snapshots, options=options)
    loaded = await cold.load("account-a1")
    assert (loaded.version, loaded.state.balance) == (7, 1020)


@pytest.mark.parametrize(
    ("aggregate_type", "schema_version", "state"),
    [
        ("bank.account", 99, '{"opened": true, "holder": "Ada", "balance": 1000}'),
        ("bank.other", 1, '{"opened": true, "holder": "Ada", "balance": 1000}'),
        ("bank.account", 1, '{"opened": true, "holder": "Ada", "bal'),
        ("bank.account", 1, '{"opened": true, "colour": "red"}'),
        ("bank.account", 1, "[1, 2]"),
    ],
    ids=["unknown-version", "other-aggregate", "truncated", "wrong-fields", "not-an-object"],
)
async def test_unusable_snapshots_are_ignored(
    stores: Stores, aggregate_type: str, schema_version: int, state: str
) -> None:
    await _history(stores, account_decider, deposits=4)
    await stores.snapshots.save(Snapshot("account-a1", aggregate_type, 2, schema_version, state))
    for aggregate in (Account, account_decider):
        options = ServiceOptions(snapshot_every=100)
        cold = bank_service(stores.events, aggregate, snapshots=stores.snapshots, options=options)
        loaded = await cold.load("account-a1")
        assert (loaded.version, loaded.state.balance) == (4, 10)


async def test_snapshot_store_keeps_the_newest(stores: Stores) -> None:
    await stores.snapshots.save(Snapshot("s", "t", 5, 1, "{}"))
    await stores.snapshots.save(Snapshot("s", "t", 3, 1, '{"old": 1}'))
    assert (await stores.snapshots.load("s")) == Snapshot("s", "t", 5, 1, "{}")
    await stores.snapshots.save(Snapshot("s", "t", 9, 2, '{"new": 1}'))
    assert (await stores.snapshots.load("s")) == Snapshot("s", "t", 9, 2, '{"new": 1}')
    await stores.snapshots.delete("s")
    assert await stores.snapshots.load("s") is None


# -- upcasting ------------------------------------------------------------------------------------------


def _old(type_name: str, data: dict[str, object]) -> CloudEvent:
    return CloudEvent(source="urn:legacy-bank", type=type_name, data=data)


def legacy_upcasters() -> UpcasterChain:
    chain = UpcasterChain()
    chain.register(
        "bank.account.opened.v1",
        "bank.account.opened.v2",
        lambda d: {"account_id": d["account_id"], "holder": d["owner"]},
    )
    # a three-step chain: credited.v1 (cents, 'account') -> credited.v2 ('account_id') -> money-deposited.v1
    chain.register(
        "bank.account.credited.v1",
        "bank.account.credited.v2",
        lambda d: {"account_id": d["account"], "cents": d["cents"]},
    )
    chain.register(
        "bank.account.credited.v2",
        "bank.account.money-deposited.v1",
        lambda d: {"account_id": d["account_id"], "amount": d["cents"] // 100},
    )
    return chain


@pytest.mark.parametrize("aggregate", [Account, account_decider], ids=["class", "decider"])
async def test_old_stored_events_are_upcast_on_read_and_never_rewritten(
    stores: Stores, aggregate: type[Aggregate] | Decider[Any]
) -> None:
    old = [
        _old("bank.account.opened.v1", {"account_id": "a1", "owner": "Ada"}),
        _old("bank.account.credited.v1", {"account": "a1", "cents": 2500}),
        _old("bank.account.credited.v2", {"account_id": "a1", "cents": 700}),
        _old("bank.account.money-deposited.v1", {"account_id": "a1", "amount": 1}),
    ]
    await stores.events.append("account-a1", old)
    service = bank_service(stores.events, aggregate, upcasters=legacy_upcasters())
    loaded = await service.load("account-a1")
    assert (loaded.version, loaded.state.holder, loaded.state.balance) == (3, "Ada", 33)
    result = await service.handle(Withdraw(account_id="a1", amount=33), command_id="w-1")
    assert result.version == 4
    stored = [(r.event.type, r.event.data) async for r in stores.events.read("account-a1")]
    assert stored[:4] == [(e.type, e.data) for e in old]
    assert stored[4][0] == "bank.account.money-withdrawn.v1"


async def test_unknown_event_type_names_type_and_stream(stores: Stores) -> None:
    await _history(stores, Account, deposits=1)
    await stores.events.append("account-a1", [_old("bank.account.frozen.v1", {"reason": "audit"})])
    service = bank_service(stores.events, Account)
    with pytest.raises(UnknownEventType, match=r"'bank\.account\.frozen\.v1' in stream 'account-a1'") as info:
        await service.load("account-a1")
    assert (info.value.type_name, info.value.stream) == ("bank.account.frozen.v1", "account-a1")
    # without the upcasters, an old shape is just as unknown
    await stores.events.append(
        "account-b1", [_old("bank.account.opened.v1", {"account_id": "b1", "owner": "Bo"})]
    )
    with pytest.raises(UnknownEventType, match=r"opened\.v1"):
        await service.handle(Deposit(account_id="b1", amount=1), command_id="x")


@dataclass
class TolerantAccount(Account):
    aggregate_type = "bank.account"
    ignores_unknown_events = True


async def test_aggregates_that_ignore_unknown_types_skip_them(stores: Stores) -> None:
    await _history(stores, Account, deposits=2)
    await stores.events.append("account-a1", [_old("bank.account.frozen.v1", {"reason": "audit"})])
    tolerant = Decider(
        name="bank.account",
        initial_state=AccountState,
        decide=decide,
        evolve=evolve,
        ignores_unknown_events=True,
    )
    for aggregate in (TolerantAccount, tolerant):
        loaded = await bank_service(stores.events, aggregate).load("account-a1")
        assert (loaded.version, loaded.state.balance) == (3, 3)
    result = await bank_service(stores.events, TolerantAccount).handle(
        Deposit(account_id="a1", amount=1), command_id="after-frozen"
    )
    assert result.events == (MoneyDeposited(account_id="a1", amount=1),)
    assert result.version == 4


async def test_a_replica_that_missed_the_command_never_applies_it_twice(stores: Stores) -> None:
    """Cross-replica dedupe rides on derived event ids and the store's idempotent append."""
    # Snapshots after every event: the cold replica starts from version 2 and never reads dep-1's event,
    # so only the store's refusal of the re-derived event id can stop the second apply.
    every = ServiceOptions(snapshot_every=1)
    first = bank_service(stores.events, Account, snapshots=stores.snapshots, options=every)
    await first.handle(OpenAccount(account_id="a1", owner="Ada"), command_id="open")
    original = await first.handle(Deposit(account_id="a1", amount=5), command_id="dep-1")
    await first.handle(Deposit(account_id="a1", amount=6), command_id="dep-2")
    assert (await stores.snapshots.load("account-a1")).version == 2
    cold_options = ServiceOptions(cache_size=0, snapshot_every=1000)
    cold = bank_service(stores.events, account_decider, snapshots=stores.snapshots, options=cold_options)
    again = await cold.handle(Deposit(account_id="a1", amount=5), command_id="dep-1")
    assert again.duplicate
    assert (again.version, again.last_position) == (original.version, original.last_position)
    assert [e.id for e in again.records] == [e.id for e in original.records]
    assert (await stores.events.stats()).events == 3


class GatedReads:
    """Wraps a real store; holds every ``read_all`` batch after the first until ``gate`` is set."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self.gate = asyncio.Event()
        self.batches = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    async def read_all(
        self, *, after: After = None, limit: int | None = None
    ) -> AsyncIterator[RecordedEvent]:
        self.batches += 1
        if self.batches > 1:
            await self.gate.wait()
        async for record in self.store.read_all(after=after, limit=limit):
            yield record


async def test_replaying_refuses_commands_with_progress_until_caught_up(stores: Stores) -> None:
    await _history(stores, Account, deposits=9)  # 10 events
    gated = GatedReads(stores.events)
    service = bank_service(cast(EventStore, gated), Account, options=ServiceOptions(replay_batch=3))
    runner = ServiceRunner(service, retry_after=0.5)
    starting = asyncio.create_task(runner.start())
    for _ in range(1000):
        await asyncio.sleep(0.001)
        if runner.progress.events_done:
            break
    assert (runner.state, runner.progress.events_done, runner.progress.events_behind) == (
        LifecycleState.REPLAYING,
        3,
        7,
    )
    with pytest.raises(ServiceReplaying) as refused:
        await runner.handle(Deposit(account_id="a1", amount=1), command_id="d-9")
    assert (refused.value.events_done, refused.value.events_behind, refused.value.retry_after) == (3, 7, 0.5)
    gated.gate.set()
    await starting
    assert runner.ready
    assert runner.progress.events_done == 10
    assert runner.progress.events_behind == 0
    assert (await runner.handle(Deposit(account_id="a1", amount=9), command_id="d-8")).duplicate
    assert (await stores.events.stats()).events == 10


async def test_a_closed_snapshot_store_refuses_calls(url: str) -> None:
    snapshots = create_snapshot_store(url)
    await snapshots.open()
    await snapshots.save(Snapshot("s", "t", 1, 1, "{}"))
    await snapshots.close()
    await snapshots.close()  # closing twice is harmless
    for call in (snapshots.load("s"), snapshots.save(Snapshot("s", "t", 2, 1, "{}")), snapshots.delete("s")):
        with pytest.raises(StoreClosed, match="closed"):
            await call
