"""The front door answers commands itself: exactly as Starlette's router and exception handlers would."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest

from riverbed.gateway.frontdoor import FrontDoor
from tests.gateway.conftest import ACME_KEY, Harness, RsaKeys, make_harness, settings

DEEP = b'{"account_id": "a", "amount": 1, "x": ' + b"[" * 40 + b"]" * 40 + b"}"
VARYING = {"request_id", "command_id"}
PATH = "/commands/bank/Deposit"


def _through_the_router(harness: Harness) -> FrontDoor:
    """The same gateway with no command answered by the door: every request goes through the router."""
    door = harness.app
    return FrontDoor(
        door.app, authenticators=door.authenticators, buckets=door.buckets, max_bytes=door.max_bytes
    )


async def _answers(app: Any, harness: Harness) -> list[tuple[int, str, dict[str, Any], list[str]]]:
    transport = httpx.ASGITransport(app=app)
    headers = {"x-api-key": ACME_KEY}
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway", headers=headers) as client:
        json_type = {"content-type": "application/json"}
        responses = [
            await client.post(PATH, json={"account_id": "a", "amount": 1}),
            await client.post(PATH, json={"account_id": "a", "amount": 1, "x": 1}),
            await client.post(PATH, content=b"{}", headers={"content-type": "text/plain"}),
            await client.post(PATH, content=DEEP, headers=json_type),
            await client.post(PATH, json={"account_id": "b", "amount": 2}, headers={"idempotency-key": "k"}),
            await client.post(PATH, json={"account_id": "b", "amount": 2}, headers={"idempotency-key": "k"}),
        ]
        harness.bank.fail = True
        try:
            responses.append(
                await client.post("/commands/bank/Deposit", json={"account_id": "c", "amount": 3})
            )
        finally:
            harness.bank.fail = False
        harness.bank.state = "replaying"
        await harness.app.monitor.probe_all()
        responses.append(await client.post(PATH, json={"account_id": "c", "amount": 3}))
        harness.bank.state = "ready"
        await harness.app.monitor.probe_all()
    answers = []
    for response in responses:
        echoed = response.headers.get_list("x-request-id")
        assert len(echoed) == 1
        assert response.json().get("request_id", echoed[0]) == echoed[0]
        body = {k: v for k, v in response.json().items() if k not in VARYING}
        if "events" in body:  # event ids are random
            body["events"] = [event["type"] for event in body["events"]]
        names = sorted(k for k in response.headers if k not in ("content-length", "x-request-id"))
        answers.append((response.status_code, response.headers["content-type"], body, names))
    return answers


async def test_commands_answer_alike_through_the_door_and_through_the_router(rsa_keys: RsaKeys) -> None:
    first, second = await make_harness(settings(rsa_keys)), await make_harness(settings(rsa_keys))
    try:
        door = await _answers(first.app, first)
        router = await _answers(_through_the_router(second), second)
    finally:
        await first.store.close()
        await second.store.close()
    assert [status for status, *_ in door] == [200, 422, 415, 400, 200, 200, 500, 503]
    assert door == router


async def test_an_unexpected_error_is_answered_once_and_logged_once(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    harness.bank.fail = True
    with caplog.at_level(logging.ERROR, logger="riverbed.gateway"):
        async with harness.client(**{"x-request-id": "req-500"}) as client:
            response = await client.post("/commands/bank/Deposit", json={"account_id": "a", "amount": 1})
    assert response.status_code == 500
    assert response.json()["detail"] == "an unexpected error happened; the request id names it in logs"
    failed = [r for r in caplog.records if r.getMessage() == "request req-500 failed"]
    assert len(failed) == 1
    assert failed[0].exc_info is not None
    assert "the bank broke" in str(failed[0].exc_info[1])


async def test_under_a_root_path_the_routes_and_the_public_probes_are_the_same(harness: Harness) -> None:
    transport = httpx.ASGITransport(app=harness.app, root_path="/api")
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        live = await client.get("/api/livez")
        anonymous = await client.post("/api/commands/bank/Deposit", json={"account_id": "a", "amount": 1})
        sent = await client.post(
            "/api/commands/bank/Deposit",
            json={"account_id": "a", "amount": 1},
            headers={"x-api-key": ACME_KEY},
        )
    assert live.status_code == 200
    assert anonymous.status_code == 401
    assert sent.status_code == 200
    assert sent.json()["stream"] == "account-a"
    assert len(harness.bank.runs) == 1
