"""The processed-commands index: which command ids this service has already handled, and where.

Design (why it is correct under concurrency and crashes):

* Every event a command produces carries the CloudEvent extension ``commandid`` (and ``tenant`` when
  given), and its event id is *derived* from (service source, tenant, command id, index) with UUID5. The
  store is therefore the only durable record of processed commands; there is no second table that could
  disagree with it after a crash, because the events and their command id commit in one append.
* A resubmitted command that slips past this index (another replica handled it a moment ago, or the index
  is still catching up) is decided again and appended with the *same* event ids: the store's idempotent
  append either returns the original result (same place) or raises
  :class:`~riverbed.errors.DuplicateEventId` naming where the first events are, which the service turns
  back into the first result. A command is never applied twice, whatever the timing.
* This index is the fast path: on start the service replays the store's global log (``catch_up``) to fill
  it, which is what its *replaying* lifecycle state waits for; afterwards the service records its own
  results. It keeps a few integers per command id (memory grows with the number of commands).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from riverbed.ports.event_store import START, Checkpoint, EventStore, RecordedEvent

COMMAND_ID = "commandid"
TENANT = "tenant"


@dataclass(slots=True)
class CommandPlace:
    """Where the events of one command are stored (they are contiguous in one stream)."""

    stream: str
    first_version: int
    last_version: int
    first_position: int
    last_position: int
    commit: int


def index_key(command_id: str, tenant: str | None) -> str:
    """The index key of a command id (command ids are scoped by tenant)."""
    return command_id if tenant is None else f"{tenant}\x00{command_id}"


class CommandIndex:
    """Command ids handled by one service (events whose ``source`` is the service's source)."""

    def __init__(self, store: EventStore, *, source: str) -> None:
        self._store = store
        self._source = source
        self._places: dict[str, CommandPlace] = {}
        self.checkpoint: Checkpoint = START
        self.events_done = 0

    def get(self, command_id: str, tenant: str | None = None) -> CommandPlace | None:
        """Where ``command_id`` stored its events, if this index knows."""
        return self._places.get(index_key(command_id, tenant))

    def note(self, record: RecordedEvent) -> None:
        """Fold one stored event into the index."""
        event = record.event
        if event.source != self._source:
            return
        command_id = event.extensions.get(COMMAND_ID)
        if not isinstance(command_id, str):
            return
        tenant = event.extensions.get(TENANT)
        key = index_key(command_id, tenant if isinstance(tenant, str) else None)
        place = self._places.get(key)
        if place is None or place.stream != record.stream:
            self._places[key] = CommandPlace(
                record.stream, record.version, record.version, record.position, record.position, record.commit
            )
        elif record.version > place.last_version:
            place.last_version = record.version
            place.last_position = record.position
            place.commit = record.commit

    def remember(self, command_id: str, tenant: str | None, place: CommandPlace) -> None:
        """Record a command this service has just stored."""
        self._places[index_key(command_id, tenant)] = place

    async def catch_up(
        self, *, batch: int = 2000, on_progress: Callable[[int, int], None] | None = None
    ) -> int:
        """Fold every stored event after the checkpoint; returns how many were read.

        ``on_progress(done, behind)`` is called after each batch (``behind`` is an estimate from the
        store's last position).
        """
        total = 0
        while True:
            read = 0
            async for record in self._store.read_all(after=self.checkpoint, limit=batch):
                self.note(record)
                self.checkpoint = record.checkpoint
                read += 1
            total += read
            self.events_done += read
            if on_progress is not None:
                last = (await self._store.stats()).last_position
                on_progress(self.events_done, max(0, last - self.checkpoint.position))
            if read < batch:
                return total

    def __len__(self) -> int:
        return len(self._places)
