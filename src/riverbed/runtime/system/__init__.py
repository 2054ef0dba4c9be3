"""Run a whole system: its spec, its roles and their processes, embedded or distributed.

* :mod:`.spec`: the system as data (services, views, process managers, reactions, per context);
* :mod:`.plan`: the roles (one OS process each when distributed), their ports and the bus topology;
* :mod:`.assembly`: the live objects of the roles one process hosts;
* :mod:`.host`: one process's life (start, serve, stop in order on a signal);
* :mod:`.supervisor`: one OS process per role, restarted with backoff;
* :mod:`.replicas`: one view endpoint over a view's replicas;
* :mod:`.load`: what ``riverbed load`` sends to a system and how it audits it.
"""

from riverbed.runtime.system.assembly import Assembly, RemoteEndpoints, command_specs
from riverbed.runtime.system.host import Served, WorkerFailed, install_stop_signals, run_process
from riverbed.runtime.system.load import (
    SETUP,
    Auditor,
    AuditOutcome,
    CommandSource,
    LoadCommand,
    LoadProfile,
    RowReader,
)
from riverbed.runtime.system.loading import load_system
from riverbed.runtime.system.plan import Plan, Role, RoleKind, bus_topology, plan_roles
from riverbed.runtime.system.replicas import ReplicaSet
from riverbed.runtime.system.resources import Resources
from riverbed.runtime.system.spec import ProcessSpec, ServiceSpec, SystemSpec, ViewSpec
from riverbed.runtime.system.supervisor import Supervisor

__all__ = [
    "SETUP",
    "Assembly",
    "AuditOutcome",
    "Auditor",
    "CommandSource",
    "LoadCommand",
    "LoadProfile",
    "Plan",
    "ProcessSpec",
    "RemoteEndpoints",
    "ReplicaSet",
    "Resources",
    "Role",
    "RoleKind",
    "RowReader",
    "Served",
    "ServiceSpec",
    "Supervisor",
    "SystemSpec",
    "ViewSpec",
    "WorkerFailed",
    "bus_topology",
    "command_specs",
    "install_stop_signals",
    "load_system",
    "plan_roles",
    "run_process",
]
