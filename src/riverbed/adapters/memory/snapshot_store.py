"""The in-memory snapshot store: the default for embedded use and the unit-test double."""

from __future__ import annotations

from riverbed.errors import StoreClosed
from riverbed.ports.snapshot_store import Snapshot


class MemorySnapshotStore:
    """Snapshots in a dict, newest per stream (see :class:`~riverbed.ports.snapshot_store.SnapshotStore`)."""

    def __init__(self) -> None:
        self._snapshots: dict[str, Snapshot] = {}
        self._closed = False

    async def open(self) -> MemorySnapshotStore:
        """Nothing to open; present so every snapshot store opens the same way."""
        self._closed = False
        return self

    async def save(self, snapshot: Snapshot) -> None:
        """Keep ``snapshot`` unless a newer one is stored."""
        self._check_open()
        stored = self._snapshots.get(snapshot.stream)
        if stored is None or stored.version < snapshot.version:
            self._snapshots[snapshot.stream] = snapshot

    async def load(self, stream: str) -> Snapshot | None:
        """The newest snapshot of ``stream``, or None."""
        self._check_open()
        return self._snapshots.get(stream)

    async def delete(self, stream: str) -> None:
        """Forget the snapshot of ``stream``."""
        self._check_open()
        self._snapshots.pop(stream, None)

    async def close(self) -> None:
        """Mark the store closed."""
        self._closed = True

    def _check_open(self) -> None:
        if self._closed:
            raise StoreClosed("the memory snapshot store is closed")
