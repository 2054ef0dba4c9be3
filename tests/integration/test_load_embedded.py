"""``riverbed load`` against ``riverbed run``, both real OS processes.

A clean load passes its audit, and an event that breaks the books, written straight into the SQLite
store, makes the audit fail naming it.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from pathlib import Path

from examples.bank.bank.messages import MoneyDeposited, account_stream
from examples.bank.kernel import registry

from riverbed import open_store
from riverbed.cloudevents.mapping import to_cloudevent
from riverbed.testing.ports import free_port
from tests.e2e.running_system import ACME, REPO, RunningSystem


def _system(data: Path) -> RunningSystem:
    port = free_port()
    env = {"RIVERBED_GATEWAY__PORT": str(port), "BANK_PAYMENT_TIMEOUT_SECONDS": "2"}
    return RunningSystem(["--data-dir", str(data)], env, port=port)


async def _empty_stores(directory: Path) -> None:
    from examples.bank.system import system

    for context in system.contexts:
        async with open_store(f"sqlite:///{directory / context}.db"):
            pass


def _load(bank: RunningSystem, data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "riverbed.cli.main", "load", "--url", bank.url, "--data-dir", str(data)]
    return subprocess.run(
        [*command, *args], cwd=REPO, capture_output=True, text=True, timeout=100, check=False
    )


def test_a_load_of_a_few_hundred_commands_leaves_the_bank_consistent(tmp_path: Path) -> None:
    data = tmp_path / "data"
    elsewhere = tmp_path / "elsewhere"
    asyncio.run(_empty_stores(elsewhere))
    bank = _system(data).start()
    try:
        done = _load(bank, data, "--commands", "300", "--concurrency", "8", "--seed", "7")
        misdirected = _load(bank, elsewhere, "--commands", "5", "--seed", "7")
    finally:
        assert bank.stop() == 0
    # Auditing empty stores (not the ones the system writes) must fail, not pass as "consistent".
    assert misdirected.returncode == 1, misdirected.stdout + misdirected.stderr
    assert "commands were accepted but the audited stores hold no events" in misdirected.stdout
    assert "audit: FAILED" in misdirected.stdout
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    sent = re.search(r"commands: (\d+) sent, (\d+) ok, (\d+) refused", out)
    assert sent is not None, out
    assert int(sent.group(1)) == 300 + 22  # the mix, then 2 tenants x (8 accounts + 3 SKUs) of set-up
    assert int(sent.group(2)) == int(sent.group(1))  # every command accepted: nothing refused or lost
    for tenant in ("acme", "globex"):
        audited = re.search(rf"audit {tenant}: accounts (\d+), checkouts (\d+), .* -- clean", out)
        assert audited is not None, out
        assert int(audited.group(1)) >= 8
        assert int(audited.group(2)) > 0
    assert "audit: clean (2 tenants" in out
    assert re.search(r"latency ms: p50 [\d.]+ +p90 [\d.]+ +p99 [\d.]+ +max [\d.]+", out)


async def test_the_audit_names_a_deposit_whose_balance_does_not_add_up(tmp_path: Path) -> None:
    data = tmp_path / "data"
    bank = _system(data).start()
    try:
        opened = {"account_id": "victim", "owner": "Vic", "branch_city": "Manchester"}
        bank.command("accounts", "OpenAccount", opened, ACME)
        bank.command("deposits", "Deposit", {"account_id": "victim", "amount": 500}, ACME)
        bogus = to_cloudevent(
            MoneyDeposited(account_id="victim", amount=100, balance=9_999),
            source="tests/forger",
            extensions={"tenant": "acme"},
            registry=registry,
        )
        async with open_store(f"sqlite:///{data / 'bank.db'}") as store:  # beside the running system (WAL)
            await store.append(f"acme:{account_stream('victim')}", [bogus])
        done = _load(bank, data, "--commands", "40", "--settle-timeout", "2")
    finally:
        assert bank.stop() == 0
    out = done.stdout
    assert done.returncode == 1, out + done.stderr
    assert "acme: account 'victim': MoneyDeposited says balance 9999, the money moved says 600" in out
    assert "audit: FAILED, 1 problem(s)" in out
    assert re.search(r"audit globex: .* -- clean", out)
