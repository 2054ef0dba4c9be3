"""The checkout process manager as a pure state machine: reserve stock -> take payment -> ship.

``start(command)`` begins a checkout; ``react(state, message)`` moves it on one event (or timer) at a time and
says which commands to send and which timers to set or cancel. Compensation: a declined payment, or no answer
from the bank within the payment timeout, releases the reserved stock; a payment that arrives after the
checkout gave up is refunded. Every message that does not fit the current phase (a duplicate, a stale timer,
a late decline) changes nothing, so redelivery is harmless.

::

    new ──StartCheckout──> reserving-stock ──StockReserved──> taking-payment ──PaymentTaken──> shipping
                               │                                  │                              │
                   StockReservationFailed          PaymentDeclined | payment timeout       OrderShipped
                               v                                  v                              v
                           cancelled <──StockReleased── releasing-stock                       shipped
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import timedelta

from examples.bank.bank.messages import PaymentDeclined, PaymentTaken, RefundPayment, TakePayment
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
from riverbed.domain import CancelTimer, Event, SetTimer, TimerFired, Transition

PAYMENT_TIMEOUT = "payment-timeout"
DEFAULT_PAYMENT_TIMEOUT = timedelta(seconds=30)

CONSUMES = (StockReserved, StockReservationFailed, StockReleased, OrderShipped, PaymentTaken, PaymentDeclined)
SENDS = (ReserveStock, ReleaseStock, Ship, TakePayment, RefundPayment)


class Phase(enum.StrEnum):
    """Where a checkout is."""

    NEW = "new"
    RESERVING_STOCK = "reserving-stock"
    TAKING_PAYMENT = "taking-payment"
    SHIPPING = "shipping"
    RELEASING_STOCK = "releasing-stock"
    SHIPPED = "shipped"
    CANCELLED = "cancelled"


FINISHED = frozenset({Phase.SHIPPED, Phase.CANCELLED})


@dataclass(frozen=True, slots=True, kw_only=True)
class Checkout:
    """One checkout's state; ``reason`` says why it was cancelled."""

    phase: Phase = Phase.NEW
    order_id: str = ""
    account_id: str = ""
    sku: str = ""
    quantity: int = 0
    amount: int = 0
    payment_timeout_seconds: float = DEFAULT_PAYMENT_TIMEOUT.total_seconds()
    reason: str = ""
    payment_taken: bool = False
    refund_requested: bool = False

    @property
    def finished(self) -> bool:
        """Whether nothing more will happen (a refund may still be asked for a late payment)."""
        return self.phase in FINISHED


def initial_state() -> Checkout:
    """A checkout that has not started."""
    return Checkout()


def start(
    state: Checkout, command: StartCheckout, *, payment_timeout: timedelta = DEFAULT_PAYMENT_TIMEOUT
) -> Transition[Checkout]:
    """Begin the checkout by reserving its stock; starting one that already started changes nothing."""
    if state.phase is not Phase.NEW:
        return Transition(state=state)
    started = Checkout(
        phase=Phase.RESERVING_STOCK,
        order_id=command.order_id,
        account_id=command.account_id,
        sku=command.sku,
        quantity=command.quantity,
        amount=command.amount,
        payment_timeout_seconds=payment_timeout.total_seconds(),
    )
    reserve = ReserveStock(order_id=command.order_id, sku=command.sku, quantity=command.quantity)
    return Transition(state=started, commands=(reserve,))


def react(state: Checkout, message: Event | TimerFired) -> Transition[Checkout]:
    """Move the checkout on one message; a message that does not fit the current phase changes nothing."""
    if state.phase is Phase.NEW:
        return Transition(state=state)
    _check_routing(state, message)
    match state.phase, message:
        case Phase.RESERVING_STOCK, StockReserved():
            pay = TakePayment(order_id=state.order_id, account_id=state.account_id, amount=state.amount)
            timer = SetTimer(name=PAYMENT_TIMEOUT, after=timedelta(seconds=state.payment_timeout_seconds))
            return Transition(
                state=replace(state, phase=Phase.TAKING_PAYMENT), commands=(pay,), timers=(timer,)
            )
        case Phase.RESERVING_STOCK, StockReservationFailed(available=available):
            reason = f"out of stock: {state.quantity} wanted, {available} available"
            return Transition(state=replace(state, phase=Phase.CANCELLED, reason=reason))
        case Phase.TAKING_PAYMENT, PaymentTaken():
            ship = Ship(order_id=state.order_id, sku=state.sku)
            paid = replace(state, phase=Phase.SHIPPING, payment_taken=True)
            return Transition(state=paid, commands=(ship,), timers=(CancelTimer(name=PAYMENT_TIMEOUT),))
        case Phase.TAKING_PAYMENT, PaymentDeclined(reason=reason):
            return _release(state, f"payment declined: {reason}", cancel_timer=True)
        case Phase.TAKING_PAYMENT, TimerFired(name=name) if name == PAYMENT_TIMEOUT:
            return _release(state, "payment timed out", cancel_timer=False)
        case Phase.SHIPPING, OrderShipped():
            return Transition(state=replace(state, phase=Phase.SHIPPED))
        case Phase.RELEASING_STOCK, StockReleased():
            return Transition(state=replace(state, phase=Phase.CANCELLED))
        case ((Phase.RELEASING_STOCK | Phase.CANCELLED), PaymentTaken()) if not state.refund_requested:
            # The bank answered after we gave up: give the money back.
            refund = RefundPayment(order_id=state.order_id, account_id=state.account_id)
            late = replace(state, payment_taken=True, refund_requested=True)
            return Transition(state=late, commands=(refund,))
    return Transition(state=state)


def order_of(message: Event | TimerFired) -> str | None:
    """The order id a message is about (how the runtime routes it to its checkout), or None."""
    if isinstance(message, TimerFired):
        return message.key
    order_id = getattr(message, "order_id", None)
    return order_id if isinstance(order_id, str) else None


def _release(state: Checkout, reason: str, *, cancel_timer: bool) -> Transition[Checkout]:
    release = ReleaseStock(order_id=state.order_id, sku=state.sku)
    timers = (CancelTimer(name=PAYMENT_TIMEOUT),) if cancel_timer else ()
    releasing = replace(state, phase=Phase.RELEASING_STOCK, reason=reason)
    return Transition(state=releasing, commands=(release,), timers=timers)


def _check_routing(state: Checkout, message: Event | TimerFired) -> None:
    order_id = order_of(message)
    if order_id != state.order_id:
        raise ValueError(
            f"{type(message).__name__} for order {order_id!r} was routed to the checkout of order "
            f"{state.order_id!r}; route messages by order_of(message)"
        )
