"""The bank under ``riverbed run``, embedded and distributed: read-your-writes latency and command throughput.

Each mode starts the real system (``riverbed run`` as its own OS process tree) and measures, through the
gateway:

* **accepted → visible**: a Deposit is POSTed at a fixed moderate rate (``RATE``/s for ``SECONDS`` s, to
  a few accounts of one tenant); from its HTTP 200 the client polls ``GET /views/balances-manchester/<id>``
  (back to back) until the row's ``position`` has reached the command's ``position``. p50 and p99 (targets:
  p99 ≤ 5 ms embedded, ≤ 20 ms distributed). Every other deposit is instead read once with
  ``?min_position=<position>`` (what a read-your-writes client does): that figure includes the query
  service's own re-check interval when the view is behind, so it is reported beside, not as the target.
  The client is riverbed's own HTTP/1.1 client (``riverbed.gateway.upstreams.http1``): httpx spends 1-2 ms
  of CPU per request in the measuring process, which would be counted as the system's latency.
* **commands/s**: Deposits in a closed loop from ``CLIENTS`` keep-alive connections, each on its own
  account, by the raw load generator of ``bench_gateway`` in its own process, beside the same generator
  against a bare Starlette JSON round trip (the baseline of ``bench_gateway``) measured in the same run.

Distributed needs PostgreSQL (``RIVERBED_TEST_PG_URL``) and NATS (``RIVERBED_TEST_NATS_URL``); its
schemas and streams get a unique prefix and are dropped afterwards. Skipped with a note when unreachable.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from examples.bank.system import system as bank_system

from benchmarks.bench_gateway import Server
from benchmarks.harness import Report, Row, percentile
from riverbed.gateway.upstreams.http1 import Http1Client
from riverbed.ports.event_store import Checkpoint
from riverbed.runtime.system.plan import plan_roles
from riverbed.testing.ports import free_port as _free_port
from riverbed.testing.ports import free_port_block as _free_block
from riverbed.testing.ports import reachable

ROOT = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("RIVERBED_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
NATS_URL = os.environ.get("RIVERBED_TEST_NATS_URL", "nats://127.0.0.1:4222")
SECONDS = float(os.environ.get("RIVERBED_BENCH_SYSTEM_SECONDS", "10"))
THROUGHPUT_SECONDS = float(os.environ.get("RIVERBED_BENCH_SYSTEM_THROUGHPUT_SECONDS", "5"))
RATE = 50.0
WARM_UP = 1.0
"""Seconds of the latency run not counted (first requests pay for imports and connection set-up)."""
CLIENTS = 16
ACCOUNTS = 8
KEY = "acme-demo-key-0123456789"
HEADERS = {"X-Api-Key": KEY}
ROLES = len(plan_roles(bank_system, base_port=1, gateway_port=1).workers)
"""The bank's roles besides the gateway when distributed: each needs a port from ``base_port`` on."""


class System:
    """``riverbed run`` (embedded or ``--distributed``) in its own process group, output to a log file."""

    def __init__(self, *, distributed: bool) -> None:
        self.distributed = distributed
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.dir = Path(tempfile.mkdtemp(prefix="riverbed-bench-system-"))
        self.prefix = f"b{uuid.uuid4().hex[:10]}"
        env = {
            **os.environ,
            "RIVERBED_GATEWAY__PORT": str(self.port),
            # one API key drives it all: the per-client rate limit (1000/s) would cap the measurement
            "RIVERBED_GATEWAY__RATE_LIMIT__ENABLED": "false",
            "BANK_PAYMENT_TIMEOUT_SECONDS": "5",
        }
        args = ["--data-dir", str(self.dir / "data")]
        if distributed:
            args = ["--distributed"]
            env |= {
                "RIVERBED_RUN__PREFIX": self.prefix,
                "RIVERBED_RUN__POSTGRES_URL": PG_URL,
                "RIVERBED_RUN__NATS_URL": NATS_URL,
                "RIVERBED_RUN__BASE_PORT": str(_free_block(ROLES)),
            }
        self.log = (self.dir / "run.log").open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "riverbed.cli.main", "run", *args],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    async def ready(self, client: httpx.AsyncClient, *, within: float = 90) -> None:
        """Wait until the gateway answers /readyz with 200."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"riverbed run exited; see {self.dir / 'run.log'}")
            try:
                if (await client.get("/readyz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
        raise RuntimeError(f"riverbed run was not ready within {within} s; see {self.dir / 'run.log'}")

    def stop(self) -> None:
        """SIGTERM (drain), then clean up the files, schemas and streams of this run."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        if self.distributed:
            asyncio.run(_drop_distributed(self.prefix))
        shutil.rmtree(self.dir, ignore_errors=True)


async def _drop_distributed(prefix: str) -> None:
    import nats  # noqa: TID251 - the benchmark deletes the streams its system created
    import psycopg  # noqa: TID251 - and the schemas

    with psycopg.connect(PG_URL, autocommit=True) as conn:
        rows = conn.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE %s", (f"{prefix}_%",))
        for (schema,) in rows.fetchall():
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    nc = await nats.connect(NATS_URL)
    try:
        js = nc.jetstream()
        for info in await js.streams_info():
            if info.config.name and info.config.name.startswith(prefix.upper()):
                await js.delete_stream(info.config.name)
    finally:
        await nc.close()


