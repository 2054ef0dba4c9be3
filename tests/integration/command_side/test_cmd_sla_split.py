"""Deposits and withdrawals as two services in two OS processes, hammering the same accounts.

The store's optimistic concurrency is the only coordination between them. Afterwards every account's
stream must have contiguous versions, never dip below zero, hold exactly one event per distinct command
id, and its balance must equal what the two processes reported as deposited minus withdrawn.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections import Counter
from pathlib import Path

import pytest
from tests.bank_domain import Account, OpenAccount
from tests.command_side_stores import opened, store_url
from tests.command_side_support import deposits_service

ROOT = Path(__file__).resolve().parents[3]
ACCOUNTS = 4
COMMANDS = 150 * (10 if os.environ.get("RIVERBED_SOAK") == "1" else 1)  # `make soak` runs ten times more


@pytest.mark.slow
@pytest.mark.reliability
@pytest.mark.timeout(300)
@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def test_two_processes_split_by_sla_stay_consistent(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = store_url(kind, tmp_path, request.getfixturevalue("pg_schema_url") if kind == "postgres" else None)
    async with opened(url) as stores:
        opener = deposits_service(stores.events, Account)
        for a in range(ACCOUNTS):
            await opener.handle(OpenAccount(account_id=f"acc{a}", owner="Ada"), command_id=f"open-{a}")

    outs = {role: tmp_path / f"{role}.json" for role in ("deposits", "withdrawals")}
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.command_side_sla_worker",
            url,
            role,
            str(ACCOUNTS),
            str(COMMANDS),
            str(seed),
            str(outs[role]),
            cwd=ROOT,
        )
        for seed, role in enumerate(outs)
    ]
    codes = await asyncio.gather(*(p.wait() for p in procs))
    assert codes == [0, 0]
    raw = {role: json.loads(path.read_text()) for role, path in outs.items()}
    reports = {role: report["results"] for role, report in raw.items()}
    print("version clashes retried:", {role: report["conflicts"] for role, report in raw.items()})

    async with opened(url) as stores:
        total_events = 0
        for a in range(ACCOUNTS):
            stream = f"acc{a}"
            records = [r async for r in stores.events.read(f"account-{stream}")]
            total_events += len(records)
            assert [r.version for r in records] == list(range(len(records)))
            balance = 0
            per_command: Counter[tuple[str, str]] = Counter()
            deposited = withdrawn = 0
            for r in records:
                per_command[(r.event.source, str(r.event.extensions["commandid"]))] += 1
                if r.event.type == "bank.account.money-deposited.v1":
                    balance += r.event.data["amount"]
                    deposited += r.event.data["amount"]
                elif r.event.type == "bank.account.money-withdrawn.v1":
                    balance -= r.event.data["amount"]
                    withdrawn += r.event.data["amount"]
                assert balance >= 0, f"{stream} overdrawn at version {r.version}: a decision used stale state"
            assert set(per_command.values()) == {1}, "a command was applied twice"
            reported_in = sum(
                sum(x["amounts"])
                for x in reports["deposits"]
                if x["stream"] == f"account-{stream}" and not x["duplicate"]
            )
            reported_out = sum(
                sum(x["amounts"])
                for x in reports["withdrawals"]
                if x["stream"] == f"account-{stream}"
                and not x["duplicate"]
                and x["types"] == ["bank.account.money-withdrawn.v1"]
            )
            assert (deposited, withdrawn) == (reported_in, reported_out)
            assert balance == reported_in - reported_out

    for _role, results in reports.items():
        by_id: dict[str, list[dict[str, object]]] = {}
        for result in results:
            by_id.setdefault(str(result["command_id"]), []).append(result)
        assert len(by_id) == COMMANDS
        for command_id, seen in by_id.items():
            assert all(len(r["event_ids"]) == 1 for r in seen), command_id  # type: ignore[arg-type]
            assert len({(r["version"], tuple(r["event_ids"])) for r in seen}) == 1, command_id  # type: ignore[arg-type]
            assert sum(not r["duplicate"] for r in seen) == 1, command_id
        assert sum(r["duplicate"] for r in results) == sum(len(s) - 1 for s in by_id.values()) > 0
    assert total_events == ACCOUNTS + 2 * COMMANDS
