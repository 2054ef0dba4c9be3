"""The bank's declared topology is acyclic; the variant where the bank subscribes to the shop is refused."""

from __future__ import annotations

import pytest
from examples.bank import topology
from examples.bank.kernel import registry

from riverbed.domain import default_registry
from riverbed.errors import TopologyCycle
from riverbed.runtime.flow import build_flow


def test_the_bank_flows_one_way_between_its_three_contexts() -> None:
    graph = build_flow(topology.services)
    assert graph.contexts == ("bank", "compliance", "shop")
    assert [(e.producer, e.consumer) for e in graph.context_edges] == [
        ("bank", "compliance"),
        ("bank", "shop"),
    ]
    compliance = {e.event_types for e in graph.context_edges if e.consumer == "compliance"}
    assert compliance == {("bank.account.opened.v1",)}
    routes = {(r.sender, r.handler): r.commands for r in graph.routes}
    assert routes[("checkout", "payments")] == ("RefundPayment", "TakePayment")
    assert routes[("checkout", "stock")] == ("ReleaseStock", "ReserveStock", "Ship")
    order = graph.order()
    assert order.index("payments") < order.index("checkout")
    assert order.index("accounts") < order.index("monitoring")


def test_deposits_and_withdrawals_are_separate_services_of_the_bank() -> None:
    graph = build_flow(topology.services)
    assert graph.service("deposits").context == graph.service("withdrawals").context == "bank"
    assert graph.service("deposits").handles == {"Deposit"}
    assert graph.service("withdrawals").handles == {"Withdraw"}
    handled = {name for s in graph.services for name in s.handles}
    assert {cls.__name__ for cls in topology.ACCOUNT_COMMANDS} <= handled


def test_the_only_loose_ends_are_facts_nobody_needs_yet() -> None:
    graph = build_flow(topology.services)
    assert {(w.kind, w.name) for w in graph.warnings} == {
        ("unconsumed", "bank.account.withdrawal-refused.v1"),
        ("unconsumed", "shop.stock.added.v1"),
        ("unconsumed", "compliance.monitoring.rule-set-up.v1"),
    }


def test_the_bank_subscribing_to_the_shop_is_refused_with_the_cycle_named() -> None:
    with pytest.raises(TopologyCycle) as caught:
        build_flow(topology.cyclic_variant())
    assert caught.value.level == "context"
    assert caught.value.cycle == ("bank", "shop", "bank")
    assert caught.value.via[1] == ("shop.stock.reserved.v1",)
    assert (
        "bank -[bank.payment.declined.v1, bank.payment.taken.v1]-> shop -[shop.stock.reserved.v1]-> bank"
        in str(caught.value)
    )


def test_every_declared_event_type_is_registered_in_the_examples_own_registry() -> None:
    declared = {name for s in topology.services for name in s.consumes | s.produces}
    assert declared <= set(registry)
    assert not set(registry) & set(default_registry)
    assert all(name.endswith(".v1") for name in registry)


def test_the_runtime_can_route_by_the_graph() -> None:
    graph = build_flow(topology.services)
    assert graph.consumers_of("bank.account.opened.v1") == (
        "balances-leeds",
        "balances-manchester",
        "monitoring",
    )
    assert graph.consumers_of("shop.stock.added.v1") == ()
    assert graph.handler_of("TakePayment") == "payments"
    assert graph.handler_of("Nobody") is None
