"""Webhook delivery: POST CloudEvents to an HTTP endpoint outside riverbed, with retries and backoff.

The event goes in the CloudEvents HTTP binding, binary mode (``ce-`` headers, data as the body) or
structured mode (the JSON event format). A 2xx answer is success. Connection errors, timeouts, 408, 429
and 5xx answers are retried with exponential backoff and jitter (a ``Retry-After`` in seconds is honoured
when it asks for longer); any other answer is final. When the attempts are spent, or on a final refusal,
:class:`~riverbed.errors.DeliveryFailed` says what the endpoint answered and after how many attempts; used
as a pond handler that error makes the pond retry or park the event. Needs the ``webhook`` extra (httpx).
"""

from __future__ import annotations

import asyncio
import random as random_module
from collections.abc import Awaitable, Callable, Mapping

import httpx

from riverbed.cloudevents.event import CloudEvent
from riverbed.cloudevents.http import Mode, to_http
from riverbed.errors import DeliveryFailed
from riverbed.ports.topology import RetryPolicy

RETRYABLE = frozenset({408, 425, 429, 500, 502, 503, 504})


class WebhookSender:
    """Deliver CloudEvents to one URL."""

    def __init__(
        self,
        url: str,
        *,
        mode: Mode = "binary",
        retry: RetryPolicy | None = None,
        timeout: float = 10.0,
        headers: Mapping[str, str] | None = None,
        client: httpx.AsyncClient | None = None,
        random: Callable[[], float] = random_module.random,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if mode not in ("binary", "structured"):
            raise ValueError(f"mode must be 'binary' or 'structured', got {mode!r}")
        self.url = url
        self.mode = mode
        self.retry = retry if retry is not None else RetryPolicy(max_deliveries=5, initial_delay=0.5)
        self.extra_headers = dict(headers or {})
        self._own_client = client is None
        self._client = client if client is not None else httpx.AsyncClient(timeout=timeout)
        self._random = random
        self._sleep = sleep

    async def send(self, event: CloudEvent) -> int:
        """POST ``event``; returns the 2xx status, or raises DeliveryFailed."""
        headers, body = to_http(event, self.mode)
        headers.update(self.extra_headers)
        status: int | None = None
        problem = ""
        attempts = self.retry.max_deliveries
        for attempt in range(1, attempts + 1):
            wait_at_least = 0.0
            try:
                response = await self._client.post(self.url, headers=headers, content=body)
            except httpx.TransportError as exc:
                status, problem = None, f"{type(exc).__name__}: {exc}"
            else:
                status = response.status_code
                if 200 <= status < 300:
                    return status
                problem = f"HTTP {status}: {response.text[:200]}"
                if status not in RETRYABLE:
                    raise DeliveryFailed(
                        f"webhook {self.url} refused event {event.id!r} ({problem}); not retried",
                        status=status,
                        attempts=attempt,
                    )
                wait_at_least = _retry_after(response.headers.get("retry-after"))
            if attempt < attempts:
                delay = max(wait_at_least, self.retry.delay(attempt, self._random))
                await self._sleep(min(delay, max(self.retry.max_delay, wait_at_least)))
        raise DeliveryFailed(
            f"webhook {self.url} did not accept event {event.id!r} after {attempts} attempts ({problem})",
            status=status,
            attempts=attempts,
        )

    async def handle(self, event: CloudEvent) -> None:
        """A pond handler: deliver or raise (so the pond retries, then parks)."""
        await self.send(event)

    async def close(self) -> None:
        """Close the HTTP client if this sender created it."""
        if self._own_client:
            await self._client.aclose()


def _retry_after(value: str | None) -> float:
    if value is None:
        return 0.0
    try:
        return max(0.0, float(value))
    except ValueError:
        return 0.0  # an HTTP date: fall back to our own backoff
