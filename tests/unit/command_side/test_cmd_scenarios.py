"""The reference bank account, covered by given/when/then in both aggregate styles."""

from __future__ import annotations

from typing import Any

import pytest
from tests.bank_domain import (
    Account,
    AccountNotOpen,
    AccountOpened,
    Deposit,
    MoneyDeposited,
    MoneyWithdrawn,
    OpenAccount,
    Withdraw,
    WithdrawalRefused,
    account_decider,
    bank_events,
)

from riverbed.domain import Aggregate, Decider
from riverbed.testing import given

STYLES = pytest.mark.parametrize("aggregate", [Account, account_decider], ids=["class", "decider"])
OPENED = AccountOpened(account_id="a1", holder="Ada")

AggregateType = type[Aggregate] | Decider[Any]


@STYLES
def test_opening_a_new_account(aggregate: AggregateType) -> None:
    given([], aggregate=aggregate, registry=bank_events).when(OpenAccount(account_id="a1", owner="Ada")).then(
        [OPENED]
    )


@STYLES
def test_opening_twice_decides_nothing(aggregate: AggregateType) -> None:
    given([OPENED], aggregate=aggregate).when(OpenAccount(account_id="a1", owner="Bob")).then([])


@STYLES
def test_deposit(aggregate: AggregateType) -> None:
    given([OPENED], aggregate=aggregate).when(Deposit(account_id="a1", amount=30)).then(
        [MoneyDeposited(account_id="a1", amount=30)]
    )


@STYLES
def test_withdraw_within_balance(aggregate: AggregateType) -> None:
    history = [OPENED, MoneyDeposited(account_id="a1", amount=30)]
    given(history, aggregate=aggregate).when(Withdraw(account_id="a1", amount=30)).then(
        [MoneyWithdrawn(account_id="a1", amount=30)]
    )


@STYLES
def test_insufficient_funds_is_an_event(aggregate: AggregateType) -> None:
    history = [OPENED, MoneyDeposited(account_id="a1", amount=30), MoneyWithdrawn(account_id="a1", amount=20)]
    given(history, aggregate=aggregate, registry=bank_events).when(Withdraw(account_id="a1", amount=11)).then(
        [WithdrawalRefused(account_id="a1", amount=11, balance=10)]
    )


@STYLES
def test_money_on_an_unopened_account_raises(aggregate: AggregateType) -> None:
    error = (
        given([], aggregate=aggregate)
        .when(Deposit(account_id="zz", amount=1))
        .then_raises(AccountNotOpen, match="zz")
    )
    assert isinstance(error, AccountNotOpen)


@STYLES
def test_then_fails_on_other_events(aggregate: AggregateType) -> None:
    scenario = given([OPENED], aggregate=aggregate).when(Withdraw(account_id="a1", amount=5))
    with pytest.raises(AssertionError, match="WithdrawalRefused"):
        scenario.then([MoneyWithdrawn(account_id="a1", amount=5)])


@STYLES
def test_then_raises_fails_when_nothing_raised(aggregate: AggregateType) -> None:
    scenario = given([OPENED], aggregate=aggregate).when(Deposit(account_id="a1", amount=5))
    with pytest.raises(AssertionError, match="expected to raise AccountNotOpen"):
        scenario.then_raises(AccountNotOpen)


@STYLES
def test_then_raises_checks_the_message(aggregate: AggregateType) -> None:
    scenario = given([], aggregate=aggregate).when(Deposit(account_id="a1", amount=5))
    with pytest.raises(AssertionError, match="does not match"):
        scenario.then_raises(AccountNotOpen, match="other")


def test_both_styles_fold_to_the_same_balance() -> None:
    history = [OPENED, MoneyDeposited(account_id="a1", amount=7), MoneyWithdrawn(account_id="a1", amount=2)]
    cls_state = given(history, aggregate=Account).state()
    fn_state = given(history, aggregate=account_decider).state()
    assert (cls_state.balance, cls_state.holder) == (fn_state.balance, fn_state.holder) == (5, "Ada")


def test_when_is_required() -> None:
    with pytest.raises(AssertionError, match="when"):
        given([], aggregate=Account).then([])
