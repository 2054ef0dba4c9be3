"""Each first hop also works as its own pure ASGI middleware, stacked around any app."""

from __future__ import annotations

from typing import Any

import httpx

from riverbed.gateway.asgi import send_json, state
from riverbed.gateway.auth import ApiKeyAuthenticator, AuthMiddleware
from riverbed.gateway.limits import BodyLimitMiddleware
from riverbed.gateway.ratelimit import RateLimitMiddleware, TokenBuckets
from riverbed.gateway.tracking import TrackingMiddleware
from riverbed.runtime.gateway_settings import ApiKeySettings
from tests.gateway.conftest import FakeClock

KEY = "standalone-key-0123456789"


async def echo(scope: Any, receive: Any, send: Any) -> None:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await send_json(scope, send, 200, {"tenant": state(scope)["principal"].tenant, "bytes": len(body)})


async def test_the_hops_stack_as_separate_middleware() -> None:
    clock = FakeClock()
    app = TrackingMiddleware(
        AuthMiddleware(
            RateLimitMiddleware(
                BodyLimitMiddleware(echo, max_bytes=10), TokenBuckets(rate=1, burst=2, clock=clock)
            ),
            [ApiKeyAuthenticator([ApiKeySettings.model_validate({"key": KEY, "tenant": "acme"})])],
        )
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        anonymous = await client.post("/x", content=b"hi")
        ok = await client.post("/x", content=b"hi", headers={"x-api-key": KEY, "x-request-id": "r-1"})
        large = await client.post("/x", content=b"x" * 11, headers={"x-api-key": KEY})
        limited = await client.post("/x", content=b"hi", headers={"x-api-key": KEY})
    assert anonymous.status_code == 401
    assert anonymous.headers["x-request-id"]
    assert ok.status_code == 200
    assert ok.json() == {"tenant": "acme", "bytes": 2}
    assert ok.headers.get_list("x-request-id") == ["r-1"]
    assert large.status_code == 413
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "1"
