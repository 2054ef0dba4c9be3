"""Given/when/then with riverbed.testing on the bank's deciders (events also round-trip through JSON)."""

from __future__ import annotations

from examples.bank.bank import account
from examples.bank.bank.messages import (
    AccountOpened,
    MoneyDeposited,
    PaymentTaken,
    TakePayment,
    Withdraw,
    WithdrawalRefused,
)
from examples.bank.compliance import monitoring
from examples.bank.compliance.messages import MonitoringRuleSetUp
from examples.bank.kernel import RuleBroken, registry
from examples.bank.shop import stock
from examples.bank.shop.messages import ReserveStock, StockAdded, StockReservationFailed

from riverbed.domain import fold
from riverbed.testing import given

OPENED = AccountOpened(account_id="a1", owner="Ada", branch_city="Leeds")
FUNDED = MoneyDeposited(account_id="a1", amount=100, balance=100)


def test_insufficient_funds_is_an_event() -> None:
    given([OPENED, FUNDED], aggregate=account.decider, registry=registry).when(
        Withdraw(account_id="a1", amount=101)
    ).then([WithdrawalRefused(account_id="a1", amount=101, balance=100, reason="insufficient funds")])


def test_withdrawing_from_an_unopened_account_is_refused() -> None:
    given([], aggregate=account.decider, registry=registry).when(
        Withdraw(account_id="a1", amount=1)
    ).then_raises(RuleBroken, match="open it first")


def test_a_resent_payment_takes_nothing() -> None:
    taken = PaymentTaken(order_id="o1", account_id="a1", amount=60, balance=40)
    given([OPENED, FUNDED, taken], aggregate=account.decider, registry=registry).when(
        TakePayment(order_id="o1", account_id="a1", amount=60)
    ).then([])


def test_stock_reservation_failure_is_an_event() -> None:
    given([StockAdded(sku="mug", quantity=1, available=1)], aggregate=stock.decider, registry=registry).when(
        ReserveStock(order_id="o1", sku="mug", quantity=2)
    ).then([StockReservationFailed(order_id="o1", sku="mug", quantity=2, available=1)])


def test_the_compliance_reaction_sets_up_one_rule() -> None:
    given([], aggregate=monitoring.decider, registry=registry).when(
        monitoring.on_account_opened(OPENED)
    ).then([MonitoringRuleSetUp(account_id="a1", rule="large-movements", threshold=1_000_000)])


def test_account_state_survives_a_snapshot() -> None:
    state = fold(
        account.decider, [OPENED, FUNDED, PaymentTaken(order_id="o1", account_id="a1", amount=5, balance=95)]
    )
    assert account.decider.restore(account.decider.snapshot_state(state)) == state
