"""Where each part of a system runs: its roles (one OS process each when distributed) and the bus topology.

A *role* is what ``riverbed run --only ROLE`` starts: one command service (with its reactions), one process
manager (with its dispatcher), one replica of a pre-loaded view, one on-demand view, the relays (one per
context store) or the gateway. Every role but the gateway serves its endpoints to the gateway over the
service API on its own port: ``base_port + index`` in plan order, so a supervisor, an orchestrator and the
gateway all agree on the addresses without a registry.

The bus topology follows the declared flow: every service with reactions and every process manager gets a
river of the event types it consumes and one pond on it, named after it. Ponds are ordered (the events of one
stream are handled one after another), which is what process managers and reactions rely on. River names
start with the rapids' name, so two systems (or two test runs) on one broker never share a stream.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from riverbed.ports.topology import Pond, Rapids, RetryPolicy, River, Topology
from riverbed.runtime.system.spec import SystemSpec


class RoleKind(enum.StrEnum):
    """What a role runs."""

    SERVICE = "service"
    PROCESS = "process"
    VIEW = "view"
    RELAY = "relay"
    GATEWAY = "gateway"


@dataclass(frozen=True, slots=True, kw_only=True)
class Role:
    """One unit of deployment: its name (``--only NAME``), kind, the spec it runs and its service-API port.

    ``target`` is the service, process or view name the role runs (a view replica's role is
    ``<view>.<n>``); ``replica`` numbers the replicas of a pre-loaded view from 1.
    """

    name: str
    kind: RoleKind
    target: str
    port: int
    replica: int = 1

    def url(self, host: str) -> str:
        """The base URL of this role's service API."""
        return f"http://{host}:{self.port}"


@dataclass(frozen=True, slots=True)
class Plan:
    """The roles of a system, in start order (relay first, gateway last)."""

    roles: tuple[Role, ...]

    def role(self, name: str) -> Role:
        """The role called ``name``; raises KeyError naming the known ones."""
        for role in self.roles:
            if role.name == name:
                return role
        raise KeyError(f"no role {name!r}; the roles are: {', '.join(r.name for r in self.roles)}")

    @property
    def workers(self) -> tuple[Role, ...]:
        """Every role but the gateway (embedded: one process runs them; distributed: one port each)."""
        return tuple(role for role in self.roles if role.kind is not RoleKind.GATEWAY)

    def of(self, kind: RoleKind) -> tuple[Role, ...]:
        """The roles of one kind."""
        return tuple(role for role in self.roles if role.kind is kind)

    def replicas(self, view: str) -> tuple[Role, ...]:
        """The roles serving ``view`` (its replicas, or the one on-demand process)."""
        return tuple(role for role in self.roles if role.kind is RoleKind.VIEW and role.target == view)


def plan_roles(spec: SystemSpec, *, base_port: int, gateway_port: int) -> Plan:
    """The roles of ``spec``: relay, services, process managers, view replicas, then the gateway."""
    roles: list[Role] = []

    def add(name: str, kind: RoleKind, target: str, replica: int = 1) -> None:
        roles.append(Role(name=name, kind=kind, target=target, port=base_port + len(roles), replica=replica))

    add("relay", RoleKind.RELAY, "relay")
    for service in spec.services:
        add(service.name, RoleKind.SERVICE, service.name)
    for process in spec.processes:
        add(process.name, RoleKind.PROCESS, process.name)
    for view in spec.views:
        if view.replicas == 1:
            add(view.name, RoleKind.VIEW, view.name)
            continue
        for replica in range(1, view.replicas + 1):
            add(f"{view.name}.{replica}", RoleKind.VIEW, view.name, replica)
    roles.append(Role(name="gateway", kind=RoleKind.GATEWAY, target="gateway", port=gateway_port))
    return Plan(tuple(roles))


def bus_topology(spec: SystemSpec, *, rapids: Rapids | None = None, ack_wait: float = 30.0) -> Topology:
    """One river and one ordered pond per consumer (a service's reactions, a process manager)."""
    rapids = rapids or Rapids()
    rivers: list[River] = []
    ponds: list[Pond] = []
    retry = RetryPolicy()
    for name, consumed in _consumers(spec):
        if not consumed:
            continue
        types = tuple(sorted(spec.registry.name_for(cls) for cls in consumed))
        river = river_name(rapids, name)
        rivers.append(River(name=river, types=types))
        ponds.append(
            Pond(name=name, river=river, concurrency=8, ordered=True, retry=retry, ack_wait=ack_wait)
        )
    return Topology(rapids=rapids, rivers=tuple(rivers), ponds=tuple(ponds))


def river_name(rapids: Rapids, consumer: str) -> str:
    """The river of one consumer: prefixed with the rapids' name, as broker stream names are global."""
    return f"{rapids.name}_{consumer}"


def _consumers(spec: SystemSpec) -> list[tuple[str, set[type]]]:
    found: list[tuple[str, set[type]]] = []
    for service in spec.services:
        found.append((service.name, {cls for reaction in service.reactions for cls in reaction.consumes}))
    for process in spec.processes:
        found.append((process.name, set(process.manager.consumes)))
    return found
