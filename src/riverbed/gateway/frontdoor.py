"""The first hops of every request, composed into one ASGI layer, and the commands' direct dispatch.

In order: tracking ids (so every answer, even a refusal, carries ``X-Request-Id``), authentication
(nothing but the health probes passes without credentials), the client's rate limit, and the body size
limit. Each hop lives in its own small module with its own middleware for use alone
(:mod:`~riverbed.gateway.tracking`, :mod:`~riverbed.gateway.auth`, :mod:`~riverbed.gateway.ratelimit`,
:mod:`~riverbed.gateway.limits`); the gateway composes them here so a request pays for one layer, not
four: on a fast command the layers cost as much as the work.

A ``POST`` to one of the ``endpoints`` (the command routes: exact paths) is then answered here directly,
without Starlette's router and its two exception middlewares, which cost a fast command as much again:
the endpoint returns its answer, the door sends it, or sends the problem+json of what the endpoint raised
(a riverbed error as its own status; anything else as a 500 that is also logged, as Starlette does).
Every other request goes on to ``app``. Every answer echoes ``X-Request-Id``: the door's own answers and
refusals here, the routes' answers and problems where they are built (``send_json``, ``json_response``,
the app's exception handlers).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from riverbed.errors import RateLimited, RiverbedError
from riverbed.gateway.asgi import ASGIApp, Endpoint, Receive, Scope, Send, route_path, send_json, send_problem
from riverbed.gateway.auth import PUBLIC_PATHS, Authenticator, authenticate
from riverbed.gateway.limits import counting, declared_length
from riverbed.gateway.ratelimit import TokenBuckets
from riverbed.gateway.tracking import IdFactory, begin, new_request_id

log = logging.getLogger("riverbed.gateway")


class FrontDoor:
    """Tracking, authentication, rate limit and body limit in front of ``app`` (and of ``endpoints``)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        authenticators: Sequence[Authenticator],
        buckets: TokenBuckets | None,
        max_bytes: int,
        ids: IdFactory | None = None,
        public_paths: frozenset[str] = PUBLIC_PATHS,
        endpoints: Mapping[str, Endpoint] | None = None,
    ) -> None:
        self.app = app
        self.authenticators = tuple(authenticators)
        self.buckets = buckets
        self.max_bytes = max_bytes
        self.ids = ids or new_request_id
        self.public_paths = public_paths
        self.endpoints = dict(endpoints or {})
        """``POST`` paths answered by the door itself (the rest of the routes are ``app``'s)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        context, _ = begin(scope, self.ids)
        path = route_path(scope)
        try:
            if path not in self.public_paths:
                principal = authenticate(scope, self.authenticators)
                context["principal"] = principal
                if self.buckets is not None:
                    wait = self.buckets.take(principal.client_id)
                    if wait > 0:
                        raise RateLimited(principal.client_id, retry_after=wait)
            if declared_length(scope, self.max_bytes) is None:
                receive = counting(receive, self.max_bytes)
        except Exception as exc:  # refused at the door
            await send_problem(scope, send, exc)
            return
        endpoint = self.endpoints.get(path) if scope["method"] == "POST" else None
        if endpoint is None:
            try:
                await self.app(scope, receive, send)
            except Exception:
                # Starlette answered with its 500 problem before re-raising: log once, never send twice.
                log.exception("request %s failed", context["request_id"])
            return
        try:
            status, body, headers = await endpoint(scope, receive)
        except RiverbedError as exc:
            await send_problem(scope, send, exc)
            return
        except Exception as exc:
            await send_problem(scope, send, exc)  # a 500 that names only the request id
            log.exception("request %s failed", context["request_id"])
            return
        await send_json(scope, send, status, body, headers=headers)
