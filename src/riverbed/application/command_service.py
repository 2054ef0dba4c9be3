"""A command service: one aggregate type, the commands it owns, and the unit of work that runs them.

``handle(command, command_id=...)`` is the whole use case:

1. **Deduplicate.** A command id already handled by this service returns its first result and appends
   nothing (see :mod:`riverbed.application.command_index` for why this holds across replicas and crashes).
2. **Load** the stream's state: from the in-process cache (trusted optimistically: no read at all), else
   from a snapshot plus the events after it, else by folding the whole stream. Stored events are upcast and
   decoded on the way (:mod:`riverbed.application.event_decoder`).
3. **Decide** with the aggregate (refusals are events), then **append** the events with the version that
   was loaded as the expected version, as CloudEvents carrying ``commandid``, ``correlationid``,
   ``causationid`` and, when given, ``traceparent`` and ``tenant``.
4. On :class:`~riverbed.errors.WrongExpectedVersion` (another writer got there first) **re-load and
   re-decide**, up to ``max_attempts`` times; after that the last clash is raised to the caller.
5. Evolve the cached state with the committed events and snapshot it every ``snapshot_every`` events.

Commands for one stream are serialised inside one service instance (a per-stream lock), so the
optimistic retry only fires between processes. Several services may own different commands of the same
aggregate type (deposits and withdrawals with different SLAs): they share the store and its concurrency
control, and each keeps its own command ids (events are told apart by their CloudEvent ``source``).

Tenants: when ``tenant`` is given, the stream becomes ``<tenant>:<stream>`` and command ids are scoped to
the tenant, so one tenant can never touch or replay another tenant's stream.
"""

from __future__ import annotations

import asyncio
import uuid
import weakref
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Generic, TypeVar

from riverbed.application.command_index import COMMAND_ID, TENANT, CommandIndex, CommandPlace
from riverbed.application.command_models import CommandModel
from riverbed.application.command_result import CommandResult
from riverbed.application.event_decoder import EventDecoder
from riverbed.application.snapshotting import Snapshotter
from riverbed.cloudevents.event import CloudEvent, ExtensionValue, check_extension_value
from riverbed.cloudevents.mapping import to_cloudevent
from riverbed.domain.aggregate import Aggregate, as_decider
from riverbed.domain.decider import Decider, decide_all
from riverbed.domain.messages import Event
from riverbed.domain.registry import EventTypeRegistry, default_registry
from riverbed.domain.serialization import to_data
from riverbed.domain.upcasting import UpcasterChain
from riverbed.errors import (
    DuplicateEventId,
    UnknownCommand,
    ValidationError,
    WrongExpectedVersion,
)
from riverbed.ports.event_store import Checkpoint, EventStore, ExpectedVersion, RecordedEvent
from riverbed.ports.snapshot_store import SnapshotStore

S = TypeVar("S")
StreamOf = Callable[[Any], str]
_ID_NAMESPACE = uuid.UUID("6b1d3c52-8f0e-4c1e-9a57-0d6f3f5e7a11")
MAX_COMMAND_ID = 200


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceOptions:
    """Tuning of a command service.

    ``max_attempts``: decide/append attempts per command before a version clash is given up (≥ 1).
    ``cache_size``: streams whose state is kept in memory between commands (0 turns the cache off).
    ``snapshot_every``: snapshot the state every N events (None: no snapshots; needs a snapshot store).
    ``replay_batch``: events read per batch while replaying the global log.
    """

    max_attempts: int = 5
    cache_size: int = 1024
    snapshot_every: int | None = None
    replay_batch: int = 2000


@dataclass(frozen=True, slots=True)
class Loaded(Generic[S]):
    """A rehydrated state and the stream version it reflects (None: the stream has no events)."""

    state: S
    version: int | None
    duplicate: CommandPlace | None = None


