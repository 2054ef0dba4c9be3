"""Heartbeat probes: ask every upstream for its status on an interval and feed the health table.

A probe that fails (connection refused, reset, or no answer within its deadline) marks the upstream down at
once, so a killed process is noticed within one interval plus one deadline, not after a request timed
out. Probes run concurrently, so one slow upstream does not delay the others' heartbeats.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping

from riverbed.application.endpoints import CommandEndpoint, ViewEndpoint
from riverbed.gateway.health import HealthTable

log = logging.getLogger("riverbed.gateway.monitor")


class HealthMonitor:
    """Probes upstreams every ``interval`` seconds until stopped."""

    def __init__(
        self,
        table: HealthTable,
        endpoints: Mapping[str, CommandEndpoint | ViewEndpoint],
        *,
        interval: float,
        deadline: float,
    ) -> None:
        self.table = table
        self.endpoints = dict(endpoints)
        self.interval = interval
        self.deadline = deadline
        self._task: asyncio.Task[None] | None = None

    async def probe_all(self) -> None:
        """Probe every upstream once, concurrently."""
        await asyncio.gather(*(self._probe(name, ep) for name, ep in self.endpoints.items()))

    async def start(self) -> None:
        """Probe once (so the table is filled before the first request), then keep probing."""
        await self.probe_all()
        self._task = asyncio.create_task(self._run(), name="riverbed-gateway-health")

    async def stop(self) -> None:
        """Stop probing."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            await self.probe_all()

    async def _probe(self, name: str, endpoint: CommandEndpoint | ViewEndpoint) -> None:
        try:
            async with asyncio.timeout(self.deadline):
                status = await endpoint.status()
        except TimeoutError:
            self.table.mark_down(name, f"no heartbeat within {self.deadline:g} s")
        except Exception as exc:
            self.table.mark_down(name, f"probe failed: {type(exc).__name__}: {exc}")
        else:
            self.table.heartbeat(name, status)
