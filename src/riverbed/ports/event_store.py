"""The event store port: the transactional store and the only source of truth.

Every adapter (memory, SQLite, PostgreSQL) implements :class:`EventStore` and passes the contract suite in
:mod:`riverbed.testing.contracts`. The guarantees:

* **Acknowledged means durable**: ``append`` returns only after the events are committed (and synced).
* **Optimistic concurrency**: ``expected_version`` is ``ANY``, ``NO_STREAM``, ``EXISTS`` or the stream's
  current version (an ``int``); a clash raises :class:`~riverbed.errors.WrongExpectedVersion` and
  persists nothing.
* **Idempotent append**: appending event ids that are already stored, in the same stream at the same
  versions, returns the original result and stores nothing; an id stored anywhere else raises
  :class:`~riverbed.errors.DuplicateEventId`.
* **One global order that never skips**: ``read_all`` and ``subscribe`` deliver every committed event once,
  in the store's global order, resuming exactly after a :class:`Checkpoint`.

Stream versions start at 0. A closed store raises :class:`~riverbed.errors.StoreClosed`; a store that hit
an I/O error raises :class:`~riverbed.errors.StoreFailed` on every write until it is reopened.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeAlias, runtime_checkable

from riverbed.cloudevents.event import CloudEvent
from riverbed.errors import InvalidPosition


class ExpectedVersion(enum.Enum):
    """What an append expects of its stream, besides an exact version (an ``int``)."""

    ANY = "any"
    """No check."""
    NO_STREAM = "no_stream"
    """The stream must not exist yet."""
    EXISTS = "exists"
    """The stream must already have at least one event."""

    def __str__(self) -> str:
        return self.value


Expected: TypeAlias = ExpectedVersion | int
"""An expected version: one of :class:`ExpectedVersion`, or the stream's exact current version."""


@dataclass(frozen=True, order=True, slots=True)
class Checkpoint:
    """A place in the global order that reading can resume after: opaque, ordered, serialisable.

    ``commit`` orders events by commit where position order is not commit order (PostgreSQL stores put
    the writing transaction's id there); it is 0 on stores whose position order is commit order (memory,
    SQLite). ``str()`` gives a compact form that :meth:`parse` reads back.
    """

    commit: int
    position: int

    def __str__(self) -> str:
        return str(self.position) if self.commit == 0 else f"{self.commit}:{self.position}"

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """Read a checkpoint written by ``str()``: ``"42"`` or ``"748:42"``."""
        try:
            if ":" in text:
                commit, position = text.split(":", 1)
                parsed = cls(int(commit), int(position))
            else:
                parsed = cls(0, int(text))
        except ValueError:
            raise InvalidPosition(
                f"{text!r} is not a checkpoint; expected a position like '42' "
                "or 'commit:position' like '748:42'"
            ) from None
        if parsed.commit < 0 or parsed.position < 0:
            raise InvalidPosition(f"checkpoint {text!r} has a negative part")
        return parsed


START = Checkpoint(0, 0)
"""The checkpoint before the first event."""

After: TypeAlias = Checkpoint | int | str | None
"""Where a global read starts: after a checkpoint, after a global position, or (``None``) at the start."""


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    """A CloudEvent as stored: with its stream, version, global position and checkpoint."""

    event: CloudEvent
    stream: str
    version: int
    position: int
    commit: int = 0

    @property
    def checkpoint(self) -> Checkpoint:
        """Resume reading after this event with ``read_all(after=record.checkpoint)``."""
        return Checkpoint(self.commit, self.position)


@dataclass(frozen=True, slots=True)
class AppendResult:
    """What an append stored: versions, global positions, and the version to expect next time."""

    stream: str
    first_version: int
    last_version: int
    first_position: int
    last_position: int
    checkpoint: Checkpoint
    event_ids: tuple[str, ...] = ()

    @property
    def next_expected_version(self) -> int:
        """Pass this as ``expected_version`` to the next append to the stream."""
        return self.last_version


@dataclass(frozen=True, slots=True)
class StoreStats:
    """Counts an operator wants at a glance."""

    url: str
    events: int
    streams: int
    last_position: int
    details: Mapping[str, Any] = field(default_factory=dict)


@runtime_checkable
class EventStore(Protocol):
    """The event store port. See the module docstring for the guarantees."""

    async def append(
        self, stream: str, events: Sequence[CloudEvent], *, expected_version: Expected = ExpectedVersion.ANY
    ) -> AppendResult:
        """Append events to one stream atomically; returns after commit.

        Raises WrongExpectedVersion on a version clash and DuplicateEventId when an id is stored elsewhere;
        in both cases nothing is persisted. Raises ValidationError for an empty list or a bad stream name.
        """
        ...

    def read(
        self,
        stream: str,
        *,
        from_version: int | None = None,
        backwards: bool = False,
        limit: int | None = None,
    ) -> AsyncIterator[RecordedEvent]:
        """Read one stream from ``from_version`` (inclusive), forwards or backwards.

        An empty or missing stream yields nothing.
        """
        ...

    def read_all(self, *, after: After = None, limit: int | None = None) -> AsyncIterator[RecordedEvent]:
        """Read everything committed after ``after``, in global order; finite."""
        ...

    def subscribe(self, *, after: After = None) -> AsyncIterator[RecordedEvent]:
        """Catch up after ``after``, then follow new events live; never ends by itself."""
        ...

    async def stream_version(self, stream: str) -> int | None:
        """The stream's current version, or None when it has no events."""
        ...

    async def stats(self) -> StoreStats:
        """Counts of events and streams and the last global position."""
        ...

    async def close(self) -> None:
        """Release connections and files; further calls raise StoreClosed."""
        ...
