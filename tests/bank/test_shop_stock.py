"""The stock decider: reserve, release, ship, each idempotent for the checkout that may resend."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from examples.bank.kernel import RuleBroken
from examples.bank.shop import stock
from examples.bank.shop.messages import (
    AddStock,
    OrderShipped,
    ReleaseStock,
    ReserveStock,
    Ship,
    StockAdded,
    StockReleased,
    StockReservationFailed,
    StockReserved,
)

from riverbed.domain import Command, Event

ADDED = StockAdded(sku="mug", quantity=5, available=5)
RESERVED = StockReserved(order_id="o1", sku="mug", quantity=2)


def decide_after(history: Sequence[Event], command: Command) -> list[Event]:
    state = stock.initial_state()
    for event in history:
        state = stock.evolve(state, event)
    return stock.decide(state, command)


def test_stock_is_added_with_the_new_availability() -> None:
    assert decide_after([ADDED], AddStock(sku="mug", quantity=3)) == [
        StockAdded(sku="mug", quantity=3, available=8)
    ]


def test_reserving_what_is_available_reserves_it_once() -> None:
    reserve = ReserveStock(order_id="o1", sku="mug", quantity=2)
    assert decide_after([ADDED], reserve) == [RESERVED]
    assert decide_after([ADDED, RESERVED], reserve) == []


def test_reserving_more_than_is_available_fails_as_an_event() -> None:
    reserve = ReserveStock(order_id="o2", sku="mug", quantity=4)
    assert decide_after([ADDED, RESERVED], reserve) == [
        StockReservationFailed(order_id="o2", sku="mug", quantity=4, available=3)
    ]


def test_releasing_gives_the_units_back_once() -> None:
    release = ReleaseStock(order_id="o1", sku="mug")
    released = decide_after([ADDED, RESERVED], release)
    assert released == [StockReleased(order_id="o1", sku="mug", quantity=2)]
    assert decide_after([ADDED, RESERVED, *released], release) == []
    state = stock.initial_state()
    for event in [ADDED, RESERVED, *released]:
        state = stock.evolve(state, event)
    assert state.available == 5
    # A released order cannot be reserved again by a late, resent ReserveStock.
    assert stock.decide(state, ReserveStock(order_id="o1", sku="mug", quantity=2)) == []


def test_shipping_ships_the_reserved_units_once() -> None:
    ship = Ship(order_id="o1", sku="mug")
    shipped = decide_after([ADDED, RESERVED], ship)
    assert shipped == [OrderShipped(order_id="o1", sku="mug", quantity=2)]
    assert decide_after([ADDED, RESERVED, *shipped], ship) == []
    assert decide_after([ADDED, RESERVED, *shipped], ReleaseStock(order_id="o1", sku="mug")) == []


def test_shipping_an_order_with_nothing_reserved_is_refused() -> None:
    with pytest.raises(RuleBroken, match="holds no reserved 'mug' to ship"):
        decide_after([ADDED], Ship(order_id="o1", sku="mug"))


def test_quantities_must_be_positive() -> None:
    with pytest.raises(RuleBroken, match="positive number of units"):
        decide_after([ADDED], ReserveStock(order_id="o1", sku="mug", quantity=0))


def test_a_resent_reservation_after_a_failure_reserves_nothing_even_once_stock_arrives() -> None:
    reserve = ReserveStock(order_id="o2", sku="mug", quantity=9)
    failed = decide_after([ADDED], reserve)
    assert failed == [StockReservationFailed(order_id="o2", sku="mug", quantity=9, available=5)]
    restocked = StockAdded(sku="mug", quantity=10, available=15)
    assert decide_after([ADDED, *failed, restocked], reserve) == []
