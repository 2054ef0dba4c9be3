"""The snapshot store port: saved aggregate states, kept apart from the events.

A snapshot is an optimisation, never a source of truth: it can be deleted, lost or written by an older
program and the aggregate is still rebuilt exactly from its events. So the port is deliberately forgiving:

* ``save`` keeps only the newest snapshot of a stream; saving an older version than the one stored is a
  no-op (two services may snapshot the same stream concurrently).
* ``load`` returns what is stored, as JSON *text*, without judging it. The reader checks the aggregate type
  and the state's schema version and parses the text; an unknown version or corrupt text is ignored and the
  aggregate is folded from its events.

A closed store raises :class:`~riverbed.errors.StoreClosed`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The state of ``stream`` after its event at ``version``, as JSON text.

    ``aggregate_type`` names the aggregate (``"bank.account"``); ``schema_version`` is the state's shape
    version at the time it was written.
    """

    stream: str
    aggregate_type: str
    version: int
    schema_version: int
    state: str


@runtime_checkable
class SnapshotStore(Protocol):
    """Stores the newest snapshot per stream."""

    async def save(self, snapshot: Snapshot) -> None:
        """Store ``snapshot`` unless a snapshot of a newer or equal version is already stored."""
        ...

    async def load(self, stream: str) -> Snapshot | None:
        """The newest snapshot of ``stream``, or None."""
        ...

    async def delete(self, stream: str) -> None:
        """Forget the snapshot of ``stream`` (nothing happens when there is none)."""
        ...

    async def close(self) -> None:
        """Release connections and files; further calls raise StoreClosed."""
        ...
