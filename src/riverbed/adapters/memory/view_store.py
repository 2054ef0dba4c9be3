"""The in-memory view store: the default for embedded use and the unit-test double of the view port.

It keeps every rule of :mod:`riverbed.ports.views` (atomic batches, slots, one active slot per name) but
nothing survives the process, which suits views: they can always be rebuilt from the event store.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import AsyncIterator, Iterable

from riverbed.errors import StoreClosed, UnknownView, ViewConflict
from riverbed.ports.event_store import Checkpoint
from riverbed.ports.views import Row, SlotState, ViewBatch


@dataclasses.dataclass
class _Slot:
    state: SlotState
    rows: dict[str, Row] = dataclasses.field(default_factory=dict)
    versions: dict[str, int] = dataclasses.field(default_factory=dict)


class MemoryViewStore:
    """View slots held in dictionaries; rows are deep-copied in and out so callers cannot alias them."""

    def __init__(self, url: str = "memory://") -> None:
        self.url = url
        self._slots: dict[str, _Slot] = {}
        self._active: dict[str, str] = {}
        self._closed = False

    async def open(self) -> MemoryViewStore:
        """Nothing to open; present so every view store opens the same way."""
        self._closed = False
        return self

    async def close(self) -> None:
        """Mark the store closed."""
        self._closed = True

    async def get(self, slot: str, key: str) -> Row | None:
        """The row under ``key``, or None."""
        row = self._slot_or_none(slot)
        found = row.rows.get(key) if row is not None else None
        return copy.deepcopy(found) if found is not None else None

    async def get_many(self, slot: str, keys: Iterable[str]) -> dict[str, Row]:
        """The existing rows among ``keys``."""
        found = self._slot_or_none(slot)
        if found is None:
            return {}
        return {key: copy.deepcopy(found.rows[key]) for key in keys if key in found.rows}

    async def rows(self, slot: str) -> AsyncIterator[tuple[str, Row]]:
        """Every row in key order."""
        found = self._slot_or_none(slot)
        if found is None:
            return
        for key in sorted(found.rows):
            yield key, copy.deepcopy(found.rows[key])

    async def stream_versions(self, slot: str, streams: Iterable[str]) -> dict[str, int]:
        """Last applied version per seen stream."""
        found = self._slot_or_none(slot)
        if found is None:
            return {}
        return {s: found.versions[s] for s in streams if s in found.versions}

    async def load(
        self, slot: str, streams: Iterable[str], keys: Iterable[str]
    ) -> tuple[dict[str, int], dict[str, Row]]:
        """Stream versions and rows together."""
        return await self.stream_versions(slot, streams), await self.get_many(slot, keys)

    async def commit(self, slot: str, batch: ViewBatch) -> None:
        """Apply the whole batch at once (nothing can interleave: there is no await inside)."""
        found = self._slot(slot)
        if batch.expected is not None and found.state.checkpoint != batch.expected:
            raise ViewConflict(
                f"view slot {slot!r} is at {found.state.checkpoint}, not at {batch.expected} as this batch "
                "expected: another writer got there first; re-read the slot and go on from there"
            )
        for key, row in batch.upserts.items():
            found.rows[key] = copy.deepcopy(row)
        for key in batch.deletes:
            found.rows.pop(key, None)
        found.versions.update(batch.stream_versions)
        found.state = dataclasses.replace(
            found.state, checkpoint=batch.checkpoint, events=found.state.events + batch.events
        )

    async def slots(self, name: str | None = None) -> list[SlotState]:
        """Every slot (of ``name``), oldest first, with its active flag."""
        self._check_open()
        return [
            dataclasses.replace(s.state, active=self._active.get(s.state.name) == s.state.slot)
            for s in self._slots.values()
            if name is None or s.state.name == name
        ]

    async def read_active(self, name: str, key: str) -> tuple[SlotState | None, Row | None]:
        """The active slot of ``name`` and its row under ``key``."""
        state = next((s for s in await self.slots(name) if s.active), None)
        if state is None:
            return None, None
        row = self._slots[state.slot].rows.get(key)
        return state, copy.deepcopy(row) if row is not None else None

    async def create_slot(self, slot: str, *, name: str, version: int) -> SlotState:
        """Create an empty slot (an existing one is returned unchanged)."""
        self._check_open()
        if slot not in self._slots:
            self._slots[slot] = _Slot(SlotState(slot=slot, name=name, version=version))
        return self._slots[slot].state

    async def activate(self, name: str, slot: str) -> None:
        """Point ``name`` at ``slot`` and drop the other slots of ``name``."""
        found = self._slot(slot)
        if found.state.name != name:
            raise UnknownView(f"{name} (slot {slot!r} belongs to {found.state.name!r})")
        self._active[name] = slot
        for other in [s for s, v in self._slots.items() if v.state.name == name and s != slot]:
            del self._slots[other]

    async def drop_slot(self, slot: str) -> None:
        """Forget the slot; if it was active, its name has no active slot any more."""
        self._check_open()
        found = self._slots.pop(slot, None)
        if found is not None and self._active.get(found.state.name) == slot:
            del self._active[found.state.name]

    async def record_failure(self, slot: str, *, at: Checkpoint | None, error: str | None) -> None:
        """Record or clear the failure; clearing also clears a pending skip request."""
        found = self._slot(slot)
        found.state = dataclasses.replace(
            found.state, failed_at=at, error=error, skip=found.state.skip if at is not None else None
        )

    async def request_skip(self, slot: str, *, at: Checkpoint) -> None:
        """Store the operator's skip request."""
        found = self._slot(slot)
        found.state = dataclasses.replace(found.state, skip=at)

    def _slot_or_none(self, slot: str) -> _Slot | None:
        self._check_open()
        return self._slots.get(slot)

    def _slot(self, slot: str) -> _Slot:
        found = self._slot_or_none(slot)
        if found is None:
            raise UnknownView(slot, known=tuple(self._slots))
        return found

    def _check_open(self) -> None:
        if self._closed:
            raise StoreClosed(f"the view store {self.url} is closed; open it again")
