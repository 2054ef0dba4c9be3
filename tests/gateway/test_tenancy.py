"""A tenant can never read or write another tenant's streams or view rows."""

from __future__ import annotations

from tests.gateway.conftest import GLOBEX_KEY, Harness, hs_token


async def test_tenants_write_only_their_own_streams_and_read_only_their_own_rows(harness: Harness) -> None:
    async with harness.client() as acme, harness.client(key=GLOBEX_KEY) as globex:
        opened = await acme.post("/commands/bank/OpenAccount", json={"account_id": "a-1", "owner": "Ann"})
        assert opened.status_code == 200
        assert opened.json()["stream"] == "account-a-1"
        deposit = await acme.post("/commands/bank/Deposit", json={"account_id": "a-1", "amount": 70})
        assert deposit.status_code == 200

        # globex asks for the same key: it does not exist for globex
        missing = await globex.get("/views/balances/a-1")
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"
        # path tricks cannot name acme's row either
        for key in ("acme:a-1", "..%2Facme:a-1", "acme%3Aa-1"):
            assert (await globex.get(f"/views/balances/{key}")).status_code == 404

        # globex writing "a-1" writes its own stream, never acme's
        await globex.post("/commands/bank/Deposit", json={"account_id": "a-1", "amount": 5})
        acme_row = (await acme.get("/views/balances/a-1")).json()
        globex_row = (await globex.get("/views/balances/a-1")).json()
    assert acme_row["data"] == {"balance": 70}
    assert acme_row["key"] == "a-1"
    assert globex_row["data"] == {"balance": 5}
    streams = sorted({r.stream async for r in harness.store.read_all()})
    assert streams == ["acme:account-a-1", "globex:account-a-1"]
    assert all(r.key.startswith(f"{r.tenant}:") for r in harness.view.requests)


async def test_a_jwt_tenant_scopes_like_an_api_key(harness: Harness) -> None:
    async with harness.client() as acme:
        await acme.post("/commands/bank/Deposit", json={"account_id": "x", "amount": 9})
    async with harness.client(key=None, authorization=f"Bearer {hs_token('globex')}") as globex:
        assert (await globex.get("/views/balances/x")).status_code == 404
    async with harness.client(key=None, authorization=f"Bearer {hs_token('acme')}") as acme_jwt:
        assert (await acme_jwt.get("/views/balances/x")).json()["data"] == {"balance": 9}


async def test_ingested_events_land_in_the_tenants_streams(harness: Harness) -> None:
    event = {
        "specversion": "1.0",
        "id": "e-1",
        "source": "partner",
        "type": "partner.ping.v1",
        "subject": "inbox",
    }
    async with harness.client(key=GLOBEX_KEY) as globex:
        response = await globex.post(
            "/events", json=event, headers={"content-type": "application/cloudevents+json"}
        )
    assert response.status_code == 202, response.text
    assert response.json()["accepted"][0]["stream"] == "inbox"
    streams = [r.stream async for r in harness.store.read_all()]
    assert streams == ["globex:inbox"]
