"""A reference-style bank account, written twice: as a class-style aggregate and as a functional decider.

Both share the commands and events, decide the same things, and are used by the command-side tests and the
two-process SLA proof. Insufficient funds is an event (WithdrawalRefused), not an exception; deciding on an
account that was never opened raises AccountNotOpen (a programming/caller error, not a business outcome).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from riverbed.domain import Aggregate, Command, Decider, Event, EventTypeRegistry, applies, handles

bank_events = EventTypeRegistry()


class AccountNotOpen(Exception):
    """The account must be opened before money moves."""


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenAccount(Command):
    account_id: str
    owner: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Deposit(Command):
    account_id: str
    amount: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Withdraw(Command):
    account_id: str
    amount: int


@bank_events.event("bank.account.opened.v2")
@dataclass(frozen=True, slots=True, kw_only=True)
class AccountOpened(Event):
    account_id: str
    holder: str


@bank_events.event("bank.account.money-deposited.v1")
@dataclass(frozen=True, slots=True, kw_only=True)
class MoneyDeposited(Event):
    account_id: str
    amount: int


@bank_events.event("bank.account.money-withdrawn.v1")
@dataclass(frozen=True, slots=True, kw_only=True)
class MoneyWithdrawn(Event):
    account_id: str
    amount: int


@bank_events.event("bank.account.withdrawal-refused.v1")
@dataclass(frozen=True, slots=True, kw_only=True)
class WithdrawalRefused(Event):
    account_id: str
    amount: int
    balance: int


def stream_of(command: OpenAccount | Deposit | Withdraw) -> str:
    return f"account-{command.account_id}"


# -- class style ------------------------------------------------------------------------------------------


@dataclass
class Account(Aggregate):
    aggregate_type = "bank.account"

    opened: bool = False
    holder: str = ""
    balance: int = 0

    @handles(OpenAccount)
    def open(self, command: OpenAccount) -> list[Event]:
        if self.opened:
            return []
        return [AccountOpened(account_id=command.account_id, holder=command.owner)]

    @handles(Deposit)
    def deposit(self, command: Deposit) -> list[Event]:
        if not self.opened:
            raise AccountNotOpen(command.account_id)
        return [MoneyDeposited(account_id=command.account_id, amount=command.amount)]

    @handles(Withdraw)
    def withdraw(self, command: Withdraw) -> list[Event]:
        if not self.opened:
            raise AccountNotOpen(command.account_id)
        if command.amount > self.balance:
            return [
                WithdrawalRefused(account_id=command.account_id, amount=command.amount, balance=self.balance)
            ]
        return [MoneyWithdrawn(account_id=command.account_id, amount=command.amount)]

    @applies(AccountOpened)
    def _opened(self, event: AccountOpened) -> None:
        self.opened = True
        self.holder = event.holder

    @applies(MoneyDeposited)
    def _deposited(self, event: MoneyDeposited) -> None:
        self.balance += event.amount

    @applies(MoneyWithdrawn)
    def _withdrawn(self, event: MoneyWithdrawn) -> None:
        self.balance -= event.amount


# -- functional style -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountState:
    opened: bool = False
    holder: str = ""
    balance: int = 0


def decide(state: AccountState, command: object) -> Sequence[Event]:
    match command:
        case OpenAccount(account_id=account_id, owner=owner):
            return [] if state.opened else [AccountOpened(account_id=account_id, holder=owner)]
        case Deposit(account_id=account_id, amount=amount):
            if not state.opened:
                raise AccountNotOpen(account_id)
            return [MoneyDeposited(account_id=account_id, amount=amount)]
        case Withdraw(account_id=account_id, amount=amount):
            if not state.opened:
                raise AccountNotOpen(account_id)
            if amount > state.balance:
                return [WithdrawalRefused(account_id=account_id, amount=amount, balance=state.balance)]
            return [MoneyWithdrawn(account_id=account_id, amount=amount)]
    raise TypeError(f"unknown command {command!r}")


def evolve(state: AccountState, event: object) -> AccountState:
    match event:
        case AccountOpened(holder=holder):
            return replace(state, opened=True, holder=holder)
        case MoneyDeposited(amount=amount):
            return replace(state, balance=state.balance + amount)
        case MoneyWithdrawn(amount=amount):
            return replace(state, balance=state.balance - amount)
    return state


account_decider: Decider[AccountState] = Decider(
    name="bank.account",
    initial_state=AccountState,
    decide=decide,
    evolve=evolve,
    commands=(OpenAccount, Deposit, Withdraw),
)
