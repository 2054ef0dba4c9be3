"""Small ASGI helpers shared by the gateway's middleware: typed aliases, per-request state, responses."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from riverbed.gateway.errors import encode_problem, problem_for, problem_headers

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def state(scope: Scope) -> dict[str, Any]:
    """The per-request state dict (the same one Starlette's ``request.state`` reads)."""
    value: dict[str, Any] = scope.setdefault("state", {})
    return value


def header(scope: Scope, name: bytes) -> bytes | None:
    """The first value of a request header (``name`` in lower case), from a dict built once per request."""
    context = state(scope)
    headers: dict[bytes, bytes] | None = context.get("_headers")
    if headers is None:
        headers = {}
        for key, value in scope.get("headers", ()):
            headers.setdefault(bytes(key).lower(), bytes(value))
        context["_headers"] = headers
    return headers.get(name)


def tracking_headers(scope: Scope) -> list[tuple[bytes, bytes]]:
    """``X-Request-Id`` for the answer, when the request has one (every answer of the gateway echoes it)."""
    request_id = state(scope).get("request_id")
    return [(b"x-request-id", request_id.encode("latin-1"))] if request_id else []


async def send_json(
    scope: Scope, send: Send, status: int, body: object, *, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    """Send a complete JSON response, echoing the request id."""
    payload = json.dumps(body, separators=(",", ":")).encode()
    extra = [*tracking_headers(scope), *(headers or [])]
    await send_bytes(send, status, payload, [(b"content-type", b"application/json"), *extra])


async def send_bytes(send: Send, status: int, payload: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    """Send a complete response with a body."""
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*headers, (b"content-length", str(len(payload)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": payload})


async def send_problem(scope: Scope, send: Send, exc: BaseException) -> None:
    """Answer with the problem+json of ``exc``."""
    request_id = state(scope).get("request_id")
    status, body = problem_for(exc, instance=scope.get("path", ""), request_id=request_id)
    await send_bytes(send, status, encode_problem(body), [*problem_headers(body), *tracking_headers(scope)])