class CommandService(Generic[S]):
    """Owns ``commands`` of one aggregate type and runs them against ``store``."""

    def __init__(
        self,
        *,
        name: str,
        aggregate: type[Aggregate] | Decider[S],
        commands: Sequence[type[Any]],
        stream: StreamOf | Mapping[type[Any], StreamOf],
        store: EventStore,
        source: str | None = None,
        snapshots: SnapshotStore | None = None,
        options: ServiceOptions | None = None,
        registry: EventTypeRegistry | None = None,
        upcasters: UpcasterChain | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.name = name
        self.decider: Decider[S] = as_decider(aggregate)
        self.store = store
        self.source = source if source is not None else f"urn:riverbed:service:{name}"
        self.options = options or ServiceOptions()
        if self.options.max_attempts < 1:
            raise ValueError(f"max_attempts must be ≥ 1, got {self.options.max_attempts}")
        self.registry = registry if registry is not None else default_registry
        self.decoder = EventDecoder(registry=self.registry, upcasters=upcasters)
        self._clock = clock or _utc_now
        self.models: dict[str, CommandModel] = {}
        self._streams: dict[type[Any], StreamOf] = {}
        for command_type in commands:
            if self.decider.commands and command_type not in self.decider.commands:
                raise TypeError(
                    f"service {name!r} declares {command_type.__name__}, which aggregate "
                    f"{self.decider.name!r} does not decide"
                )
            model = CommandModel(command_type)
            if model.name in self.models:
                raise TypeError(f"service {name!r} declares two commands named {model.name!r}")
            self.models[model.name] = model
            of = stream.get(command_type) if isinstance(stream, Mapping) else stream
            if of is None:
                raise TypeError(f"service {name!r} has no stream mapping for {command_type.__name__}")
            self._streams[command_type] = of
        self.index = CommandIndex(store, source=self.source)
        self.snapshotter: Snapshotter[S] | None = None
        if self.options.snapshot_every is not None:
            if snapshots is None:
                raise TypeError(f"service {name!r}: snapshot_every needs a snapshot store")
            self.snapshotter = Snapshotter(snapshots, self.decider, every=self.options.snapshot_every)
        self._clock_checked = False
        CloudEvent(source=self.source, type="riverbed.service.probe.v1")  # refuse a bad source now
        self.conflicts = 0
        """Version clashes met so far (each one cost a re-load and a re-decide)."""
        self._cache: OrderedDict[str, tuple[S, int | None]] = OrderedDict()
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    # -- the boundary -------------------------------------------------------------------------------------

    def model_for(self, command_name: str) -> CommandModel:
        """The boundary model of ``command_name``; raises UnknownCommand."""
        try:
            return self.models[command_name]
        except KeyError:
            raise UnknownCommand(
                f"service {self.name!r} has no command {command_name!r}; it handles {sorted(self.models)}"
            ) from None

    def parse(self, command_name: str, payload: Mapping[str, Any]) -> Any:
        """Validate a JSON payload into the named command; raises InvalidCommand or UnknownCommand."""
        return self.model_for(command_name).parse(payload)

    def stream_for(self, command: Any, tenant: str | None = None) -> str:
        """The stream that ``command`` addresses."""
        of = self._streams.get(type(command))
        if of is None:
            raise UnknownCommand(
                f"service {self.name!r} does not handle {type(command).__name__}; "
                f"it handles {sorted(self.models)}"
            )
        stream = of(command)
        return stream if tenant is None else f"{tenant}:{stream}"

    # -- replay -------------------------------------------------------------------------------------------

    async def replay(self, *, on_progress: Callable[[int, int], None] | None = None) -> int:
        """Fold the store's global log into the processed-commands index; returns events read."""
        return await self.index.catch_up(batch=self.options.replay_batch, on_progress=on_progress)

    # -- the use case ---------------------------------------------------------------------------------------

    async def handle(
        self,
        command: Any,
        *,
        command_id: str,
        correlation_id: str | None = None,
        causation_id: str | None = None,
        traceparent: str | None = None,
        tenant: str | None = None,
    ) -> CommandResult:
        """Run ``command`` once per ``command_id`` and return its result (see the module docstring)."""
        _check_id("command_id", command_id)
        if tenant is not None:
            _check_id("tenant", tenant)
            if ":" in tenant:
                raise ValidationError(
                    f"tenant {tenant!r} must not contain ':' (it separates tenant and stream)"
                )
        stream = self.stream_for(command, tenant)
        place = self.index.get(command_id, tenant)
        if place is not None:
            return await self._stored_result(command_id, place)
        async with self._lock_for(stream):
            return await self._run(
                command, stream, command_id, correlation_id, causation_id, traceparent, tenant
            )

    async def _run(
        self,
        command: Any,
        stream: str,
        command_id: str,
        correlation_id: str | None,
        causation_id: str | None,
        traceparent: str | None,
        tenant: str | None,
    ) -> CommandResult:
        place = self.index.get(command_id, tenant)
        if place is not None:
            return await self._stored_result(command_id, place)
        id_prefix = f"{self.source}\x00{tenant or ''}\x00{command_id}\x00"
        ids: list[str] = []
        extensions: dict[str, ExtensionValue] = {
            COMMAND_ID: command_id,
            "correlationid": correlation_id or command_id,
            "causationid": causation_id or command_id,
        }
        if traceparent is not None:
            extensions["traceparent"] = traceparent
        if tenant is not None:
            extensions[TENANT] = tenant
        checked: Mapping[str, ExtensionValue] = MappingProxyType(
            {name: check_extension_value(name, value) for name, value in extensions.items()}
        )
        clash: WrongExpectedVersion | None = None
        for _attempt in range(self.options.max_attempts):
            cached = self._cache.get(stream) if clash is None else None
            # Optimistic: a cached state is trusted without a read. If another writer moved the stream,
            # the append below clashes, the cache entry is dropped and the next attempt reads the store.
            loaded = (
                Loaded(*cached) if cached is not None else await self._load(stream, command_id=command_id)
            )
            if loaded.duplicate is not None:
                return await self._stored_result(command_id, loaded.duplicate)
            events = decide_all(self.decider, loaded.state, command)
            if not events:
                return CommandResult(command_id, stream, (), (), loaded.version)
            while len(ids) < len(events):  # derived, so a re-decided command reuses the same ids
                ids.append(str(uuid.uuid5(_ID_NAMESPACE, f"{id_prefix}{len(ids)}")))
            now = self._clock()
            records = [self._record(event, ids[i], stream, now, checked) for i, event in enumerate(events)]
            expected = ExpectedVersion.NO_STREAM if loaded.version is None else loaded.version
            try:
                appended = await self.store.append(stream, records, expected_version=expected)
            except WrongExpectedVersion as exc:
                clash = exc
                self.conflicts += 1
                self._cache.pop(stream, None)
                continue
            except DuplicateEventId as exc:
                self._cache.pop(stream, None)
                offset = ids.index(exc.event_id) if exc.event_id in ids else 0
                first = exc.stored_version - offset
                return await self._stored_result(
                    command_id, CommandPlace(exc.stored_stream, first, first, 0, 0, 0)
                )
            self._cache.pop(stream, None)  # a class-style state evolves in place: never cache it half-done
            state = loaded.state
            evolve = self.decider.evolve
            for event in events:
                state = evolve(state, event)
            self._remember(stream, state, appended.last_version)
            if self.snapshotter is not None and self.snapshotter.due(loaded.version, appended.last_version):
                await self.snapshotter.save(stream, state, appended.last_version)
            self.index.remember(
                command_id,
                tenant,
                CommandPlace(
                    stream,
                    appended.first_version,
                    appended.last_version,
                    appended.first_position,
                    appended.last_position,
                    appended.checkpoint.commit,
                ),
            )
            return CommandResult(
                command_id=command_id,
                stream=stream,
                events=tuple(events),
                records=tuple(records),
                version=appended.last_version,
                first_position=appended.first_position,
                last_position=appended.last_position,
                checkpoint=appended.checkpoint,
            )
        assert clash is not None
        raise clash

    def _record(
        self,
        event: Event,
        event_id: str,
        stream: str,
        now: datetime,
        extensions: Mapping[str, ExtensionValue],
    ) -> CloudEvent:
        """The CloudEvent of a decided event.

        Built without re-validation: the source was checked when the service was made, the type comes from
        the registry, the id is a UUID, the extensions were checked once per command and the store checks
        the stream name; the clock must give an aware datetime (checked on the first call).
        """
        if not self._clock_checked:
            to_cloudevent(
                event, source=self.source, subject=stream, id=event_id, time=now, registry=self.registry
            )
            self._clock_checked = True
        return CloudEvent.trusted(
            id=event_id,
            source=self.source,
            type=self.registry.name_for(type(event)),
            subject=stream,
            time=now,
            datacontenttype="application/json",
            dataschema=None,
            data=to_data(event),
            extensions=extensions,
        )

    # -- loading --------------------------------------------------------------------------------------------

    async def load(self, stream: str) -> Loaded[S]:
        """Rehydrate ``stream``: cache or snapshot, then the events after it, upcast and folded.

        The state may be the one the service keeps cached: treat it as read-only.
        """
        async with self._lock_for(stream):
            return await self._load(stream)

    def _lock_for(self, stream: str) -> asyncio.Lock:
        lock = self._locks.get(stream)
        if lock is None:
            lock = self._locks[stream] = asyncio.Lock()
        return lock

    async def _load(self, stream: str, *, command_id: str | None = None) -> Loaded[S]:
        """Load under the stream's lock; reports ``command_id``'s events met on the way as ``duplicate``."""
        decider = self.decider
        cached = self._cache.get(stream)
        state: S
        version: int | None
        if cached is not None:
            state, version = cached
            self._cache.pop(stream)  # it is evolved below; put back only when the fold succeeded
        elif self.snapshotter is not None and (restored := await self.snapshotter.load(stream)) is not None:
            state, version = restored.state, restored.version
        else:
            state, version = decider.initial_state(), None
        evolve, decode, ignore = decider.evolve, self.decoder.decode, decider.ignores_unknown_events
        duplicate: CommandPlace | None = None
        source = self.source
        async for record in self.store.read(stream, from_version=None if version is None else version + 1):
            if command_id is not None and record.event.source == source:
                duplicate = _extend(duplicate, record, command_id)
            event = decode(record, ignore_unknown=ignore)
            if event is not None:
                state = evolve(state, event)
            version = record.version
        self._remember(stream, state, version)
        return Loaded(state, version, duplicate)

    def _remember(self, stream: str, state: S, version: int | None) -> None:
        size = self.options.cache_size
        if size <= 0 or version is None:
            return
        cache = self._cache
        cache[stream] = (state, version)
        cache.move_to_end(stream)
        while len(cache) > size:
            cache.popitem(last=False)

    async def _stored_result(self, command_id: str, place: CommandPlace) -> CommandResult:
        """Rebuild the first result of ``command_id`` from the events it stored at ``place``."""
        records: list[RecordedEvent] = []
        limit = max(place.last_version - place.first_version + 1, 256)
        async for record in self.store.read(place.stream, from_version=place.first_version, limit=limit):
            if record.event.extensions.get(COMMAND_ID) != command_id or record.event.source != self.source:
                break
            records.append(record)
        if not records:
            raise ValidationError(
                f"command id {command_id!r} was used for events at {place.stream!r} version "
                f"{place.first_version} that another command produced; use a fresh command id"
            )
        events = tuple(e for r in records if (e := self.decoder.decode(r, ignore_unknown=True)) is not None)
        last = records[-1]
        return CommandResult(
            command_id=command_id,
            stream=place.stream,
            events=events,
            records=tuple(r.event for r in records),
            version=last.version,
            first_position=records[0].position,
            last_position=last.position,
            checkpoint=Checkpoint(last.commit, last.position),
            duplicate=True,
        )


def _extend(place: CommandPlace | None, record: RecordedEvent, command_id: str) -> CommandPlace | None:
    if record.event.extensions.get(COMMAND_ID) != command_id:
        return place
    if place is None:
        return CommandPlace(
            record.stream, record.version, record.version, record.position, record.position, record.commit
        )
    place.last_version = record.version
    place.last_position = record.position
    return place


def _check_id(what: str, value: object) -> None:
    if not isinstance(value, str) or not value or len(value) > MAX_COMMAND_ID:
        raise ValidationError(f"{what} must be a non-empty string of at most {MAX_COMMAND_ID} characters")
