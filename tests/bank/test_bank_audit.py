"""The audit finds each kind of inconsistency it promises to find (and passes a consistent history)."""

from __future__ import annotations

from examples.bank.audit import audit
from examples.bank.bank.messages import (
    AccountOpened,
    MoneyDeposited,
    MoneyWithdrawn,
    PaymentRefunded,
    PaymentTaken,
)
from examples.bank.compliance.messages import MonitoringRuleSetUp
from examples.bank.shop.messages import OrderShipped, StockReleased, StockReservationFailed, StockReserved
from examples.bank.views.balances import MANCHESTER, fold_balances

from riverbed.domain import Event

OPENED = AccountOpened(account_id="a1", owner="Ada", branch_city=MANCHESTER)
RULE = MonitoringRuleSetUp(account_id="a1", rule="large-movements", threshold=1)
FUNDED: list[Event] = [OPENED, RULE, MoneyDeposited(account_id="a1", amount=1000, balance=1000)]
RESERVED = StockReserved(order_id="o1", sku="mug", quantity=1)
TAKEN = PaymentTaken(order_id="o1", account_id="a1", amount=300, balance=700)
SHIPPED = OrderShipped(order_id="o1", sku="mug", quantity=1)
RELEASED = StockReleased(order_id="o1", sku="mug", quantity=1)
REFUNDED = PaymentRefunded(order_id="o1", account_id="a1", amount=300, balance=1000)


def test_a_consistent_history_passes_with_its_outcomes_counted() -> None:
    failed = StockReservationFailed(order_id="o2", sku="mug", quantity=5, available=0)
    log = [*FUNDED, RESERVED, TAKEN, SHIPPED, failed]
    report = audit(log, views={MANCHESTER: fold_balances(MANCHESTER, log)})
    assert report.ok, report.problems
    assert (report.accounts, report.checkouts, report.shipped, report.compensated) == (1, 2, 1, 1)


def test_a_balance_that_does_not_match_the_money_moved_is_found() -> None:
    report = audit([*FUNDED, MoneyWithdrawn(account_id="a1", amount=100, balance=950)])
    assert report.problems == ("account 'a1': MoneyWithdrawn says balance 950, the money moved says 900",)


def test_a_negative_balance_and_money_on_an_unopened_account_are_found() -> None:
    report = audit([*FUNDED, MoneyWithdrawn(account_id="a1", amount=1001, balance=-1)])
    assert report.problems == ("account 'a1' went below zero (-1)",)
    assert (
        "which was never opened" in audit([MoneyDeposited(account_id="zz", amount=1, balance=1)]).problems[0]
    )


def test_stock_both_shipped_and_released_is_found() -> None:
    report = audit([*FUNDED, RESERVED, TAKEN, SHIPPED, RELEASED])
    assert "checkout 'o1': stock both shipped and released" in report.problems


def test_a_cancelled_checkout_that_kept_the_payment_is_found_only_when_final() -> None:
    log = [*FUNDED, RESERVED, TAKEN, RELEASED]
    assert audit(log).problems == ("checkout 'o1': gave up but kept the payment (paid 1, refunded 0)",)
    running = audit(log, final=False)
    assert running.ok
    assert running.unfinished == 1
    assert audit([*log, REFUNDED]).ok


def test_a_checkout_left_reserved_and_a_missing_rule_are_found_when_final() -> None:
    report = audit([OPENED, RESERVED])
    assert report.problems == (
        "checkout 'o1': stock still reserved, neither shipped nor released",
        "account 'a1' has no monitoring rule",
    )
    assert audit([OPENED, RESERVED], final=False).ok


def test_shipping_without_payment_is_found() -> None:
    assert (
        "checkout 'o1': shipped but paid 0 and refunded 0 times"
        in audit([*FUNDED, RESERVED, SHIPPED]).problems
    )


def test_a_view_that_disagrees_with_the_streams_is_found() -> None:
    rows = fold_balances(MANCHESTER, FUNDED)
    rows["a1"] = {**rows["a1"], "balance": 1}
    (problem,) = audit(FUNDED, views={MANCHESTER: rows}).problems
    assert problem.startswith("the Manchester view disagrees with the streams")
