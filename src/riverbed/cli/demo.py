"""``riverbed demo``: a short, real tour of the event store, run by ``make run``.

It opens a SQLite file under ``./.riverbed/``, appends the events of a new bank account (domain events
mapped to CloudEvents), shows optimistic concurrency refusing a stale write and an idempotent retry storing
nothing, reads the stream back and folds it into a balance. Each run adds one account, so the file grows
and every run shows the events of the runs before.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

import typer
from rich.console import Console

from riverbed.bootstrap import open_store
from riverbed.cli.running import redact, run
from riverbed.cloudevents import from_cloudevent, to_cloudevent
from riverbed.cloudevents.codec import dumps
from riverbed.domain import Event, EventTypeRegistry
from riverbed.errors import WrongExpectedVersion
from riverbed.ports.event_store import ExpectedVersion

DEFAULT_URL = "sqlite:///.riverbed/demo.db"
SOURCE = "urn:riverbed:demo"

registry = EventTypeRegistry()
"""The demo's own registry, so the demo's types never leak into an application's."""


@registry.event("demo.account.opened.v1")
@dataclass(frozen=True, slots=True, kw_only=True)
class AccountOpened(Event):
    """An account was opened for an owner."""

    account_id: str
    owner: str


@registry.event("demo.account.money-deposited.v1")
@dataclass(frozen=True, slots=True, kw_only=True)
class MoneyDeposited(Event):
    """Money was paid into the account."""

    account_id: str
    amount: Decimal


@registry.event("demo.account.money-withdrawn.v1")
@dataclass(frozen=True, slots=True, kw_only=True)
class MoneyWithdrawn(Event):
    """Money was taken out of the account."""

    account_id: str
    amount: Decimal


def balance_of(events: list[Event]) -> Decimal:
    """Fold an account's events into its balance."""
    balance = Decimal(0)
    for event in events:
        if isinstance(event, MoneyDeposited):
            balance += event.amount
        elif isinstance(event, MoneyWithdrawn):
            balance -= event.amount
    return balance


def _prepare_directory(url: str) -> None:
    """Create the directory of a relative or absolute SQLite file, e.g. ``./.riverbed/``."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite" and parts.path not in ("", "/"):
        Path(parts.path[1:] if parts.path.startswith("/") else parts.path).parent.mkdir(
            parents=True, exist_ok=True
        )


def demo(
    url: Annotated[str, typer.Option(help="Store URL to run the demo against.")] = DEFAULT_URL,
) -> None:
    """Append and read events in a SQLite file under ./.riverbed/ and print what happened."""
    console = Console(highlight=False, soft_wrap=True, markup=False)

    async def main() -> None:
        _prepare_directory(url)
        account = f"account-{uuid.uuid4().hex[:6]}"
        console.print(f"riverbed demo: event store at {redact(url)}")
        async with open_store(url) as store:
            opened = to_cloudevent(
                AccountOpened(account_id=account, owner="Ada"),
                source=SOURCE,
                subject=account,
                registry=registry,
            )
            first = await store.append(account, [opened], expected_version=ExpectedVersion.NO_STREAM)
            console.print(
                f"1. appended {opened.type} to {account!r} (expected: no stream) "
                f"-> version {first.last_version}, global position {first.last_position}"
            )
            moves = [
                to_cloudevent(
                    MoneyDeposited(account_id=account, amount=Decimal("100.00")),
                    source=SOURCE,
                    registry=registry,
                ),
                to_cloudevent(
                    MoneyWithdrawn(account_id=account, amount=Decimal("30.50")),
                    source=SOURCE,
                    registry=registry,
                ),
            ]
            second = await store.append(account, moves, expected_version=first.next_expected_version)
            console.print(
                f"2. appended a deposit and a withdrawal atomically (expected: version {first.last_version}) "
                f"-> versions {second.first_version}..{second.last_version}"
            )
            stale = to_cloudevent(
                MoneyWithdrawn(account_id=account, amount=Decimal("500")), source=SOURCE, registry=registry
            )
            try:
                await store.append(account, [stale], expected_version=first.next_expected_version)
                raise AssertionError("a stale expected version was accepted")
            except WrongExpectedVersion as exc:
                console.print(f"3. a writer with a stale view was refused, nothing stored: {exc}")
            retry = await store.append(account, [opened], expected_version=ExpectedVersion.NO_STREAM)
            console.print(
                f"4. re-sent the first event (same id): idempotent, still version {retry.last_version} "
                f"at position {retry.last_position}"
            )
            console.print(f"5. read {account!r} back:")
            domain_events: list[Event] = []
            async for rec in store.read(account):
                domain_events.append(from_cloudevent(rec.event, registry=registry))
                console.print(f"   v{rec.version} @{rec.position} {rec.event.type} {dumps(rec.event.data)}")
            console.print(f"   balance: {balance_of(domain_events)}")
            counts = await store.stats()
            console.print(
                f"6. the store now holds {counts.events} event(s) in {counts.streams} stream(s) "
                f"(last global position {counts.last_position})"
            )
        console.print("done: run it again and the next account joins the same file.")

    run(main)
