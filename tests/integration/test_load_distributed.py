"""``riverbed load --distributed`` against ``riverbed run --distributed`` (PostgreSQL, JetStream).

A load of a few hundred commands through the gateway and its service processes passes the audit of every
context schema.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.e2e.running_system import REPO, distributed_bank

pytestmark = [pytest.mark.postgres, pytest.mark.nats, pytest.mark.slow]


def test_a_distributed_load_passes_the_audit_of_every_context_schema(
    system_prefix: str, pg_url: str, nats_url: str
) -> None:
    bank = distributed_bank(system_prefix, pg_url, nats_url, BANK_PAYMENT_TIMEOUT_SECONDS="5").start(
        ready="[gateway] riverbed: bank is running"
    )
    try:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "riverbed.cli.main",
                "load",
                "--distributed",
                "--url",
                bank.url,
                "--commands",
                "300",
                "--concurrency",
                "8",
                "--seed",
                "11",
                "--settle-timeout",
                "30",
            ],
            cwd=REPO,
            env=bank.env,
            capture_output=True,
            text=True,
            timeout=110,
            check=False,
        )
    finally:
        assert bank.stop() == 0
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    sent = re.search(r"commands: (\d+) sent, (\d+) ok", out)
    assert sent is not None, out
    assert int(sent.group(1)) == int(sent.group(2)) == 322, out
    assert re.search(r"audit acme: accounts \d+, checkouts [1-9]\d*, .* -- clean", out), out
    assert "audit: clean (2 tenants" in out
