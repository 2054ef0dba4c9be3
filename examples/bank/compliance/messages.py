"""Compliance's public language: the command that sets up a monitoring rule and the event that says it was."""

from __future__ import annotations

from dataclasses import dataclass

from examples.bank.kernel import bank_event
from riverbed.domain import Command, Event


@dataclass(frozen=True, slots=True, kw_only=True)
class SetUpMonitoringRule(Command):
    account_id: str
    rule: str
    threshold: int
    """Movements of at least this many pence are flagged."""


@bank_event("compliance.monitoring.rule-set-up.v1")
@dataclass(frozen=True, slots=True, kw_only=True)
class MonitoringRuleSetUp(Event):
    account_id: str
    rule: str
    threshold: int


def monitoring_stream(account_id: str) -> str:
    """The stream of one account's monitoring rules (in compliance's own store)."""
    return f"compliance.monitoring-{account_id}"
