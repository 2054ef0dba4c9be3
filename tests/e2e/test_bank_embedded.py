"""The bank end to end, embedded: ``riverbed run`` as a real process, driven over HTTP by two tenants.

Covers the whole path: gateway auth and tenants, the four account services, the Manchester (pre-loaded)
and Leeds (on-demand) views, the checkout process manager (shipped, and compensated on a declined payment),
the compliance reaction, a graceful SIGTERM, and a restart on the same files that keeps everything.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from tests.e2e.running_system import ACME, GLOBEX, RunningSystem

from riverbed import open_store
from riverbed.testing.ports import free_port


def _system(tmp_path: Path) -> RunningSystem:
    port = free_port()
    env = {"RIVERBED_GATEWAY__PORT": str(port), "BANK_PAYMENT_TIMEOUT_SECONDS": "30"}
    return RunningSystem(["--data-dir", str(tmp_path / "data")], env, port=port)


async def test_the_bank_serves_two_tenants_end_to_end_and_survives_a_restart(tmp_path: Path) -> None:
    bank = _system(tmp_path).start()
    try:
        bank.command(
            "accounts",
            "OpenAccount",
            {"account_id": "m-1", "owner": "Ada", "branch_city": "Manchester"},
            ACME,
        )
        bank.command(
            "accounts", "OpenAccount", {"account_id": "l-1", "owner": "Bo", "branch_city": "Leeds"}, ACME
        )
        bank.command(
            "accounts",
            "OpenAccount",
            {"account_id": "m-1", "owner": "Cy", "branch_city": "Manchester"},
            GLOBEX,
        )
        deposit = bank.command("deposits", "Deposit", {"account_id": "m-1", "amount": 5000}, ACME)
        bank.command("deposits", "Deposit", {"account_id": "l-1", "amount": 700}, ACME)
        refused = bank.command("withdrawals", "Withdraw", {"account_id": "l-1", "amount": 9999}, ACME)
        assert [e["type"] for e in refused["events"]] == ["bank.account.withdrawal-refused.v1"]

        # read your writes: the pre-loaded view at least at the deposit's position
        row = bank.get(f"/views/balances-manchester/m-1?min_position={deposit['position']}", ACME)
        assert row.status_code == 200
        assert row.json()["data"]["balance"] == 5000
        # tenants never see each other's rows: globex's m-1 is its own account, with no money
        assert bank.row("balances-manchester", "m-1", GLOBEX, until=lambda d: d["owner"] == "Cy")["data"] == {
            "account_id": "m-1",
            "owner": "Cy",
            "branch_city": "Manchester",
            "balance": 0,
        }
        assert bank.get("/views/balances-leeds/l-1", GLOBEX).status_code == 404
        assert bank.get("/views/balances-leeds/l-1", ACME).json()["data"]["balance"] == 700
        assert bank.get("/views/balances-manchester/l-1", ACME).status_code == 404  # Leeds is not Manchester

        # the checkout: stock reserved, payment taken, shipped
        bank.command("stock", "AddStock", {"sku": "mug", "quantity": 5}, ACME)
        order = {"order_id": "o-1", "account_id": "m-1", "sku": "mug", "quantity": 2, "amount": 1200}
        bank.command("checkout", "StartCheckout", order, ACME)
        assert bank.row("balances-manchester", "m-1", ACME, until=lambda d: d["balance"] == 3800) is not None
        # a declined payment (not enough money) releases the stock again
        poor = {"order_id": "o-2", "account_id": "l-1", "sku": "mug", "quantity": 3, "amount": 100_000}
        bank.command("checkout", "StartCheckout", poor, ACME)
        again = {"order_id": "o-3", "account_id": "m-1", "sku": "mug", "quantity": 3, "amount": 300}
        bank.command("checkout", "StartCheckout", again, ACME)  # needs o-2's 3 units back: 5 - 2 = 3
        assert bank.row("balances-manchester", "m-1", ACME, until=lambda d: d["balance"] == 3500) is not None
    finally:
        assert bank.stop() == 0
    assert any("stopped" in line for line in bank.lines[-3:])

    shop = await _events(tmp_path / "data" / "shop.db")
    types = [(stream, kind) for stream, kind in shop if not kind.startswith("riverbed.process")]
    assert ("acme:shop.stock-mug", "shop.order.shipped.v1") in types
    assert ("acme:shop.stock-mug", "shop.stock.released.v1") in types
    compliance = await _events(tmp_path / "data" / "compliance.db")
    rules = sorted(stream for stream, _ in compliance)
    assert rules == [
        "acme:compliance.monitoring-l-1",
        "acme:compliance.monitoring-m-1",
        "globex:compliance.monitoring-m-1",
    ]

    # a restart on the same files serves the same state, and a re-sent command is not applied twice
    bank = _system(tmp_path).start()
    try:
        assert bank.row("balances-manchester", "m-1", ACME, until=lambda d: d["balance"] == 3500) is not None
        key = {"Idempotency-Key": f"dep-{uuid.uuid4().hex}", **ACME}
        first = bank.command("deposits", "Deposit", {"account_id": "m-1", "amount": 1}, key)
        second = bank.command("deposits", "Deposit", {"account_id": "m-1", "amount": 1}, key)
        assert second["command_id"] == first["command_id"]
        assert bank.row("balances-manchester", "m-1", ACME, until=lambda d: d["balance"] == 3501) is not None
    finally:
        assert bank.stop() == 0
    bank_events = await _events(tmp_path / "data" / "bank.db")
    assert sum(1 for _, kind in bank_events if kind == "bank.account.money-deposited.v1") == 3


async def _events(path: Path) -> list[tuple[str, str]]:
    async with open_store(f"sqlite:///{path}") as store:
        return [(r.stream, r.event.type) async for r in store.read_all()]
