"""The health table and fast failure: 503 + Retry-After at once for down, replaying or draining upstreams."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from riverbed.application.endpoints import EndpointStatus
from riverbed.errors import UpstreamUnavailable
from riverbed.gateway.breaker import BreakerState, CircuitBreaker
from riverbed.gateway.health import HealthTable
from tests.gateway.conftest import FakeClock, Harness, RsaKeys, make_harness, settings

DEPOSIT = {"account_id": "a", "amount": 1}


def _unavailable(response: httpx.Response, state: str) -> dict[str, object]:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert int(response.headers["retry-after"]) >= 1
    body: dict[str, object] = response.json()
    assert body["type"] == "https://riverbed.dev/problems/service-unavailable"
    assert body["service"] == "bank"
    assert body["state"] == state
    assert body["retry_after"] == int(response.headers["retry-after"])
    return body


@pytest.mark.parametrize("state", ["replaying", "draining", "starting", "stopped"])
async def test_a_service_that_is_not_ready_is_refused_at_once(harness: Harness, state: str) -> None:
    harness.bank.state = state
    harness.bank.progress = {"events_done": 40, "events_behind": 60} if state == "replaying" else None
    await harness.app.monitor.probe_all()
    harness.bank.hang = True  # were the gateway to call it, the request would hang
    async with harness.client() as client:
        body = _unavailable(await client.post("/commands/bank/Deposit", json=DEPOSIT), state)
    if state == "replaying":
        assert body["progress"] == {"events_done": 40, "events_behind": 60}
    else:
        assert "progress" not in body
    assert harness.bank.runs == []


async def test_a_down_service_is_refused_at_once_and_others_keep_serving(harness: Harness) -> None:
    harness.bank.status_fails = True
    await harness.app.monitor.probe_all()
    async with harness.client() as client:
        body = _unavailable(await client.post("/commands/bank/Deposit", json=DEPOSIT), "down")
        assert "ConnectionError" in str(body["detail"])
        assert (await client.get("/views/balances/none")).status_code == 404  # the view still answers
        ready = await client.get("/readyz")
    assert ready.status_code == 503
    states = {u["name"]: u["state"] for u in ready.json()["upstreams"]}
    assert states == {"bank": "down", "balances": "ready"}


async def test_a_service_whose_heartbeats_stop_is_down(rsa_keys: RsaKeys) -> None:
    clock = FakeClock()
    h = await make_harness(settings(rsa_keys, health={"down_after_seconds": 1.0}), clock)
    assert h.app.gateway.health.state("bank") == "ready"
    clock.advance(1.5)
    assert h.app.gateway.health.state("bank") == "down"
    async with h.client() as client:
        _unavailable(await client.post("/commands/bank/Deposit", json=DEPOSIT), "down")
    await h.app.monitor.probe_all()
    assert h.app.gateway.health.state("bank") == "ready"


async def test_a_replaying_refusal_from_the_service_itself_is_a_503_with_progress(harness: Harness) -> None:
    # the table still says ready (heartbeat not yet seen), the service refuses: same answer, no breaker trip
    harness.bank.state = "replaying"
    harness.bank.progress = {"events_done": 1, "events_behind": 2}
    async with harness.client() as client:
        for _ in range(10):
            body = _unavailable(await client.post("/commands/bank/Deposit", json=DEPOSIT), "replaying")
    assert body["progress"] == {"events_done": 1, "events_behind": 2}
    breaker = harness.app.gateway.health._rows["bank"].breaker
    assert breaker.state is BreakerState.CLOSED


async def test_deadline_then_circuit_opens_then_half_opens(rsa_keys: RsaKeys) -> None:
    clock = FakeClock()
    h = await make_harness(
        settings(
            rsa_keys,
            default_deadline_seconds=0.05,
            health={"down_after_seconds": 3600, "breaker_failures": 2, "breaker_cooldown_seconds": 5},
        ),
        clock,
    )
    h.bank.hang = True
    async with h.client() as client:
        for _ in range(2):
            timed_out = await client.post("/commands/bank/Deposit", json=DEPOSIT)
            assert timed_out.status_code == 504
            assert timed_out.json()["type"].endswith("/upstream-timeout")
        refused = await client.post("/commands/bank/Deposit", json=DEPOSIT)
        body = _unavailable(refused, "ready")
        assert "circuit breaker is open" in str(body["detail"])
        clock.advance(5)
        h.bank.hang = False
        assert (await client.post("/commands/bank/Deposit", json=DEPOSIT)).status_code == 200  # the trial
        assert (await client.post("/commands/bank/Deposit", json=DEPOSIT)).status_code == 200
    assert len(h.bank.runs) == 2


def state_of(breaker: CircuitBreaker) -> str:
    return breaker.state.value


def test_breaker_half_open_lets_one_trial_and_reopens_on_failure() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(failures=3, cooldown=10, clock=clock)
    for _ in range(2):
        breaker.record_failure()
    assert breaker.allow()
    breaker.record_failure()
    assert state_of(breaker) == "open"
    assert not breaker.allow()
    assert breaker.retry_after() == 10
    clock.advance(10)
    assert state_of(breaker) == "half-open"
    assert breaker.allow()
    assert not breaker.allow()  # one trial at a time
    breaker.record_failure()
    assert state_of(breaker) == "open"
    clock.advance(10)
    assert breaker.allow()
    breaker.record_success()
    assert state_of(breaker) == "closed"
    assert breaker.allow()
    assert breaker.allow()


def test_health_table_states() -> None:
    clock = FakeClock()
    table = HealthTable(clock=clock, down_after=2.0)
    table.register("svc", "service")
    with pytest.raises(UpstreamUnavailable, match="unknown"):
        table.check("svc")
    table.heartbeat("svc", EndpointStatus(state="replaying", progress={"events_done": 5, "events_behind": 1}))
    with pytest.raises(UpstreamUnavailable) as caught:
        table.check("svc")
    assert caught.value.state == "replaying"
    assert caught.value.progress == {"events_done": 5, "events_behind": 1}
    table.heartbeat("svc", EndpointStatus(state="ready"))
    table.check("svc")
    clock.advance(2.5)
    assert table.state("svc") == "down"
    table.mark_down("svc", "connection refused")
    assert table.snapshot()[0]["detail"] == "connection refused"


async def test_the_monitor_marks_a_hanging_probe_down(harness: Harness) -> None:
    async def hang() -> EndpointStatus:
        await asyncio.sleep(3600)
        raise AssertionError

    harness.bank.status = hang  # type: ignore[method-assign]
    harness.app.monitor.deadline = 0.01
    await harness.app.monitor.probe_all()
    assert harness.app.gateway.health.state("bank") == "down"
