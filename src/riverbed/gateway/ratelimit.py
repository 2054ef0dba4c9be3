"""Per-client rate limits: a token bucket per authenticated client, on an injected monotonic clock.

A client may send ``burst`` requests at once and ``rate`` per second on average; beyond that it gets
429 with ``Retry-After`` saying when the next token arrives. Buckets of idle clients are forgotten (a
full bucket carries no information), so memory stays bounded by the number of active clients.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from riverbed.errors import RateLimited
from riverbed.gateway.asgi import ASGIApp, Receive, Scope, Send, send_problem, state

Clock = Callable[[], float]


class TokenBuckets:
    """Token buckets keyed by client id."""

    def __init__(self, *, rate: float, burst: int, clock: Clock = time.monotonic, max_clients: int = 100_000):
        self.rate = rate
        self.burst = float(burst)
        self.clock = clock
        self.max_clients = max_clients
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, client: str) -> float:
        """Take a token: 0.0 when allowed, else the seconds until a token is available."""
        now = self.clock()
        tokens, last = self._buckets.get(client, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        if tokens >= 1.0:
            self._buckets[client] = (tokens - 1.0, now)
            self._trim()
            return 0.0
        self._buckets[client] = (tokens, now)
        return (1.0 - tokens) / self.rate

    def _trim(self) -> None:
        if len(self._buckets) <= self.max_clients:
            return
        now = self.clock()
        full = [c for c, (t, last) in self._buckets.items() if t + (now - last) * self.rate >= self.burst]
        for client in full or list(self._buckets)[: len(self._buckets) // 10]:
            del self._buckets[client]


class RateLimitMiddleware:
    """429 + ``Retry-After`` for a client over its rate; runs after auth (the client is the principal)."""

    def __init__(self, app: ASGIApp, buckets: TokenBuckets) -> None:
        self.app = app
        self.buckets = buckets

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection."""
        principal = state(scope).get("principal") if scope["type"] == "http" else None
        if principal is not None:
            wait = self.buckets.take(principal.client_id)
            if wait > 0:
                await send_problem(scope, send, RateLimited(principal.client_id, retry_after=wait))
                return
        await self.app(scope, receive, send)
