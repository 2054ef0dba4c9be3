"""One-way flow: services declare what they consume, produce, handle and send; cycles are refused.

::

    from riverbed.runtime.flow import build_flow, service

    graph = build_flow([
        service("accounts", context="bank", handles=[OpenAccount], produces=[AccountOpened]),
        service("monitoring", context="compliance", consumes=[AccountOpened], handles=[SetUpMonitoringRule]),
    ])
    print(to_text(graph))

This is the event-subscription graph between services and bounded contexts. The streams, rivers and ponds
the bus builds from it live in :mod:`riverbed.runtime.topology`.
"""

from riverbed.runtime.flow.cycles import find_cycle, topological_order
from riverbed.runtime.flow.declaration import ServiceDeclaration, service
from riverbed.runtime.flow.graph import CommandRoute, FlowEdge, FlowGraph, FlowWarning, build_flow
from riverbed.runtime.flow.loading import as_services, load_services
from riverbed.runtime.flow.render import to_mermaid, to_text

__all__ = [
    "CommandRoute",
    "FlowEdge",
    "FlowGraph",
    "FlowWarning",
    "ServiceDeclaration",
    "as_services",
    "build_flow",
    "find_cycle",
    "load_services",
    "service",
    "to_mermaid",
    "to_text",
    "topological_order",
]
