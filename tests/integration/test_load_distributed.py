"""``riverbed load --distributed`` against ``riverbed run --distributed`` (PostgreSQL, JetStream).

A load of a few hundred commands through the gateway and its service processes passes the audit of every
context schema.
"""

from __future__ import annotations

import asyncio
import random
import re
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator

import pytest

from tests.e2e.running_system import REPO, RunningSystem
from tests.gateway.servers import free_port
from tests.nats_cleanup import delete_streams

pytestmark = [pytest.mark.postgres, pytest.mark.nats, pytest.mark.slow]

ROLES = 11  # the bank's roles besides the gateway, each on its own port from base_port on


def _free_block(size: int) -> int:
    for _ in range(100):
        base = random.randrange(20_000, 60_000)
        try:
            for port in range(base, base + size):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise AssertionError("no block of free ports found")


@pytest.fixture
def prefix(pg_url: str, nats_url: str) -> Iterator[str]:
    import psycopg  # noqa: TID251 - the test drops the schemas the system created

    name = f"l{uuid.uuid4().hex[:10]}"
    yield name
    with psycopg.connect(pg_url, autocommit=True) as conn:
        rows = conn.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE %s", (f"{name}_%",))
        for (schema,) in rows.fetchall():
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    asyncio.run(delete_streams(nats_url, name.upper()))


def test_a_distributed_load_passes_the_audit_of_every_context_schema(
    prefix: str, pg_url: str, nats_url: str
) -> None:
    port = free_port()
    env = {
        "RIVERBED_RUN__PREFIX": prefix,
        "RIVERBED_RUN__POSTGRES_URL": pg_url,
        "RIVERBED_RUN__NATS_URL": nats_url,
        "RIVERBED_RUN__BASE_PORT": str(_free_block(ROLES)),
        "RIVERBED_GATEWAY__PORT": str(port),
        "BANK_PAYMENT_TIMEOUT_SECONDS": "5",
    }
    bank = RunningSystem(["--distributed"], env, port=port).start(ready="[gateway] riverbed: bank is running")
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
