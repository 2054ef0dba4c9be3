"""The relay's durable checkpoint: how far the store's global order (the outbox) has been published.

The relay saves a checkpoint only after the broker accepted every event up to it; after a crash it
resumes from the last saved checkpoint and publishes some events again, which the broker's duplicate
window and the consumers' inboxes make harmless.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from riverbed.ports.event_store import Checkpoint


@runtime_checkable
class RelayCheckpoints(Protocol):
    """Where relays keep their checkpoints, by relay name."""

    async def load(self, name: str) -> Checkpoint | None:
        """The last saved checkpoint of relay ``name``, or None before its first save."""
        ...

    async def save(self, name: str, checkpoint: Checkpoint) -> None:
        """Durably record that relay ``name`` published everything up to ``checkpoint``."""
        ...

    async def close(self) -> None:
        """Release files and connections."""
        ...
