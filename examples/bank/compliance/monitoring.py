"""Monitoring rules per account: a functional decider, and the reaction that asks for one per new account.

The reaction is the whole integration with the bank: compliance subscribes to ``AccountOpened`` and sends
itself ``SetUpMonitoringRule``. Setting up a rule that already exists decides nothing, so a redelivered
``AccountOpened`` is harmless.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from examples.bank.bank.messages import AccountOpened
from examples.bank.compliance.messages import MonitoringRuleSetUp, SetUpMonitoringRule
from examples.bank.kernel import RuleBroken
from riverbed.domain import Command, Decider, Event

LARGE_MOVEMENTS = "large-movements"
DEFAULT_THRESHOLD = 1_000_000
"""£10,000 in pence."""

COMMANDS = (SetUpMonitoringRule,)


@dataclass(frozen=True, slots=True, kw_only=True)
class Monitoring:
    """The rules set up for one account, by name, with their thresholds."""

    rules: dict[str, int]


def initial_state() -> Monitoring:
    """An account with no rules."""
    return Monitoring(rules={})


def decide(state: Monitoring, command: Command) -> list[Event]:
    """Set up a rule unless it exists with the same threshold; a different threshold is refused."""
    match command:
        case SetUpMonitoringRule(account_id=account_id, rule=rule, threshold=threshold):
            if threshold <= 0:
                raise RuleBroken(
                    f"a monitoring threshold must be a positive number of pence, got {threshold}"
                )
            existing = state.rules.get(rule)
            if existing == threshold:
                return []
            if existing is not None:
                raise RuleBroken(
                    f"account {account_id!r} already has rule {rule!r} at {existing}; "
                    "rules are set up once, change them with a new rule name"
                )
            return [MonitoringRuleSetUp(account_id=account_id, rule=rule, threshold=threshold)]
    raise TypeError(f"monitoring does not decide {type(command).__name__}")


def evolve(state: Monitoring, event: Event) -> Monitoring:
    """The rules after ``event``."""
    if isinstance(event, MonitoringRuleSetUp):
        return replace(state, rules={**state.rules, event.rule: event.threshold})
    return state


decider: Decider[Monitoring] = Decider(
    name="compliance.monitoring",
    initial_state=initial_state,
    decide=decide,
    evolve=evolve,
    commands=COMMANDS,
    state_type=Monitoring,
)
"""The aggregate as riverbed's :class:`~riverbed.domain.Decider`, for services and given/when/then tests."""


def on_account_opened(event: AccountOpened) -> SetUpMonitoringRule:
    """The reaction: every opened account is watched for large movements."""
    return SetUpMonitoringRule(account_id=event.account_id, rule=LARGE_MOVEMENTS, threshold=DEFAULT_THRESHOLD)
