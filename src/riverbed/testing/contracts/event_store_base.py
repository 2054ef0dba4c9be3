"""What every part of the event store contract shares: the adapter's hooks, fixtures and helpers."""

from __future__ import annotations

import asyncio
import itertools
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
import pytest_asyncio

from riverbed.cloudevents.event import CloudEvent
from riverbed.ports.event_store import After, EventStore, RecordedEvent

LIVE_TIMEOUT = 30.0
"""How long a subscription may take to deliver an event before the contract calls it stuck.

Generous on purpose: it proves liveness on a loaded CI machine, it does not measure speed.
"""

_counter = itertools.count()


def make_event(n: int = 0, **changes: Any) -> CloudEvent:
    """A small valid CloudEvent for contract tests; ``changes`` override any attribute."""
    fields: dict[str, Any] = {
        "source": "/riverbed/contract",
        "type": "contract.thing-happened.v1",
        "id": f"evt-{next(_counter)}-{n}",
        "data": {"n": n},
    }
    fields.update(changes)
    return CloudEvent(**fields)


def make_events(count: int, **changes: Any) -> list[CloudEvent]:
    """``count`` distinct events."""
    return [make_event(n, **changes) for n in range(count)]


async def collect(records: AsyncIterator[RecordedEvent]) -> list[RecordedEvent]:
    """Everything a finite read yields."""
    return [rec async for rec in records]


async def take(subscription: AsyncIterator[RecordedEvent], count: int) -> list[RecordedEvent]:
    """The next ``count`` records of a subscription, failing the test if they do not come in time."""
    out: list[RecordedEvent] = []
    if count == 0:
        return out
    async with asyncio.timeout(LIVE_TIMEOUT):
        while len(out) < count:
            out.append(await anext(subscription))
    return out


async def close_subscription(subscription: AsyncIterator[RecordedEvent]) -> None:
    """Close an async-generator subscription (releases its reader at once)."""
    aclose = getattr(subscription, "aclose", None)
    if aclose is not None:
        await aclose()


class EventStoreContractBase:
    """The hooks an adapter provides, and the fixtures built on them.

    Subclass :class:`~riverbed.testing.contracts.EventStoreContract` (not this class) in a test module and
    provide:

    * ``async def open_store(self) -> EventStore``: open (creating if needed) the store of the running
      test, ready to use. ``self.tmp_path`` is a fresh directory per test; use it for files. For a durable
      store, calling it again after ``close()`` must open the **same** store, with its data.
    * ``durable = True`` for a store whose data survives close and reopen (SQLite, PostgreSQL). The
      durability tests and the state machine's reopen rule run only then.

    Optionally override:

    * ``async def fresh_store(self) -> EventStore``: open a new, empty store distinct from every store
      opened earlier in the test. The state machine calls it once per example. The default points
      ``self.tmp_path`` at a new sub-directory and calls ``open_store``; a store that lives elsewhere
      (a PostgreSQL schema named after an attribute, say) overrides it.
    * ``model_examples``/``model_steps``: the size of the state machine run (keep the test budget).
    """

    durable: ClassVar[bool] = False
    model_examples: ClassVar[int] = 50
    model_steps: ClassVar[int] = 30
    tmp_path: Path

    _opened: list[EventStore]
    _base_tmp_path: Path

    @pytest.fixture(autouse=True)
    def _contract_paths(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self._base_tmp_path = tmp_path
        self._opened = []

    async def open_store(self) -> EventStore:
        """Open the store under test; see the class docstring."""
        raise NotImplementedError(f"{type(self).__name__} must implement async def open_store(self)")

    async def fresh_store(self) -> EventStore:
        """Open a new, empty store; see the class docstring."""
        self.tmp_path = Path(tempfile.mkdtemp(dir=self._base_tmp_path))
        return await self.open_store()

    async def opened(self) -> EventStore:
        """``open_store`` plus bookkeeping so the fixture closes it at the end of the test."""
        store = await self.open_store()
        self._opened.append(store)
        return store

    async def reopen(self, store: EventStore) -> EventStore:
        """Close ``store`` and open it again (durable stores only)."""
        if not self.durable:
            raise AssertionError("reopen() is only meaningful for durable stores")
        await store.close()
        return await self.opened()

    def require_durable(self) -> None:
        """Skip a test that needs data to survive a reopen."""
        if not self.durable:
            pytest.skip(f"{type(self).__name__} is not durable (durable = False)")

    @pytest_asyncio.fixture
    async def store(self) -> AsyncIterator[EventStore]:
        """The adapter's store, opened for the test and closed after it."""
        store = await self.opened()
        try:
            yield store
        finally:
            for opened in self._opened:
                await opened.close()

    @staticmethod
    async def read_stream(store: EventStore, stream: str, **options: Any) -> list[RecordedEvent]:
        """A whole (or a selected part of a) stream."""
        return await collect(store.read(stream, **options))

    @staticmethod
    async def read_everything(store: EventStore, after: After = None, **options: Any) -> list[RecordedEvent]:
        """The global log after ``after``."""
        return await collect(store.read_all(after=after, **options))

    @staticmethod
    def ids(records: list[RecordedEvent]) -> list[str]:
        """The event ids of ``records`` in order."""
        return [rec.event.id for rec in records]
