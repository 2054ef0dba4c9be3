"""The inbox port: a consumer's effects and "this CloudEvent was handled" commit in one transaction.

Buses deliver at least once, and a relay may publish an event again after a crash, so every consumer with
effects is idempotent through an inbox keyed by the CloudEvent ``source`` + ``id`` (per consumer name).
``handle`` runs the effect and records the key in the same transaction: either both are committed or
neither is, so a duplicate delivery finds the key and has no effect, and a crash mid-way leaves no half.

The effect's type depends on the adapter (the transaction it writes through): a ``sqlite3.Connection`` on
SQLite, an ``AsyncConnection`` on PostgreSQL, a staged ``dict`` in memory. A closed inbox raises
:class:`~riverbed.errors.StoreClosed`.
"""

from __future__ import annotations

from typing import Protocol, TypeVar, runtime_checkable

from riverbed.cloudevents.event import CloudEvent

EffectT_contra = TypeVar("EffectT_contra", contravariant=True)


@runtime_checkable
class Inbox(Protocol[EffectT_contra]):
    """Run effects at most once per CloudEvent ``source`` + ``id``."""

    async def handle(self, event: CloudEvent, effect: EffectT_contra) -> bool:
        """Run ``effect`` and record the event in one transaction.

        Returns False, running nothing, when the event was already handled. If the effect raises, nothing
        is recorded and the exception propagates (the bus will redeliver).
        """
        ...

    async def seen(self, event: CloudEvent) -> bool:
        """Whether the event was handled already."""
        ...

    async def close(self) -> None:
        """Release the connection; further calls raise StoreClosed."""
        ...
