"""Projections: declare the event types you handle and fold them into view rows keyed by something.

A projection is a class with a ``name``, a ``version`` and handler methods marked with :func:`handles`::

    class Balances(Projection):
        name = "balances"
        version = 1
        model = Balance                      # the pydantic model queries return (optional)

        def key(self, record: RecordedEvent) -> str | None:
            return record.event.data["account_id"]

        @handles("bank.account.opened.v1")
        def opened(self, row: Row | None, record: RecordedEvent) -> Row | None:
            return {"account_id": record.event.data["account_id"], "balance": 0}

A handler receives the row currently stored under the event's key (``None`` when there is none) and
returns the new row, or ``None`` to delete it. Handlers must be deterministic: a rebuild folds the same
events again and must reach the same rows. Bump ``version`` whenever the fold changes; the runner then
rebuilds the view side by side and cuts over (views are rebuilt, never migrated).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, TypeAlias

from pydantic import BaseModel

from riverbed.errors import ValidationError
from riverbed.ports.event_store import RecordedEvent
from riverbed.ports.views import Row

Handler: TypeAlias = Callable[[Any, Row | None, RecordedEvent], Row | None]
_MARK = "__riverbed_handles__"


def handles(*event_types: str) -> Callable[[Handler], Handler]:
    """Mark a projection method as the handler of the CloudEvent types named."""
    if not event_types or not all(isinstance(t, str) and t for t in event_types):
        raise ValidationError(
            "@handles(...) needs one or more event type names, like 'bank.account.opened.v1'"
        )

    def mark(method: Handler) -> Handler:
        setattr(method, _MARK, (*getattr(method, _MARK, ()), *event_types))
        return method

    return mark


class Projection:
    """Base class of keyed projections (see the module docstring)."""

    name: ClassVar[str]
    version: ClassVar[int] = 1
    model: ClassVar[type[BaseModel] | None] = None
    """The pydantic model a query turns a row into; None returns rows as dicts."""
    streams: ClassVar[tuple[str, ...] | None] = None
    """Stream name prefixes this projection follows (and version-gates); None follows every stream."""
    _handlers: ClassVar[dict[str, str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        handlers: dict[str, str] = {}
        for klass in reversed(cls.__mro__):
            for attr, value in vars(klass).items():
                for event_type in getattr(value, _MARK, ()):
                    handlers[event_type] = attr
        cls._handlers = handlers
        if "name" in vars(cls):
            check_projection(cls)

    @property
    def event_types(self) -> frozenset[str]:
        """The CloudEvent types this projection handles."""
        return frozenset(self._handlers)

    def follows(self, stream: str) -> bool:
        """Whether events of ``stream`` pass through this projection (and are version-gated)."""
        return self.streams is None or stream.startswith(self.streams)

    def key(self, record: RecordedEvent) -> str | None:
        """The key of the row ``record`` changes; None ignores the event. Default: the stream name."""
        return record.stream

    def apply(self, row: Row | None, record: RecordedEvent) -> Row | None:
        """Fold one handled event into its row."""
        handler: Callable[[Row | None, RecordedEvent], Row | None] = getattr(
            self, self._handlers[record.event.type]
        )
        return handler(row, record)


def check_projection(cls: type[Projection]) -> None:
    """Refuse a projection class without a usable name, version or handlers, saying what to fix."""
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not name or not all(ch.isalnum() or ch in "-_" for ch in name):
        raise ValidationError(
            f"{cls.__qualname__}.name must be a non-empty name of letters, digits, '-' and '_', got {name!r}"
        )
    version = cls.version
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValidationError(f"{cls.__qualname__}.version must be an integer ≥ 1, got {version!r}")
    if not cls._handlers:
        raise ValidationError(f"{cls.__qualname__} handles no event type; mark methods with @handles(...)")
