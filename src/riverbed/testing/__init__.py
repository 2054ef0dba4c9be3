"""Shipped test helpers: given/when/then scenarios for aggregates, contract suites per port."""

from riverbed.testing.scenario import Scenario, given

__all__ = ["Scenario", "given"]
