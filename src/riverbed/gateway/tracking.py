"""Tracking headers: ``X-Request-Id`` (generated when absent, always echoed) and W3C ``traceparent``.

The request id becomes the command's correlation id; the trace context becomes the ``traceparent``
extension of the CloudEvents the request causes (a fresh trace is started when the client sent none or
an invalid one, as the W3C spec asks). This is the outermost middleware, so it also turns any error that
escaped the app into a problem+json 500 that names the request id.
"""

from __future__ import annotations

import logging
import random
import re
import secrets
from collections.abc import Callable
from typing import Any

from riverbed.gateway.asgi import ASGIApp, Message, Receive, Scope, Send, send_problem, state

log = logging.getLogger("riverbed.gateway")

REQUEST_ID = re.compile(rb"^[A-Za-z0-9._:@/+=-]{1,128}$")
TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
IdFactory = Callable[[], str]


_random = random.Random(secrets.randbits(128))  # ids need to be unique, not secret: no syscall per request


def new_request_id() -> str:
    """A random request id (128 bits, hex)."""
    return f"{_random.getrandbits(128):032x}"


def parse_traceparent(value: bytes | None) -> str | None:
    """A valid version-00 ``traceparent`` as given, or None (all-zero ids are invalid by the spec)."""
    if value is None:
        return None
    text = value.decode("latin-1").strip().lower()
    match = TRACEPARENT.match(text)
    if match is None or set(match.group(1)) == {"0"} or set(match.group(2)) == {"0"}:
        return None
    return text


def child_traceparent(parent: str | None) -> str:
    """The gateway's own span: same trace id as ``parent`` (or a new one), a new span id, sampled."""
    if parent:
        return f"00-{parent[3:35]}-{_random.getrandbits(64) | 1:016x}-01"
    ids = f"{_random.getrandbits(192) | 1:048x}"  # the low bit keeps the span id from being all zeros
    return f"00-{ids[16:]}-{ids[:16]}-01"


def begin(scope: Scope, ids: IdFactory) -> tuple[dict[str, Any], bytes]:
    """Set the request id and trace context in the request state; returns the state and the id to echo."""
    # ASGI servers give lower-case names; reversed so that the first of a repeated header wins
    headers: dict[bytes, bytes] = dict(reversed(scope.get("headers", ())))
    context = state(scope)
    context["_headers"] = headers
    given = headers.get(b"x-request-id")
    request_id = given.decode("latin-1") if given and REQUEST_ID.match(given) else ids()
    context["request_id"] = request_id
    context["traceparent"] = child_traceparent(parse_traceparent(headers.get(b"traceparent")))
    return context, request_id.encode("latin-1")


class TrackingMiddleware:
    """Assign the request id and trace context; echo ``X-Request-Id``; turn escaped errors into a 500."""

    def __init__(self, app: ASGIApp, *, ids: IdFactory | None = None) -> None:
        self.app = app
        self.ids = ids or new_request_id

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        context, echoed = begin(scope, self.ids)
        request_id = context["request_id"]
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", ()))
                if not any(name == b"x-request-id" for name, _ in headers):
                    headers.append((b"x-request-id", echoed))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            # Starlette re-raises after it has sent its 500 problem: log once, never send twice.
            log.exception("request %s failed", request_id)
            if not started:
                await send_problem(scope, send_with_id, exc)
