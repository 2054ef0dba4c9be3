"""One rooted exception hierarchy for riverbed.

Every error riverbed raises on purpose derives from :class:`RiverbedError`. Adapters translate driver
errors with ``raise X(...) from exc`` so callers never need to import a driver to catch a failure.
Messages say what was wrong and what to do about it.

The tree::

    RiverbedError
    ├── ConfigurationError            bad settings, bad store URL, missing optional driver
    │   ├── InvalidStoreUrl
    │   └── InvalidFlow               a service declaration that cannot be wired (names the service)
    │       └── TopologyCycle         events would flow in a circle (names the cycle, service or context)
    ├── ValidationError               (also ValueError) bad input that was refused before any effect
    │   ├── InvalidCloudEvent         a CloudEvent attribute breaks a rule of the spec
    │   ├── InvalidMessage            a command or event that does not fit its model
    │   │   └── InvalidCommand        a command refused at the boundary (``errors`` lists each field)
    │   ├── UnknownCommand            a command name or class that no service handles
    │   ├── InvalidPosition           a position or checkpoint that does not exist or cannot be parsed
    │   └── InvalidTopology           rapids/rivers/ponds declared inconsistently (names, filters, links)
    ├── UnknownEventType              a type name with no registered class (names the type and stream)
    ├── DuplicateRegistration         a type name or class registered twice
    ├── EventStoreError
    │   ├── WrongExpectedVersion      optimistic concurrency clash; nothing was persisted
    │   ├── DuplicateEventId          an event id already stored elsewhere; nothing was persisted
    │   ├── StoreClosed               the store was closed (or never opened)
    │   ├── StoreFailed               an I/O error happened; the store refuses writes until reopened
    │   ├── StoreCorrupted            the integrity check on open failed
    │   ├── SchemaVersionMismatch     the store was created by a newer riverbed
    │   └── StoreUnavailable          (also ServiceUnavailable) the store's server cannot be reached now
    ├── BusError                      the bus (rapids, rivers, ponds) failed or refused
    │   ├── TopologyDrift             the broker's topology is incompatible with the declared one
    │   ├── BusClosed                 the bus was closed (or never opened)
    │   ├── BusUnavailable            the broker cannot be reached or refused a publish
    │   ├── UnknownPond               a pond (or its river) that the topology does not declare
    │   ├── ParkedMessageNotFound     no parked message has that id
    │   └── DeliveryFailed            a webhook delivery failed for good (after its retries)
    ├── ServiceUnavailable            a retryable refusal (subclasses carry retry hints)
    │   ├── ServiceStarting           the service has not started replaying yet
    │   ├── ServiceReplaying          the service is catching up (carries events done / behind)
    │   ├── ServiceDraining           the service is stopping: in-flight work finishes, new work is refused
    │   ├── UpstreamUnavailable       the gateway's target is down, replaying, draining or its circuit is open
    │   ├── ViewReplaying             a view is still replaying and has not caught up yet
    │   └── ViewBehind                a replica has not reached the asked position in time
    ├── NotFound                      (also LookupError) no such service, command, view or view row
    │   └── UnknownView               no view is registered (or built) under that name
    ├── ViewConflict                  another writer moved a view slot's checkpoint first; nothing written
    ├── ProjectionError               a projection cannot go on; it stops until fixed or skipped
    │   ├── ProjectionFailed          a handler raised; carries the failing event's position
    │   └── ProjectionGap             an event is not the next version of its stream
    └── RequestRefused                the gateway refused an HTTP request before any effect
        ├── AuthenticationFailed      missing, malformed, expired or unknown credentials
        ├── RequestTooLarge           the body is over the configured size limit
        ├── MalformedRequest          not JSON, JSON nested too deep, a bad header or query parameter
        └── RateLimited               the client sent more than its rate allows (carries retry_after)
"""

from __future__ import annotations


class RiverbedError(Exception):
    """Root of every error riverbed raises on purpose."""


class ConfigurationError(RiverbedError):
    """Settings, URLs or installed extras do not allow the requested operation."""


class InvalidStoreUrl(ConfigurationError, ValueError):
    """A store URL that riverbed cannot open (unknown scheme, missing path, ...)."""


class InvalidFlow(ConfigurationError):
    """The declared services cannot be wired: a duplicate name, a bad type name, two owners of a command."""


class TopologyCycle(InvalidFlow):
    """Events would flow in a circle between services or between bounded contexts.

    ``level`` is ``"service"`` or ``"context"``; ``cycle`` names the nodes in order, the first repeated at
    the end (``("a", "b", "a")``); ``via`` gives, for each hop, the event type names that carry it.
    """

    def __init__(self, *, level: str, cycle: tuple[str, ...], via: tuple[tuple[str, ...], ...]) -> None:
        hops = " ".join(f"{node} -[{', '.join(types)}]->" for node, types in zip(cycle, via, strict=False))
        plural = "services" if level == "service" else "bounded contexts"
        super().__init__(
            f"events flow in a cycle between {plural}: {hops} {cycle[-1]}; events must flow one way: "
            "drop one of these subscriptions, or send a command to the owner's public command API instead"
        )
        self.level = level
        self.cycle = cycle
        self.via = via


