"""``riverbed load``'s parts without a system.

The mix, the HTTP driver (503 retries, counts, fixed rate) and the store log grouped by tenant.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence

import httpx
import pytest

from riverbed import open_store
from riverbed.cli.loadaudit import NO_TENANT, StoreLog
from riverbed.cli.loaddriver import Driver, NoAnswer, percentile, weighted_kinds
from riverbed.cloudevents import CloudEvent
from riverbed.errors import ConfigurationError
from riverbed.runtime.system import AuditOutcome, LoadCommand, LoadProfile, RowReader


class Source:
    """Two set-up commands, then numbered deposits; remembers every final status."""

    def __init__(self, tenants: Sequence[str], rng: random.Random, run: str) -> None:
        self.n = 0
        self.statuses: list[int] = []

    def setup(self) -> list[LoadCommand]:
        return [
            LoadCommand(kind="setup", tenant="t", service="s", command="Open", body={"n": -i}) for i in (1, 2)
        ]

    def next(self, kind: str) -> LoadCommand:
        self.n += 1
        return LoadCommand(kind=kind, tenant="t", service="s", command="Deposit", body={"n": self.n})

    def answered(self, command: LoadCommand, status: int) -> None:
        self.statuses.append(status)


async def _audit(events: Sequence[CloudEvent], rows: RowReader | None, *, final: bool) -> AuditOutcome:
    return AuditOutcome()


PROFILE = LoadProfile(mix={"open": 1, "deposit": 5}, source=Source, audit=_audit)


def test_the_mix_replaces_the_defaults_and_refuses_what_it_cannot_send() -> None:
    assert PROFILE.weights(None) == {"open": 1, "deposit": 5}
    assert PROFILE.weights("deposit=3") == {"open": 0, "deposit": 3}
    for bad in ("teleport=1", "deposit", "deposit=x", "open=0,deposit=0"):
        with pytest.raises(ConfigurationError, match="--mix"):
            PROFILE.weights(bad)
    with pytest.raises(ConfigurationError, match="set-up"):
        LoadProfile(mix={"setup": 1}, source=Source, audit=_audit)
    pick = weighted_kinds({"open": 0, "deposit": 1}, random.Random(3))
    assert {pick() for _ in range(50)} == {"deposit"}


def test_percentiles_by_nearest_rank() -> None:
    samples = [float(n) for n in range(1, 101)]
    assert (percentile(samples, 50), percentile(samples, 99), percentile([], 50)) == (50.0, 99.0, 0.0)


def _driver(answer: httpx.MockTransport) -> Driver:
    client = httpx.AsyncClient(base_url="http://gateway", transport=answer)
    return Driver(client, {"t": "key-t"})


async def test_a_503_is_retried_after_retry_after_and_counted_not_reported() -> None:
    seen: list[tuple[str, str, dict[str, int]]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.path, request.headers["x-api-key"], json.loads(request.content)))
        if len(seen) <= 2:
            return httpx.Response(503, headers={"Retry-After": "0"}, json={"detail": "replaying"})
        if json.loads(request.content)["n"] == 2:
            return httpx.Response(422, json={"detail": "no such account"})
        return httpx.Response(200, json={"position": "1"})

    driver, source = _driver(httpx.MockTransport(answer)), Source([], random.Random(), "r")
    await driver.run(source, lambda: "deposit", commands=3, duration=None, concurrency=1, rate=None)
    tally = driver.tally
    assert seen[0] == seen[1] == seen[2] == ("/commands/s/Open", "key-t", {"n": -1})  # re-sent as it was
    assert (tally.sent, tally.ok, tally.refused, tally.failed, tally.retries_503) == (5, 4, 1, 0, 2)
    assert len(tally.latencies_ms) == 5  # one per final answer, none for the retried 503s
    assert sorted(source.statuses) == [200, 200, 200, 200, 422]
    assert tally.kinds == {"setup": 2, "deposit": 3}
    assert "Deposit refused 422: no such account" in tally.errors


async def test_a_fixed_rate_sends_exactly_the_commands_asked_for() -> None:
    driver = _driver(httpx.MockTransport(lambda request: httpx.Response(200, json={})))
    source = Source([], random.Random(), "r")
    await driver.run(source, lambda: "deposit", commands=25, duration=None, concurrency=4, rate=500.0)
    assert (driver.tally.ok, source.n) == (27, 25)


async def test_a_gateway_that_answers_nothing_stops_the_load_after_setup() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    driver, source = _driver(httpx.MockTransport(refuse)), Source([], random.Random(), "r")
    with pytest.raises(NoAnswer, match="connection refused"):
        await driver.run(source, lambda: "deposit", commands=10, duration=None, concurrency=2, rate=None)
    assert source.n == 0


async def test_the_store_log_reads_only_what_is_new_and_groups_it_by_tenant() -> None:
    async with open_store("memory://") as store:
        log = StoreLog({"bank": store})

        def event(tenant: str | None) -> CloudEvent:
            return CloudEvent(source="t", type="x.y.v1", extensions={"tenant": tenant} if tenant else {})

        await store.append("acme:s-1", [event("acme"), event("acme")])
        await store.append("s-2", [event(None)])
        assert await log.refresh() == 3
        await store.append("globex:s-1", [event("globex")])
        assert await log.refresh() == 1
        assert {t: len(e) for t, e in log.by_tenant.items()} == {"acme": 2, NO_TENANT: 1, "globex": 1}
        assert log.count == 4
