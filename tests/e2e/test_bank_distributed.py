"""The bank distributed: one OS process per role over PostgreSQL and JetStream, under a supervisor.

Kill the deposits service with SIGKILL while deposits keep coming: the gateway answers 503 (never a
timeout), the supervisor restarts the service, it replays and serves again, and every deposit is applied
exactly once (each is sent with an Idempotency-Key and re-sent until it is accepted).
"""

from __future__ import annotations

import os
import signal
import threading

import pytest
from tests.e2e.running_system import ACME, distributed_bank

from riverbed import open_store

pytestmark = [pytest.mark.postgres, pytest.mark.nats, pytest.mark.slow]


async def test_a_killed_service_is_refused_fast_restarted_and_no_command_is_lost_or_doubled(
    system_prefix: str, pg_url: str, nats_url: str
) -> None:
    bank = distributed_bank(
        system_prefix, pg_url, nats_url, RIVERBED_RUN__RESTART_INITIAL_SECONDS="0.5"
    ).start(ready="[gateway] riverbed: bank is running")
    try:
        bank.command(
            "accounts",
            "OpenAccount",
            {"account_id": "a-1", "owner": "Ada", "branch_city": "Manchester"},
            ACME,
        )
        statuses: list[int] = []
        amounts = list(range(1, 61))
        sent = threading.Event()

        def deposit_all() -> None:
            for amount in amounts:
                headers = {"Idempotency-Key": f"deposit-{system_prefix}-{amount}", **ACME}
                while True:
                    response = bank.post(
                        "/commands/deposits/Deposit", {"account_id": "a-1", "amount": amount}, headers
                    )
                    statuses.append(response.status_code)
                    if response.status_code == 200:
                        break
                    assert response.status_code == 503, response.text
                    threading.Event().wait(0.05)
                if amount == 20:
                    sent.set()
            sent.set()

        worker = threading.Thread(target=deposit_all)
        worker.start()
        assert sent.wait(60)
        mark = len(bank.lines)
        os.kill(bank.pid_of("deposits"), signal.SIGKILL)
        bank.wait_for("[supervisor] deposits exited", after=mark, within=10)
        bank.wait_for("[supervisor] deposits restarted", after=mark, within=30)
        bank.wait_for("[deposits] riverbed: service deposits serving", after=mark, within=60)
        worker.join(120)
        assert not worker.is_alive()

        assert 503 in statuses  # the gateway refused while the service was down or replaying
        total = sum(amounts)
        row = bank.row("balances-manchester", "a-1", ACME, until=lambda d: d["balance"] == total)
        assert row is not None
        assert row["data"]["balance"] == total
    finally:
        assert bank.stop() == 0
    assert "every process stopped" in bank.lines[-1]

    url = f"{pg_url}{'&' if '?' in pg_url else '?'}options=-csearch_path%3D{system_prefix}_bank"
    async with open_store(url) as store:
        deposits = [
            r.event.data["amount"]
            async for r in store.read("acme:bank.account-a-1")
            if r.event.type.endswith("money-deposited.v1")
        ]
    assert sorted(deposits) == amounts  # every deposit exactly once
