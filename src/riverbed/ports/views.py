"""The view store port: where projections keep their rows, checkpoints and stream versions.

A view store holds *slots*. A slot is one build of one version of a view (``balances.v2.3f9a``): its rows
(JSON objects by key), its checkpoint in the event store's global order, the last version it applied of
every stream it saw, and its control fields (failure, skip request). One slot per view name is *active*
and serves queries; a rebuild fills a new slot beside it and then :meth:`ViewCatalog.activate` swaps them
and drops the old one in one step.

The guarantee every adapter keeps (and the contract tests check): :meth:`ViewRows.commit` writes the rows,
the stream versions and the checkpoint of a :class:`ViewBatch` in ONE transaction, so a crash leaves
either the whole batch or none of it, and a projection resuming from the checkpoint never applies an
event twice nor skips one.

Reading a slot that does not exist returns nothing (``None`` / empty); writing to one raises
:class:`~riverbed.errors.UnknownView`. A closed store raises :class:`~riverbed.errors.StoreClosed`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeAlias, runtime_checkable

from riverbed.ports.event_store import START, Checkpoint

Row: TypeAlias = dict[str, Any]
"""A view row: a JSON object."""


@dataclass(frozen=True, slots=True)
class SlotState:
    """What a view store knows about one slot."""

    slot: str
    name: str
    version: int
    checkpoint: Checkpoint = START
    events: int = 0
    """Events this slot has applied (handled events; skipped and unhandled ones are not counted)."""
    failed_at: Checkpoint | None = None
    error: str | None = None
    skip: Checkpoint | None = None
    """An operator asked to skip the event at this checkpoint."""
    active: bool = False


SLOT_COLUMNS = "s.slot, s.name, s.version, s.checkpoint, s.events, s.failed_at, s.error, s.skip, a.slot"
"""The SQL columns SQL view stores select for :func:`slot_from_row` (slots ``s`` joined to active ``a``)."""
ACTIVE_ROW_SQL = (
    f"SELECT {SLOT_COLUMNS}, r.data FROM rb_view_active a JOIN rb_view_slots s ON s.slot = a.slot "
    "LEFT JOIN rb_view_rows r ON r.slot = s.slot AND r.key = {key} WHERE s.name = {name}"
)
"""The active slot of a view and one of its rows, in one statement (``{key}``/``{name}``: placeholders)."""


def slot_from_row(row: tuple[Any, ...]) -> SlotState:
    """The :class:`SlotState` of a row selected as :data:`SLOT_COLUMNS` (checkpoints stored as ``str()``)."""
    slot, name, version, checkpoint, events, failed_at, error, skip, active = row
    return SlotState(
        slot=slot,
        name=name,
        version=version,
        checkpoint=Checkpoint.parse(checkpoint),
        events=events,
        failed_at=Checkpoint.parse(failed_at) if failed_at is not None else None,
        error=error,
        skip=Checkpoint.parse(skip) if skip is not None else None,
        active=active is not None,
    )


@dataclass(frozen=True, slots=True)
class ViewBatch:
    """Everything one commit writes: rows to upsert and delete, stream versions, the new checkpoint."""

    checkpoint: Checkpoint
    upserts: Mapping[str, Row] = field(default_factory=dict)
    deletes: frozenset[str] = frozenset()
    stream_versions: Mapping[str, int] = field(default_factory=dict)
    events: int = 0
    """How many events this batch applied (added to :attr:`SlotState.events`)."""
    expected: Checkpoint | None = None
    """The checkpoint the slot must be at for the batch to apply (None: no check)."""


@runtime_checkable
class ViewRows(Protocol):
    """Reading and writing a slot's rows."""

    async def get(self, slot: str, key: str) -> Row | None:
        """The row stored under ``key``, or None."""
        ...

    async def get_many(self, slot: str, keys: Iterable[str]) -> dict[str, Row]:
        """The rows that exist among ``keys`` (missing keys are absent from the result)."""
        ...

    def rows(self, slot: str) -> AsyncIterator[tuple[str, Row]]:
        """Every row of the slot, in key order."""
        ...

    async def stream_versions(self, slot: str, streams: Iterable[str]) -> dict[str, int]:
        """The last version the slot applied of each stream it has seen (unseen streams are absent)."""
        ...

    async def load(
        self, slot: str, streams: Iterable[str], keys: Iterable[str]
    ) -> tuple[dict[str, int], dict[str, Row]]:
        """:meth:`stream_versions` and :meth:`get_many` in one round trip (what a batch reads to fold)."""
        ...

    async def commit(self, slot: str, batch: ViewBatch) -> None:
        """Write the batch and the checkpoint atomically.

        Raises UnknownView for a missing slot, and ViewConflict (writing nothing) when ``batch.expected``
        is set and the slot's checkpoint is another one.
        """
        ...


@runtime_checkable
class ViewCatalog(Protocol):
    """Slots, which one is active, and their control fields."""

    async def slots(self, name: str | None = None) -> list[SlotState]:
        """Every slot (of one view name, when given), oldest first."""
        ...

    async def read_active(self, name: str, key: str) -> tuple[SlotState | None, Row | None]:
        """The active slot of view ``name`` (None when none) and its row under ``key``, in one round trip.

        What a query reads: the checkpoint it answers at and the row, as of the same moment.
        """
        ...

    async def create_slot(self, slot: str, *, name: str, version: int) -> SlotState:
        """Create an empty, inactive slot at the start of the global order."""
        ...

    async def activate(self, name: str, slot: str) -> None:
        """Make ``slot`` serve queries for ``name`` and drop every other slot of ``name``, atomically.

        One step, so two builders racing to cut over leave exactly one slot: the loser's slot is gone and
        its next write raises UnknownView (as does activating a slot that is gone or not ``name``'s).
        """
        ...

    async def drop_slot(self, slot: str) -> None:
        """Delete the slot with its rows and stream versions; dropping a missing slot does nothing."""
        ...

    async def record_failure(self, slot: str, *, at: Checkpoint | None, error: str | None) -> None:
        """Record (or clear, with None) the position and message of a failed event."""
        ...

    async def request_skip(self, slot: str, *, at: Checkpoint) -> None:
        """An operator asks the projection to skip the failed event at ``at``."""
        ...


@runtime_checkable
class ViewStore(ViewRows, ViewCatalog, Protocol):
    """A view store: rows plus catalog, opened before use and closed after."""

    async def close(self) -> None:
        """Release connections; further calls raise StoreClosed."""
        ...
