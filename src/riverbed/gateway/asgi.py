"""Small ASGI helpers shared by the gateway's middleware: typed aliases, per-request state, responses."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from riverbed.gateway.errors import encode_json, encode_problem, problem_for, problem_headers

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]
Answer = tuple[int, object, Headers | None]
"""What an endpoint answers before it is sent: status, JSON body and extra headers."""
Endpoint = Callable[[Scope, Receive], Awaitable[Answer]]
"""An endpoint the front door calls directly (it sends the answer, or the problem of what was raised)."""
JSON_HEADER = (b"content-type", b"application/json")


def state(scope: Scope) -> dict[str, Any]:
    """The per-request state dict (the same one Starlette's ``request.state`` reads)."""
    value: dict[str, Any] = scope.setdefault("state", {})
    return value


def route_path(scope: Scope) -> str:
    """The path routes match: ``path`` less the ``root_path`` a proxy mounts the app under (as Starlette)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root) and path[len(root) : len(root) + 1] in ("/", ""):
        return path[len(root) :]
    return path


def header(scope: Scope, name: bytes) -> bytes | None:
    """The first value of a request header (``name`` in lower case), from a dict built once per request."""
    try:
        headers: dict[bytes, bytes] = scope["state"]["_headers"]
    except KeyError:
        headers = {}
        for key, value in scope.get("headers", ()):
            headers.setdefault(bytes(key).lower(), bytes(value))
        state(scope)["_headers"] = headers
    return headers.get(name)


def tracking_headers(scope: Scope) -> list[tuple[bytes, bytes]]:
    """``X-Request-Id`` for the answer, when the request has one (every answer of the gateway echoes it)."""
    request_id = state(scope).get("request_id")
    return [(b"x-request-id", request_id.encode("latin-1"))] if request_id else []


async def send_json(
    scope: Scope, send: Send, status: int, body: object, *, headers: Headers | None = None
) -> None:
    """Send a complete JSON response, echoing the request id."""
    payload = encode_json(body)
    response_headers = [JSON_HEADER, *tracking_headers(scope)]
    if headers:
        response_headers += headers
    await send_bytes(send, status, payload, response_headers)


async def send_bytes(send: Send, status: int, payload: bytes, headers: Headers) -> None:
    """Send a complete response with a body (``headers`` gets the ``Content-Length``)."""
    headers.append((b"content-length", b"%d" % len(payload)))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


async def send_problem(scope: Scope, send: Send, exc: BaseException) -> None:
    """Answer with the problem+json of ``exc``."""
    request_id = state(scope).get("request_id")
    status, body = problem_for(exc, instance=scope.get("path", ""), request_id=request_id)
    await send_bytes(send, status, encode_problem(body), [*problem_headers(body), *tracking_headers(scope)])
