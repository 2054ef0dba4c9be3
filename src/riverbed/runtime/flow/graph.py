"""The graph of event subscriptions between services, built and checked at start-up.

Events flow one way, like a unix pipe: a service's facts flow to the services that subscribe to them, and
never back, neither between services nor between bounded contexts. :func:`build_flow` builds the graph from
the services' declarations and refuses a cycle with :class:`~riverbed.errors.TopologyCycle`, naming it.
Subscriptions inside one bounded context do not make a context-level cycle; only hops between contexts do.

Commands are calls to an owner's public command API, not subscriptions, so they are recorded as routes but
never make an edge. Loose ends (an event type produced but consumed by nobody, consumed but produced by
nobody, a command sent that nobody handles) are reported as :class:`FlowWarning` values, not errors: a type
may be consumed outside the declared system, or a producer may be declared later.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import pairwise
from typing import Literal

from riverbed.errors import InvalidFlow, TopologyCycle
from riverbed.runtime.flow.cycles import find_cycle, topological_order
from riverbed.runtime.flow.declaration import ServiceDeclaration

WarningKind = Literal["unconsumed", "unproduced", "unhandled-command"]


@dataclass(frozen=True, slots=True)
class FlowEdge:
    """Events of ``event_types`` flow from ``producer`` to ``consumer`` (services or contexts)."""

    producer: str
    consumer: str
    event_types: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CommandRoute:
    """``sender`` calls ``handler``'s public command API with ``commands`` (not part of the event flow)."""

    sender: str
    handler: str
    commands: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FlowWarning:
    """A loose end in the declarations: worth a look, not a reason to refuse to start."""

    kind: WarningKind
    service: str
    name: str
    message: str


@dataclass(frozen=True, slots=True)
class FlowGraph:
    """The checked, acyclic flow of a set of services. Every collection is sorted, so output is stable."""

    services: tuple[ServiceDeclaration, ...]
    edges: tuple[FlowEdge, ...]
    context_edges: tuple[FlowEdge, ...]
    routes: tuple[CommandRoute, ...]
    warnings: tuple[FlowWarning, ...]

    def service(self, name: str) -> ServiceDeclaration:
        """The declaration of the service called ``name``; raises KeyError naming the known services."""
        for declared in self.services:
            if declared.name == name:
                return declared
        known = ", ".join(s.name for s in self.services)
        raise KeyError(f"no service called {name!r}; the declared services are: {known}")

    def consumers_of(self, type_name: str) -> tuple[str, ...]:
        """The services that subscribe to ``type_name``, sorted (what a river for that type feeds)."""
        return tuple(s.name for s in self.services if type_name in s.consumes)

    def handler_of(self, command: str) -> str | None:
        """The service whose public command API handles ``command`` (where a sent command is routed)."""
        return next((s.name for s in self.services if command in s.handles), None)

    @property
    def contexts(self) -> tuple[str, ...]:
        """The bounded contexts, sorted."""
        return tuple(sorted({s.context for s in self.services}))

    def order(self) -> list[str]:
        """Service names with every producer before its consumers: a safe start-up order."""
        return topological_order((s.name for s in self.services), _successors(self.edges))


def build_flow(services: Iterable[ServiceDeclaration]) -> FlowGraph:
    """Build the flow graph of ``services`` and check it.

    Raises :class:`~riverbed.errors.InvalidFlow` for a duplicate service name or a command with two
    handlers, and :class:`~riverbed.errors.TopologyCycle` when events would flow in a circle between
    services (checked first) or between bounded contexts.
    """
    declared = sorted(services, key=lambda s: s.name)
    _refuse_duplicates(declared)
    by_name = {s.name: s for s in declared}
    edges = _service_edges(declared)
    context_edges = _context_edges(edges, by_name)
    _refuse_cycle("service", [s.name for s in declared], edges)
    _refuse_cycle("context", [s.context for s in declared], context_edges)
    routes, unhandled = _command_routes(declared)
    return FlowGraph(
        services=tuple(declared),
        edges=edges,
        context_edges=context_edges,
        routes=routes,
        warnings=_loose_ends(declared) + unhandled,
    )


