"""The in-memory inbox and relay checkpoints: the doubles for tests and one-process systems.

The memory inbox stages the effect's writes in a layer over ``state`` (a ``ChainMap``) and merges them,
together with the handled key, only when the effect returns: an effect that raises leaves nothing behind.
"""

from __future__ import annotations

import asyncio
from collections import ChainMap
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from riverbed.cloudevents.event import CloudEvent
from riverbed.errors import StoreClosed
from riverbed.ports.event_store import Checkpoint

MemoryEffect = Callable[[MutableMapping[str, Any]], Awaitable[None] | None]
"""An effect on the memory inbox: it writes to the staged mapping it is given."""


class MemoryInbox:
    """An inbox over a dict; ``state`` holds what the effects wrote."""

    def __init__(self, consumer: str = "default") -> None:
        self.consumer = consumer
        self.state: dict[str, Any] = {}
        self._handled: set[tuple[str, str]] = set()
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}
        self._closed = False

    async def handle(self, event: CloudEvent, effect: MemoryEffect) -> bool:
        """Run ``effect`` on a staged layer and commit it with the handled key."""
        self._check_open()
        key = (event.source, event.id)
        lock = self._locks.setdefault(key, asyncio.Lock())
        try:
            async with lock:
                if key in self._handled:
                    return False
                staged: dict[str, Any] = {}
                outcome = effect(ChainMap(staged, self.state))
                if outcome is not None:
                    await outcome
                self.state.update(staged)
                self._handled.add(key)
                return True
        finally:
            if not lock.locked():
                self._locks.pop(key, None)

    async def seen(self, event: CloudEvent) -> bool:
        """Whether the event was handled."""
        self._check_open()
        return (event.source, event.id) in self._handled

    async def close(self) -> None:
        """Close the inbox."""
        self._closed = True

    def _check_open(self) -> None:
        if self._closed:
            raise StoreClosed(f"the memory inbox of {self.consumer!r} is closed")


class MemoryRelayCheckpoints:
    """Relay checkpoints in a dict (lost with the process)."""

    def __init__(self) -> None:
        self.saved: dict[str, Checkpoint] = {}

    async def load(self, name: str) -> Checkpoint | None:
        """The last saved checkpoint."""
        return self.saved.get(name)

    async def save(self, name: str, checkpoint: Checkpoint) -> None:
        """Record the checkpoint."""
        self.saved[name] = checkpoint

    async def close(self) -> None:
        """Nothing to release."""
