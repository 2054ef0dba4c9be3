"""The consistency audit ``riverbed load`` runs after a load: pure functions over every event stored.

Given all events of the three contexts (each account's and each SKU's events in stream order), it checks:

- every account's balance equals its deposits and refunds minus its withdrawals and payments, never went
  below zero, and every money event's ``balance`` is the running total;
- every checkout either shipped (paid, not refunded) or was compensated (stock released, and any payment
  taken for it refunded), never both shipped and released, never shipped unpaid;
- every opened account got its monitoring rule;
- each given view (rows by city) equals the fold of the events.

``final=False`` audits a system still running: unfinished checkouts and missing rules are counted, not
problems.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from examples.bank.bank.messages import (
    AccountOpened,
    MoneyDeposited,
    MoneyWithdrawn,
    PaymentRefunded,
    PaymentTaken,
)
from examples.bank.compliance.messages import MonitoringRuleSetUp
from examples.bank.shop.messages import OrderShipped, StockReleased, StockReservationFailed, StockReserved
from examples.bank.views.balances import Row, fold_balances
from riverbed.domain import Event


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditReport:
    """What the audit found: counts, and one line per problem (none means consistent)."""

    accounts: int
    checkouts: int
    shipped: int
    compensated: int
    unfinished: int
    problems: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        """Whether no problem was found."""
        return not self.problems


@dataclass(slots=True)
class _Order:
    reserved: bool = False
    shipped: bool = False
    released: bool = False
    paid: int = 0
    refunded: int = 0


def audit(
    events: Iterable[Event], *, views: Mapping[str, Mapping[str, Row]] | None = None, final: bool = True
) -> AuditReport:
    """Audit ``events`` (and the ``views`` rows per city, if given); see the module docstring."""
    log = list(events)
    problems: list[str] = []
    accounts = _audit_accounts(log, problems)
    orders = _orders(log)
    shipped = compensated = unfinished = 0
    for order_id, order in sorted(orders.items()):
        outcome = _audit_order(order_id, order, problems, final=final)
        shipped += outcome == "shipped"
        compensated += outcome == "compensated"
        unfinished += outcome == "unfinished"
    ruled = {e.account_id for e in log if isinstance(e, MonitoringRuleSetUp)}
    if final:
        problems.extend(f"account {a!r} has no monitoring rule" for a in sorted(set(accounts) - ruled))
    for city, rows in sorted((views or {}).items()):
        expected = fold_balances(city, log)
        if dict(rows) != expected:
            problems.append(f"the {city} view disagrees with the streams: {_differences(rows, expected)}")
    return AuditReport(
        accounts=len(accounts),
        checkouts=len(orders),
        shipped=shipped,
        compensated=compensated,
        unfinished=unfinished,
        problems=tuple(problems),
    )


def _differences(rows: Mapping[str, Row], expected: Mapping[str, Row]) -> str:
    """Only the rows that differ (a view of thousands of accounts would bury the one wrong row)."""
    keys = sorted(set(rows) | set(expected), key=str)
    return "; ".join(
        f"row {key!r} is {rows.get(key)}, the streams say {expected.get(key)}"
        for key in keys
        if rows.get(key) != expected.get(key)
    )


def _audit_accounts(log: list[Event], problems: list[str]) -> dict[str, int]:
    balances: dict[str, int] = {}
    for event in log:
        match event:
            case AccountOpened(account_id=account_id):
                balances.setdefault(account_id, 0)
            case (
                MoneyDeposited(account_id=a, amount=amount, balance=balance)
                | PaymentRefunded(account_id=a, amount=amount, balance=balance)
            ):
                _move(balances, problems, a, amount, balance, type(event).__name__)
            case (
                MoneyWithdrawn(account_id=a, amount=amount, balance=balance)
                | PaymentTaken(account_id=a, amount=amount, balance=balance)
            ):
                _move(balances, problems, a, -amount, balance, type(event).__name__)
    return balances


def _move(
    balances: dict[str, int], problems: list[str], account_id: str, delta: int, balance: int, what: str
) -> None:
    if account_id not in balances:
        problems.append(f"{what} on account {account_id!r}, which was never opened")
        balances[account_id] = 0
    expected = balances[account_id] + delta
    if balance != expected:
        problems.append(
            f"account {account_id!r}: {what} says balance {balance}, the money moved says {expected}"
        )
    if expected < 0:
        problems.append(f"account {account_id!r} went below zero ({expected})")
    balances[account_id] = expected


def _orders(log: list[Event]) -> dict[str, _Order]:
    orders: dict[str, _Order] = defaultdict(_Order)
    for event in log:
        match event:
            case StockReserved(order_id=order_id):
                orders[order_id].reserved = True
            case StockReservationFailed(order_id=order_id):
                orders.setdefault(order_id, _Order())  # cancelled before anything needed compensating
            case OrderShipped(order_id=order_id):
                orders[order_id].shipped = True
            case StockReleased(order_id=order_id):
                orders[order_id].released = True
            case PaymentTaken(order_id=order_id):
                orders[order_id].paid += 1
            case PaymentRefunded(order_id=order_id):
                orders[order_id].refunded += 1
    return dict(orders)


def _audit_order(order_id: str, order: _Order, problems: list[str], *, final: bool) -> str:
    name = f"checkout {order_id!r}"
    if order.paid > 1 or order.refunded > 1:
        problems.append(f"{name}: paid {order.paid} times, refunded {order.refunded} times")
    if order.shipped and order.released:
        problems.append(f"{name}: stock both shipped and released")
    if order.shipped:
        if order.paid != 1 or order.refunded:
            problems.append(f"{name}: shipped but paid {order.paid} and refunded {order.refunded} times")
        return "shipped"
    if order.released or not order.reserved:
        if order.paid != order.refunded:
            if final:
                problems.append(
                    f"{name}: gave up but kept the payment (paid {order.paid}, refunded {order.refunded})"
                )
            return "unfinished"
        return "compensated"
    if final:
        problems.append(f"{name}: stock still reserved, neither shipped nor released")
    return "unfinished"
