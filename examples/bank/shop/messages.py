"""The shop's public language: stock commands and events, and the command that starts a checkout."""

from __future__ import annotations

from dataclasses import dataclass

from examples.bank.kernel import bank_event
from riverbed.domain import Command, Event


@dataclass(frozen=True, slots=True, kw_only=True)
class AddStock(Command):
    sku: str
    quantity: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ReserveStock(Command):
    order_id: str
    sku: str
    quantity: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ReleaseStock(Command):
    order_id: str
    sku: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Ship(Command):
    order_id: str
    sku: str


@dataclass(frozen=True, slots=True, kw_only=True)
class StartCheckout(Command):
    """Buy ``quantity`` of ``sku`` for ``amount`` pence, paid from ``account_id`` at the bank."""

    order_id: str
    account_id: str
    sku: str
    quantity: int
    amount: int


@bank_event("shop.stock.added.v1")
@dataclass(frozen=True, slots=True, kw_only=True)
class StockAdded(Event):
    sku: str
    quantity: int
    available: int


@bank_event("shop.stock.reserved.v1")
@dataclass(frozen=True, slots=True, kw_only=True)
class StockReserved(Event):
    order_id: str
    sku: str
    quantity: int


@bank_event("shop.stock.reservation-failed.v1")
@dataclass(frozen=True, slots=True, kw_only=True)
class StockReservationFailed(Event):
    order_id: str
    sku: str
    quantity: int
    available: int


@bank_event("shop.stock.released.v1")
@dataclass(frozen=True, slots=True, kw_only=True)
class StockReleased(Event):
    order_id: str
    sku: str
    quantity: int


@bank_event("shop.order.shipped.v1")
@dataclass(frozen=True, slots=True, kw_only=True)
class OrderShipped(Event):
    order_id: str
    sku: str
    quantity: int


def stock_stream(sku: str) -> str:
    """The stream that holds one SKU's stock."""
    return f"shop.stock-{sku}"


def checkout_stream(order_id: str) -> str:
    """The stream that holds one checkout process (its inputs, for a durable process manager)."""
    return f"shop.checkout-{order_id}"
