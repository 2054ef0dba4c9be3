"""``Idempotency-Key``: a retried command returns the stored first result instead of running again.

Results are kept per tenant and key, with the request's fingerprint: reusing a key for a different request
is refused. While the first request is in flight a retry waits for its result rather than racing it. The
key also fixes the command id sent to the service (a UUID derived from tenant and key), so even when the
gateway lost its memory (restart) or never saw the answer (the service died mid-call) the service's own
command-id de-duplication returns the first result and runs nothing twice.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from riverbed.errors import ValidationError

Clock = Callable[[], float]
NAMESPACE = uuid.UUID("6f1e0e2a-4c1b-4f44-9a57-1f5e2b6c9d3e")
MAX_KEY_LENGTH = 255
KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


@dataclass(frozen=True, slots=True)
class StoredResult:
    """A response kept for replay."""

    fingerprint: str
    status: int
    body: dict[str, Any]
    stored_at: float


def command_id_for(tenant: str, key: str) -> str:
    """The command id implied by an idempotency key (stable across gateway restarts)."""
    return str(uuid.uuid5(NAMESPACE, f"{tenant}\n{key}"))


def fingerprint(*parts: str | bytes) -> str:
    """A digest of what identifies a request."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode() if isinstance(part, str) else part)
        digest.update(b"\0")
    return digest.hexdigest()


def check_key(key: str) -> str:
    """Refuse empty, over-long or non-printable keys."""
    if not KEY.match(key):
        raise ValidationError(
            f"Idempotency-Key must be 1-{MAX_KEY_LENGTH} printable ASCII characters without spaces; "
            "a UUID is a good choice"
        )
    return key


class IdempotencyCache:
    """First results by (tenant, key), bounded in size and age, with in-flight de-duplication."""

    def __init__(self, *, ttl: float, max_entries: int, clock: Clock = time.monotonic) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self.clock = clock
        self._done: OrderedDict[tuple[str, str], StoredResult] = OrderedDict()
        self._running: dict[tuple[str, str], asyncio.Future[StoredResult | None]] = {}

    async def run(
        self,
        tenant: str,
        key: str,
        request_fingerprint: str,
        call: Callable[[], Awaitable[tuple[int, dict[str, Any]]]],
    ) -> tuple[int, dict[str, Any], bool]:
        """The stored result for the key, or run ``call`` once and store it. Returns (status, body, replayed).

        Only successful results are stored; a failure leaves the key free for a retry.
        """
        slot = (tenant, key)
        while True:
            stored = self._lookup(slot)
            if stored is not None:
                self._same_request(stored, request_fingerprint, key)
                return stored.status, stored.body, True
            running = self._running.get(slot)
            if running is None:
                break
            await asyncio.shield(running)
        future: asyncio.Future[StoredResult | None] = asyncio.get_running_loop().create_future()
        self._running[slot] = future
        result: StoredResult | None = None
        try:
            status, body = await call()
            result = StoredResult(request_fingerprint, status, body, self.clock())
            self._done[slot] = result
            self._trim()
            return status, body, False
        finally:
            del self._running[slot]
            future.set_result(result)

    def _lookup(self, slot: tuple[str, str]) -> StoredResult | None:
        stored = self._done.get(slot)
        if stored is not None and self.clock() - stored.stored_at > self.ttl:
            del self._done[slot]
            return None
        return stored

    @staticmethod
    def _same_request(stored: StoredResult, request_fingerprint: str, key: str) -> None:
        if stored.fingerprint != request_fingerprint:
            raise ValidationError(
                f"Idempotency-Key {key!r} was already used for a different request; use a new key"
            )

    def _trim(self) -> None:
        while len(self._done) > self.max_entries:
            self._done.popitem(last=False)
