"""The command service's unit of work on the memory store: dedupe, retries, validation, extensions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pytest
from tests.bank_domain import (
    Account,
    AccountOpened,
    Deposit,
    MoneyWithdrawn,
    OpenAccount,
    Withdraw,
    WithdrawalRefused,
    account_decider,
    bank_events,
    stream_of,
)
from tests.command_side_support import FIXED_TIME, bank_service, deposits_service

from riverbed.adapters.memory.event_store import MemoryEventStore
from riverbed.application.command_service import CommandService, ServiceOptions
from riverbed.cloudevents.event import CloudEvent
from riverbed.domain import Aggregate, Decider
from riverbed.errors import (
    InvalidCloudEvent,
    InvalidCommand,
    UnknownCommand,
    ValidationError,
    WrongExpectedVersion,
)
from riverbed.ports.event_store import AppendResult, Expected, ExpectedVersion

STYLES = pytest.mark.parametrize("aggregate", [Account, account_decider], ids=["class", "decider"])
AggregateType = type[Aggregate] | Decider[Any]


async def _open(service: CommandService[Any], account: str = "a1") -> None:
    await service.handle(OpenAccount(account_id=account, owner="Ada"), command_id=f"open-{account}")


@STYLES
async def test_commands_append_events_and_return_positions(aggregate: AggregateType) -> None:
    store = MemoryEventStore()
    service = bank_service(store, aggregate)
    opened = await service.handle(OpenAccount(account_id="a1", owner="Ada"), command_id="c1")
    assert opened.events == (AccountOpened(account_id="a1", holder="Ada"),)
    assert (opened.stream, opened.version, opened.first_position, opened.last_position) == (
        "account-a1",
        0,
        1,
        1,
    )
    deposited = await service.handle(Deposit(account_id="a1", amount=10), command_id="c2")
    assert deposited.version == 1
    refused = await service.handle(Withdraw(account_id="a1", amount=11), command_id="c3")
    assert refused.events == (WithdrawalRefused(account_id="a1", amount=11, balance=10),)
    assert refused.event_types == ("bank.account.withdrawal-refused.v1",)
    taken = await service.handle(Withdraw(account_id="a1", amount=4), command_id="c4")
    assert taken.events == (MoneyWithdrawn(account_id="a1", amount=4),)
    assert taken.version == 3
    assert not taken.duplicate
    assert (await service.load("account-a1")).state.balance == 6


async def test_events_carry_command_tracing_and_tenant_extensions() -> None:
    store = MemoryEventStore()
    service = bank_service(store, Account)
    result = await service.handle(
        OpenAccount(account_id="a1", owner="Ada"),
        command_id="cmd-1",
        correlation_id="corr-9",
        causation_id="evt-3",
        traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        tenant="acme",
    )
    assert result.stream == "acme:account-a1"
    [record] = [r async for r in store.read("acme:account-a1")]
    event = record.event
    assert event.source == "urn:riverbed:service:bank.accounts"
    assert event.type == "bank.account.opened.v2"
    assert event.subject == "acme:account-a1"
    assert event.time == FIXED_TIME
    assert dict(event.extensions) == {
        "commandid": "cmd-1",
        "correlationid": "corr-9",
        "causationid": "evt-3",
        "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "tenant": "acme",
    }
    plain = await service.handle(OpenAccount(account_id="a2", owner="Bo"), command_id="cmd-2")
    assert plain.records[0].extensions["correlationid"] == "cmd-2"
    assert plain.records[0].extensions["causationid"] == "cmd-2"


@STYLES
async def test_same_command_id_returns_the_first_result_and_appends_nothing(aggregate: AggregateType) -> None:
    store = MemoryEventStore()
    service = bank_service(store, aggregate)
    await _open(service)
    first = await service.handle(Deposit(account_id="a1", amount=5), command_id="dep-1")
    again = await service.handle(Deposit(account_id="a1", amount=5), command_id="dep-1")
    assert again.duplicate
    assert not first.duplicate
    assert (again.events, again.version, again.last_position) == (
        first.events,
        first.version,
        first.last_position,
    )
    assert [r.id for r in again.records] == [r.id for r in first.records]
    assert (await store.stats()).events == 2


@STYLES
async def test_dedupe_survives_a_restart_through_replay(aggregate: AggregateType) -> None:
    store = MemoryEventStore()
    await _open(bank_service(store, aggregate))
    await bank_service(store, aggregate).handle(Deposit(account_id="a1", amount=5), command_id="dep-1")
    restarted = bank_service(store, aggregate)
    assert await restarted.replay() == 2
    again = await restarted.handle(Deposit(account_id="a1", amount=5), command_id="dep-1")
    assert again.duplicate
    assert again.version == 1
    assert (await store.stats()).events == 2


@STYLES
async def test_dedupe_without_replay_relies_on_deterministic_event_ids(aggregate: AggregateType) -> None:
    """A replica whose index missed the command still never applies it twice."""
    store = MemoryEventStore()
    first = bank_service(store, aggregate)
    await _open(first)
    original = await first.handle(Deposit(account_id="a1", amount=5), command_id="dep-1")
    await first.handle(Deposit(account_id="a1", amount=7), command_id="dep-2")
    cold = bank_service(store, aggregate, options=ServiceOptions(cache_size=0))  # no replay, no cache
    again = await cold.handle(Deposit(account_id="a1", amount=5), command_id="dep-1")
    assert again.duplicate
    assert again.version == original.version == 1
    assert (await store.stats()).events == 3
    # the same id on the stream tail is spotted while loading
    newest = await cold.handle(Deposit(account_id="a1", amount=7), command_id="dep-2")
    assert newest.duplicate
    assert newest.version == 2


async def test_other_service_keeps_its_own_command_ids() -> None:
    store = MemoryEventStore()
    deposits = deposits_service(store, Account)
    await deposits.handle(OpenAccount(account_id="a1", owner="Ada"), command_id="x-1")
    withdrawals = bank_service(store, Account, name="bank.withdrawals", commands=(Withdraw,))
    await withdrawals.replay()
    result = await withdrawals.handle(Withdraw(account_id="a1", amount=1), command_id="x-1")
    assert not result.duplicate
    assert result.event_types == ("bank.account.withdrawal-refused.v1",)


class ClashingStore(MemoryEventStore):
    """Slips a competing deposit in before the first ``clashes`` appends of the service."""

    def __init__(self, clashes: int) -> None:
        super().__init__()
        self.clashes = clashes
        self.attempts = 0

    async def append(
        self, stream: str, events: Sequence[CloudEvent], *, expected_version: Expected = ExpectedVersion.ANY
    ) -> AppendResult:
        if events[0].source.startswith("urn:riverbed:service:") and stream == "account-a1":
            self.attempts += 1
            if self.clashes > 0:
                self.clashes -= 1
                rival = CloudEvent(
                    source="urn:rival",
                    type="bank.account.money-deposited.v1",
                    data={"account_id": "a1", "amount": 1},
                )
                await super().append(stream, [rival])
        return await super().append(stream, events, expected_version=expected_version)


@STYLES
async def test_version_clash_reloads_and_decides_again(aggregate: AggregateType) -> None:
    store = ClashingStore(clashes=0)
    service = bank_service(store, aggregate, options=ServiceOptions(max_attempts=3))
    await _open(service)
    store.clashes, store.attempts = 2, 0
    result = await service.handle(Withdraw(account_id="a1", amount=2), command_id="w-1")
    assert store.attempts == 3
    # two rival deposits of 1 landed first; the decision was taken on the new balance of 2
    assert result.events == (MoneyWithdrawn(account_id="a1", amount=2),)
    assert result.version == 3
    versions = [r.version async for r in store.read("account-a1")]
    assert versions == [0, 1, 2, 3]


async def test_version_clash_gives_up_after_max_attempts() -> None:
    store = ClashingStore(clashes=0)
    service = bank_service(store, Account, options=ServiceOptions(max_attempts=2))
    await _open(service)
    store.clashes, store.attempts = 5, 0
    with pytest.raises(WrongExpectedVersion):
        await service.handle(Deposit(account_id="a1", amount=2), command_id="d-1")
    assert store.attempts == 2
    assert [r.event.source async for r in store.read("account-a1")].count("urn:rival") == 2


async def test_boundary_validation() -> None:
    service = bank_service(MemoryEventStore(), Account)
    assert set(service.models) == {"OpenAccount", "Deposit", "Withdraw"}
    assert service.parse("Deposit", {"account_id": "a", "amount": 3}) == Deposit(account_id="a", amount=3)
    with pytest.raises(InvalidCommand, match="extra"):
        service.parse("Deposit", {"account_id": "a", "amount": 3, "extra": 1})
    with pytest.raises(UnknownCommand, match="Close"):
        service.parse("Close", {})
    with pytest.raises(UnknownCommand, match="Withdraw"):
        await deposits_service(MemoryEventStore(), Account).handle(
            Withdraw(account_id="a", amount=1), command_id="c"
        )
    with pytest.raises(ValidationError, match="must not contain ':'"):
        await service.handle(Deposit(account_id="a", amount=1), command_id="c", tenant="a:b")
    with pytest.raises(ValidationError, match="command_id"):
        await service.handle(Deposit(account_id="a", amount=1), command_id="")


async def test_service_declaration_is_checked() -> None:
    class Other:
        pass

    with pytest.raises(TypeError, match="does not decide"):
        bank_service(MemoryEventStore(), Account, commands=(Other,))
    with pytest.raises(TypeError, match="snapshot store"):
        bank_service(MemoryEventStore(), Account, options=ServiceOptions(snapshot_every=5))
    with pytest.raises(ValueError, match="max_attempts"):
        bank_service(MemoryEventStore(), Account, options=ServiceOptions(max_attempts=0))


async def test_command_that_decides_nothing_appends_nothing() -> None:
    store = MemoryEventStore()
    service = bank_service(store, account_decider)
    await _open(service)
    result = await service.handle(OpenAccount(account_id="a1", owner="Zed"), command_id="again")
    assert result.events == ()
    assert result.version == 0
    assert result.last_position is None
    assert (await store.stats()).events == 1


async def test_cache_picks_up_events_written_by_others() -> None:
    store = MemoryEventStore()
    service = bank_service(store, Account)
    await _open(service)
    other = bank_service(store, Account)
    await other.handle(Deposit(account_id="a1", amount=9), command_id="o-1")
    result = await service.handle(Withdraw(account_id="a1", amount=9), command_id="w-1")
    assert result.events == (MoneyWithdrawn(account_id="a1", amount=9),)
    assert (await service.load("account-a1")).state.balance == 0


async def test_bad_source_and_naive_clock_are_refused() -> None:
    with pytest.raises(InvalidCloudEvent, match="source"):
        CommandService(
            name="x",
            aggregate=Account,
            commands=(Deposit,),
            stream=stream_of,
            store=MemoryEventStore(),
            source="",
        )
    naive: CommandService[Account] = CommandService(
        name="x",
        aggregate=Account,
        commands=(OpenAccount,),
        stream=stream_of,
        store=MemoryEventStore(),
        registry=bank_events,
        clock=datetime.now,
    )
    with pytest.raises(InvalidCloudEvent, match="timezone-aware"):
        await naive.handle(OpenAccount(account_id="a", owner="Ada"), command_id="c")
