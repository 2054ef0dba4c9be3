"""The account aggregate as a functional decider: ``initial_state``, ``decide``, ``evolve``.

One stream per account holds everything that moves its money: the account services (``accounts``,
``deposits``, ``withdrawals``, ``payments``) each handle their own commands on this one aggregate and run with
their own SLAs; the store's optimistic concurrency keeps them consistent. Payments live on the account so a
payment can never spend money a concurrent withdrawal already took.

Every command is idempotent where the process manager may resend it: taking or refunding the payment of an
order twice decides nothing the second time.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from examples.bank.bank.messages import (
    AccountOpened,
    Deposit,
    MoneyDeposited,
    MoneyWithdrawn,
    OpenAccount,
    PaymentDeclined,
    PaymentRefunded,
    PaymentTaken,
    RefundPayment,
    TakePayment,
    Withdraw,
    WithdrawalRefused,
)
from examples.bank.kernel import RuleBroken
from riverbed.domain import Command, Decider, Event

INSUFFICIENT_FUNDS = "insufficient funds"
NO_SUCH_ACCOUNT = "no such account"

COMMANDS = (OpenAccount, Deposit, Withdraw, TakePayment, RefundPayment)


@dataclass(frozen=True, slots=True, kw_only=True)
class Account:
    """What deciding needs to know about an account."""

    opened: bool = False
    account_id: str = ""
    branch_city: str = ""
    balance: int = 0
    payments: dict[str, int] = field(default_factory=dict)
    """Amount taken per order id (kept after a refund, so a resent TakePayment is still a no-op)."""
    refunded: frozenset[str] = frozenset()


def initial_state() -> Account:
    """The state of an account nobody has opened yet."""
    return Account()


def decide(state: Account, command: Command) -> list[Event]:
    """The events ``command`` causes; raises RuleBroken for a command the caller must fix."""
    match command:
        case OpenAccount():
            return _open(state, command)
        case Deposit(account_id=account_id, amount=amount):
            _require_open(state, account_id)
            _require_positive(amount)
            return [MoneyDeposited(account_id=account_id, amount=amount, balance=state.balance + amount)]
        case Withdraw(account_id=account_id, amount=amount):
            _require_open(state, account_id)
            _require_positive(amount)
            if amount > state.balance:
                return [
                    WithdrawalRefused(
                        account_id=account_id, amount=amount, balance=state.balance, reason=INSUFFICIENT_FUNDS
                    )
                ]
            return [MoneyWithdrawn(account_id=account_id, amount=amount, balance=state.balance - amount)]
        case TakePayment():
            return _take_payment(state, command)
        case RefundPayment(order_id=order_id, account_id=account_id):
            if order_id not in state.payments or order_id in state.refunded:
                return []
            amount = state.payments[order_id]
            return [
                PaymentRefunded(
                    order_id=order_id, account_id=account_id, amount=amount, balance=state.balance + amount
                )
            ]
    raise TypeError(f"the account does not decide {type(command).__name__}; it decides {_names(COMMANDS)}")


def evolve(state: Account, event: Event) -> Account:
    """The account after ``event``."""
    match event:
        case AccountOpened(account_id=account_id, branch_city=city):
            return replace(state, opened=True, account_id=account_id, branch_city=city)
        case MoneyDeposited(balance=balance) | MoneyWithdrawn(balance=balance):
            return replace(state, balance=balance)
        case PaymentTaken(order_id=order_id, amount=amount, balance=balance):
            return replace(state, balance=balance, payments={**state.payments, order_id: amount})
        case PaymentRefunded(order_id=order_id, balance=balance):
            return replace(state, balance=balance, refunded=state.refunded | {order_id})
    # WithdrawalRefused and PaymentDeclined change nothing that deciding needs.
    return state


decider: Decider[Account] = Decider(
    name="bank.account",
    initial_state=initial_state,
    decide=decide,
    evolve=evolve,
    commands=COMMANDS,
    state_type=Account,
)
"""The aggregate as riverbed's :class:`~riverbed.domain.Decider`, for services and given/when/then tests."""


def _open(state: Account, command: OpenAccount) -> list[Event]:
    if state.opened:
        raise RuleBroken(f"account {command.account_id!r} is already open; choose another account id")
    for name in ("account_id", "owner", "branch_city"):
        if not getattr(command, name).strip():
            raise RuleBroken(f"OpenAccount.{name} must not be empty")
    return [
        AccountOpened(account_id=command.account_id, owner=command.owner, branch_city=command.branch_city)
    ]


def _take_payment(state: Account, command: TakePayment) -> list[Event]:
    _require_positive(command.amount)
    if command.order_id in state.payments:
        return []
    declined = None
    if not state.opened:
        declined = NO_SUCH_ACCOUNT
    elif command.amount > state.balance:
        declined = INSUFFICIENT_FUNDS
    if declined is not None:
        return [
            PaymentDeclined(
                order_id=command.order_id,
                account_id=command.account_id,
                amount=command.amount,
                reason=declined,
            )
        ]
    return [
        PaymentTaken(
            order_id=command.order_id,
            account_id=command.account_id,
            amount=command.amount,
            balance=state.balance - command.amount,
        )
    ]


def _require_open(state: Account, account_id: str) -> None:
    if not state.opened:
        raise RuleBroken(f"there is no account {account_id!r}; open it first with OpenAccount")


def _require_positive(amount: int) -> None:
    if amount <= 0:
        raise RuleBroken(f"the amount must be a positive number of pence, got {amount}")


def _names(classes: tuple[type, ...]) -> str:
    return ", ".join(cls.__name__ for cls in classes)
