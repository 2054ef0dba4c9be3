"""Build and run the live objects of the roles one OS process hosts, from a :class:`SystemSpec`.

Embedded, one process hosts every role; distributed, each process hosts one (``riverbed run --only``). The
objects are the same either way:

* a **service** role: a :class:`~riverbed.application.command_service.CommandService` behind its
  :class:`~riverbed.runtime.lifecycle.ServiceRunner` (replay, then ready), and a pond worker for its
  reactions, which send their commands through the command router;
* a **process** role: a process host (event-sourced process manager), its endpoint for the commands that
  start it, the dispatcher that sends its commands and fires its durable timers, and its pond worker;
* a **view** role: a projection runner and the queries of one replica of a pre-loaded view, or an on-demand
  view that folds the streams when asked;
* the **relay** role: one relay per context store, publishing the store's global order to the rapids.

Commands a reaction or process manager sends go to their owner through a
:class:`~riverbed.application.processes.CommandRouter`: to the local endpoint when the owner runs in this
process, else to the remote one the ``remote`` factory builds from the plan's addresses.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from riverbed.application.command_service import CommandService
from riverbed.application.endpoints import CommandEndpoint, CommandSpec, ViewEndpoint
from riverbed.application.processes import CommandRouter, ProcessEndpoint, ProcessHost, ReactionHandler
from riverbed.application.projections.runner import ProjectionRunner
from riverbed.application.queries.on_demand import OnDemandView
from riverbed.application.queries.service import ViewQueries
from riverbed.cloudevents.event import CloudEvent
from riverbed.ports.bus import Bus
from riverbed.ports.topology import Topology
from riverbed.runtime.endpoints import QueriesEndpoint, RunnerEndpoint
from riverbed.runtime.lifecycle import ServiceRunner
from riverbed.runtime.pond_worker import PondWorker
from riverbed.runtime.process_dispatcher import ProcessDispatcher
from riverbed.runtime.relay import Relay
from riverbed.runtime.system.plan import Plan, Role, RoleKind, bus_topology
from riverbed.runtime.system.resources import Resources
from riverbed.runtime.system.spec import ServiceSpec, SystemSpec, ViewSpec
from riverbed.runtime.topology import reconcile

log = logging.getLogger("riverbed.run")

Clock = Callable[[], datetime]


class RemoteEndpoints(Protocol):
    """Builds endpoints for roles running in other processes (the CLI passes the HTTP ones)."""

    def service(self, name: str, url: str, commands: Sequence[CommandSpec]) -> CommandEndpoint:
        """A command endpoint served at ``url``."""
        ...

    def view(self, name: str, urls: Sequence[str]) -> ViewEndpoint:
        """A view endpoint over the replicas served at ``urls``."""
        ...


def command_specs(spec: SystemSpec, name: str) -> list[CommandSpec]:
    """The commands the service or process manager ``name`` accepts, as the gateway describes them."""
    for service in spec.services:
        if service.name == name:
            return [CommandSpec(cls.__name__, cls) for cls in service.commands]
    for process in spec.processes:
        if process.name == name:
            return [CommandSpec(cls.__name__, cls) for cls in process.manager.starts]
    raise KeyError(f"system {spec.name!r} has no service or process {name!r}")


class Assembly:
    """The live objects of some roles of a system, started and stopped together."""

    def __init__(
        self,
        spec: SystemSpec,
        plan: Plan,
        roles: Sequence[Role],
        resources: Resources,
        *,
        remote: RemoteEndpoints | None = None,
        host: str = "127.0.0.1",
        clock: Clock | None = None,
    ) -> None:
        self.spec = spec
        self.plan = plan
        self.roles = tuple(roles)
        self.resources = resources
        self.remote = remote
        self.host = host
        self.clock = clock or (lambda: datetime.now(UTC))
        self.topology: Topology = bus_topology(spec, rapids=resources.rapids)
        self.command_endpoints: dict[str, CommandEndpoint] = {}
        self.view_endpoints: dict[str, ViewEndpoint] = {}
        self.runners: list[ServiceRunner] = []
        self.projections: list[ProjectionRunner] = []
        self.relays: list[Relay] = []
        self.dispatchers: dict[str, ProcessDispatcher] = {}
        self.hosts: dict[str, ProcessHost[Any]] = {}
        self.pond_workers: dict[str, PondWorker] = {}
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._router: CommandRouter | None = None
        self._remote_endpoints: list[CommandEndpoint] = []

    # -- building ------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Open what the roles need, declare the bus topology, then start every worker.

        Returns once everything is started; services are still replaying (and refusing commands with a
        retryable 503) until their :attr:`ServiceRunner.state` is ready.
        """
        bus: Bus | None = None
        if any(self._uses_bus(role) for role in self.roles):
            bus = await self.resources.bus()
            await reconcile(bus, self.topology, log=log)
        for role in self.roles:
            if role.kind is RoleKind.SERVICE:
                await self._service(self.spec.service(role.target))
            elif role.kind is RoleKind.PROCESS:
                await self._process(role.target)
            elif role.kind is RoleKind.VIEW:
                await self._view(self._view_spec(role.target), role.replica)
        self._remote_endpoints = self._remote_command_endpoints()
        self._router = CommandRouter([*self.command_endpoints.values(), *self._remote_endpoints])
        for role in self.roles:
            if role.kind is RoleKind.RELAY:
                assert bus is not None
                for context in self.spec.contexts:
                    await self._relay(context, bus)
        for runner in self.runners:
            self._spawn(f"replay-{runner.name}", runner.start())
        for name, host in self.hosts.items():
            context = next(p.context for p in self.spec.processes if p.name == name)
            checkpoints = await self.resources.process_checkpoints(context)
            dispatcher = ProcessDispatcher(
                host, self._router, checkpoints, clock=self.clock, name=f"process-{name}"
            )
            self.dispatchers[name] = dispatcher
            self._spawn(f"dispatch-{name}", dispatcher.run(stop=self._stop))
        for projection in self.projections:
            await projection.start()
        if bus is not None:
            await self._ponds(bus)

    async def _service(self, service: ServiceSpec) -> None:
        store = await self.resources.store(service.context)
        command_service: CommandService[Any] = CommandService(
            name=service.name,
            aggregate=service.aggregate,
            commands=service.commands,
            stream=service.stream,
            store=store,
            registry=self.spec.registry,
        )
        runner = ServiceRunner(command_service)
        self.runners.append(runner)
        self.command_endpoints[service.name] = RunnerEndpoint(runner)

    async def _process(self, name: str) -> None:
        process = next(p for p in self.spec.processes if p.name == name)
        store = await self.resources.store(process.context)
        host: ProcessHost[Any] = ProcessHost(process.manager, store, clock=self.clock)
        self.hosts[name] = host
        self.command_endpoints[name] = ProcessEndpoint(host)

    async def _view(self, view: ViewSpec, replica: int) -> None:
        store = await self.resources.store(view.context)
        views = await self.resources.view_store(view.name, replica)
        queries = ViewQueries(views)
        projection = view.projection()
        if view.on_demand is None:
            runner = ProjectionRunner(store, views, [projection])
            self.projections.append(runner)
            queries.add(projection, tenant_scoped=view.tenant_scoped)
        else:
            on_demand = OnDemandView(store, projection, streams=view.on_demand)
            queries.add_on_demand(on_demand, tenant_scoped=view.tenant_scoped)
        self.view_endpoints[view.name] = QueriesEndpoint(queries, projection.name)

    async def _relay(self, context: str, bus: Bus) -> None:
        store = await self.resources.store(context)
        checkpoints = await self.resources.relay_checkpoints(context)
        relay = Relay(store, bus, checkpoints, name=f"relay-{context}")
        self.relays.append(relay)
        self._spawn(f"relay-{context}", relay.run(stop=self._stop))

    async def _ponds(self, bus: Bus) -> None:
        for role in self.roles:
            handler = self._pond_handler(role)
            if handler is None:
                continue
            worker = PondWorker(bus, self.topology.pond(role.target), handler)
            self.pond_workers[role.target] = worker
            self._spawn(f"pond-{role.target}", worker.run(stop=self._stop))

    def _pond_handler(self, role: Role) -> Callable[[CloudEvent], Awaitable[None]] | None:
        if role.kind is RoleKind.PROCESS and role.target in self.hosts:
            host = self.hosts[role.target]

            async def to_process(event: CloudEvent) -> None:
                await host.handle_event(event)

            return to_process if self._has_pond(role.target) else None
        if role.kind is RoleKind.SERVICE and self.spec.service(role.target).reactions:
            assert self._router is not None
            handlers = [
                (
                    frozenset(self.spec.registry.name_for(cls) for cls in reaction.consumes),
                    ReactionHandler(reaction, self._router),
                )
                for reaction in self.spec.service(role.target).reactions
            ]

            async def to_reactions(event: CloudEvent) -> None:
                for types, handler in handlers:
                    if event.type in types:
                        await handler(event)

            return to_reactions
        return None

    def _has_pond(self, name: str) -> bool:
        return any(pond.name == name for pond in self.topology.ponds)

    def _uses_bus(self, role: Role) -> bool:
        return role.kind is RoleKind.RELAY or (
            role.kind in (RoleKind.SERVICE, RoleKind.PROCESS) and self._has_pond(role.target)
        )

    def _view_spec(self, name: str) -> ViewSpec:
        return next(v for v in self.spec.views if v.name == name)

    def _remote_command_endpoints(self) -> list[CommandEndpoint]:
        if self.remote is None:
            return []
        return [
            self.remote.service(role.target, role.url(self.host), command_specs(self.spec, role.target))
            for role in self.plan.roles
            if role.kind in (RoleKind.SERVICE, RoleKind.PROCESS) and role.target not in self.command_endpoints
        ]

    # -- running -------------------------------------------------------------------------------------

    def _spawn(self, name: str, work: Awaitable[None]) -> None:
        async def run() -> None:
            await work

        self._tasks.append(asyncio.create_task(run(), name=f"riverbed-{name}"))

    async def failed(self) -> BaseException:
        """Wait until a worker fails and return its error (a healthy system never returns)."""
        while True:
            running = [task for task in self._tasks if not task.done()]
            finished = [task for task in self._tasks if task.done() and not task.cancelled()]
            for task in finished:
                error = task.exception()
                if error is not None:
                    return error
            if not running:
                await asyncio.Event().wait()
            await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)

    @property
    def ready(self) -> bool:
        """Whether every service has replayed and every pre-loaded view has finished its first build."""
        return all(runner.ready for runner in self.runners) and all(p.ready for p in self.projections)

    async def stop(self, *, grace: float = 10.0) -> None:
        """Drain the services (in-flight commands finish, new ones are refused), then stop every worker."""
        await asyncio.gather(*(runner.stop(grace=grace) for runner in self.runners), return_exceptions=True)
        self._stop.set()
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=grace)
            for task in pending:
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(*self._tasks, return_exceptions=True)
        for projection in self.projections:
            await projection.stop()
        for endpoint in self._remote_endpoints:
            close = getattr(endpoint, "aclose", None)
            if close is not None:
                await close()
