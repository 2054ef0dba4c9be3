"""Sample projections, events and back-ends shared by the view tests and the crash-test worker."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, cast

from pydantic import BaseModel

from riverbed.application.projections import Projection, handles
from riverbed.bootstrap import open_store, open_view_store
from riverbed.cloudevents import CloudEvent
from riverbed.ports.event_store import AppendResult, EventStore, RecordedEvent
from riverbed.ports.views import Row, ViewBatch, ViewRows, ViewStore

OPENED = "test.account.opened.v1"
DEPOSITED = "test.account.deposited.v1"
WITHDRAWN = "test.account.withdrawn.v1"
CLOSED = "test.account.closed.v1"
NOTED = "test.account.noted.v1"
"""An event type no sample projection handles."""


class Balance(BaseModel):
    """One account's balance."""

    account: str
    city: str
    balance: int
    movements: int


class Balances(Projection):
    name = "balances"
    version = 1
    model = Balance
    streams = ("account-",)

    def key(self, record: RecordedEvent) -> str | None:
        return str(record.event.data["account"])

    @handles(OPENED)
    def opened(self, row: Row | None, record: RecordedEvent) -> Row | None:
        data = record.event.data
        return {"account": data["account"], "city": data.get("city", "Leeds"), "balance": 0, "movements": 0}

    @handles(DEPOSITED, WITHDRAWN)
    def moved(self, row: Row | None, record: RecordedEvent) -> Row | None:
        assert row is not None, f"{record.event.type} before the account was opened"
        sign = 1 if record.event.type == DEPOSITED else -1
        row["balance"] += sign * int(record.event.data["amount"])
        row["movements"] += 1
        return row

    @handles(CLOSED)
    def closed(self, row: Row | None, record: RecordedEvent) -> Row | None:
        return None


class Counter(Projection):
    """Counts every account event it sees: equals the number of such events exactly."""

    name = "counter"
    version = 1

    def key(self, record: RecordedEvent) -> str | None:
        return "all"

    @handles(OPENED, DEPOSITED, WITHDRAWN, CLOSED, NOTED)
    def count(self, row: Row | None, record: RecordedEvent) -> Row | None:
        row = row or {"count": 0, "last": 0}
        row["count"] += 1
        assert record.position > row["last"], "counter saw an event twice or out of order"
        row["last"] = record.position
        return row


def event(kind: str, account: str, **data: object) -> CloudEvent:
    """A test account event."""
    return CloudEvent(
        source="/test/bank",
        type=kind,
        time=datetime(2026, 1, 1, tzinfo=UTC),
        data={"account": account, **data},
    )


async def open_account(store: EventStore, account: str, *, city: str = "Leeds") -> AppendResult:
    """Append an 'opened' event to a new account stream."""
    return await store.append(f"account-{account}", [event(OPENED, account, city=city)])


async def deposit(store: EventStore, account: str, amount: int) -> AppendResult:
    """Append a deposit."""
    return await store.append(f"account-{account}", [event(DEPOSITED, account, amount=amount)])


async def fill(store: EventStore, *, accounts: int, events: int, batch: int = 50) -> int:
    """Open ``accounts`` accounts and append deposits/withdrawals until ``events`` events are stored."""
    written = 0
    for a in range(accounts):
        await open_account(store, f"a{a}", city=("Leeds", "Manchester")[a % 2])
        written += 1
    i = 0
    while written < events:
        account = f"a{i % accounts}"
        size = min(batch, events - written)
        items = [
            event(DEPOSITED if (i + j) % 3 else WITHDRAWN, account, amount=(i + j) % 7 + 1)
            for j in range(size)
        ]
        await store.append(f"account-{account}", items)
        written += size
        i += 1
    return written


async def view_hash(rows: ViewRows, slot: str) -> str:
    """A hash of every row of a slot (key order, canonical JSON): equal hashes mean equal views."""
    digest = hashlib.sha256()
    async for key, row in rows.rows(slot):
        digest.update(key.encode())
        digest.update(json.dumps(row, sort_keys=True).encode())
    return digest.hexdigest()


async def active_slot(views: ViewStore, name: str) -> str:
    """The active slot of ``name`` (fails the test when there is none)."""
    active = [s.slot for s in await views.slots(name) if s.active]
    assert len(active) == 1, f"expected one active slot of {name}, got {active}"
    return active[0]


@asynccontextmanager
async def backend(
    kind: str, *, tmp: str, pg_url: str | None = None
) -> AsyncIterator[tuple[EventStore, ViewStore]]:
    """An event store and a view store of one kind: memory, sqlite or postgres."""
    if kind == "memory":
        store_url, views_url = "memory://", "memory://"
    elif kind == "sqlite":
        store_url, views_url = f"sqlite:///{tmp}/events.db", f"sqlite:///{tmp}/views.db"
    else:
        assert pg_url is not None
        store_url, views_url = pg_url, pg_url
    async with open_store(store_url) as store, open_view_store(views_url) as views:
        yield store, views


def names(items: Sequence[Projection]) -> list[str]:
    """Projection names (for messages)."""
    return [p.name for p in items]


async def eventually(check: Callable[[], Awaitable[bool]], *, within: float = 20.0) -> None:
    """Wait until ``check()`` is true (fails the test after ``within`` seconds)."""
    async with asyncio.timeout(within):
        while not await check():  # noqa: ASYNC110 - polling another component's state is the point
            await asyncio.sleep(0.01)


class CountingViews:
    """A view store that counts commits (delegates everything to the wrapped store)."""

    def __init__(self, inner: ViewStore) -> None:
        self.inner = inner
        self.commits = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def commit(self, slot: str, batch: ViewBatch) -> None:
        self.commits += 1
        await self.inner.commit(slot, batch)

    def as_store(self) -> ViewStore:
        return cast(ViewStore, self)


class GatedViews(CountingViews):
    """Holds commits to slots whose name starts with ``prefix`` until :attr:`gate` is set."""

    def __init__(self, inner: ViewStore, prefix: str) -> None:
        super().__init__(inner)
        self.prefix = prefix
        self.gate = asyncio.Event()
        self.held = asyncio.Event()

    async def commit(self, slot: str, batch: ViewBatch) -> None:
        if slot.startswith(self.prefix) and not self.gate.is_set():
            self.held.set()
            await self.gate.wait()
        await super().commit(slot, batch)


def projections() -> list[Projection]:
    """The sample projections, for ``--projections tests.integration.views.samples:projections``."""
    return [Balances(), Counter()]
