"""Request size and shape limits: bodies over the limit get 413 without being read; deep JSON gets 400.

The body limit checks ``Content-Length`` before reading anything and also counts bytes as they stream in
(a chunked body has no length), stopping at the first byte over the limit. JSON nesting is bounded so a
small body cannot make a parser or a validator recurse without end.
"""

from __future__ import annotations

import json
from typing import Any

from riverbed.errors import MalformedRequest, RequestTooLarge
from riverbed.gateway.asgi import ASGIApp, Message, Receive, Scope, Send, header, send_problem

DEFAULT_MAX_BODY = 1_048_576
DEFAULT_MAX_DEPTH = 32


class BodyLimitMiddleware:
    """413 for bodies larger than ``max_bytes``, decided from ``Content-Length`` or while streaming."""

    def __init__(self, app: ASGIApp, *, max_bytes: int = DEFAULT_MAX_BODY) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            declared = declared_length(scope, self.max_bytes)
        except (MalformedRequest, RequestTooLarge) as exc:
            await send_problem(scope, send, exc)
            return
        if declared is not None:
            await self.app(scope, receive, send)
            return
        started = False

        async def watching_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting(receive, self.max_bytes), watching_send)
        except RequestTooLarge as exc:
            if started:
                raise
            await send_problem(scope, send, exc)


def declared_length(scope: Scope, max_bytes: int) -> int | None:
    """The body's ``Content-Length`` (None when streamed); raises RequestTooLarge over the limit.

    With a length the server reads exactly that many bytes (h11 and httptools refuse more), so only a
    streamed body needs :func:`counting`.
    """
    length = header(scope, b"content-length")
    if length is None:
        return None
    try:
        declared = int(length)
    except ValueError:
        raise MalformedRequest("Content-Length is not a number") from None
    if declared > max_bytes:
        raise RequestTooLarge(max_bytes)
    return declared


def counting(receive: Receive, max_bytes: int) -> Receive:
    """A ``receive`` that raises RequestTooLarge at the first byte over ``max_bytes``."""
    seen = 0

    async def counting_receive() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > max_bytes:
                raise RequestTooLarge(max_bytes)
        return message

    return counting_receive


def parse_json(body: bytes, *, max_depth: int = DEFAULT_MAX_DEPTH) -> Any:
    """Parse a JSON body, refusing bad JSON and nesting deeper than ``max_depth`` (MalformedRequest)."""
    try:
        value = json.loads(body)
    except RecursionError:
        raise MalformedRequest(f"the JSON body is nested deeper than {max_depth} levels") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedRequest(f"the body is not valid JSON: {exc}") from None
    if len(body) > 2 * max_depth:  # each level takes at least two bytes: a shorter body cannot be too deep
        check_depth(value, max_depth)
    return value


def check_depth(value: Any, max_depth: int) -> None:
    """Refuse containers nested deeper than ``max_depth`` (a top-level object is depth 1)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > max_depth:
            raise MalformedRequest(f"the JSON body is nested deeper than {max_depth} levels")
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
