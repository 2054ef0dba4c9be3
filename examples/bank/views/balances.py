"""Balances per branch city, as a pure fold from bank events to row changes.

One view per city, keyed by account id; a row is ``{"account_id", "owner", "branch_city", "balance"}``.
Manchester is pre-loaded (kept current by a projection, ready before the first query); Leeds is computed on
demand (folded from the streams when asked, then cached). Both use this same fold; only how it is run
differs, and that belongs to riverbed's views.

Money events carry the balance after them, so applying one sets the balance instead of adding to it:
applying an event twice gives the same row, which is what a view wants under at-least-once delivery. The
fold relies on each account's events arriving in stream order, which riverbed's projections guarantee with
per-stream version gating.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from examples.bank.bank.messages import (
    AccountOpened,
    MoneyDeposited,
    MoneyWithdrawn,
    PaymentRefunded,
    PaymentTaken,
)
from riverbed.domain import Event

Row = dict[str, Any]

MANCHESTER = "Manchester"
"""Pre-loaded."""
LEEDS = "Leeds"
"""On demand."""

HANDLES = (AccountOpened, MoneyDeposited, MoneyWithdrawn, PaymentTaken, PaymentRefunded)
"""The event types the fold reads; every other event changes nothing."""


def balance_changes(city: str, rows: Mapping[str, Row], event: Event) -> dict[str, Row]:
    """The rows ``event`` changes in ``city``'s view, by account id (``rows`` holds the current ones).

    An account opened in another city never gets a row, so its money events change nothing here.
    """
    match event:
        case AccountOpened(account_id=account_id, owner=owner, branch_city=branch_city):
            if branch_city != city:
                return {}
            existing = rows.get(account_id)
            row = _row(account_id, owner, branch_city, existing["balance"] if existing else 0)
            return {} if row == existing else {account_id: row}
        case (
            MoneyDeposited(account_id=account_id, balance=balance)
            | MoneyWithdrawn(account_id=account_id, balance=balance)
            | PaymentTaken(account_id=account_id, balance=balance)
            | PaymentRefunded(account_id=account_id, balance=balance)
        ):
            current = rows.get(account_id)
            if current is None or current["balance"] == balance:
                return {}
            return {account_id: {**current, "balance": balance}}
    return {}


def fold_balances(
    city: str, events: Iterable[Event], rows: Mapping[str, Row] | None = None
) -> dict[str, Row]:
    """Every row of ``city``'s view after ``events`` (how the on-demand view computes its answer)."""
    current: dict[str, Row] = dict(rows or {})
    for event in events:
        current.update(balance_changes(city, current, event))
    return current


def city_total(rows: Mapping[str, Row]) -> int:
    """The sum of the balances of a city's accounts, in pence."""
    return sum(int(row["balance"]) for row in rows.values())


def _row(account_id: str, owner: str, branch_city: str, balance: int) -> Row:
    return {"account_id": account_id, "owner": owner, "branch_city": branch_city, "balance": balance}
