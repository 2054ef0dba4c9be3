"""What a system is made of, as data: command services, views, process managers and reactions per context.

A :class:`SystemSpec` is the one object ``riverbed run --app module:attribute`` loads. It says nothing about
*where* things run: the same spec runs embedded (one process, SQLite files, the in-process bus) or
distributed (one OS process per service, per view replica, the relays and the gateway, over PostgreSQL and
NATS JetStream). Each bounded context has its own event store; services, views and process managers name
the context whose store they use::

    system = SystemSpec(
        name="bank",
        registry=registry,
        services=[ServiceSpec(name="deposits", context="bank", decider=account.decider,
                              commands=(Deposit,), stream=lambda c: account_stream(c.account_id))],
        views=[ViewSpec(name="balances", context="bank", projection=Balances)],
        processes=[ProcessSpec(name="checkout", context="shop", manager=checkout_manager)],
        flow=topology.services,
    )

Reactions are hosted beside the service they belong to (:attr:`ServiceSpec.reactions`): the service's
process consumes the reaction's events from its pond and sends the commands it returns.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from riverbed.application.processes import ProcessManager, Reaction
from riverbed.application.projections.projection import Projection
from riverbed.domain import Command
from riverbed.domain.registry import EventTypeRegistry
from riverbed.errors import ConfigurationError
from riverbed.runtime.flow import ServiceDeclaration, build_flow
from riverbed.runtime.system.load import LoadProfile

NAME = re.compile(r"^[a-z][a-z0-9-]{0,40}$")
"""Names of services, views, processes and contexts: they become process names, ports and schema names."""


def _check_name(kind: str, name: str) -> None:
    if not isinstance(name, str) or not NAME.match(name):
        raise ConfigurationError(
            f"{kind} name {name!r} must be 1-41 lower-case letters, digits and '-', starting with a letter "
            "(it names an OS process, a pond and a database schema)"
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceSpec:
    """A command service: the aggregate (a decider or an Aggregate class) and the commands it owns.

    ``stream`` maps a command to the stream it decides on (unscoped: tenants are added by the runtime).
    ``reactions`` are hosted in this service's process (their pond is named after the service).
    """

    name: str
    context: str
    aggregate: Any
    commands: tuple[type[Command], ...]
    stream: Callable[[Any], str]
    reactions: tuple[Reaction, ...] = ()
    description: str = ""

    def __post_init__(self) -> None:
        _check_name("service", self.name)
        _check_name("context", self.context)
        if not self.commands:
            raise ConfigurationError(f"service {self.name!r} handles no command; give it commands=(...)")


@dataclass(frozen=True, slots=True, kw_only=True)
class ViewSpec:
    """A view: a projection class, pre-loaded (kept current) or computed on demand.

    ``on_demand`` is ``None`` for a pre-loaded view; for an on-demand view it maps a row key (scoped as
    ``tenant:key`` for tenant-scoped views) to the streams the row is folded from. ``replicas`` is how many
    copies of a pre-loaded view run in distributed mode (each its own process and view store).
    """

    name: str
    context: str
    projection: Callable[[], Projection]
    on_demand: Callable[[str], Sequence[str]] | None = None
    replicas: int = 1
    tenant_scoped: bool = True
    description: str = ""

    def __post_init__(self) -> None:
        _check_name("view", self.name)
        _check_name("context", self.context)
        if self.replicas < 1:
            raise ConfigurationError(f"view {self.name!r}: replicas must be at least 1, got {self.replicas}")
        if self.on_demand is not None and self.replicas != 1:
            raise ConfigurationError(
                f"view {self.name!r} is on demand (it reads the event store when asked), so it has no "
                "replicas to keep; leave replicas=1"
            )

    @property
    def preloaded(self) -> bool:
        """Whether a projection keeps this view current in a view store."""
        return self.on_demand is None


@dataclass(frozen=True, slots=True, kw_only=True)
class ProcessSpec:
    """A process manager hosted in its own process, with its dispatcher (commands and timers)."""

    name: str
    context: str
    manager: ProcessManager[Any]
    description: str = ""

    def __post_init__(self) -> None:
        _check_name("process", self.name)
        _check_name("context", self.context)


@dataclass(frozen=True, slots=True, kw_only=True)
class SystemSpec:
    """A whole system: its services, views and process managers, its event types and its declared flow.

    ``flow`` is the declared topology (who consumes and produces what); it is checked for cycles before
    anything starts. ``demo_api_keys`` (tenant -> key) are the credentials used when the settings configure
    none, so an example runs with zero set-up; a real deployment configures its own in ``riverbed.toml``.
    ``load`` is what ``riverbed load`` sends and audits (see :mod:`riverbed.runtime.system.load`).
    """

    name: str
    registry: EventTypeRegistry
    services: tuple[ServiceSpec, ...] = ()
    views: tuple[ViewSpec, ...] = ()
    processes: tuple[ProcessSpec, ...] = ()
    flow: tuple[ServiceDeclaration, ...] = ()
    demo_api_keys: Mapping[str, str] = field(default_factory=dict)
    load: LoadProfile | None = None
    description: str = ""

    def __post_init__(self) -> None:
        _check_name("system", self.name)
        names = (
            [s.name for s in self.services] + [v.name for v in self.views] + [p.name for p in self.processes]
        )
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ConfigurationError(
                f"system {self.name!r}: every service, view and process needs its own name; "
                f"repeated: {repeated}"
            )
        if self.flow:
            build_flow(list(self.flow))  # refuses a cycle, naming it

    @property
    def contexts(self) -> tuple[str, ...]:
        """Every bounded context, in first-mention order (each has its own event store)."""
        contexts = [s.context for s in self.services] + [v.context for v in self.views]
        contexts += [p.context for p in self.processes]
        return tuple(dict.fromkeys(contexts))

    def service(self, name: str) -> ServiceSpec:
        """The service called ``name``."""
        for spec in self.services:
            if spec.name == name:
                return spec
        raise ConfigurationError(f"system {self.name!r} has no service {name!r}")
