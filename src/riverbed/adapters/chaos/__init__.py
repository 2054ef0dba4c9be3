"""Stressors: faults injected on purpose (latency, drop, duplicate, reorder, outage) to prove resilience."""
