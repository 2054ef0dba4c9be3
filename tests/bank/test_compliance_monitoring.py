"""Compliance: AccountOpened -> SetUpMonitoringRule -> MonitoringRuleSetUp, idempotent under redelivery."""

from __future__ import annotations

import pytest
from examples.bank.bank.messages import AccountOpened
from examples.bank.compliance import monitoring
from examples.bank.compliance.messages import MonitoringRuleSetUp, SetUpMonitoringRule
from examples.bank.kernel import RuleBroken

OPENED = AccountOpened(account_id="a1", owner="Ada", branch_city="Leeds")


def test_an_opened_account_gets_a_large_movements_rule() -> None:
    command = monitoring.on_account_opened(OPENED)
    assert command == SetUpMonitoringRule(account_id="a1", rule="large-movements", threshold=1_000_000)
    assert monitoring.decide(monitoring.initial_state(), command) == [
        MonitoringRuleSetUp(account_id="a1", rule="large-movements", threshold=1_000_000)
    ]


def test_a_redelivered_account_opened_sets_up_nothing_more() -> None:
    command = monitoring.on_account_opened(OPENED)
    state = monitoring.initial_state()
    for event in monitoring.decide(state, command):
        state = monitoring.evolve(state, event)
    assert monitoring.decide(state, monitoring.on_account_opened(OPENED)) == []


def test_changing_a_rules_threshold_is_refused() -> None:
    state = monitoring.evolve(
        monitoring.initial_state(), MonitoringRuleSetUp(account_id="a1", rule="large-movements", threshold=5)
    )
    with pytest.raises(RuleBroken, match="already has rule 'large-movements' at 5"):
        monitoring.decide(state, SetUpMonitoringRule(account_id="a1", rule="large-movements", threshold=6))


def test_a_threshold_must_be_positive() -> None:
    with pytest.raises(RuleBroken, match="positive number of pence"):
        monitoring.decide(
            monitoring.initial_state(), SetUpMonitoringRule(account_id="a1", rule="r", threshold=0)
        )
