"""Fold a batch of recorded events into one view slot, version-gated per stream, and commit it atomically.

The projector is the only code that decides whether an event is applied:

* an event whose version is not above the last version the slot applied of its stream is a duplicate and
  is passed over (never applied twice);
* an event whose version is more than one above it would skip an event: the batch stops there with a
  :class:`~riverbed.errors.ProjectionGap` (never skipped silently);
* a handler (or ``key``) that raises stops the batch with :class:`~riverbed.errors.ProjectionFailed`.

Everything before the stopping event is committed with the checkpoint of the last event passed, in one
:meth:`~riverbed.ports.views.ViewRows.commit`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from riverbed.application.projections.projection import Projection
from riverbed.errors import ProjectionError, ProjectionFailed, ProjectionGap
from riverbed.ports.event_store import Checkpoint, RecordedEvent
from riverbed.ports.views import Row, ViewBatch, ViewRows

_DELETED: Row = {}


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    """What applying one batch did."""

    passed: int
    """Events passed (applied, duplicate or not handled): the checkpoint moved over them."""
    applied: int
    checkpoint: Checkpoint | None
    """The new checkpoint, or None when nothing was committed."""
    failure: ProjectionError | None = None
    failed_record: RecordedEvent | None = None


class Projector:
    """Applies batches of events to one slot of one projection."""

    def __init__(
        self, projection: Projection, rows: ViewRows, slot: str, *, after: Checkpoint | None = None
    ) -> None:
        self.projection = projection
        self.rows = rows
        self.slot = slot
        self.after = after
        """Where the slot is; each commit expects it there (ViewConflict if another writer moved it)."""

    async def apply(self, records: Sequence[RecordedEvent]) -> BatchOutcome:
        """Fold ``records`` (in global order) and commit what could be applied."""
        if not records:
            return BatchOutcome(0, 0, None)
        batch, passed, failure = await self._fold(records)
        if failure is not None and passed:
            # A handler may have mutated rows in place before raising: fold the clean prefix again.
            batch, passed, _ = await self._fold(records[:passed])
        if passed:
            # With ``after`` set, this commit fails with ViewConflict if another writer moved the slot.
            await self._commit(dataclasses.replace(batch, expected=self.after))
        elif failure is not None and self.after is not None:
            # A failure read from rows another writer moved past our checkpoint is no failure of ours:
            # an empty commit expecting our checkpoint raises ViewConflict in that case.
            await self._commit(ViewBatch(checkpoint=self.after, expected=self.after))
        return BatchOutcome(
            passed=passed,
            applied=batch.events if passed else 0,
            checkpoint=batch.checkpoint if passed else None,
            failure=failure,
            failed_record=records[passed] if failure is not None else None,
        )

    async def skip(self, record: RecordedEvent) -> Checkpoint:
        """Pass over ``record`` without applying it (an operator's decision) and commit that."""
        versions = {record.stream: record.version} if self.projection.follows(record.stream) else {}
        await self._commit(
            ViewBatch(checkpoint=record.checkpoint, stream_versions=versions, expected=self.after)
        )
        return record.checkpoint

    async def _commit(self, batch: ViewBatch) -> None:
        await self.rows.commit(self.slot, batch)
        if self.after is not None:
            self.after = batch.checkpoint

    async def _fold(self, records: Sequence[RecordedEvent]) -> tuple[ViewBatch, int, ProjectionError | None]:
        projection = self.projection
        handled = projection.event_types
        followed = {r.stream for r in records if projection.follows(r.stream)}
        keys: list[str | None] = []
        failure: ProjectionError | None = None
        for record in records:
            key: str | None = None
            if record.event.type in handled and projection.follows(record.stream):
                try:
                    key = projection.key(record)
                except Exception as exc:
                    failure = self._failed(record, exc)
                    break
            keys.append(key)
        wanted = {k for k in keys if k is not None}
        known: dict[str, int] = {}
        rows: dict[str, Row] = {}
        if followed or wanted:
            known, rows = await self.rows.load(self.slot, followed, wanted)
        changed: dict[str, Row] = {}
        versions: dict[str, int] = {}
        applied = 0
        passed = 0
        for record, key in zip(records, keys, strict=False):
            if projection.follows(record.stream):
                last = versions.get(record.stream, known.get(record.stream, -1))
                if record.version <= last:
                    passed += 1
                    continue
                if record.version > last + 1:
                    failure = ProjectionGap(
                        f"projection {projection.name!r}: event at {record.checkpoint} is version "
                        f"{record.version} of stream {record.stream!r}, but the view last applied version "
                        f"{last}; it would skip events. Rebuild the view or skip the event explicitly",
                        projection=projection.name,
                        position=str(record.checkpoint),
                    )
                    break
                if key is not None:
                    current = changed.get(key, rows.get(key))
                    try:
                        new = projection.apply(None if current is _DELETED else current, record)
                    except Exception as exc:
                        failure = self._failed(record, exc)
                        break
                    changed[key] = _DELETED if new is None else new
                    applied += 1
                versions[record.stream] = record.version
            passed += 1
        if passed == 0:
            return ViewBatch(checkpoint=records[0].checkpoint), 0, failure
        batch = ViewBatch(
            checkpoint=records[passed - 1].checkpoint,
            upserts={k: v for k, v in changed.items() if v is not _DELETED},
            deletes=frozenset(k for k, v in changed.items() if v is _DELETED),
            stream_versions=versions,
            events=applied,
        )
        return batch, passed, failure

    def _failed(self, record: RecordedEvent, exc: Exception) -> ProjectionFailed:
        failure = ProjectionFailed(
            f"projection {self.projection.name!r} failed on the {record.event.type!r} event at "
            f"{record.checkpoint} (stream {record.stream!r} version {record.version}): "
            f"{type(exc).__name__}: {exc}; fix the handler and restart, or skip the event with "
            f"`riverbed views skip {self.projection.name} {record.checkpoint}`",
            projection=self.projection.name,
            position=str(record.checkpoint),
        )
        failure.__cause__ = exc
        return failure
