"""Balances per branch city: the fold, its idempotence, and agreement with the account decider."""

from __future__ import annotations

from examples.bank.bank import account
from examples.bank.bank.messages import (
    AccountOpened,
    Deposit,
    MoneyDeposited,
    MoneyWithdrawn,
    OpenAccount,
    PaymentTaken,
    TakePayment,
    Withdraw,
    WithdrawalRefused,
)
from examples.bank.views.balances import LEEDS, MANCHESTER, balance_changes, city_total, fold_balances
from hypothesis import given, settings
from hypothesis import strategies as st

from riverbed.domain import Command, Event

ADA = AccountOpened(account_id="a1", owner="Ada", branch_city=MANCHESTER)
BOB = AccountOpened(account_id="b1", owner="Bob", branch_city=LEEDS)


def test_an_account_opened_in_the_city_gets_a_row_with_zero_balance() -> None:
    assert balance_changes(MANCHESTER, {}, ADA) == {
        "a1": {"account_id": "a1", "owner": "Ada", "branch_city": MANCHESTER, "balance": 0}
    }
    assert balance_changes(MANCHESTER, {}, BOB) == {}


def test_money_events_set_the_balance_of_the_citys_accounts_only() -> None:
    events: list[Event] = [
        ADA,
        BOB,
        MoneyDeposited(account_id="a1", amount=700, balance=700),
        MoneyDeposited(account_id="b1", amount=50, balance=50),
        MoneyWithdrawn(account_id="a1", amount=200, balance=500),
        WithdrawalRefused(account_id="a1", amount=9000, balance=500, reason="insufficient funds"),
        PaymentTaken(order_id="o1", account_id="a1", amount=100, balance=400),
    ]
    manchester = fold_balances(MANCHESTER, events)
    leeds = fold_balances(LEEDS, events)
    assert {key: row["balance"] for key, row in manchester.items()} == {"a1": 400}
    assert {key: row["balance"] for key, row in leeds.items()} == {"b1": 50}
    assert city_total(manchester) == 400


def test_an_event_that_changes_nothing_yields_no_row_change() -> None:
    rows = fold_balances(MANCHESTER, [ADA, MoneyDeposited(account_id="a1", amount=5, balance=5)])
    assert balance_changes(MANCHESTER, rows, MoneyDeposited(account_id="a1", amount=5, balance=5)) == {}
    assert balance_changes(MANCHESTER, rows, ADA) == {}


CITIES = [MANCHESTER, LEEDS, "York"]
scripts = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "c", "d"]),
        st.sampled_from(["open", "deposit", "withdraw", "pay"]),
        st.integers(1, 300),
        st.sampled_from(CITIES),
    ),
    max_size=60,
)


def command_for(account_id: str, kind: str, amount: int, city: str, n: int) -> Command:
    if kind == "open":
        return OpenAccount(account_id=account_id, owner=account_id.upper(), branch_city=city)
    if kind == "deposit":
        return Deposit(account_id=account_id, amount=amount)
    if kind == "withdraw":
        return Withdraw(account_id=account_id, amount=amount)
    return TakePayment(order_id=f"o{n}", account_id=account_id, amount=amount)


@settings(max_examples=100, deadline=None)
@given(scripts)
def test_each_citys_view_agrees_with_the_accounts_and_survives_redelivery(
    script: list[tuple[str, str, int, str]],
) -> None:
    states = {key: account.initial_state() for key in "abcd"}
    log: list[Event] = []
    for n, (account_id, kind, amount, city) in enumerate(script):
        state = states[account_id]
        command = command_for(account_id, kind, amount, city, n)
        if not state.opened and kind in ("deposit", "withdraw"):
            continue
        if state.opened and kind == "open":
            continue
        for event in account.decide(state, command):
            state = account.evolve(state, event)
            log.append(event)
        states[account_id] = state
    for city in CITIES:
        rows = fold_balances(city, log)
        expected = {key: s.balance for key, s in states.items() if s.opened and s.branch_city == city}
        assert {key: row["balance"] for key, row in rows.items()} == expected
        # At-least-once delivery: every event delivered twice in a row gives the same view.
        assert fold_balances(city, [e for event in log for e in (event, event)]) == rows
