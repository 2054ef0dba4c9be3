"""Building blocks shared by the command-side tests, the two-process worker and the benchmark."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from riverbed.application.command_service import CommandService, ServiceOptions
from riverbed.domain import Aggregate, Decider, UpcasterChain
from riverbed.ports.event_store import EventStore
from riverbed.ports.snapshot_store import SnapshotStore
from tests.bank_domain import Deposit, OpenAccount, Withdraw, bank_events, stream_of

FIXED_TIME = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def fixed_clock() -> datetime:
    return FIXED_TIME


def bank_service(
    store: EventStore,
    aggregate: type[Aggregate] | Decider[Any],
    *,
    name: str = "bank.accounts",
    commands: Sequence[type[Any]] = (OpenAccount, Deposit, Withdraw),
    snapshots: SnapshotStore | None = None,
    options: ServiceOptions | None = None,
    upcasters: UpcasterChain | None = None,
) -> CommandService[Any]:
    return CommandService(
        name=name,
        aggregate=aggregate,
        commands=commands,
        stream=stream_of,
        store=store,
        snapshots=snapshots,
        options=options,
        registry=bank_events,
        upcasters=upcasters if upcasters is not None else UpcasterChain(),
        clock=fixed_clock,
    )


def deposits_service(
    store: EventStore, aggregate: type[Aggregate] | Decider[Any], **kw: Any
) -> CommandService[Any]:
    """The fast-SLA service: opens accounts and takes deposits."""
    kw.setdefault("name", "bank.deposits")
    return bank_service(store, aggregate, commands=(OpenAccount, Deposit), **kw)


def withdrawals_service(
    store: EventStore, aggregate: type[Aggregate] | Decider[Any], **kw: Any
) -> CommandService[Any]:
    """The careful-SLA service: withdrawals only."""
    kw.setdefault("name", "bank.withdrawals")
    return bank_service(store, aggregate, commands=(Withdraw,), **kw)
