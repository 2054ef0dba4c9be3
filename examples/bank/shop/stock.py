"""Stock of one SKU as a functional decider: reservations per order, released or shipped.

Every command the checkout sends is idempotent: reserving, releasing or shipping the same order twice
decides nothing the second time, so a process manager may resend after a crash. That includes a reservation
that failed: a resent ReserveStock arriving after more stock came in must not reserve for a checkout that
already gave up.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from examples.bank.kernel import RuleBroken
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
from riverbed.domain import Command, Decider, Event

COMMANDS = (AddStock, ReserveStock, ReleaseStock, Ship)


@dataclass(frozen=True, slots=True, kw_only=True)
class Stock:
    """Units free to reserve, units held per order, and orders that are finished."""

    available: int = 0
    reserved: dict[str, int] = field(default_factory=dict)
    shipped: frozenset[str] = frozenset()
    released: frozenset[str] = frozenset()
    failed: frozenset[str] = frozenset()
    """Orders whose reservation failed: a resent ReserveStock must not reserve for a checkout that gave up."""


def initial_state() -> Stock:
    """A SKU with nothing in stock."""
    return Stock()


def decide(state: Stock, command: Command) -> list[Event]:
    """The events ``command`` causes; raises RuleBroken for a command the caller must fix."""
    match command:
        case AddStock(sku=sku, quantity=quantity):
            _require_positive(quantity)
            return [StockAdded(sku=sku, quantity=quantity, available=state.available + quantity)]
        case ReserveStock(order_id=order_id, sku=sku, quantity=quantity):
            _require_positive(quantity)
            if order_id in state.reserved or order_id in state.shipped | state.released | state.failed:
                return []
            if quantity > state.available:
                return [
                    StockReservationFailed(
                        order_id=order_id, sku=sku, quantity=quantity, available=state.available
                    )
                ]
            return [StockReserved(order_id=order_id, sku=sku, quantity=quantity)]
        case ReleaseStock(order_id=order_id, sku=sku):
            if order_id not in state.reserved:
                return []
            return [StockReleased(order_id=order_id, sku=sku, quantity=state.reserved[order_id])]
        case Ship(order_id=order_id, sku=sku):
            if order_id in state.shipped:
                return []
            if order_id not in state.reserved:
                raise RuleBroken(f"order {order_id!r} holds no reserved {sku!r} to ship; reserve it first")
            return [OrderShipped(order_id=order_id, sku=sku, quantity=state.reserved[order_id])]
    raise TypeError(f"stock does not decide {type(command).__name__}")


def evolve(state: Stock, event: Event) -> Stock:
    """The stock after ``event``."""
    match event:
        case StockAdded(available=available):
            return replace(state, available=available)
        case StockReserved(order_id=order_id, quantity=quantity):
            return replace(
                state, available=state.available - quantity, reserved={**state.reserved, order_id: quantity}
            )
        case StockReservationFailed(order_id=order_id):
            return replace(state, failed=state.failed | {order_id})
        case StockReleased(order_id=order_id, quantity=quantity):
            return replace(
                state,
                available=state.available + quantity,
                reserved=_without(state.reserved, order_id),
                released=state.released | {order_id},
            )
        case OrderShipped(order_id=order_id):
            return replace(
                state, reserved=_without(state.reserved, order_id), shipped=state.shipped | {order_id}
            )
    return state


decider: Decider[Stock] = Decider(
    name="shop.stock",
    initial_state=initial_state,
    decide=decide,
    evolve=evolve,
    commands=COMMANDS,
    state_type=Stock,
)
"""The aggregate as riverbed's :class:`~riverbed.domain.Decider`, for services and given/when/then tests."""


def _without(reserved: dict[str, int], order_id: str) -> dict[str, int]:
    return {key: value for key, value in reserved.items() if key != order_id}


def _require_positive(quantity: int) -> None:
    if quantity <= 0:
        raise RuleBroken(f"the quantity must be a positive number of units, got {quantity}")
