"""On-demand views: computed from the relevant streams when asked, cached, and invalidated by positions.

An on-demand view keeps no store of its own. Asked for a key, it reads the streams that key depends on
(``streams(key)``), folds them with an ordinary :class:`~riverbed.application.projections.Projection`,
and caches the row together with the last version it saw of each stream. The next query asks the store
for those streams' current versions: unchanged means the cached row is returned as is; changed means only
the new events are read and folded onto it. Because it reads the event store itself, an on-demand answer
always includes every event acknowledged before the query began (read-your-writes comes for free).
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from pydantic import BaseModel

from riverbed.application.projections.projection import Projection
from riverbed.errors import ValidationError
from riverbed.ports.event_store import START, Checkpoint, EventStore, RecordedEvent
from riverbed.ports.views import Row


@dataclass(slots=True)
class _Entry:
    row: Row | None
    versions: dict[str, int] = field(default_factory=dict)
    checkpoint: Checkpoint = START


class OnDemandView:
    """A view computed per key from its streams on request, then cached (see the module docstring)."""

    def __init__(
        self,
        store: EventStore,
        projection: Projection,
        *,
        streams: Callable[[str], Sequence[str]],
        max_entries: int = 10_000,
    ) -> None:
        if max_entries < 1:
            raise ValidationError(f"max_entries must be ≥ 1, got {max_entries}")
        self.store = store
        self.projection = projection
        self.streams = streams
        self.max_entries = max_entries
        self.hits = 0
        self.misses = 0
        self._cache: OrderedDict[str, _Entry] = OrderedDict()

    @property
    def name(self) -> str:
        """The view's name (its projection's)."""
        return self.projection.name

    @property
    def model(self) -> type[BaseModel] | None:
        """The pydantic model rows are turned into."""
        return self.projection.model

    async def get(self, key: str) -> Row | None:
        """The row for ``key`` as of now: from the cache when no stream it depends on has moved."""
        entry = self._cache.get(key)
        wanted = list(dict.fromkeys(self.streams(key)))
        if entry is not None:
            current = {s: await self.store.stream_version(s) for s in wanted}
            if all(entry.versions.get(s) == v for s, v in current.items()):
                self.hits += 1
                self._cache.move_to_end(key)
                return copy.deepcopy(entry.row)
        self.misses += 1
        entry = await self._fold(key, wanted, entry)
        self._cache[key] = entry
        self._cache.move_to_end(key)
        while len(self._cache) > self.max_entries:
            self._cache.popitem(last=False)
        return copy.deepcopy(entry.row)

    def invalidate(self, key: str | None = None) -> None:
        """Forget one cached key (or all of them)."""
        if key is None:
            self._cache.clear()
        else:
            self._cache.pop(key, None)

    async def _fold(self, key: str, streams: list[str], entry: _Entry | None) -> _Entry:
        row = copy.deepcopy(entry.row) if entry is not None else None
        versions = dict(entry.versions) if entry is not None else {}
        checkpoint = entry.checkpoint if entry is not None else START
        records: list[RecordedEvent] = []
        for stream in streams:
            start = versions.get(stream, -1) + 1
            records.extend([r async for r in self.store.read(stream, from_version=start)])
        records.sort(key=lambda r: r.checkpoint)
        projection, handled = self.projection, self.projection.event_types
        for record in records:
            if record.event.type in handled and projection.key(record) == key:
                row = projection.apply(row, record)
            versions[record.stream] = record.version
            checkpoint = max(checkpoint, record.checkpoint)
        return _Entry(row=row, versions=versions, checkpoint=checkpoint)
