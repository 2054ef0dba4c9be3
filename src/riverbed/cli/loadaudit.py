"""The audit half of ``riverbed load``: read every stored event, wait for the system to settle, audit it.

Every context store of the system is read in global order (incrementally: each poll reads only what is
new), the events are grouped by their ``tenant`` extension, and the system's audit runs on each tenant's
world with ``final=True``, reading that tenant's view rows through the gateway. Until the audit passes or
the settle timeout expires it polls again: right after a load, checkouts are still in flight and views
still catching up, which is not a fault; what is still wrong after the timeout is.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from riverbed.cloudevents import CloudEvent
from riverbed.ports.event_store import After, EventStore
from riverbed.runtime.system import Auditor, AuditOutcome, RowReader

NO_TENANT = "(no tenant)"
"""How events without a ``tenant`` extension are grouped."""
POLL_SECONDS = 0.5
ROW_RETRY_SECONDS = 10.0
"""How long a view read is retried on 503 (a view replica catching up or restarting)."""


class StoreLog:
    """Every event of a system's context stores so far, by tenant; :meth:`refresh` reads what is new."""

    def __init__(self, stores: Mapping[str, EventStore]) -> None:
        self.stores = dict(stores)
        self._after: dict[str, After] = dict.fromkeys(self.stores)
        self.by_tenant: dict[str, list[CloudEvent]] = defaultdict(list)
        self.count = 0

    async def refresh(self) -> int:
        """Read every event stored since the last refresh; returns how many."""
        new = 0
        for context, store in self.stores.items():
            async for record in store.read_all(after=self._after[context]):
                tenant = record.event.extensions.get("tenant")
                self.by_tenant[tenant if isinstance(tenant, str) and tenant else NO_TENANT].append(
                    record.event
                )
                self._after[context] = record.checkpoint
                new += 1
        self.count += new
        return new


class GatewayRows:
    """View rows read through the gateway with each tenant's key; read failures become audit problems."""

    def __init__(self, client: httpx.AsyncClient, keys: Mapping[str, str]) -> None:
        self.client = client
        self.keys = dict(keys)
        self.failures: list[str] = []

    def reader(self, tenant: str) -> RowReader | None:
        """The row reader for ``tenant``, or None when no key of that tenant was given."""
        key = self.keys.get(tenant)
        if key is None:
            return None

        async def read(view: str, row_key: str) -> Mapping[str, Any] | None:
            return await self._read(tenant, key, view, row_key)

        return read

    async def _read(self, tenant: str, key: str, view: str, row_key: str) -> Mapping[str, Any] | None:
        path = f"/views/{quote(view, safe='')}/{quote(row_key, safe='')}"
        give_up = time.monotonic() + ROW_RETRY_SECONDS
        while True:
            try:
                response = await self.client.get(path, headers={"X-Api-Key": key})
            except httpx.HTTPError as exc:
                self.failures.append(f"{tenant}: reading {view}/{row_key}: no answer ({exc})")
                return None
            if response.status_code == 503 and time.monotonic() < give_up:
                await asyncio.sleep(min(float(response.headers.get("retry-after", "1") or 1), 2.0))
                continue
            if response.status_code == 404:
                return None
            if response.status_code != 200:
                status, text = response.status_code, response.text[:200]
                self.failures.append(f"{tenant}: reading {view}/{row_key} answered {status}: {text}")
                return None
            data = response.json().get("data")
            return data if isinstance(data, dict) else None


@dataclass(frozen=True, slots=True)
class Settled:
    """The audit outcome per tenant after settling, how long settling took and how many events it read."""

    outcomes: dict[str, AuditOutcome]
    seconds: float
    events: int
    read_failures: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """Whether every tenant's audit is clean and every view row could be read."""
        return not self.read_failures and all(o.ok for o in self.outcomes.values())


async def settle_and_audit(
    log: StoreLog, rows: GatewayRows | None, audit: Auditor, *, within: float
) -> Settled:
    """Audit every tenant (``final=True``) until all are clean or ``within`` seconds have passed."""
    started = time.monotonic()
    while True:
        await log.refresh()
        if rows is not None:
            rows.failures.clear()
        outcomes = {
            tenant: await audit(events, rows.reader(tenant) if rows is not None else None, final=True)
            for tenant, events in sorted(log.by_tenant.items())
        }
        settled = Settled(
            outcomes,
            time.monotonic() - started,
            log.count,
            tuple(rows.failures) if rows is not None else (),
        )
        if settled.ok or time.monotonic() - started >= within:
            return settled
        await asyncio.sleep(POLL_SECONDS)
