"""``riverbed run``: start a whole system, embedded (one process) or distributed (one process per role).

* ``riverbed run``: everything in this process: SQLite files under ``./.riverbed/``, the in-process bus,
  the gateway on 127.0.0.1:8000. Prints where to go and how to stop; SIGINT/SIGTERM drain, then stop.
* ``riverbed run --distributed``: a supervisor starting one OS process per service, process manager, view
  replica, the relays and the gateway, over PostgreSQL and NATS JetStream (``[run]`` settings), and
  restarting a crashed one with backoff.
* ``riverbed run --only ROLE``: one role of the distributed system, for an external orchestrator (what
  the supervisor itself starts); ``riverbed run --roles`` lists the roles and their ports.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import SecretStr

from riverbed.application.endpoints import CommandEndpoint, CommandSpec, ViewEndpoint
from riverbed.bootstrap.system import DistributedResources, EmbeddedResources, system_rapids
from riverbed.cli.running import EXIT_BAD_INPUT, fail, write_line
from riverbed.cli.running import run as run_main
from riverbed.errors import ConfigurationError
from riverbed.gateway.app import GatewayApp, create_app
from riverbed.gateway.upstreams import RemoteService, RemoteView
from riverbed.runtime.gateway_settings import ApiKeySettings, GatewaySettings
from riverbed.runtime.service_api import create_service_api
from riverbed.runtime.settings import RiverbedSettings, load_settings
from riverbed.runtime.system import (
    Assembly,
    Plan,
    ReplicaSet,
    Role,
    RoleKind,
    Served,
    Supervisor,
    SystemSpec,
    command_specs,
    install_stop_signals,
    load_system,
    plan_roles,
    run_process,
)

DEMO_SUBJECT = "demo"
"""The principal of the system's demo keys (only those are printed in the banner)."""


class HttpRemote:
    """Endpoints of roles in other processes, reached over their service API."""

    def service(self, name: str, url: str, commands: Sequence[CommandSpec]) -> CommandEndpoint:
        """A remote command endpoint."""
        return RemoteService(name, url, commands)

    def view(self, name: str, urls: Sequence[str]) -> ViewEndpoint:
        """A remote view, over its replicas when it has several."""
        if len(urls) == 1:
            return RemoteView(name, urls[0])
        return ReplicaSet(name, [RemoteView(name, url) for url in urls])


def run(
    app_ref: Annotated[
        str | None, typer.Option("--app", help="The SystemSpec to run, as module:attribute ([run] app).")
    ] = None,
    distributed: Annotated[
        bool, typer.Option("--distributed", help="One process per role over PostgreSQL and NATS JetStream.")
    ] = False,
    only: Annotated[
        str | None,
        typer.Option("--only", help="Run one role of the distributed system (implies --distributed)."),
    ] = None,
    roles: Annotated[
        bool, typer.Option("--roles", help="List the roles and their ports, then exit.")
    ] = False,
    config: Annotated[
        Path | None, typer.Option("--config", help="The settings file (default ./riverbed.toml if present).")
    ] = None,
    data_dir: Annotated[
        str | None, typer.Option("--data-dir", help="Embedded: where the SQLite files go ([run] data_dir).")
    ] = None,
) -> None:
    """Start the system: embedded by default, or distributed (``--distributed``, ``--only ROLE``)."""
    settings = load_settings(config)
    overrides: dict[str, Any] = {}
    if app_ref is not None:
        overrides["app"] = app_ref
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    if overrides:
        settings = settings.model_copy(update={"run": settings.run.model_copy(update=overrides)})
    try:
        spec = load_system(settings.run.app)
    except ConfigurationError as exc:
        fail(str(exc), EXIT_BAD_INPUT)
    plan = plan_roles(spec, base_port=settings.run.base_port, gateway_port=settings.gateway.port)
    if roles:
        for role in plan.roles:
            write_line(f"{role.name:<28} {role.kind.value:<8} {settings.gateway.host}:{role.port}")
        return
    gateway = _gateway_settings(settings.gateway, spec)
    if only is not None:
        try:
            role = plan.role(only)
        except KeyError as exc:
            fail(str(exc.args[0]), EXIT_BAD_INPUT)
        run_main(lambda: _run_role(spec, plan, role, settings, gateway), quiet_interrupt=True)
    elif distributed:
        run_main(lambda: _supervise(plan, settings, config), quiet_interrupt=True)
    else:
        run_main(lambda: _run_embedded(spec, plan, settings, gateway), quiet_interrupt=True)


def _gateway_settings(gateway: GatewaySettings, spec: SystemSpec) -> GatewaySettings:
    """The configured credentials, or the system's demo keys when none are configured."""
    if gateway.api_keys or gateway.jwt.hs256_secret is not None or gateway.jwt.rs256_public_key is not None:
        return gateway
    keys = [
        ApiKeySettings(key=SecretStr(key), tenant=tenant, subject=DEMO_SUBJECT)
        for tenant, key in spec.demo_api_keys.items()
    ]
    return gateway.model_copy(update={"api_keys": keys})


