"""The first hops of every request, composed into one ASGI layer.

In order: tracking ids (so every answer, even a refusal, carries ``X-Request-Id``), authentication
(nothing but the health probes passes without credentials), the client's rate limit, and the body size
limit. Each hop lives in its own small module with its own middleware for use alone
(:mod:`~riverbed.gateway.tracking`, :mod:`~riverbed.gateway.auth`, :mod:`~riverbed.gateway.ratelimit`,
:mod:`~riverbed.gateway.limits`); the gateway composes them here so a request pays for one layer, not
four: on a fast command the layers cost as much as the work. Every answer echoes ``X-Request-Id``: the
door's own refusals here, the routes' answers and problems where they are built (``send_json``,
``json_response``, the app's exception handlers).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from riverbed.errors import RateLimited
from riverbed.gateway.asgi import ASGIApp, Receive, Scope, Send, send_problem
from riverbed.gateway.auth import PUBLIC_PATHS, Authenticator, authenticate
from riverbed.gateway.limits import counting, declared_length
from riverbed.gateway.ratelimit import TokenBuckets
from riverbed.gateway.tracking import IdFactory, begin, new_request_id

log = logging.getLogger("riverbed.gateway")


class FrontDoor:
    """Tracking, authentication, rate limit and body limit in front of ``app``."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        authenticators: Sequence[Authenticator],
        buckets: TokenBuckets | None,
        max_bytes: int,
        ids: IdFactory | None = None,
        public_paths: frozenset[str] = PUBLIC_PATHS,
    ) -> None:
        self.app = app
        self.authenticators = tuple(authenticators)
        self.buckets = buckets
        self.max_bytes = max_bytes
        self.ids = ids or new_request_id
        self.public_paths = public_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        context, _ = begin(scope, self.ids)
        entered = False
        try:
            if scope["path"] not in self.public_paths:
                principal = authenticate(scope, self.authenticators)
                context["principal"] = principal
                if self.buckets is not None:
                    wait = self.buckets.take(principal.client_id)
                    if wait > 0:
                        raise RateLimited(principal.client_id, retry_after=wait)
            if declared_length(scope, self.max_bytes) is None:
                receive = counting(receive, self.max_bytes)
            entered = True
            await self.app(scope, receive, send)
        except Exception as exc:
            if not entered:  # refused at the door
                await send_problem(scope, send, exc)
                return
            # Starlette answered with its 500 problem before re-raising: log once, never send twice.
            log.exception("request %s failed", context["request_id"])
