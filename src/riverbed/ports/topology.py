"""The bus topology as data: one rapids, rivers filtered out of it, and ponds (durable consumers) on rivers.

Producers publish only to the rapids. A river selects events from the rapids by CloudEvent ``type``,
``source`` and ``subject``; a pond is a durable consumer of one river with its own concurrency, per-stream
ordering and retry policy. Bus adapters turn a :class:`Topology` into broker objects and reconcile it at
start-up (see :mod:`riverbed.runtime.topology`); these value types never talk to a broker.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from riverbed.cloudevents.event import CloudEvent
from riverbed.errors import InvalidTopology

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,200}$")
_PREFIX = re.compile(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$")


def _check_name(kind: str, name: object) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidTopology(
            f"{kind} name {name!r} must be 1-200 characters of letters, digits, '_' or '-' "
            "(it becomes a broker stream or consumer name)"
        )
    return name


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """Exponential backoff with jitter, then parking after ``max_deliveries`` deliveries.

    The delay before delivery ``n + 1`` (after ``n`` failed ones) is
    ``min(max_delay, initial_delay * multiplier ** (n - 1))``, spread by ``± jitter`` (a fraction) so that
    many failing consumers do not retry in lock-step.
    """

    max_deliveries: int = 5
    initial_delay: float = 0.5
    multiplier: float = 2.0
    max_delay: float = 60.0
    jitter: float = 0.2

    def __post_init__(self) -> None:
        if self.max_deliveries < 1:
            raise InvalidTopology(f"max_deliveries must be at least 1, got {self.max_deliveries}")
        if self.initial_delay < 0 or self.max_delay < 0 or self.multiplier < 1:
            raise InvalidTopology(
                "retry delays must be >= 0 and the multiplier >= 1, got "
                f"initial_delay={self.initial_delay}, max_delay={self.max_delay}, "
                f"multiplier={self.multiplier}"
            )
        if not 0 <= self.jitter <= 1:
            raise InvalidTopology(f"jitter is a fraction between 0 and 1, got {self.jitter}")

    def delay(self, failed_deliveries: int, random: Callable[[], float]) -> float:
        """Seconds to wait after ``failed_deliveries`` failures (``random()`` is in [0, 1))."""
        exponent = max(0, failed_deliveries - 1)
        base = min(self.max_delay, self.initial_delay * self.multiplier**exponent)
        spread = base * self.jitter * (2 * random() - 1)
        return max(0.0, min(self.max_delay, base + spread))


@dataclass(frozen=True, slots=True, kw_only=True)
class Rapids:
    """The one hub stream every event passes through.

    ``name`` is the broker stream name; ``subject_prefix`` starts every subject (``rapids.<source>.<type>``
    on NATS). ``duplicate_window`` is how long (seconds) the broker drops a re-published CloudEvent id.
    """

    name: str = "RAPIDS"
    subject_prefix: str = "rapids"
    duplicate_window: float = 120.0

    def __post_init__(self) -> None:
        _check_name("rapids", self.name)
        if not _PREFIX.match(self.subject_prefix):
            raise InvalidTopology(
                f"subject_prefix {self.subject_prefix!r} must be dot-separated tokens of letters, digits, "
                "'_' or '-'"
            )
        if self.duplicate_window <= 0:
            raise InvalidTopology(f"duplicate_window must be positive, got {self.duplicate_window}")

    @property
    def parked_stream(self) -> str:
        """The name of the stream that holds parked messages of every pond."""
        return f"{self.name}_PARKED"


@dataclass(frozen=True, slots=True, kw_only=True)
class River:
    """A topic bus filtered out of the rapids.

    Each filter is a tuple of accepted values; an empty tuple accepts everything. ``types`` and ``sources``
    match exactly (so a broker can filter them itself); ``subjects`` match exactly, or by prefix when the
    value ends with ``*`` (``"account-*"``).
    """

    name: str
    types: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    subjects: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_name("river", self.name)
        for kind, values in (("types", self.types), ("sources", self.sources), ("subjects", self.subjects)):
            if not isinstance(values, tuple) or not all(isinstance(v, str) and v for v in values):
                raise InvalidTopology(
                    f"river {self.name!r}: {kind} must be a tuple of non-empty strings, got {values!r}"
                )

    def matches(self, event: CloudEvent) -> bool:
        """Whether the river carries ``event``."""
        if self.types and event.type not in self.types:
            return False
        if self.sources and event.source not in self.sources:
            return False
        if self.subjects:
            subject = event.subject or ""
            return any(
                subject.startswith(pattern[:-1]) if pattern.endswith("*") else subject == pattern
                for pattern in self.subjects
            )
        return True


@dataclass(frozen=True, slots=True, kw_only=True)
class Pond:
    """A durable consumer of one river.

    ``concurrency`` is how many events its worker handles at once. ``ordered`` keeps the events of one
    stream (CloudEvent ``subject``) in order: they are handled one after another, never concurrently.
    ``ack_wait`` (seconds) is how long a delivery may stay unacknowledged before the bus redelivers it.
    """

    name: str
    river: str
    concurrency: int = 1
    ordered: bool = True
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    ack_wait: float = 30.0

    def __post_init__(self) -> None:
        _check_name("pond", self.name)
        _check_name("river", self.river)
        if self.concurrency < 1:
            raise InvalidTopology(f"pond {self.name!r}: concurrency must be at least 1")
        if self.ack_wait <= 0:
            raise InvalidTopology(f"pond {self.name!r}: ack_wait must be positive, got {self.ack_wait}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Topology:
    """Rapids, rivers and ponds, checked for consistency when built."""

    rapids: Rapids = field(default_factory=Rapids)
    rivers: tuple[River, ...] = ()
    ponds: tuple[Pond, ...] = ()

    def __post_init__(self) -> None:
        _unique("river", (r.name for r in self.rivers))
        _unique("pond", (p.name for p in self.ponds))
        names = {r.name for r in self.rivers}
        for pond in self.ponds:
            if pond.river not in names:
                raise InvalidTopology(
                    f"pond {pond.name!r} consumes river {pond.river!r}, which the topology does not declare "
                    f"(rivers: {sorted(names)})"
                )
        taken = {self.rapids.name, self.rapids.parked_stream}
        for river in self.rivers:
            if river.name in taken:
                raise InvalidTopology(f"river {river.name!r} clashes with the rapids' own stream names")

    def river(self, name: str) -> River:
        """The river called ``name``; raises InvalidTopology when there is none."""
        for river in self.rivers:
            if river.name == name:
                return river
        raise InvalidTopology(f"no river {name!r} in the topology")

    def pond(self, name: str) -> Pond:
        """The pond called ``name``; raises InvalidTopology when there is none."""
        for pond in self.ponds:
            if pond.name == name:
                return pond
        raise InvalidTopology(f"no pond {name!r} in the topology")


def _unique(kind: str, names: Iterable[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise InvalidTopology(f"{kind} {name!r} is declared twice")
        seen.add(name)