class ValidationError(RiverbedError, ValueError):
    """Input was refused before it had any effect."""


class InvalidCloudEvent(ValidationError):
    """A CloudEvent breaks a rule of the CloudEvents 1.0 spec.

    ``attribute`` names the offending attribute (or ``None`` for the event as a whole).
    """

    def __init__(self, message: str, *, attribute: str | None = None) -> None:
        super().__init__(message)
        self.attribute = attribute


class InvalidMessage(ValidationError):
    """A command or event does not fit its declared model."""


class InvalidCommand(InvalidMessage):
    """A command refused at the boundary before any effect.

    ``command`` names the command; ``errors`` lists one dict per problem (``loc``, ``msg``, ``type``), the
    shape pydantic uses, so a gateway can show each field's problem.
    """

    def __init__(self, command: str, errors: list[dict[str, object]]) -> None:
        shown = "; ".join(f"{_where(e.get('loc'))}: {e.get('msg')}" for e in errors)
        super().__init__(f"command {command!r} is not valid: {shown}; fix the fields named and resend")
        self.command = command
        self.errors = errors


def _where(loc: object) -> str:
    if isinstance(loc, (list, tuple)) and loc:
        return ".".join(str(part) for part in loc)
    return "(command)"


class UnknownCommand(ValidationError):
    """No service handles this command name or class."""


class InvalidPosition(ValidationError):
    """A position or checkpoint cannot be parsed, or points at no stored event."""


class InvalidTopology(ValidationError):
    """Rapids, rivers or ponds declared inconsistently (bad names, unknown river, duplicates)."""


class UnknownEventType(RiverbedError):
    """An event type name has no registered class or upcaster."""

    def __init__(self, type_name: str, *, stream: str | None = None) -> None:
        where = f" in stream {stream!r}" if stream is not None else ""
        super().__init__(
            f"unknown event type {type_name!r}{where}: register a class for it with "
            "@event_type(...) or an upcaster, or declare that the reader ignores it"
        )
        self.type_name = type_name
        self.stream = stream


class DuplicateRegistration(RiverbedError):
    """The same event type name or class was registered twice."""


class EventStoreError(RiverbedError):
    """Base class of event store failures."""


class WrongExpectedVersion(EventStoreError):
    """The stream's version is not the one the append expected. Nothing was persisted.

    ``actual`` is the stream's current version (``None`` when the stream does not exist).
    """

    def __init__(self, stream: str, *, expected: object, actual: int | None) -> None:
        shown = "no stream" if actual is None else str(actual)
        super().__init__(
            f"stream {stream!r}: expected version {expected}, but the stream is at {shown}; "
            "reload the stream, decide again and retry"
        )
        self.stream = stream
        self.expected = expected
        self.actual = actual


class DuplicateEventId(EventStoreError):
    """An event id in the append is already stored at another place. Nothing was persisted."""

    def __init__(self, event_id: str, *, stream: str, stored_stream: str, stored_version: int) -> None:
        super().__init__(
            f"event id {event_id!r} appended to {stream!r} is already stored in {stored_stream!r} at "
            f"version {stored_version}; give the new event a fresh id"
        )
        self.event_id = event_id
        self.stream = stream
        self.stored_stream = stored_stream
        self.stored_version = stored_version


class StoreClosed(EventStoreError):
    """The store is closed; open it again to use it."""


class StoreFailed(EventStoreError):
    """A write or sync failed; the store refuses writes until it is reopened (fail-stop)."""


class StoreCorrupted(EventStoreError):
    """The store's integrity check failed on open."""


class SchemaVersionMismatch(EventStoreError):
    """The store's schema was written by a newer riverbed than this one."""


class BusError(RiverbedError):
    """Base class of bus failures (rapids, rivers, ponds, parking, envelopes)."""


