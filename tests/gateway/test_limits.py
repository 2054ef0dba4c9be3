"""Body size (413 without reading the body), JSON depth (400) and per-client rate limits (429)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, MutableMapping
from typing import Any

import pytest

from riverbed.gateway.limits import BodyLimitMiddleware
from tests.gateway.conftest import GLOBEX_KEY, FakeClock, Harness, RsaKeys, make_harness, settings


async def test_a_declared_oversized_body_gets_413_before_any_read(rsa_keys: RsaKeys) -> None:
    h = await make_harness(settings(rsa_keys, max_body_bytes=1024))
    async with h.client() as client:
        response = await client.post(
            "/commands/bank/Deposit",
            content=b"{" + b" " * 2000 + b"}",
            headers={"content-type": "application/json"},
        )
    assert response.status_code == 413
    assert response.json()["type"].endswith("/payload-too-large")
    assert h.bank.runs == []


async def test_a_streamed_body_is_cut_off_at_the_first_byte_over_the_limit() -> None:
    reads = 0
    chunks = [b"x" * 400] * 100  # 40 kB, no Content-Length

    async def receive() -> dict[str, Any]:
        nonlocal reads
        reads += 1
        return {"type": "http.request", "body": chunks[reads - 1], "more_body": reads < len(chunks)}

    async def app(scope: Any, receive_: Any, send: Any) -> None:
        while (await receive_()).get("more_body"):
            pass
        raise AssertionError("the app must not see the whole body")

    sent: list[MutableMapping[str, Any]] = []

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "path": "/x", "headers": [], "state": {}}
    await BodyLimitMiddleware(app, max_bytes=1000)(scope, receive, send)
    assert reads == 3  # 1200 bytes read, 38,800 never touched
    assert sent[0]["status"] == 413


async def test_chunked_oversized_body_over_http_gets_413(rsa_keys: RsaKeys) -> None:
    h = await make_harness(settings(rsa_keys, max_body_bytes=1024))

    async def body() -> AsyncIterator[bytes]:
        for _ in range(50):
            yield b" " * 100

    async with h.client() as client:
        response = await client.post("/events", content=body(), headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert h.bank.runs == []


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"k": value}
    return value


async def test_json_deeper_than_32_gets_400(harness: Harness) -> None:
    async with harness.client() as client:
        ok = await client.post(
            "/commands/bank/Deposit", json={"account_id": "a", "amount": 1, "memo": _nested(31)}
        )
        deep = await client.post(
            "/commands/bank/Deposit", json={"account_id": "a", "amount": 1, "memo": _nested(32)}
        )
        very_deep = await client.post(
            "/commands/bank/Deposit",
            content=b'{"memo":' + b"[" * 100_000 + b"]" * 100_000 + b"}",
            headers={"content-type": "application/json"},
        )
    assert ok.status_code == 200, ok.text  # 32 levels in all: the body object plus 31
    assert deep.status_code == 400
    assert "deeper than 32" in deep.json()["detail"]
    assert very_deep.status_code == 400
    assert len(harness.bank.runs) == 1


async def test_rate_limit_per_client_with_retry_after(rsa_keys: RsaKeys) -> None:
    clock = FakeClock()
    h = await make_harness(settings(rsa_keys, rate_limit={"requests_per_second": 2, "burst": 3}), clock)
    async with h.client() as acme, h.client(key=GLOBEX_KEY) as globex:
        statuses = [(await acme.get("/views/balances/none")).status_code for _ in range(4)]
        assert statuses == [404, 404, 404, 429]
        limited = await acme.get("/views/balances/none")
        assert limited.status_code == 429
        assert limited.headers["retry-after"] == "1"
        assert limited.json()["type"].endswith("/rate-limited")
        assert (await globex.get("/views/balances/none")).status_code == 404  # its own bucket
        assert (await acme.get("/livez")).status_code == 200  # health is never limited
        clock.advance(0.5)
        assert (await acme.get("/views/balances/none")).status_code == 404
        assert (await acme.get("/views/balances/none")).status_code == 429


def test_nesting_is_measured_without_recursion() -> None:
    from riverbed.errors import MalformedRequest
    from riverbed.gateway.limits import parse_json

    assert parse_json(json.dumps(_nested(32)).encode(), max_depth=32) is not None
    with pytest.raises(MalformedRequest, match="deeper than 32"):
        parse_json(json.dumps([_nested(32)]).encode(), max_depth=32)
