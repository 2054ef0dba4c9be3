"""A tiny account domain for the end-to-end process tests, written with the command side's API."""

from __future__ import annotations

from dataclasses import dataclass

from riverbed import Aggregate, Command, Event, EventTypeRegistry, applies, handles
from riverbed.application.endpoints import CommandSpec

events = EventTypeRegistry()


@dataclass(frozen=True, slots=True, kw_only=True)
class Deposit(Command):
    account_id: str
    amount: int


@events.event("e2e.account.money-deposited.v1")
@dataclass(frozen=True, slots=True, kw_only=True)
class MoneyDeposited(Event):
    account_id: str
    amount: int


@dataclass
class Account(Aggregate):
    aggregate_type = "e2e.account"
    balance: int = 0

    @handles(Deposit)
    def deposit(self, command: Deposit) -> list[Event]:
        return [MoneyDeposited(account_id=command.account_id, amount=command.amount)]

    @applies(MoneyDeposited)
    def _deposited(self, event: MoneyDeposited) -> None:
        self.balance += event.amount


COMMANDS = [CommandSpec("Deposit", Deposit)]
