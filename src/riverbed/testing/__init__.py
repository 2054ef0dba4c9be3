"""Shipped test helpers: contract suites per port, scenarios and fixtures."""
