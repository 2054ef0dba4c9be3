"""Settings of ``riverbed run``: where the system keeps its data and how its processes find each other.

The ``[run]`` table of ``riverbed.toml`` (or ``RIVERBED_RUN__*`` variables)::

    [run]
    app = "examples.bank.system:system"     # the SystemSpec to run
    data_dir = ".riverbed"                   # embedded: the SQLite files
    postgres_url = "postgresql://postgres@127.0.0.1:5432/postgres"   # distributed: the stores
    nats_url = "nats://127.0.0.1:4222"       # distributed: the bus
    prefix = "riverbed"                      # names the schemas and the rapids of this system
    base_port = 8100                          # distributed: role N serves on base_port + N

The gateway's own address is ``[gateway] host`` and ``port`` (127.0.0.1:8000 by default).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

PREFIX_PATTERN = r"^[a-z][a-z0-9_]{0,30}$"


class RunSettings(BaseModel):
    """How ``riverbed run`` lays a system out (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    app: str = "examples.bank.system:system"
    data_dir: str = ".riverbed"
    postgres_url: str = Field(
        default="postgresql://postgres@127.0.0.1:5432/postgres", pattern=r"^postgres(ql)?://"
    )
    nats_url: str = Field(default="nats://127.0.0.1:4222", pattern=r"^(nats|tls)://")
    prefix: str = Field(default="riverbed", pattern=PREFIX_PATTERN)
    base_port: int = Field(default=8100, ge=1024, le=65000)
    drain_seconds: float = Field(default=10.0, gt=0)
    restart_initial_seconds: float = Field(default=0.2, gt=0)
    restart_max_seconds: float = Field(default=10.0, gt=0)
