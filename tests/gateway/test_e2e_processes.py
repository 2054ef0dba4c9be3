"""End to end over HTTP with real processes: a gateway in front of two service processes on SQLite.

One service is killed with SIGKILL under load. The gateway must mark it down within 2 s (its probes fail
at once) and answer its requests with 503 + Retry-After from the health table, never after a timeout,
while the other service sees no error at all. Restarted, the service must serve again within 3 s, and
after every failed command is retried with its Idempotency-Key, each command has run exactly once.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from riverbed import open_store
from riverbed.testing.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
KEY = "e2e-key-0123456789abcdef"
DEADLINE = 5.0  # the gateway's upstream call deadline: no 503 may take this long


@dataclass
class Outcome:
    service: str
    key: str
    status: int
    seconds: float
    body: dict[str, object]
    retry_after: str | None
    after_down: bool


def _spawn(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", *args], cwd=ROOT, env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL
    )


def _service(name: str, db: Path, port: int) -> subprocess.Popen[bytes]:
    return _spawn("tests.gateway.e2e_service", name, f"sqlite:///{db}", str(port))


async def _until(check: Callable[[], Awaitable[bool]], *, within: float) -> float:
    """Poll ``check`` until true; returns the seconds it took, fails after ``within`` seconds."""
    started = time.monotonic()
    while not await check():
        if time.monotonic() - started > within:
            pytest.fail(f"condition not met within {within} s")
        await asyncio.sleep(0.02)
    return time.monotonic() - started


@pytest.mark.reliability
@pytest.mark.slow
@pytest.mark.timeout(180)
async def test_a_killed_service_fails_fast_and_comes_back_without_running_a_command_twice(
    tmp_path: Path,
) -> None:
    ports = {"bank": free_port(), "shop": free_port()}
    gateway_port = free_port()
    env = {
        "RIVERBED_GATEWAY__PORT": str(gateway_port),
        "RIVERBED_GATEWAY__API_KEYS": json.dumps([{"key": KEY, "tenant": "acme"}]),
        "RIVERBED_GATEWAY__UPSTREAMS": json.dumps(
            [
                {"name": n, "url": f"http://127.0.0.1:{p}", "deadline_seconds": DEADLINE}
                for n, p in ports.items()
            ]
        ),
        "RIVERBED_GATEWAY__HEALTH": json.dumps(
            {"heartbeat_interval_seconds": 0.1, "probe_deadline_seconds": 0.5, "down_after_seconds": 1.0}
        ),
    }
    procs = {name: _service(name, tmp_path / f"{name}.db", port) for name, port in ports.items()}
    gateway = _spawn("tests.gateway.e2e_gateway", env=env)
    outcomes: list[Outcome] = []
    down = asyncio.Event()
    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{gateway_port}", headers={"x-api-key": KEY}, timeout=30
        ) as client:

            async def ready() -> bool:
                try:
                    return (await client.get("/readyz")).status_code == 200
                except httpx.TransportError:
                    return False

            await _until(ready, within=60)

            async def send(service: str, key: str) -> Outcome:
                started = time.monotonic()
                response = await client.post(
                    f"/commands/{service}/Deposit",
                    json={"account_id": f"a-{int(key.rsplit('-', 1)[1]) % 5}", "amount": 1},
                    headers={"idempotency-key": key},
                )
                return Outcome(
                    service,
                    key,
                    response.status_code,
                    time.monotonic() - started,
                    response.json(),
                    response.headers.get("retry-after"),
                    down.is_set(),
                )

            stop = asyncio.Event()

            async def load(service: str) -> None:
                n = 0
                while not stop.is_set():
                    outcomes.append(await send(service, f"{service}-{n}"))
                    n += 1
                    await asyncio.sleep(0.005)

            loaders = [asyncio.create_task(load(name)) for name in ports]
            await asyncio.sleep(1.0)

            procs["bank"].send_signal(signal.SIGKILL)
            procs["bank"].wait()

            async def bank_down() -> bool:
                upstreams = (await client.get("/readyz")).json()["upstreams"]
                return any(u["name"] == "bank" and u["state"] == "down" for u in upstreams)

            detection = await _until(bank_down, within=2.0)
            down.set()
            await asyncio.sleep(1.0)

            procs["bank"] = _service("bank", tmp_path / "bank.db", ports["bank"])

            async def bank_serves() -> bool:
                probe = await send("bank", f"probe-{time.monotonic_ns()}")
                outcomes.append(probe)
                return probe.status == 200

            recovery = await _until(bank_serves, within=3.0)
            await asyncio.sleep(0.5)
            stop.set()
            await asyncio.gather(*loaders)

            # every command that did not get its result is retried with its key: now it must succeed
            failed = [o for o in outcomes if o.status != 200]
            retried = [await send(o.service, o.key) for o in failed]
        assert all(r.status == 200 for r in retried), [
            (r.key, r.status, r.body) for r in retried if r.status != 200
        ]
    finally:
        for proc in (*procs.values(), gateway):
            if proc.poll() is None:
                proc.terminate()
        for proc in (*procs.values(), gateway):
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()

    statuses = Counter((o.service, o.status) for o in outcomes)
    print(
        f"\ndown detected after {detection:.3f} s, serving again {recovery:.3f} s after restart;",
        dict(statuses),
    )
    refusals = [o for o in outcomes if o.service == "bank" and o.status != 200]
    print(f"503 latency: max {max(o.seconds for o in refusals) * 1000:.1f} ms over {len(refusals)} refusals")

    # the healthy service never saw an error
    assert {status for (service, status) in statuses if service == "shop"} == {200}
    assert statuses[("shop", 200)] > 20
    # the killed one: results before, then 503 with Retry-After naming it, never after a timeout
    assert {status for (service, status) in statuses if service == "bank"} <= {200, 503}
    assert len([o for o in refusals if o.after_down]) > 5
    for refusal in refusals:
        assert refusal.body["service"] == "bank"
        assert refusal.body["state"] in ("down", "starting", "replaying")
        assert refusal.retry_after is not None
        assert int(refusal.retry_after) >= 1
        assert refusal.seconds < DEADLINE

    # no command ran twice, and every command ran
    keys = {o.key for o in outcomes if o.service == "bank"}
    first_ids = {
        o.key: o.body["command_id"] for o in [*outcomes, *retried] if o.service == "bank" and o.status == 200
    }
    assert set(first_ids) == keys
    async with open_store(f"sqlite:///{tmp_path / 'bank.db'}") as store:
        stored = Counter([str(r.event.extensions.get("commandid")) async for r in store.read_all()])
    assert stored == Counter(set(first_ids.values()))
    assert all(count == 1 for count in stored.values())
