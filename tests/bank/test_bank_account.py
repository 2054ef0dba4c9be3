"""The account decider: open, deposit, withdraw (insufficient funds is an event), take and refund payments."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from examples.bank.bank import account
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
from hypothesis import given, settings
from hypothesis import strategies as st

from riverbed.domain import Command, Event
from riverbed.errors import ValidationError

OPENED = AccountOpened(account_id="a1", owner="Ada", branch_city="Manchester")


def decide_after(history: Sequence[Event], command: Command) -> list[Event]:
    state = account.initial_state()
    for event in history:
        state = account.evolve(state, event)
    return account.decide(state, command)


def test_opening_an_account_records_its_branch_city() -> None:
    command = OpenAccount(account_id="a1", owner="Ada", branch_city="Manchester")
    assert decide_after([], command) == [OPENED]


def test_an_account_cannot_be_opened_twice() -> None:
    with pytest.raises(RuleBroken, match="already open"):
        decide_after([OPENED], OpenAccount(account_id="a1", owner="Bob", branch_city="Leeds"))


def test_an_empty_owner_is_refused() -> None:
    with pytest.raises(RuleBroken, match=r"OpenAccount\.owner must not be empty"):
        decide_after([], OpenAccount(account_id="a1", owner=" ", branch_city="Leeds"))


def test_deposit_then_withdraw_carry_the_balance_after() -> None:
    deposited = MoneyDeposited(account_id="a1", amount=500, balance=500)
    assert decide_after([OPENED], Deposit(account_id="a1", amount=500)) == [deposited]
    assert decide_after([OPENED, deposited], Withdraw(account_id="a1", amount=200)) == [
        MoneyWithdrawn(account_id="a1", amount=200, balance=300)
    ]


def test_insufficient_funds_is_an_event_not_an_error() -> None:
    deposited = MoneyDeposited(account_id="a1", amount=100, balance=100)
    assert decide_after([OPENED, deposited], Withdraw(account_id="a1", amount=101)) == [
        WithdrawalRefused(account_id="a1", amount=101, balance=100, reason="insufficient funds")
    ]


@pytest.mark.parametrize("command", [Deposit(account_id="zz", amount=1), Withdraw(account_id="zz", amount=1)])
def test_money_cannot_move_on_an_account_nobody_opened(command: Command) -> None:
    with pytest.raises(RuleBroken, match="there is no account 'zz'; open it first"):
        decide_after([], command)


@pytest.mark.parametrize("amount", [0, -5])
def test_amounts_must_be_positive(amount: int) -> None:
    with pytest.raises(ValidationError, match="positive number of pence"):
        decide_after([OPENED], Deposit(account_id="a1", amount=amount))


def test_a_payment_is_taken_once_per_order_even_when_resent() -> None:
    history: list[Event] = [OPENED, MoneyDeposited(account_id="a1", amount=1000, balance=1000)]
    pay = TakePayment(order_id="o1", account_id="a1", amount=300)
    taken = decide_after(history, pay)
    assert taken == [PaymentTaken(order_id="o1", account_id="a1", amount=300, balance=700)]
    assert decide_after([*history, *taken], pay) == []


@pytest.mark.parametrize(
    ("history", "reason"),
    [
        ([], "no such account"),
        ([OPENED, MoneyDeposited(account_id="a1", amount=299, balance=299)], "insufficient funds"),
    ],
)
def test_a_payment_that_cannot_be_taken_is_declined(history: list[Event], reason: str) -> None:
    pay = TakePayment(order_id="o1", account_id="a1", amount=300)
    assert decide_after(history, pay) == [
        PaymentDeclined(order_id="o1", account_id="a1", amount=300, reason=reason)
    ]


def test_a_refund_gives_the_payment_back_once() -> None:
    history: list[Event] = [
        OPENED,
        MoneyDeposited(account_id="a1", amount=1000, balance=1000),
        PaymentTaken(order_id="o1", account_id="a1", amount=300, balance=700),
    ]
    refund = RefundPayment(order_id="o1", account_id="a1")
    refunded = decide_after(history, refund)
    assert refunded == [PaymentRefunded(order_id="o1", account_id="a1", amount=300, balance=1000)]
    assert decide_after([*history, *refunded], refund) == []
    # A refunded order stays paid-for: resending its TakePayment takes nothing again.
    assert decide_after([*history, *refunded], TakePayment(order_id="o1", account_id="a1", amount=300)) == []


def test_refunding_an_order_that_was_never_paid_does_nothing() -> None:
    assert decide_after([OPENED], RefundPayment(order_id="o9", account_id="a1")) == []


def test_a_command_the_account_does_not_decide_is_a_programming_error() -> None:
    with pytest.raises(TypeError, match="does not decide Command"):
        decide_after([OPENED], Command())


commands = st.one_of(
    st.builds(Deposit, account_id=st.just("a1"), amount=st.integers(1, 500)),
    st.builds(Withdraw, account_id=st.just("a1"), amount=st.integers(1, 500)),
    st.builds(
        TakePayment,
        order_id=st.sampled_from(["o1", "o2", "o3"]),
        account_id=st.just("a1"),
        amount=st.integers(1, 500),
    ),
    st.builds(RefundPayment, order_id=st.sampled_from(["o1", "o2", "o3"]), account_id=st.just("a1")),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(commands, max_size=40))
def test_the_balance_is_never_negative_and_equals_money_in_minus_money_out(script: list[Command]) -> None:
    state = account.evolve(account.initial_state(), OPENED)
    money_in = money_out = 0
    for command in script:
        for event in account.decide(state, command):
            state = account.evolve(state, event)
            match event:
                case MoneyDeposited(amount=amount) | PaymentRefunded(amount=amount):
                    money_in += amount
                case MoneyWithdrawn(amount=amount) | PaymentTaken(amount=amount):
                    money_out += amount
        assert state.balance >= 0
    assert state.balance == money_in - money_out
