"""problem+json shapes, tracking headers and Idempotency-Key."""

from __future__ import annotations

import asyncio
import re

import pytest

from riverbed.gateway.errors import ALL_PROBLEMS, PROBLEM_BASE
from tests.gateway.conftest import Harness

PROBLEM_KEYS = {"type", "title", "status", "detail", "instance", "request_id"}
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def _is_problem(response: object, status: int, slug: str) -> dict[str, object]:
    import httpx

    assert isinstance(response, httpx.Response)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, object] = response.json()
    assert set(body) >= PROBLEM_KEYS
    assert body["type"] == PROBLEM_BASE + slug
    assert body["status"] == status
    assert response.headers.get_list("x-request-id") == [body["request_id"]]
    return body


def test_problem_type_uris_are_stable_and_unique() -> None:
    uris = [p.uri for p in ALL_PROBLEMS]
    assert len(set(uris)) == len(uris)
    assert all(re.fullmatch(r"https://riverbed\.dev/problems/[a-z-]+", u) for u in uris)


async def test_problem_shapes(harness: Harness) -> None:
    async with harness.client() as client:
        _is_problem(await client.get("/nowhere"), 404, "not-found")
        _is_problem(await client.get("/commands/bank/Deposit"), 405, "method-not-allowed")
        body = _is_problem(
            await client.post("/commands/bank/Deposit", json={"account_id": "a", "amount": "lots"}),
            422,
            "validation-failed",
        )
        assert body["instance"] == "/commands/bank/Deposit"
        assert isinstance(body["errors"], list)
        assert body["errors"][0]["loc"] == ["amount"]
        _is_problem(
            await client.post(
                "/commands/bank/Deposit", content=b"{not json", headers={"content-type": "application/json"}
            ),
            400,
            "malformed-request",
        )
        _is_problem(
            await client.post(
                "/commands/bank/Deposit", content=b"{}", headers={"content-type": "text/plain"}
            ),
            415,
            "unsupported-media-type",
        )
        _is_problem(await client.get("/views/balances/nobody"), 404, "not-found")
        _is_problem(await client.get("/views/balances/a?min_position=soon"), 400, "malformed-request")
    assert harness.bank.runs == []


async def test_unknown_fields_are_refused_with_422(harness: Harness) -> None:
    async with harness.client() as client:
        response = await client.post(
            "/commands/bank/Deposit", json={"account_id": "a", "amount": 1, "overdraft": True}
        )
    body = _is_problem(response, 422, "validation-failed")
    assert any(e["loc"] == ["overdraft"] for e in body["errors"])  # type: ignore[attr-defined]
    assert harness.bank.runs == []


@pytest.mark.parametrize("amount", [True, "5", 1.5, None])
async def test_types_are_held_to_the_schema(harness: Harness, amount: object) -> None:
    async with harness.client() as client:
        response = await client.post("/commands/bank/Deposit", json={"account_id": "a", "amount": amount})
    body = _is_problem(response, 422, "validation-failed")
    assert body["errors"][0]["loc"] == ["amount"]  # type: ignore[index]
    assert harness.bank.runs == []


async def test_an_unexpected_error_is_a_500_problem_naming_the_request(harness: Harness) -> None:
    harness.bank.fail = True
    async with harness.client(**{"x-request-id": "req-42"}) as client:
        response = await client.post("/commands/bank/Deposit", json={"account_id": "a", "amount": 1})
    body = _is_problem(response, 500, "internal-error")
    assert body["request_id"] == "req-42"
    assert "the bank broke" not in str(body)


async def test_request_id_and_traceparent_travel_into_the_command(harness: Harness) -> None:
    async with harness.client(**{"x-request-id": "req-7", "traceparent": TRACEPARENT}) as client:
        response = await client.post("/commands/bank/Deposit", json={"account_id": "a", "amount": 1})
    assert response.headers["x-request-id"] == "req-7"
    sent = harness.bank.runs[0]
    assert sent.correlation_id == "req-7"
    assert sent.traceparent is not None
    assert sent.traceparent.split("-")[1] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert sent.traceparent != TRACEPARENT  # the gateway's own span in the caller's trace
    stored = [r.event async for r in harness.store.read_all()]
    assert stored[0].extensions["correlationid"] == "req-7"
    assert stored[0].extensions["traceparent"] == sent.traceparent


async def test_request_id_is_generated_when_absent_or_unusable(harness: Harness) -> None:
    async with harness.client(**{"x-request-id": "bad id with spaces", "traceparent": "garbage"}) as client:
        first = await client.get("/livez")
        second = await client.post("/commands/bank/Deposit", json={"account_id": "a", "amount": 1})
    generated = first.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    assert second.headers["x-request-id"] not in (generated, "bad id with spaces")
    assert re.fullmatch(r"00-[0-9a-f]{32}-[0-9a-f]{16}-01", harness.bank.runs[0].traceparent or "")


async def test_idempotency_key_returns_the_first_result(harness: Harness) -> None:
    async with harness.client(**{"idempotency-key": "k-1"}) as client:
        first = await client.post("/commands/bank/Deposit", json={"account_id": "a", "amount": 10})
        again = await client.post("/commands/bank/Deposit", json={"account_id": "a", "amount": 10})
        other = await client.post("/commands/bank/Deposit", json={"account_id": "a", "amount": 11})
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert first.headers["idempotency-replayed"] == "false"
    assert again.headers["idempotency-replayed"] == "true"
    _is_problem(other, 422, "validation-failed")
    assert "different request" in other.json()["detail"]
    assert len(harness.bank.runs) == 1
    assert [r async for r in harness.store.read_all()].__len__() == 1


async def test_concurrent_retries_with_one_key_run_the_command_once(harness: Harness) -> None:
    async with harness.client(**{"idempotency-key": "k-2"}) as client:
        responses = await asyncio.gather(
            *(client.post("/commands/bank/Deposit", json={"account_id": "b", "amount": 3}) for _ in range(5))
        )
    assert {r.status_code for r in responses} == {200}
    assert len({r.json()["command_id"] for r in responses}) == 1
    assert len(harness.bank.runs) == 1


async def test_the_key_fixes_the_command_id_so_the_service_dedupes_after_a_gateway_restart(
    harness: Harness,
) -> None:
    async with harness.client(**{"idempotency-key": "k-3"}) as client:
        first = await client.post("/commands/bank/Deposit", json={"account_id": "c", "amount": 3})
    harness.app.gateway.idempotency._done.clear()  # the gateway forgot (e.g. it restarted)
    async with harness.client(**{"idempotency-key": "k-3"}) as client:
        again = await client.post("/commands/bank/Deposit", json={"account_id": "c", "amount": 3})
    assert again.json()["command_id"] == first.json()["command_id"]
    assert again.json()["duplicate"] is True
    assert len(harness.bank.runs) == 1


@pytest.mark.parametrize("key", ["", "x" * 300])
async def test_bad_idempotency_keys_are_refused(harness: Harness, key: str) -> None:
    async with harness.client(**{"idempotency-key": key}) as client:
        response = await client.post("/commands/bank/Deposit", json={"account_id": "c", "amount": 3})
    _is_problem(response, 422, "validation-failed")
    assert harness.bank.runs == []
