"""The bank's load profile: the commands it sends, and its audit of one tenant's stored CloudEvents."""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

import pytest
from examples.bank.bank.messages import AccountOpened, MoneyDeposited
from examples.bank.compliance.messages import MonitoringRuleSetUp
from examples.bank.kernel import registry
from examples.bank.load import ACCOUNTS_PER_CITY, SKUS, BankCommands, audit_tenant, profile
from examples.bank.system import system
from examples.bank.views.balances import LEEDS, MANCHESTER

from riverbed.cloudevents import CloudEvent
from riverbed.cloudevents.mapping import to_cloudevent
from riverbed.domain import Event
from riverbed.runtime.system import SETUP


def _ce(event: Event) -> CloudEvent:
    return to_cloudevent(event, source="tests", extensions={"tenant": "acme"}, registry=registry)


def test_the_bank_system_carries_its_load_profile() -> None:
    assert system.load is profile
    assert set(profile.mix) == {"open", "deposit", "withdraw", "checkout"}


def test_setup_opens_accounts_in_both_cities_and_adds_stock_for_every_tenant() -> None:
    setup = BankCommands(["acme", "globex"], random.Random(1), "r1").setup()
    assert {c.kind for c in setup} == {SETUP}
    for tenant in ("acme", "globex"):
        cities = [c.body["branch_city"] for c in setup if c.tenant == tenant and c.command == "OpenAccount"]
        assert sorted(cities) == sorted([MANCHESTER, LEEDS] * ACCOUNTS_PER_CITY)
        stock = [c for c in setup if c.tenant == tenant and c.command == "AddStock"]
        assert len(stock) == SKUS
        assert all(c.service == "stock" for c in stock)
    ids = [c.body["account_id"] for c in setup if c.command == "OpenAccount"]
    assert len(set(ids)) == len(ids)
    assert all("r1" in i for i in ids)


def test_money_goes_only_to_accounts_whose_opening_was_accepted() -> None:
    source = BankCommands(["acme"], random.Random(2), "r2")
    first = source.next("deposit")
    assert first.command == "OpenAccount"  # nothing accepted yet: open one instead
    source.answered(first, 422)
    assert source.next("withdraw").command == "OpenAccount"
    source.answered(first, 200)
    deposit = source.next("deposit")
    assert (deposit.service, deposit.command) == ("deposits", "Deposit")
    assert deposit.body["account_id"] == first.body["account_id"]
    checkout = source.next("checkout")
    assert checkout.command == "StartCheckout"
    assert checkout.body["account_id"] == first.body["account_id"]
    with pytest.raises(ValueError, match="no mix kind 'teleport'"):
        source.next("teleport")


async def test_the_audit_skips_process_records_and_checks_the_rows_the_gateway_serves() -> None:
    opened = AccountOpened(account_id="a1", owner="Ada", branch_city=MANCHESTER)
    events = [
        _ce(opened),
        _ce(MonitoringRuleSetUp(account_id="a1", rule="large-movements", threshold=1)),
        _ce(MoneyDeposited(account_id="a1", amount=700, balance=700)),
        CloudEvent(source="tests", type="riverbed.process.transition.v1", data={"whatever": 1}),
        CloudEvent(source="tests", type="someone.elses.event.v1", data={}),
    ]
    served: dict[tuple[str, str], Mapping[str, Any]] = {
        ("balances-manchester", "a1"): {
            "account_id": "a1",
            "owner": "Ada",
            "branch_city": MANCHESTER,
            "balance": 700,
        }
    }

    async def rows(view: str, key: str) -> Mapping[str, Any] | None:
        return served.get((view, key))

    clean = await audit_tenant(events, rows, final=True)
    assert clean.ok, clean.problems
    assert clean.counts["accounts"] == 1
    served[("balances-manchester", "a1")] = {**served[("balances-manchester", "a1")], "balance": 5}
    stale = await audit_tenant(events, rows, final=True)
    assert len(stale.problems) == 1
    assert "the Manchester view disagrees with the streams: row 'a1' is" in stale.problems[0]
    assert (await audit_tenant(events, None, final=True)).ok  # no key for the tenant: events only
