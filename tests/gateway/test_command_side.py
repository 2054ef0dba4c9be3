"""The gateway in front of the command side's real ServiceRunner, in one process (memory store)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from riverbed import CommandService, ServiceRunner
from riverbed.adapters.memory.event_store import MemoryEventStore
from riverbed.gateway.app import GatewayApp, create_app
from riverbed.runtime.endpoints import RunnerEndpoint
from riverbed.runtime.lifecycle import LifecycleState
from tests.gateway.conftest import ACME_KEY, GLOBEX_KEY, RsaKeys, settings
from tests.gateway.e2e_domain import Account, Deposit, events


@pytest.fixture
async def wired(rsa_keys: RsaKeys) -> AsyncIterator[tuple[GatewayApp, ServiceRunner, MemoryEventStore]]:
    store = MemoryEventStore("memory://")
    await store.open()
    service: CommandService[Account] = CommandService(
        name="bank.deposits",
        aggregate=Account,
        commands=(Deposit,),
        stream=lambda c: f"account-{c.account_id}",
        store=store,
        registry=events,
    )
    runner = ServiceRunner(service)
    app = create_app(settings(rsa_keys), services=[RunnerEndpoint(runner)])
    yield app, runner, store
    await store.close()


def _client(app: GatewayApp, key: str, **headers: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://gateway",
        headers={"x-api-key": key, **headers},
    )


async def test_commands_run_once_per_key_scoped_to_the_tenant(
    wired: tuple[GatewayApp, ServiceRunner, MemoryEventStore],
) -> None:
    app, runner, store = wired
    await runner.start()
    await app.monitor.probe_all()
    async with _client(app, ACME_KEY, **{"idempotency-key": "dep-1"}) as acme:
        first = await acme.post("/commands/bank.deposits/Deposit", json={"account_id": "a-1", "amount": 5})
        app.gateway.idempotency._done.clear()  # the gateway forgets: the service's own dedupe answers
        again = await acme.post("/commands/bank.deposits/Deposit", json={"account_id": "a-1", "amount": 5})
    async with _client(app, GLOBEX_KEY) as globex:
        other = await globex.post("/commands/bank.deposits/Deposit", json={"account_id": "a-1", "amount": 7})
    assert first.status_code == again.status_code == other.status_code == 200, first.text
    assert first.json()["stream"] == "account-a-1"
    assert (first.json()["version"], first.json()["duplicate"], again.json()["duplicate"]) == (0, False, True)
    assert first.json()["position"] == again.json()["position"]
    records = [r async for r in store.read_all()]
    assert [(r.stream, r.event.data) for r in records] == [
        ("acme:account-a-1", {"account_id": "a-1", "amount": 5}),
        ("globex:account-a-1", {"account_id": "a-1", "amount": 7}),
    ]
    assert records[0].event.extensions["correlationid"] == first.headers["x-request-id"]
    assert str(records[0].event.extensions["traceparent"]).startswith("00-")


async def test_a_replaying_runner_is_refused_at_once_with_its_progress(
    wired: tuple[GatewayApp, ServiceRunner, MemoryEventStore],
) -> None:
    app, runner, _ = wired
    async with _client(app, ACME_KEY) as acme:
        never_probed = await acme.post(
            "/commands/bank.deposits/Deposit", json={"account_id": "a", "amount": 1}
        )
        runner.lifecycle.move(LifecycleState.REPLAYING)
        runner.lifecycle.report(120, 880)
        await app.monitor.probe_all()
        replaying = await acme.post("/commands/bank.deposits/Deposit", json={"account_id": "a", "amount": 1})
    assert never_probed.status_code == 503
    assert never_probed.json()["state"] == "unknown"
    assert replaying.status_code == 503
    assert replaying.headers["retry-after"] == "1"
    body = replaying.json()
    assert (body["service"], body["state"]) == ("bank.deposits", "replaying")
    assert body["progress"] == {"events_done": 120, "events_behind": 880}


async def test_a_refusal_from_the_runner_itself_carries_its_progress(
    wired: tuple[GatewayApp, ServiceRunner, MemoryEventStore],
) -> None:
    app, runner, _ = wired
    await runner.start()
    await app.monitor.probe_all()  # the table says ready ...
    runner.lifecycle.move(LifecycleState.REPLAYING)  # ... and the service starts replaying again
    runner.lifecycle.report(3, 4)
    async with _client(app, ACME_KEY) as acme:
        response = await acme.post("/commands/bank.deposits/Deposit", json={"account_id": "a", "amount": 1})
    assert response.status_code == 503
    body = response.json()
    assert (body["state"], body["progress"]) == ("replaying", {"events_done": 3, "events_behind": 4})
