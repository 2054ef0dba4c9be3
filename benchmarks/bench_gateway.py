"""Gateway throughput with auth on beside a bare Starlette JSON round trip, and fast-fail 503 latency.

Each server runs under uvicorn in its own process on 127.0.0.1; the same load generator
(``benchmarks.gateway_load``, raw keep-alive HTTP/1.1 in its own process) drives each in turn, in the same
run. Besides wall-clock req/s (which a busy machine makes noisy) each contender also gets requests per
second of the server process's own CPU time, read from /proc, which is what the gateway costs. Rows:
gateway with an API key and with a JWT (HS256, verified once then cached) as a ratio of bare (target
≥ 70 %), and the p99 of a 503 for a replaying service at concurrency 1 (target ≤ 5 ms).
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import jwt

from benchmarks.gateway_servers import API_KEY, HS_SECRET
from benchmarks.harness import Report, Row
from riverbed.testing.ports import free_port as _free_port

ROOT = Path(__file__).resolve().parents[1]
SECONDS = float(os.environ.get("RIVERBED_BENCH_SECONDS", "2"))
ROUNDS = int(os.environ.get("RIVERBED_BENCH_ROUNDS", "3"))
CONCURRENCY = 16
BODY = json.dumps({"account_id": "a-1", "amount": 5})
PATH = "/commands/bank/Deposit"


def _wait_listening(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the benchmark server exited")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("the benchmark server did not start")


class Server:
    """One benchmark server process."""

    def __init__(self, kind: str) -> None:
        self.port = _free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.gateway_servers", kind, str(self.port)], cwd=ROOT
        )
        _wait_listening(self.port, self.proc)

    def load(self, headers: dict[str, str], *, concurrency: int, seconds: float) -> dict[str, Any]:
        """Drive it with the load generator (in its own process) and return its figures."""
        args = [str(self.port), PATH, str(seconds), str(concurrency), json.dumps(headers), BODY]
        cpu_before = _cpu_seconds(self.proc.pid)
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks.gateway_load", *args],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        result: dict[str, Any] = json.loads(done.stdout)
        cpu = _cpu_seconds(self.proc.pid) - cpu_before
        result["cpu_us_per_request"] = cpu / result["requests"] * 1e6
        result["per_cpu_second"] = result["requests"] / cpu if cpu > 0 else float("inf")
        return result

    def stop(self) -> None:
        """Stop the process."""
        self.proc.terminate()
        self.proc.wait(10)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _median(results: list[dict[str, Any]], key: str) -> float:
    return float(statistics.median(r[key] for r in results))


def _measure_all(token: str) -> dict[str, list[dict[str, Any]]]:
    servers = {kind: Server(kind) for kind in ("bare", "gateway", "down")}
    runs: dict[str, tuple[Server, dict[str, str], int]] = {
        "bare": (servers["bare"], {}, CONCURRENCY),
        "api key": (servers["gateway"], {"X-Api-Key": API_KEY}, CONCURRENCY),
        "jwt": (servers["gateway"], {"Authorization": f"Bearer {token}"}, CONCURRENCY),
        "fast-fail": (servers["down"], {"X-Api-Key": API_KEY}, 1),
    }
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in runs}
    try:
        for server, headers, concurrency in runs.values():  # warm up
            server.load(headers, concurrency=concurrency, seconds=0.5)
        for _ in range(ROUNDS):  # interleaved, so a noisy neighbour hits every contender alike
            for name, (server, headers, concurrency) in runs.items():
                results[name].append(server.load(headers, concurrency=concurrency, seconds=SECONDS))
    finally:
        for server in servers.values():
            server.stop()
    return results


async def run(report: Report) -> None:
    token = jwt.encode({"tenant": "acme", "sub": "bench", "exp": int(time.time()) + 3600}, HS_SECRET, "HS256")
    results = await asyncio.get_running_loop().run_in_executor(None, _measure_all, token)
    for name, rounds in results.items():
        for result in rounds:
            print(f"    {name}: {result}", flush=True)
    for name, expected in (("bare", "200"), ("api key", "200"), ("jwt", "200"), ("fast-fail", "503")):
        assert all(set(r["statuses"]) == {expected} for r in results[name]), results[name]
    bare_rate = _median(results["bare"], "rate")
    bare_capacity = _median(results["bare"], "per_cpu_second")
    for name, label in (("api key", "gateway, API key auth"), ("jwt", "gateway, JWT HS256 auth")):
        rate = _median(results[name], "rate")
        capacity = _median(results[name], "per_cpu_second")
        report.add(
            Row(
                group="gateway",
                name=f"{label}: command JSON round trip per server CPU-second",
                value=capacity,
                unit="req/CPU-s",
                baseline_name="bare Starlette JSON round trip",
                baseline_value=bare_capacity,
                target="≥ 70 % of bare",
                met=capacity >= 0.7 * bare_capacity,
                notes=f"server CPU {_median(results[name], 'cpu_us_per_request'):.1f} µs/req vs "
                f"{_median(results['bare'], 'cpu_us_per_request'):.1f}; robust to noisy neighbours",
            )
        )
        report.add(
            Row(
                group="gateway",
                name=f"{label}: command JSON round trip, wall clock",
                value=rate,
                unit="req/s",
                baseline_name="bare Starlette JSON round trip",
                baseline_value=bare_rate,
                target="≥ 70 % of bare",
                met=rate >= 0.7 * bare_rate,
                notes=f"concurrency {CONCURRENCY}, median of {ROUNDS} x {SECONDS:g} s, "
                f"p99 {_median(results[name], 'p99_ms'):.2f} ms; shares 2 cores with the load generator",
            )
        )
    down = results["fast-fail"]
    p99 = _median(down, "p99_ms")
    report.add(
        Row(
            group="gateway",
            name="fast-fail 503 for a replaying service, p99",
            value=p99,
            unit="ms",
            baseline_name="bare Starlette p99 (concurrency 16)",
            baseline_value=_median(results["bare"], "p99_ms"),
            target="≤ 5 ms",
            met=p99 <= 5.0,
            notes=f"concurrency 1, p50 {_median(down, 'p50_ms'):.2f} ms, median of {ROUNDS} rounds",
        )
    )