async def _command(client: Http1Client, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST a command that must be accepted, waiting out 503s (a service still replaying)."""
    deadline = time.monotonic() + 60
    while True:
        status, raw = await client.request("POST", path, body)
        if status == 503 and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
            continue
        if status != 200:
            raise RuntimeError(f"{path} {body} answered {status}: {raw[:500]!r}")
        answer: dict[str, Any] = json.loads(raw)
        return answer


def _reached(row_position: str | None, wanted: str) -> bool:
    if row_position is None:
        return False
    current, target = Checkpoint.parse(row_position), Checkpoint.parse(wanted)
    return current.position >= target.position if target.commit == 0 else current >= target


async def _visible_by_polling(client: Http1Client, account: str, position: str) -> float:
    """Seconds from now until the Manchester row has reached ``position`` (GETs back to back)."""
    started = time.perf_counter()
    while True:
        status, raw = await client.request("GET", f"/views/balances-manchester/{account}")
        if status == 200 and _reached(json.loads(raw).get("position"), position):
            return time.perf_counter() - started


async def _visible_by_min_position(client: Http1Client, account: str, position: str) -> float:
    started = time.perf_counter()
    while True:
        status, _ = await client.request(
            "GET", f"/views/balances-manchester/{account}?min_position={position}"
        )
        if status == 200:
            return time.perf_counter() - started


async def _latency(client: Http1Client, accounts: list[str]) -> tuple[list[float], list[float]]:
    polled: list[float] = []
    waited: list[float] = []
    start = time.perf_counter()

    async def one(n: int) -> None:
        account = accounts[n % len(accounts)]
        answer = await _command(client, "/commands/deposits/Deposit", {"account_id": account, "amount": 1})
        measure = _visible_by_polling if n % 2 == 0 else _visible_by_min_position
        seconds = await measure(client, account, answer["position"])
        if time.perf_counter() - start >= WARM_UP:
            (polled if n % 2 == 0 else waited).append(seconds * 1000)

    jobs = []
    total = int((SECONDS + WARM_UP) * RATE)
    for n in range(total):
        delay = start + n / RATE - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        jobs.append(asyncio.create_task(one(n)))
    await asyncio.gather(*jobs)
    return polled, waited


def _throughput(port: int, path: str, body: str) -> dict[str, Any]:
    args = [str(port), path, str(THROUGHPUT_SECONDS), str(CLIENTS), json.dumps(HEADERS), body]
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.gateway_load", *args], cwd=ROOT, check=True, capture_output=True
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


async def _measure(mode: str, *, distributed: bool) -> dict[str, Any]:
    system = System(distributed=distributed)
    try:
        async with httpx.AsyncClient(base_url=system.url, timeout=30) as probe:
            await system.ready(probe)
        client = Http1Client(system.url, headers=HEADERS)
        try:
            accounts = [f"lat-{n}" for n in range(ACCOUNTS)] + [f"tp-{n}" for n in range(CLIENTS)]
            for account in accounts:
                body = {"account_id": account, "owner": "bench", "branch_city": "Manchester"}
                await _command(client, "/commands/accounts/OpenAccount", body)
            polled, waited = await _latency(client, accounts[:ACCOUNTS])
        finally:
            await client.aclose()
        loop = asyncio.get_running_loop()
        deposit = json.dumps({"account_id": "tp-{conn}", "amount": 1})
        path = "/commands/deposits/Deposit"
        tput = await loop.run_in_executor(None, _throughput, system.port, path, deposit)
    finally:
        await asyncio.get_running_loop().run_in_executor(None, system.stop)
    print(f"    {mode}: polled {len(polled)}, min_position {len(waited)}, throughput {tput}", flush=True)
    return {"polled": polled, "waited": waited, "throughput": tput}


def _bare_rate() -> float:
    server = Server("bare")
    try:
        server.load({}, concurrency=CLIENTS, seconds=0.5)
        rates = [server.load({}, concurrency=CLIENTS, seconds=2)["rate"] for _ in range(3)]
    finally:
        server.stop()
    return float(statistics.median(rates))


async def run(report: Report) -> None:
    modes = [("embedded", False, 5.0)]
    if reachable(PG_URL, 5432) and reachable(NATS_URL, 4222):
        modes.append(("distributed", True, 20.0))
    else:
        print(f"    distributed skipped: PostgreSQL {PG_URL} or NATS {NATS_URL} unreachable", flush=True)
    bare = await asyncio.get_running_loop().run_in_executor(None, _bare_rate)
    for mode, distributed, target in modes:
        figures = await _measure(mode, distributed=distributed)
        polled, waited, tput = figures["polled"], figures["waited"], figures["throughput"]
        p99 = percentile(polled, 99)
        report.add(
            Row(
                group="system",
                name=f"{mode}: Deposit accepted → visible in the pre-loaded view, p99",
                value=p99,
                unit="ms",
                target=f"≤ {target:g} ms",
                met=p99 <= target,
                notes=f"p50 {percentile(polled, 50):.2f} ms, max {max(polled):.1f} ms; {RATE:g} deposits/s "
                f"for {SECONDS:g} s, half read by polling the row (these), half with min_position: p50 "
                f"{percentile(waited, 50):.2f} ms, p99 {percentile(waited, 99):.2f} ms",
            )
        )
        report.add(
            Row(
                group="system",
                name=f"{mode}: Deposit accepted → visible in the pre-loaded view, p50",
                value=percentile(polled, 50),
                unit="ms",
            )
        )
        statuses = tput["statuses"]
        accepted = statuses.get("200", 0) / tput["seconds"]  # a 503 is an answer, not a command done
        report.add(
            Row(
                group="system",
                name=f"{mode}: Deposits accepted through the gateway, {CLIENTS} clients closed loop",
                value=accepted,
                unit="commands/s",
                baseline_name="bare Starlette JSON round trip (bench_gateway)",
                baseline_value=bare,
                notes=f"p50 {tput['p50_ms']:.1f} ms, p99 {tput['p99_ms']:.1f} ms, statuses {statuses}; "
                f"{THROUGHPUT_SECONDS:g} s, one account per client",
            )
        )
