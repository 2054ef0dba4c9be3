"""One service of the SLA split, run as its own OS process by the two-process test.

``python -m tests.command_side_sla_worker URL ROLE ACCOUNTS COMMANDS SEED OUT`` starts the deposits
(class-style aggregate) or withdrawals (functional decider) service on the store at URL, waits until it is
ready, hammers the accounts with COMMANDS commands, 8 at a time, resubmitting every 7th command id, and
writes every result to OUT as JSON.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

from riverbed.application.command_service import ServiceOptions
from riverbed.bootstrap import open_store
from riverbed.runtime.lifecycle import ServiceRunner
from tests.bank_domain import Account, Deposit, Withdraw, account_decider
from tests.command_side_support import deposits_service, withdrawals_service

CONCURRENCY = 8


def _meet_peer(out: str) -> None:
    """Announce readiness, then wait (up to a minute) until the other process is ready too."""
    Path(f"{out}.ready").touch()
    deadline = time.monotonic() + 60
    while len(list(Path(out).parent.glob("*.ready"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)


async def main(url: str, role: str, accounts: int, commands: int, seed: int, out: str) -> None:
    rng = random.Random(seed)
    options = ServiceOptions(max_attempts=200)
    async with open_store(url) as store:
        if role == "deposits":
            runner = ServiceRunner(deposits_service(store, Account, options=options))
        else:
            runner = ServiceRunner(withdrawals_service(store, account_decider, options=options))
        await runner.start()
        # a barrier: both processes start hammering together, so their commands really interleave
        await asyncio.to_thread(_meet_peer, out)
        plan: list[tuple[str, Any]] = []
        for i in range(commands):
            account = f"acc{rng.randrange(accounts)}"
            amount = rng.randint(1, 20)
            command = (
                Deposit(account_id=account, amount=amount)
                if role == "deposits"
                else Withdraw(account_id=account, amount=amount)
            )
            plan.append((f"{role}-{seed}-{i}", command))
            if i % 7 == 3:
                plan.append((f"{role}-{seed}-{i}", command))  # a resubmission of the same command id
        results: list[dict[str, Any]] = []
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        for item in plan:
            queue.put_nowait(item)

        async def work() -> None:
            while not queue.empty():
                command_id, command = queue.get_nowait()
                result = await runner.handle(command, command_id=command_id)
                results.append(
                    {
                        "command_id": command_id,
                        "stream": result.stream,
                        "types": list(result.event_types),
                        "amounts": [e.data["amount"] for e in result.records],
                        "event_ids": [e.id for e in result.records],
                        "version": result.version,
                        "duplicate": result.duplicate,
                    }
                )

        await asyncio.gather(*(work() for _ in range(CONCURRENCY)))
        await runner.stop(grace=30)
    report = {"conflicts": runner.service.conflicts, "results": results}
    await asyncio.to_thread(Path(out).write_text, json.dumps(report))


if __name__ == "__main__":
    url, role, accounts, count, seed, out = sys.argv[1:7]
    asyncio.run(main(url, role, int(accounts), int(count), int(seed), out))