class TopologyDrift(BusError):
    """The broker holds a topology that cannot be reconciled with the declared one; nothing was changed.

    ``drift`` lists each difference as text.
    """

    def __init__(self, message: str, *, drift: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.drift = drift


class BusClosed(BusError):
    """The bus is closed; open it again to use it."""


class BusUnavailable(BusError):
    """The broker cannot be reached, or it did not accept a publish; retry later."""


class UnknownPond(BusError):
    """A pond or river name that the declared topology does not contain."""


class ParkedMessageNotFound(BusError):
    """No parked message has the given id (it may have been replayed or dropped)."""


class DeliveryFailed(BusError):
    """A delivery to an outside consumer (a webhook) failed for good, after its retries.

    ``status`` is the last HTTP status (``None`` when no response came back).
    """

    def __init__(self, message: str, *, status: int | None = None, attempts: int = 0) -> None:
        super().__init__(message)
        self.status = status
        self.attempts = attempts


class ServiceUnavailable(RiverbedError):
    """A retryable refusal: the target cannot serve right now.

    ``retry_after`` is a hint in seconds.
    """

    def __init__(self, message: str, *, retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class StoreUnavailable(EventStoreError, ServiceUnavailable):
    """The store's server cannot be reached right now (connection lost, server restarting).

    Retry the same call: appends are idempotent by event id, so retrying an append whose outcome was
    unknown never stores it twice.
    """


class ServiceStarting(ServiceUnavailable):
    """The service has not begun serving; retry shortly."""


class ServiceReplaying(ServiceUnavailable):
    """The service is replaying what it must fold before deciding; retry after ``retry_after`` seconds.

    ``events_done`` is how many events it has folded so far and ``events_behind`` how many remain (an
    estimate while the store keeps growing).
    """

    def __init__(
        self, service: str, *, events_done: int, events_behind: int, retry_after: float = 1.0
    ) -> None:
        super().__init__(
            f"service {service!r} is replaying ({events_done} events done, {events_behind} behind); "
            f"retry in {retry_after:g}s",
            retry_after=retry_after,
        )
        self.service = service
        self.events_done = events_done
        self.events_behind = events_behind


class ServiceDraining(ServiceUnavailable):
    """The service is draining or stopped: it finishes in-flight commands and refuses new ones."""


class UpstreamUnavailable(ServiceUnavailable):
    """The gateway will not call ``service`` now: it is down, replaying, draining or its circuit is open.

    ``state`` is the service's state as the gateway's health table knows it; ``progress`` carries replay
    progress (events done, events behind) when the service is replaying.
    """

    def __init__(
        self,
        service: str,
        *,
        state: str,
        retry_after: float = 1.0,
        progress: dict[str, object] | None = None,
        reason: str | None = None,
    ) -> None:
        why = f": {reason}" if reason else ""
        super().__init__(
            f"service {service!r} is {state}{why}; retry after {retry_after:g} s", retry_after=retry_after
        )
        self.service = service
        self.state = state
        self.progress = progress
        self.reason = reason


class NotFound(RiverbedError, LookupError):
    """No such service, command, view or view row."""


class RequestRefused(RiverbedError):
    """The gateway refused an HTTP request before it had any effect."""


class AuthenticationFailed(RequestRefused):
    """The request carries no credentials, or credentials that are malformed, expired or unknown."""


class RequestTooLarge(RequestRefused):
    """The request body is larger than the configured limit (``limit`` bytes)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the request body is larger than the limit of {limit} bytes; send a smaller body")
        self.limit = limit


class MalformedRequest(RequestRefused):
    """The request is not well-formed: not JSON, nested too deep, a bad header or query parameter."""


class RateLimited(RequestRefused):
    """The client sent more requests than its rate allows; ``retry_after`` says when to try again."""

    def __init__(self, client: str, *, retry_after: float) -> None:
        super().__init__(f"too many requests from {client!r}; retry after {retry_after:.3g} s")
        self.client = client
        self.retry_after = retry_after


class UnknownView(NotFound):
    """No view is registered (or built) under the name a query asked for."""

    def __init__(self, view: str, *, known: tuple[str, ...] = ()) -> None:
        listed = ", ".join(known) if known else "none"
        super().__init__(f"no view named {view!r}; registered views: {listed}")
        self.view = view


class ViewConflict(RiverbedError):
    """A view batch expected the slot at one checkpoint, but another writer had moved it; nothing was written.

    Two writers on one slot would otherwise fold the same events twice; the loser re-reads the slot and
    goes on from where the winner left it.
    """


class ProjectionError(RiverbedError):
    """A projection cannot go on: it stops (others keep running) until fixed or the event is skipped."""

    def __init__(self, message: str, *, projection: str, position: str) -> None:
        super().__init__(message)
        self.projection = projection
        self.position = position


class ProjectionFailed(ProjectionError):
    """A projection handler raised on the event at ``position`` (a checkpoint string)."""


class ProjectionGap(ProjectionError):
    """An event is not the next version of its stream for this projection: applying it would skip one."""


class ViewReplaying(ServiceUnavailable):
    """A pre-loaded view is still replaying its events and cannot answer yet; retry shortly."""


class ViewBehind(ServiceUnavailable):
    """A view replica has not reached the position a read asked for within the wait allowed.

    ``position`` is where the replica is, ``wanted`` what the read asked for, ``behind`` the difference in
    global positions.
    """

    def __init__(self, message: str, *, position: str, wanted: str, behind: int, retry_after: float = 0.5):
        super().__init__(message, retry_after=retry_after)
        self.position = position
        self.wanted = wanted
        self.behind = behind
