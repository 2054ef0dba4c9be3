"""The plan of a system: its roles, their ports, the bus topology derived from it, and spec validation."""

from __future__ import annotations

import pytest
from examples.bank import topology
from examples.bank.bank.messages import AccountOpened, PaymentDeclined, PaymentTaken
from examples.bank.kernel import registry
from examples.bank.system import LEEDS_VIEW, MANCHESTER_VIEW, build_system

from riverbed.errors import ConfigurationError, TopologyCycle
from riverbed.ports.topology import Rapids
from riverbed.runtime.system import RoleKind, SystemSpec, ViewSpec, bus_topology, plan_roles


def test_the_bank_has_one_role_per_service_process_view_replica_relay_and_gateway() -> None:
    plan = plan_roles(build_system(), base_port=9100, gateway_port=9000)

    names = [role.name for role in plan.roles]
    assert names == [
        "relay",
        "accounts",
        "deposits",
        "withdrawals",
        "payments",
        "stock",
        "monitoring",
        "checkout",
        f"{MANCHESTER_VIEW}.1",
        f"{MANCHESTER_VIEW}.2",
        LEEDS_VIEW,
        "gateway",
    ]
    ports = [role.port for role in plan.roles]
    assert ports[:-1] == list(range(9100, 9100 + len(ports) - 1))
    assert plan.role("gateway").port == 9000
    assert plan.workers == plan.roles[:-1]  # every role but the gateway, on base_port + i
    assert [r.replica for r in plan.replicas(MANCHESTER_VIEW)] == [1, 2]
    assert plan.role("checkout").kind is RoleKind.PROCESS


def test_an_unknown_role_is_refused_naming_the_known_ones() -> None:
    plan = plan_roles(build_system(), base_port=9100, gateway_port=9000)
    with pytest.raises(KeyError, match="deposits"):
        plan.role("depositz")


def test_each_consumer_gets_a_river_of_what_it_consumes_and_an_ordered_pond() -> None:
    rapids = Rapids(name="T_RAPIDS", subject_prefix="t.rapids")
    bus = bus_topology(build_system(), rapids=rapids)

    by_pond = {pond.name: pond for pond in bus.ponds}
    assert set(by_pond) == {"monitoring", "checkout"}
    assert all(pond.ordered for pond in bus.ponds)
    monitoring = bus.river(by_pond["monitoring"].river)
    assert monitoring.name == "T_RAPIDS_monitoring"
    assert monitoring.types == (registry.name_for(AccountOpened),)
    checkout = bus.river(by_pond["checkout"].river)
    assert registry.name_for(PaymentTaken) in checkout.types
    assert registry.name_for(PaymentDeclined) in checkout.types
    assert registry.name_for(AccountOpened) not in checkout.types


def test_a_system_whose_flow_has_a_cycle_is_refused_before_anything_runs() -> None:
    bank = build_system()
    with pytest.raises(TopologyCycle) as caught:
        SystemSpec(
            name="bank", registry=registry, services=bank.services, flow=tuple(topology.cyclic_variant())
        )
    assert caught.value.cycle == ("bank", "shop", "bank")


def test_names_must_be_unique_and_safe_for_processes_and_schemas() -> None:
    bank = build_system()
    with pytest.raises(ConfigurationError, match="repeated"):
        SystemSpec(name="bank", registry=registry, services=(bank.services[0], bank.services[0]))
    with pytest.raises(ConfigurationError, match="lower-case"):
        ViewSpec(name="Balances", context="bank", projection=bank.views[0].projection)
    with pytest.raises(ConfigurationError, match="on demand"):
        ViewSpec(
            name="b", context="bank", projection=bank.views[0].projection, on_demand=lambda k: [k], replicas=2
        )


def test_contexts_are_listed_once_in_first_mention_order() -> None:
    assert build_system().contexts == ("bank", "shop", "compliance")