async def _run_embedded(
    spec: SystemSpec, plan: Plan, settings: RiverbedSettings, gateway: GatewaySettings
) -> None:
    run = settings.run
    resources = EmbeddedResources(run.data_dir, rapids=system_rapids(run.prefix))
    workers = list(plan.workers)
    assembly = Assembly(spec, plan, workers, resources)
    stop = asyncio.Event()
    install_stop_signals(stop)

    apps: list[GatewayApp] = []

    def served() -> list[Served]:
        app = create_app(
            gateway,
            services=list(assembly.command_endpoints.values()),
            views=list(assembly.view_endpoints.values()),
        )
        apps.append(app)
        return [Served(app, gateway.host, gateway.port, front=True)]

    def started() -> None:
        _banner(spec, gateway, f"embedded: SQLite under {run.data_dir}/, the in-process bus")

    def ready() -> bool:
        return assembly.ready and all(app.gateway.health.all_ready() for app in apps)

    write_line(f"riverbed: starting {spec.name} (replaying the stores, building the views)")
    await run_process(assembly, served, stop=stop, grace=run.drain_seconds, on_started=started, ready=ready)
    write_line("riverbed: stopped (drained, checkpoints saved)")


async def _run_role(
    spec: SystemSpec, plan: Plan, role: Role, settings: RiverbedSettings, gateway: GatewaySettings
) -> None:
    run = settings.run
    resources = DistributedResources(run.postgres_url, run.nats_url, prefix=run.prefix)
    remote = HttpRemote()
    host = gateway.host
    stop = asyncio.Event()
    install_stop_signals(stop)
    apps: list[GatewayApp] = []
    if role.kind is RoleKind.GATEWAY:
        assembly = Assembly(spec, plan, [], resources)

        def served() -> list[Served]:
            services = [
                remote.service(r.target, r.url(host), command_specs(spec, r.target))
                for r in plan.roles
                if r.kind in (RoleKind.SERVICE, RoleKind.PROCESS)
            ]
            views = [remote.view(v.name, [r.url(host) for r in plan.replicas(v.name)]) for v in spec.views]
            app = create_app(gateway, services=services, views=views)
            apps.append(app)
            return [Served(app, gateway.host, gateway.port, front=True)]

        def started() -> None:
            _banner(spec, gateway, "distributed: the gateway, in front of the service processes")

    else:
        assembly = Assembly(spec, plan, [role], resources, remote=remote, host=host)

        def served() -> list[Served]:
            endpoints: list[CommandEndpoint | ViewEndpoint] = [
                *assembly.command_endpoints.values(),
                *assembly.view_endpoints.values(),
            ]
            return [Served(create_service_api(endpoints), host, role.port)]

        def started() -> None:
            write_line(f"riverbed: {role.kind.value} {role.name} serving on {role.url(host)}")

    def ready() -> bool:
        return assembly.ready and all(app.gateway.health.all_ready() for app in apps)

    await run_process(assembly, served, stop=stop, grace=run.drain_seconds, on_started=started, ready=ready)


async def _supervise(plan: Plan, settings: RiverbedSettings, config: Path | None) -> None:
    def argv(role: Role) -> list[str]:
        command = [
            sys.executable,
            "-m",
            "riverbed.cli.main",
            "run",
            "--only",
            role.name,
            "--app",
            settings.run.app,
        ]
        return command + (["--config", str(config)] if config is not None else [])

    run = settings.run
    supervisor = Supervisor(
        plan,
        argv,
        initial_delay=run.restart_initial_seconds,
        max_delay=run.restart_max_seconds,
        grace=run.drain_seconds,
    )
    stop = asyncio.Event()
    install_stop_signals(stop)
    write_line(
        f"riverbed: supervising {len(plan.roles)} processes (PostgreSQL {run.postgres_url}, "
        f"NATS {run.nats_url}); Ctrl-C stops them all"
    )
    await supervisor.run(stop)
    write_line("riverbed: every process stopped")


def _banner(spec: SystemSpec, gateway: GatewaySettings, how: str) -> None:
    base = f"http://{gateway.host}:{gateway.port}"
    lines = [
        f"riverbed: {spec.name} is running ({how})",
        f"  gateway  {base}   (routes: {base}/openapi.json, health: {base}/readyz)",
    ]
    for key in gateway.api_keys:
        shown = key.key.get_secret_value() if key.subject == DEMO_SUBJECT else "(configured key)"
        lines.append(f"  tenant   {key.tenant:<10} X-Api-Key: {shown}")
    lines.append("  stop     Ctrl-C or SIGTERM: drains in-flight commands, then stops")
    for line in lines:
        write_line(line)
