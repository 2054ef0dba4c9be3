"""The checkout state machine: the happy path, both compensations, late answers and redelivery."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import pytest
from examples.bank.bank.messages import PaymentDeclined, PaymentTaken, RefundPayment, TakePayment
from examples.bank.shop import checkout
from examples.bank.shop.checkout import PAYMENT_TIMEOUT, Checkout, Phase
from examples.bank.shop.messages import (
    OrderShipped,
    ReleaseStock,
    ReserveStock,
    Ship,
    StartCheckout,
    StockReleased,
    StockReservationFailed,
    StockReserved,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from riverbed.domain import CancelTimer, Event, SetTimer, TimerFired, Transition

START = StartCheckout(order_id="o1", account_id="a1", sku="mug", quantity=2, amount=1500)
RESERVED = StockReserved(order_id="o1", sku="mug", quantity=2)
TAKEN = PaymentTaken(order_id="o1", account_id="a1", amount=1500, balance=500)
DECLINED = PaymentDeclined(order_id="o1", account_id="a1", amount=1500, reason="insufficient funds")
TIMED_OUT = TimerFired(key="o1", name=PAYMENT_TIMEOUT)
SHIPPED = OrderShipped(order_id="o1", sku="mug", quantity=2)
RELEASED = StockReleased(order_id="o1", sku="mug", quantity=2)


def started() -> Checkout:
    return checkout.start(checkout.initial_state(), START, payment_timeout=timedelta(seconds=5)).state


def run(messages: Sequence[Event | TimerFired]) -> tuple[Checkout, list[Transition[Checkout]]]:
    state, steps = started(), []
    for message in messages:
        step = checkout.react(state, message)
        steps.append(step)
        state = step.state
    return state, steps


def test_starting_reserves_the_stock() -> None:
    step = checkout.start(checkout.initial_state(), START)
    assert step.state.phase is Phase.RESERVING_STOCK
    assert step.commands == (ReserveStock(order_id="o1", sku="mug", quantity=2),)
    assert checkout.start(step.state, START) == Transition(state=step.state)


def test_the_happy_path_reserves_pays_with_a_timeout_and_ships() -> None:
    state, (reserved, paid, shipped) = run([RESERVED, TAKEN, SHIPPED])
    assert reserved.commands == (TakePayment(order_id="o1", account_id="a1", amount=1500),)
    assert reserved.timers == (SetTimer(name=PAYMENT_TIMEOUT, after=timedelta(seconds=5)),)
    assert paid.commands == (Ship(order_id="o1", sku="mug"),)
    assert paid.timers == (CancelTimer(name=PAYMENT_TIMEOUT),)
    assert shipped.commands == ()
    assert state.phase is Phase.SHIPPED
    assert state.finished


def test_a_declined_payment_releases_the_stock() -> None:
    state, (_, declined, released) = run([RESERVED, DECLINED, RELEASED])
    assert declined.commands == (ReleaseStock(order_id="o1", sku="mug"),)
    assert declined.timers == (CancelTimer(name=PAYMENT_TIMEOUT),)
    assert released.commands == ()
    assert state.phase is Phase.CANCELLED
    assert state.reason == "payment declined: insufficient funds"


def test_a_payment_timeout_releases_the_stock() -> None:
    state, (_, timed_out, _) = run([RESERVED, TIMED_OUT, RELEASED])
    assert timed_out.commands == (ReleaseStock(order_id="o1", sku="mug"),)
    assert timed_out.timers == ()
    assert state.phase is Phase.CANCELLED
    assert state.reason == "payment timed out"


@pytest.mark.parametrize("late_at", [2, 3])
def test_a_payment_taken_after_the_timeout_is_refunded_once(late_at: int) -> None:
    messages: list[Event | TimerFired] = [RESERVED, TIMED_OUT, RELEASED]
    messages.insert(late_at, TAKEN)
    state, steps = run([*messages, TAKEN])
    refunds = [c for step in steps for c in step.commands if isinstance(c, RefundPayment)]
    assert refunds == [RefundPayment(order_id="o1", account_id="a1")]
    assert state.phase is Phase.CANCELLED
    assert state.refund_requested


def test_out_of_stock_cancels_without_taking_payment() -> None:
    failed = StockReservationFailed(order_id="o1", sku="mug", quantity=2, available=1)
    state, (step,) = run([failed])
    assert step.commands == ()
    assert state.phase is Phase.CANCELLED
    assert state.reason == "out of stock: 2 wanted, 1 available"


def test_a_message_for_another_order_is_a_routing_error() -> None:
    with pytest.raises(ValueError, match="routed to the checkout of order 'o1'"):
        checkout.react(started(), StockReserved(order_id="o2", sku="mug", quantity=2))


def test_messages_before_the_start_change_nothing() -> None:
    assert checkout.react(checkout.initial_state(), RESERVED) == Transition(state=checkout.initial_state())


ALL: list[Event | TimerFired] = [RESERVED, TAKEN, DECLINED, TIMED_OUT, SHIPPED, RELEASED]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(ALL), max_size=12))
def test_redelivering_any_message_right_away_changes_nothing(messages: list[Event | TimerFired]) -> None:
    state = started()
    for message in messages:
        first = checkout.react(state, message)
        again = checkout.react(first.state, message)
        assert again == Transition(state=first.state), (state.phase, message)
        state = first.state


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(ALL), max_size=12))
def test_stock_is_never_shipped_and_released_and_money_kept_without_goods_is_refunded(
    messages: list[Event | TimerFired],
) -> None:
    state, steps = run(messages)
    sent = [type(c) for step in steps for c in step.commands]
    assert not (Ship in sent and ReleaseStock in sent)
    assert sent.count(TakePayment) <= 1
    if state.payment_taken and state.phase in (Phase.RELEASING_STOCK, Phase.CANCELLED):
        assert sent.count(RefundPayment) == 1
    else:
        assert RefundPayment not in sent
