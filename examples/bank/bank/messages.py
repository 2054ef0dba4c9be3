"""The bank's public language: the commands it accepts and the events it publishes.

Other contexts may import this module (it is the published contract); nothing else of the bank.
"""

from __future__ import annotations

from dataclasses import dataclass

from examples.bank.kernel import bank_event
from riverbed.domain import Command, Event


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenAccount(Command):
    account_id: str
    owner: str
    branch_city: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Deposit(Command):
    account_id: str
    amount: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Withdraw(Command):
    account_id: str
    amount: int


@dataclass(frozen=True, slots=True, kw_only=True)
class TakePayment(Command):
    """Take ``amount`` from the account for ``order_id``; answered by PaymentTaken or PaymentDeclined."""

    order_id: str
    account_id: str
    amount: int


@dataclass(frozen=True, slots=True, kw_only=True)
class RefundPayment(Command):
    """Give back what was taken for ``order_id`` (a payment that arrived after the checkout gave up)."""

    order_id: str
    account_id: str


@bank_event("bank.account.opened.v1")
@dataclass(frozen=True, slots=True, kw_only=True)
class AccountOpened(Event):
    account_id: str
    owner: str
    branch_city: str


@bank_event("bank.account.money-deposited.v1")
@dataclass(frozen=True, slots=True, kw_only=True)
class MoneyDeposited(Event):
    account_id: str
    amount: int
    balance: int
    """The balance after the deposit."""


@bank_event("bank.account.money-withdrawn.v1")
@dataclass(frozen=True, slots=True, kw_only=True)
class MoneyWithdrawn(Event):
    account_id: str
    amount: int
    balance: int
    """The balance after the withdrawal."""


@bank_event("bank.account.withdrawal-refused.v1")
@dataclass(frozen=True, slots=True, kw_only=True)
class WithdrawalRefused(Event):
    """Insufficient funds is a fact worth keeping, not an exception."""

    account_id: str
    amount: int
    balance: int
    reason: str


@bank_event("bank.payment.taken.v1")
@dataclass(frozen=True, slots=True, kw_only=True)
class PaymentTaken(Event):
    order_id: str
    account_id: str
    amount: int
    balance: int
    """The account's balance after the payment."""


@bank_event("bank.payment.declined.v1")
@dataclass(frozen=True, slots=True, kw_only=True)
class PaymentDeclined(Event):
    order_id: str
    account_id: str
    amount: int
    reason: str


@bank_event("bank.payment.refunded.v1")
@dataclass(frozen=True, slots=True, kw_only=True)
class PaymentRefunded(Event):
    order_id: str
    account_id: str
    amount: int
    balance: int
    """The account's balance after the refund."""


def account_stream(account_id: str) -> str:
    """The stream that holds an account's events (all four bank services write to it)."""
    return f"bank.account-{account_id}"
