"""A real projection served through the gateway: SQLite event + view stores, the real ProjectionRunner.

Tenants deposit through ``POST /commands/...``; ``GET /views/balances/<key>?min_position=`` returns the
balance including that deposit (read-your-writes), only ever the caller's own tenant's row.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from riverbed import CommandService, ServiceRunner
from riverbed.application.projections import Projection, ProjectionRunner, RunnerOptions, handles
from riverbed.application.queries import ViewQueries, tenant_key
from riverbed.application.tenancy import tenant_of
from riverbed.bootstrap import open_store, open_view_store
from riverbed.gateway.app import GatewayApp, create_app
from riverbed.ports.event_store import Checkpoint, RecordedEvent
from riverbed.ports.views import Row
from riverbed.runtime.endpoints import QueriesEndpoint, RunnerEndpoint
from tests.gateway.conftest import ACME_KEY, GLOBEX_KEY, settings
from tests.gateway.e2e_domain import Account, Deposit, events

FAST = RunnerOptions(batch_size=50, batch_ms=20, poll_interval=0.02, lag_interval=0.02)
DEPOSIT = "/commands/bank.deposits/Deposit"


class TenantBalances(Projection):
    """Balances keyed ``tenant:account`` (the tenant read from the scoped stream name)."""

    name = "balances"

    def key(self, record: RecordedEvent) -> str | None:
        tenant = tenant_of(record.stream)
        return tenant_key(tenant, record.event.data["account_id"]) if tenant else None

    @handles("e2e.account.money-deposited.v1")
    def deposited(self, row: Row | None, record: RecordedEvent) -> Row | None:
        data = record.event.data
        return {"account_id": data["account_id"], "balance": (row or {}).get("balance", 0) + data["amount"]}


@dataclass
class Served:
    app: GatewayApp
    projections: ProjectionRunner


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    async with (
        open_store(f"sqlite:///{tmp_path}/events.db") as store,
        open_view_store(f"sqlite:///{tmp_path}/views.db") as views,
    ):
        service: CommandService[Account] = CommandService(
            name="bank.deposits",
            aggregate=Account,
            commands=(Deposit,),
            stream=lambda c: f"account-{c.account_id}",
            store=store,
            registry=events,
        )
        runner = ServiceRunner(service)
        await runner.start()
        queries = ViewQueries(views, max_wait=2.0, poll_interval=0.01)
        queries.add(TenantBalances(), tenant_scoped=True)
        app = create_app(
            settings(), services=[RunnerEndpoint(runner)], views=[QueriesEndpoint(queries, "balances")]
        )
        projections = ProjectionRunner(store, views, [TenantBalances()], options=FAST)
        try:
            yield Served(app, projections)
        finally:
            await projections.stop()
            await runner.stop()


def _client(app: GatewayApp, key: str | None) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://gateway",
        headers={"x-api-key": key} if key else {},
    )


async def test_a_view_is_replaying_until_its_first_build_then_serves(served: Served) -> None:
    app = served.app
    await app.monitor.probe_all()
    async with _client(app, ACME_KEY) as acme:
        not_ready = await acme.get("/readyz")
        early = await acme.get("/views/balances/a-1")
        assert not_ready.status_code == 503, not_ready.text
        assert early.status_code == 503, early.text
        assert early.headers["content-type"] == "application/problem+json"
        assert (early.json()["service"], early.json()["state"]) == ("balances", "replaying")
        assert "retry-after" in early.headers
        await served.projections.start()
        await served.projections.wait_until_ready()
        await app.monitor.probe_all()
        ready = await acme.get("/readyz")
        missing = await acme.get("/views/balances/a-1")
    assert ready.status_code == 200, ready.text
    assert missing.status_code == 404, missing.text
    assert missing.headers["content-type"] == "application/problem+json"


async def test_read_your_writes_per_tenant_and_refusals(served: Served) -> None:
    app = served.app
    await served.projections.start()
    await served.projections.wait_until_ready()
    await app.monitor.probe_all()
    async with _client(app, ACME_KEY) as acme, _client(app, GLOBEX_KEY) as globex:
        first = await acme.post(DEPOSIT, json={"account_id": "a-1", "amount": 5})
        second = await acme.post(DEPOSIT, json={"account_id": "a-1", "amount": 3})
        assert first.status_code == second.status_code == 200, second.text
        written = second.json()["position"]
        mine = await acme.get("/views/balances/a-1", params={"min_position": written})
        assert mine.status_code == 200, mine.text
        body = mine.json()
        assert (body["view"], body["key"], body["data"]) == (
            "balances",
            "a-1",
            {"account_id": "a-1", "balance": 8},
        )
        assert Checkpoint.parse(body["position"]) >= Checkpoint.parse(written)

        not_theirs = await globex.get("/views/balances/a-1")
        assert not_theirs.status_code == 404, not_theirs.text
        assert not_theirs.headers["content-type"] == "application/problem+json"
        theirs = await globex.post(DEPOSIT, json={"account_id": "a-1", "amount": 7})
        seen = await globex.get("/views/balances/a-1", params={"min_position": theirs.json()["position"]})
        assert seen.json()["data"] == {"account_id": "a-1", "balance": 7}
        still = await acme.get("/views/balances/a-1", params={"min_position": theirs.json()["position"]})
        assert still.json()["data"] == {"account_id": "a-1", "balance": 8}

        at = Checkpoint.parse(theirs.json()["position"])
        ahead = str(Checkpoint(at.commit, at.position + 40))
        behind = await acme.get("/views/balances/a-1", params={"min_position": ahead})
        unknown = await acme.get("/views/no-such-view/a-1")
    async with _client(app, None) as anonymous:
        unauthenticated = await anonymous.get("/views/balances/a-1")

    assert behind.status_code == 503, behind.text
    assert behind.headers["content-type"] == "application/problem+json"
    assert behind.headers["retry-after"] == "1"
    problem = behind.json()
    assert (problem["service"], problem["state"]) == ("balances", "behind")
    assert problem["progress"] == {"position": str(at), "wanted": ahead, "behind": 40}
    assert "behind the asked" in problem["detail"]
    assert unknown.status_code == 404, unknown.text
    assert unknown.headers["content-type"] == "application/problem+json"
    assert unauthenticated.status_code == 401, unauthenticated.text
    assert unauthenticated.headers["content-type"] == "application/problem+json"