def _refuse_duplicates(declared: list[ServiceDeclaration]) -> None:
    seen: dict[str, ServiceDeclaration] = {}
    for declaration in declared:
        if declaration.name in seen:
            raise InvalidFlow(
                f"two services are declared as {declaration.name!r} (contexts "
                f"{seen[declaration.name].context!r} and {declaration.context!r}); give each a unique name"
            )
        seen[declaration.name] = declaration


def _service_edges(declared: list[ServiceDeclaration]) -> tuple[FlowEdge, ...]:
    carried: dict[tuple[str, str], set[str]] = defaultdict(set)
    consumers: dict[str, list[str]] = defaultdict(list)
    for declaration in declared:
        for type_name in declaration.consumes:
            consumers[type_name].append(declaration.name)
    for declaration in declared:
        for type_name in declaration.produces:
            for consumer in consumers.get(type_name, ()):
                carried[declaration.name, consumer].add(type_name)
    return tuple(FlowEdge(p, c, tuple(sorted(types))) for (p, c), types in sorted(carried.items()))


def _context_edges(
    edges: tuple[FlowEdge, ...], by_name: Mapping[str, ServiceDeclaration]
) -> tuple[FlowEdge, ...]:
    carried: dict[tuple[str, str], set[str]] = defaultdict(set)
    for edge in edges:
        source, target = by_name[edge.producer].context, by_name[edge.consumer].context
        if source != target:
            carried[source, target].update(edge.event_types)
    return tuple(FlowEdge(p, c, tuple(sorted(types))) for (p, c), types in sorted(carried.items()))


def _successors(edges: Iterable[FlowEdge]) -> dict[str, list[str]]:
    successors: dict[str, list[str]] = defaultdict(list)
    for edge in edges:
        successors[edge.producer].append(edge.consumer)
    return successors


def _refuse_cycle(level: str, nodes: list[str], edges: tuple[FlowEdge, ...]) -> None:
    cycle = find_cycle(nodes, _successors(edges))
    if cycle is None:
        return
    carried = {(e.producer, e.consumer): e.event_types for e in edges}
    via = tuple(carried[hop] for hop in pairwise(cycle))
    raise TopologyCycle(level=level, cycle=cycle, via=via)


def _command_routes(
    declared: list[ServiceDeclaration],
) -> tuple[tuple[CommandRoute, ...], tuple[FlowWarning, ...]]:
    handler_of: dict[str, str] = {}
    for declaration in declared:
        for command in sorted(declaration.handles):
            if command in handler_of:
                raise InvalidFlow(
                    f"command {command!r} is handled by both {handler_of[command]!r} and "
                    f"{declaration.name!r}; a command has exactly one owner"
                )
            handler_of[command] = declaration.name
    routed: dict[tuple[str, str], list[str]] = defaultdict(list)
    warnings: list[FlowWarning] = []
    for declaration in declared:
        for command in sorted(declaration.sends):
            handler = handler_of.get(command)
            if handler is None:
                warnings.append(
                    FlowWarning(
                        "unhandled-command",
                        declaration.name,
                        command,
                        f"{declaration.name} sends {command}, which no declared service handles",
                    )
                )
            else:
                routed[declaration.name, handler].append(command)
    routes = tuple(CommandRoute(s, h, tuple(commands)) for (s, h), commands in sorted(routed.items()))
    return routes, tuple(warnings)


def _loose_ends(declared: list[ServiceDeclaration]) -> tuple[FlowWarning, ...]:
    produced = {t for s in declared for t in s.produces}
    consumed = {t for s in declared for t in s.consumes}
    warnings: list[FlowWarning] = []
    for declaration in declared:
        warnings.extend(
            FlowWarning(
                "unconsumed",
                declaration.name,
                t,
                f"{declaration.name} produces {t}, which no service consumes",
            )
            for t in sorted(declaration.produces - consumed)
        )
        warnings.extend(
            FlowWarning(
                "unproduced",
                declaration.name,
                t,
                f"{declaration.name} consumes {t}, which no service produces",
            )
            for t in sorted(declaration.consumes - produced)
        )
    return tuple(warnings)
