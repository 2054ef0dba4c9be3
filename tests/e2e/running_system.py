"""``riverbed run`` as a real OS process for end-to-end tests: start it, talk HTTP to it, stop it.

The output is read on a thread the whole time (so the child never blocks on a full pipe) and kept, so a
test can wait for a line (the banner, a supervisor's restart) and read the pids the supervisor reports.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from riverbed.testing.ports import free_port, free_port_block

REPO = Path(__file__).resolve().parents[2]
ACME = {"X-Api-Key": "acme-demo-key-0123456789"}
GLOBEX = {"X-Api-Key": "globex-demo-key-0123456789"}


class RunningSystem:
    """One ``riverbed run ...`` process and its output."""

    def __init__(self, args: list[str], env: Mapping[str, str], *, port: int) -> None:
        self.args = args
        self.env = {**os.environ, **env}
        self.url = f"http://127.0.0.1:{port}"
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, *, ready: str = "is running", within: float = 60) -> RunningSystem:
        """Start the process and wait for a line containing ``ready``."""
        self.process = subprocess.Popen(
            [sys.executable, "-m", "riverbed.cli.main", "run", *self.args],
            cwd=REPO,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.wait_for(ready, within=within)
        return self

    def _read(self) -> None:
        assert self.process is not None
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            with self._changed:
                self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
                self._changed.notify_all()

    def wait_for(self, text: str, *, within: float = 30, after: int = 0) -> str:
        """The first output line (from line ``after`` on) containing ``text``; fails after ``within`` s."""
        deadline = time.monotonic() + within
        with self._changed:
            while True:
                for line in self.lines[after:]:
                    if text in line:
                        return line
                assert self.process is not None
                left = deadline - time.monotonic()
                if left <= 0 or self.process.poll() is not None:
                    raise AssertionError(f"no line with {text!r}; output so far:\n" + "\n".join(self.lines))
                self._changed.wait(min(left, 0.2))

    def pid_of(self, role: str, *, after: int = 0) -> int:
        """The pid the supervisor reported last for ``role`` (from line ``after`` on)."""
        self.wait_for(f"[supervisor] {role} ", after=after)
        pids = [
            int(m.group(1))
            for line in self.lines[after:]
            if (m := re.search(rf"^\[supervisor\] {re.escape(role)} (?:re)?started.*pid (\d+)", line))
        ]
        assert pids, f"the supervisor never reported {role}"
        return pids[-1]

    def stop(self, *, within: float = 60) -> int:
        """SIGTERM, then the exit code (the process is killed if it does not stop in time)."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(within)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError("riverbed run did not stop within its grace period") from None
        finally:
            self._reader.join(5)
            if self.process.stdout is not None:
                self.process.stdout.close()

    def post(self, path: str, body: dict[str, Any], headers: Mapping[str, str], **kw: Any) -> httpx.Response:
        """POST JSON to the gateway."""
        return httpx.post(self.url + path, json=body, headers=dict(headers), timeout=10, **kw)

    def get(self, path: str, headers: Mapping[str, str], **kw: Any) -> httpx.Response:
        """GET from the gateway."""
        return httpx.get(self.url + path, headers=dict(headers), timeout=10, **kw)

    def command(self, service: str, command: str, body: dict[str, Any], headers: Mapping[str, str]) -> Any:
        """Send a command that must succeed, retrying while the service is unavailable (503)."""
        deadline = time.monotonic() + 30
        while True:
            response = self.post(f"/commands/{service}/{command}", body, headers)
            if response.status_code != 503 or time.monotonic() > deadline:
                assert response.status_code == 200, response.text
                return response.json()
            time.sleep(float(response.headers.get("retry-after", "0.2")) / 4)

    def row(self, view: str, key: str, headers: Mapping[str, str], *, until: Any = None) -> Any:
        """A view row (waiting up to 15 s for ``until(row)`` to hold, when given)."""
        deadline = time.monotonic() + 15
        while True:
            response = self.get(f"/views/{view}/{key}", headers)
            row = response.json() if response.status_code == 200 else None
            if until is None or (row is not None and until(row["data"])) or time.monotonic() > deadline:
                return row
            time.sleep(0.05)


def bank_worker_roles() -> int:
    """How many roles the bank runs besides the gateway (each serves on ``base_port + i``)."""
    from examples.bank.system import system

    from riverbed.runtime.system.plan import plan_roles

    return len(plan_roles(system, base_port=1, gateway_port=1).workers)


def distributed_bank(prefix: str, pg_url: str, nats_url: str, **extra_env: str) -> RunningSystem:
    """The bank under ``riverbed run --distributed`` on free ports, its schemas and streams under ``prefix``.

    Not started: call :meth:`RunningSystem.start`.
    """
    port = free_port()
    env = {
        "RIVERBED_RUN__PREFIX": prefix,
        "RIVERBED_RUN__POSTGRES_URL": pg_url,
        "RIVERBED_RUN__NATS_URL": nats_url,
        "RIVERBED_RUN__BASE_PORT": str(free_port_block(bank_worker_roles())),
        "RIVERBED_GATEWAY__PORT": str(port),
        **extra_env,
    }
    return RunningSystem(["--distributed"], env, port=port)
