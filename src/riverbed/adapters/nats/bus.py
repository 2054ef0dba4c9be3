"""The NATS JetStream bus (nats-py): the rapids, rivers and ponds of distributed mode.

* The rapids is one stream on ``<prefix>.<source>.<type>`` (see :mod:`.subjects`); each event is
  published with ``Nats-Msg-Id`` = its CloudEvent id, so the stream drops re-publishes within the
  rapids' duplicate window, and in the CloudEvents NATS binding (binary mode, ``ce-`` headers).
* Each river is a stream that *sources* the rapids once, with subject filters on source and type (one
  source, because two sources of one stream interleave in any order and would break the rapids order).
  Several filters ride on identity subject transforms (servers 2.10+); before 2.10 such a river sources
  the whole rapids and the pond applies the filters itself. CloudEvent ``subject`` filters are always
  applied by the pond (non-matching messages are acknowledged and skipped, never handled).
* Each pond is a durable pull consumer on its river, with explicit acks and the pond's ack wait. The
  server's ``max_deliver`` stays unlimited: the pond parks a message itself once it has been delivered
  ``retry.max_deliveries`` times, by publishing it with the reason to the parked stream and then
  terminating it, so nothing leaves a pond without a record.
* Parked messages keep the CloudEvent headers and payload plus ``Riverbed-*`` headers (pond, river,
  reason, attempts, time). A replay publishes the event into its river addressed to its pond only.

A JetStream acknowledgement is not the durability point (file stores fsync every 2 minutes by default):
the event store is, and the relay can always publish again from its checkpoint.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    ConsumerInfo,
    DeliverPolicy,
    StorageType,
    StreamConfig,
    StreamSource,
    SubjectTransform,
)

from riverbed.adapters.nats import subjects
from riverbed.adapters.nats.parked import (
    H_ATTEMPTS,
    H_PARKED_AT,
    H_POND,
    H_REASON,
    H_REPLAY_FOR,
    H_RIVER,
    RIVERBED_HEADERS,
    NatsParked,
)
from riverbed.adapters.nats.topology import consumer_drift, stream_drift
from riverbed.cloudevents.event import CloudEvent
from riverbed.cloudevents.nats_binding import from_nats, to_nats
from riverbed.errors import (
    BusClosed,
    BusUnavailable,
    InvalidCloudEvent,
    TopologyDrift,
    UnknownPond,
)
from riverbed.ports.bus import Delivery, PondStats, TopologyReport
from riverbed.ports.topology import Pond, Rapids, River, Topology

_log = logging.getLogger("riverbed.nats")


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _identity(subject_filter: str) -> str:
    """The transform destination that keeps each subject as it is (each ``*`` maps to itself)."""
    tokens = subject_filter.split(".")
    wildcard = 0
    for i, tok in enumerate(tokens):
        if tok == "*":
            wildcard += 1
            tokens[i] = f"{{{{wildcard({wildcard})}}}}"
    return ".".join(tokens)


async def _log_error(exc: Exception) -> None:
    _log.warning("NATS connection error: %r", exc)


class NatsDelivery:
    """A delivery from a JetStream pull consumer."""

    __slots__ = ("_bus", "_msg", "_pond", "attempt", "event")

    def __init__(self, bus: NatsBus, pond: Pond, msg: Msg, event: CloudEvent, attempt: int) -> None:
        self._bus = bus
        self._pond = pond
        self._msg = msg
        self.event = event
        self.attempt = attempt

    @property
    def pond(self) -> str:
        """The pond this delivery belongs to."""
        return self._pond.name

    async def ack(self) -> None:
        """Done (an explicit ack)."""
        await self._msg.ack()

    async def nack(self, delay: float = 0.0) -> None:
        """Deliver again after ``delay`` seconds (a NAK with delay); parked at the next fetch if spent."""
        await self._msg.nak(delay=delay if delay > 0 else None)

    async def park(self, reason: str) -> None:
        """Publish to the parked stream, then terminate the message."""
        await self._bus._park(self._pond, self._msg, reason, self.attempt)

    async def keep_alive(self) -> None:
        """Restart the ack wait (a JetStream "in progress" ack)."""
        await self._msg.in_progress()


class NatsBus:
    """Rapids, rivers and ponds on NATS JetStream. ``await bus.open()`` (or ``async with``) first."""

    def __init__(
        self,
        url: str = "nats://127.0.0.1:4222",
        *,
        rapids: Rapids | None = None,
        replicas: int = 1,
        max_ack_pending: int = 10_000,
        now: Callable[[], datetime] = _utc_now,
        connect_within: float = 10.0,
        connect_options: dict[str, Any] | None = None,
    ) -> None:
        self.url = url
        self.connect_within = connect_within
        self.rapids = rapids if rapids is not None else Rapids()
        self.replicas = replicas
        self.max_ack_pending = max_ack_pending
        self._now = now
        self._connect_options = dict(connect_options or {})
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._topology: Topology | None = None
        self._subs: dict[str, JetStreamContext.PullSubscription] = {}
        self._multi_source = False
        self._parked = NatsParked(self)

    async def open(self) -> NatsBus:
        """Connect, giving up after ``connect_within`` seconds (later reconnects are automatic)."""
        if self._nc is None:
            nc = Client()
            options: dict[str, Any] = {"error_cb": _log_error, **self._connect_options}
            try:
                await asyncio.wait_for(nc.connect(self.url, **options), self.connect_within)
            except (OSError, nats.errors.Error, TimeoutError) as exc:
                await nc.close()
                raise BusUnavailable(
                    f"cannot connect to NATS at {self.url} within {self.connect_within}s ({exc!r}); "
                    "is nats-server running with JetStream enabled (-js)?"
                ) from exc
            self._nc = nc
            self._js = nc.jetstream()
            version = self._nc.connected_server_version
            self._multi_source = (version.major, version.minor) >= (2, 10)
        return self

    async def __aenter__(self) -> NatsBus:
        return await self.open()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @property
    def parked(self) -> NatsParked:
        """The parked stream."""
        return self._parked

    # -- topology ------------------------------------------------------------------------------------

    async def declare(self, topology: Topology) -> TopologyReport:
        """Create missing streams and consumers, update in-place settings, refuse incompatible drift."""
        js = self._require_js()
        rapids = topology.rapids
        wanted: list[tuple[str, StreamConfig]] = [
            (
                f"rapids {rapids.name}",
                StreamConfig(
                    name=rapids.name,
                    subjects=[subjects.rapids_wildcard(rapids)],
                    storage=StorageType.FILE,
                    num_replicas=self.replicas,
                    duplicate_window=rapids.duplicate_window,
                ),
            ),
            (
                f"parked stream {rapids.parked_stream}",
                StreamConfig(
                    name=rapids.parked_stream,
                    subjects=[subjects.parked_wildcard(rapids)],
                    storage=StorageType.FILE,
                    num_replicas=self.replicas,
                    duplicate_window=rapids.duplicate_window,
                ),
            ),
        ]
        wanted.extend((f"river {river.name}", self._river_config(rapids, river)) for river in topology.rivers)
        existing: dict[str, StreamConfig | None] = {}
        drift: list[str] = []
        compatible: list[str] = []
        for label, config in wanted:
            assert config.name is not None
            current = await self._stream_config(config.name)
            existing[config.name] = current
            if current is not None:
                incompatible, soft = stream_drift(label, config, current)
                drift.extend(incompatible)
                compatible.extend(soft)
        consumers: dict[str, ConsumerConfig | None] = {}
        for pond in topology.ponds:
            current_consumer = await self._consumer_config(pond.river, pond.name)
            consumers[pond.name] = current_consumer
            if current_consumer is not None:
                incompatible, soft = consumer_drift(pond, current_consumer)
                drift.extend(incompatible)
                compatible.extend(soft)
            for other in topology.rivers:
                if (
                    other.name != pond.river
                    and await self._consumer_config(other.name, pond.name) is not None
                ):
                    drift.append(
                        f"pond {pond.name!r} is declared on river {pond.river!r} but a consumer of that name "
                        f"exists on river {other.name!r}"
                    )
        if drift:
            raise TopologyDrift(
                "the JetStream topology is incompatible with the declared one (nothing was changed): "
                + "; ".join(drift)
                + ". Remove or rename the conflicting streams/consumers, or fix the declaration",
                drift=tuple(drift),
            )
        created: list[str] = []
        updated: list[str] = []
        unchanged: list[str] = []
        for label, config in wanted:
            assert config.name is not None
            if existing[config.name] is None:
                await self._call(js.add_stream(config), label)
                created.append(label)
            elif any(note.startswith(label + ":") for note in compatible):
                await self._call(js.update_stream(config), label)
                updated.append(label)
            else:
                unchanged.append(label)
        for pond in topology.ponds:
            label = f"pond {pond.name}"
            consumer = self._consumer(pond)
            if consumers[pond.name] is None:
                await self._call(js.add_consumer(pond.river, consumer), label)
                created.append(label)
            elif any(note.startswith(label + ":") for note in compatible):
                await self._call(js.add_consumer(pond.river, consumer), label)
                updated.append(label)
            else:
                unchanged.append(label)
        self.rapids = rapids
        self._topology = topology
        subs, self._subs = list(self._subs.values()), {}
        for sub in subs:  # re-bound lazily against the declared consumers
            with contextlib.suppress(nats.errors.Error):
                await sub.unsubscribe()
        return TopologyReport(
            created=tuple(created),
            updated=tuple(updated),
            unchanged=tuple(unchanged),
            drift=tuple(compatible),
        )

    def _river_config(self, rapids: Rapids, river: River) -> StreamConfig:
        # One source, always: two sources of one stream interleave in any order, which would break the
        # per-stream order of a stream whose events match different filters.
        filters = subjects.river_filters(rapids, river)
        if len(filters) == 1:
            source = StreamSource(name=rapids.name, filter_subject=filters[0])
        elif self._multi_source:
            transforms = [SubjectTransform(src=f, dest=_identity(f)) for f in filters]
            source = StreamSource(name=rapids.name, subject_transforms=transforms)
        else:
            source = StreamSource(name=rapids.name, filter_subject=subjects.rapids_wildcard(rapids))
        return StreamConfig(
            name=river.name,
            subjects=[subjects.replay_wildcard(rapids, river.name)],
            sources=[source],
            storage=StorageType.FILE,
            num_replicas=self.replicas,
            duplicate_window=rapids.duplicate_window,
        )

    def _consumer(self, pond: Pond) -> ConsumerConfig:
        return ConsumerConfig(
            durable_name=pond.name,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=pond.ack_wait,
            max_deliver=-1,
            max_ack_pending=self.max_ack_pending,
        )

    async def _stream_config(self, name: str) -> StreamConfig | None:
        try:
            return (await self._require_js().stream_info(name)).config
        except nats.js.errors.NotFoundError:
            return None

    async def _consumer_config(self, stream: str, name: str) -> ConsumerConfig | None:
        try:
            info: ConsumerInfo = await self._require_js().consumer_info(stream, name)
        except nats.js.errors.NotFoundError:
            return None
        return info.config

    # -- publishing and consuming --------------------------------------------------------------------

    async def publish(self, events: Sequence[CloudEvent]) -> None:
        """Publish to the rapids with every event in flight at once; returns when all are acknowledged."""
        js = self._require_js()
        rapids = self.rapids
        futures: list[asyncio.Future[Any]] = []
        try:
            for event in events:
                headers, payload = to_nats(event)
                headers["Nats-Msg-Id"] = event.id
                subject = subjects.rapids_subject(rapids, event.source, event.type)
                futures.append(await js.publish_async(subject, payload, headers=headers))
            acks = await asyncio.gather(*futures)
        except (TimeoutError, nats.errors.Error, OSError) as exc:
            for future in futures:
                future.cancel()
            raise BusUnavailable(
                f"publishing {len(events)} events to {rapids.name} failed: {exc!r}; publish them again"
            ) from exc
        for ack in acks:
            if ack.stream != rapids.name:
                raise BusUnavailable(
                    f"an event landed in stream {ack.stream!r}, not the rapids {rapids.name!r}: another "
                    f"stream claims subjects under {rapids.subject_prefix!r}"
                )

    async def fetch(self, pond: str, *, max_messages: int = 100, max_wait: float = 1.0) -> list[Delivery]:
        """Pull up to ``max_messages``; parks spent messages and skips ones the river's filters reject."""
        topology = self._require_topology()
        spec = self._pond(topology, pond)
        river = topology.river(spec.river)
        sub = await self._subscription(spec)
        try:
            msgs = await sub.fetch(max_messages, timeout=max(max_wait, 0.001))
        except (nats.errors.TimeoutError, TimeoutError):
            return []
        except nats.errors.Error as exc:
            raise BusUnavailable(f"fetching from pond {pond!r} failed: {exc!r}") from exc
        deliveries: list[Delivery] = []
        for msg in msgs:
            headers = msg.headers or {}
            replay_for = headers.get(H_REPLAY_FOR)
            if replay_for is not None and replay_for != pond:
                await msg.ack()
                continue
            attempt = msg.metadata.num_delivered
            try:
                event = from_nats(headers, msg.data)
            except InvalidCloudEvent as exc:
                await self._park(spec, msg, f"not a CloudEvent: {exc}", attempt)
                continue
            if not river.matches(event):
                await msg.ack()
                continue
            if attempt > spec.retry.max_deliveries:
                await self._park(
                    spec,
                    msg,
                    f"delivered {attempt - 1} times without being acknowledged "
                    f"(ack_wait={spec.ack_wait}s, max_deliveries={spec.retry.max_deliveries})",
                    attempt - 1,
                )
                continue
            deliveries.append(NatsDelivery(self, spec, msg, event, attempt))
        return deliveries

    async def stats(self, pond: str) -> PondStats:
        """Pending and ack-pending counts of the consumer, and the pond's parked count."""
        topology = self._require_topology()
        spec = self._pond(topology, pond)
        js = self._require_js()
        info = await js.consumer_info(spec.river, pond)
        parked_subject = subjects.parked_subject(self.rapids, spec.river, pond)
        parked_info = await js.stream_info(self.rapids.parked_stream, subjects_filter=parked_subject)
        parked = (parked_info.state.subjects or {}).get(parked_subject, 0)
        return PondStats(
            pond=pond, waiting=info.num_pending or 0, in_flight=info.num_ack_pending or 0, parked=parked
        )

    async def close(self) -> None:
        """Flush outstanding publishes and acks, then close the connection."""
        nc, self._nc, self._js = self._nc, None, None
        subs, self._subs = list(self._subs.values()), {}
        if nc is not None and not nc.is_closed:
            for sub in subs:
                with contextlib.suppress(nats.errors.Error):
                    await sub.unsubscribe()
            with contextlib.suppress(nats.errors.Error, OSError, asyncio.TimeoutError):
                await nc.flush(timeout=5)
            await nc.close()

    # -- internals -----------------------------------------------------------------------------------

    async def _park(self, pond: Pond, msg: Msg, reason: str, attempts: int) -> None:
        js = self._require_js()
        # keep the CloudEvent headers only: the server refuses its own ``Nats-*`` headers on a publish
        headers = {
            k: v
            for k, v in (msg.headers or {}).items()
            if k not in RIVERBED_HEADERS and not k.lower().startswith("nats-")
        }
        headers[H_REASON] = quote(reason, safe=" :/,.()=-_'")
        headers[H_POND] = pond.name
        headers[H_RIVER] = pond.river
        headers[H_ATTEMPTS] = str(attempts)
        headers[H_PARKED_AT] = self._now().isoformat()
        headers["Nats-Msg-Id"] = f"parked:{pond.name}:{msg.metadata.sequence.stream}"
        subject = subjects.parked_subject(self.rapids, pond.river, pond.name)
        try:
            await js.publish(subject, msg.data, headers=headers)
        except nats.errors.Error as exc:
            raise BusUnavailable(f"parking a message of pond {pond.name!r} failed: {exc!r}") from exc
        await msg.term()

    async def _subscription(self, pond: Pond) -> JetStreamContext.PullSubscription:
        sub = self._subs.get(pond.name)
        if sub is None:
            sub = await self._require_js().pull_subscribe_bind(durable=pond.name, stream=pond.river)
            self._subs[pond.name] = sub
        return sub

    @staticmethod
    def _pond(topology: Topology, pond: str) -> Pond:
        for spec in topology.ponds:
            if spec.name == pond:
                return spec
        raise UnknownPond(f"no pond {pond!r} in the declared topology; add it and declare again")

    def _require_topology(self) -> Topology:
        if self._topology is None:
            raise UnknownPond("the bus has no topology yet; call bus.declare(topology) first")
        return self._topology

    def _require_js(self) -> JetStreamContext:
        if self._js is None:
            raise BusClosed(f"the NATS bus at {self.url} is not open; call await bus.open()")
        return self._js

    @staticmethod
    async def _call(awaitable: Any, label: str) -> Any:
        try:
            return await awaitable
        except nats.js.errors.APIError as exc:
            raise TopologyDrift(f"JetStream refused to set up {label}: {exc}", drift=(str(exc),)) from exc
