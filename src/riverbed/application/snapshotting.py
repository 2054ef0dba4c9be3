"""Read and write aggregate snapshots through the SnapshotStore port, distrusting what is read.

A snapshot is only used when it names the same aggregate type, carries the state's current schema version,
parses as JSON and restores into a state. Anything else is ignored (and logged) so that the aggregate is
folded from its events: a snapshot can make loading faster, never make it wrong. Saving failures are logged
and swallowed for the same reason: the events are already committed.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from riverbed.domain.decider import Decider
from riverbed.ports.snapshot_store import Snapshot, SnapshotStore

S = TypeVar("S")
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Restored(Generic[S]):
    """A state restored from a snapshot of ``version``."""

    state: S
    version: int


class Snapshotter(Generic[S]):
    """Snapshots for one aggregate type, every ``every`` events."""

    def __init__(self, store: SnapshotStore, decider: Decider[S], *, every: int) -> None:
        if every < 1:
            raise ValueError(f"snapshot every must be ≥ 1 event, got {every}")
        self.store = store
        self.decider = decider
        self.every = every

    def due(self, old_version: int | None, new_version: int) -> bool:
        """Whether the append from ``old_version`` to ``new_version`` crossed a multiple of ``every``."""
        before = -1 if old_version is None else old_version
        return (new_version + 1) // self.every > (before + 1) // self.every

    async def load(self, stream: str) -> Restored[S] | None:
        """The usable snapshot of ``stream``, or None (missing, foreign, outdated or corrupt)."""
        snapshot = await self.store.load(stream)
        if snapshot is None:
            return None
        decider = self.decider
        if snapshot.aggregate_type != decider.name or snapshot.schema_version != decider.state_version:
            log.info(
                "ignoring snapshot of %s: %s schema v%s, this program reads %s v%s",
                stream,
                snapshot.aggregate_type,
                snapshot.schema_version,
                decider.name,
                decider.state_version,
            )
            return None
        try:
            data: Any = json.loads(snapshot.state)
            if not isinstance(data, dict):
                raise TypeError(f"snapshot state is a {type(data).__name__}, not an object")
            state = decider.restore(data)
        except Exception as exc:  # a corrupt snapshot must never stop loading: fold from events
            log.warning("ignoring corrupt snapshot of %s at version %s: %r", stream, snapshot.version, exc)
            return None
        return Restored(state, snapshot.version)

    async def save(self, stream: str, state: S, version: int) -> None:
        """Store a snapshot of ``state`` at ``version``; failures are logged, never raised."""
        try:
            text = json.dumps(self.decider.snapshot_state(state), separators=(",", ":"))
            await self.store.save(
                Snapshot(
                    stream=stream,
                    aggregate_type=self.decider.name,
                    version=version,
                    schema_version=self.decider.state_version,
                    state=text,
                )
            )
        except Exception as exc:  # the events are committed; a lost snapshot only costs a longer fold
            log.warning("could not snapshot %s at version %s: %r", stream, version, exc)
