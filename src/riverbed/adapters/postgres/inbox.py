"""The PostgreSQL inbox: a consumer's effects and its handled key commit in one transaction.

An effect is ``async def effect(conn: psycopg.AsyncConnection) -> None`` that writes through ``conn``
inside the transaction that also inserts ``(consumer, source, id)`` into ``riverbed_inbox``. Two
deliveries of the same event racing on two connections serialise on the primary key: the second waits
for the first to commit, finds the key and has no effect. ``synchronous_commit`` stays on, so a handled
event is durable when ``handle`` returns.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from riverbed.cloudevents.event import CloudEvent
from riverbed.errors import StoreClosed, StoreFailed

PostgresEffect = Callable[[psycopg.AsyncConnection[Any]], Awaitable[None]]
"""An effect on the PostgreSQL inbox: it writes through the connection it is given, in the transaction."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS riverbed_inbox (
    consumer   text        NOT NULL,
    source     text        NOT NULL,
    id         text        NOT NULL,
    handled_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, source, id)
)
"""


class PostgresInbox:
    """An inbox in a PostgreSQL database (the consumer's own schema), over a small connection pool."""

    def __init__(self, url: str, *, consumer: str, connections: int = 4) -> None:
        self.url = url
        self.consumer = consumer
        self._pool = AsyncConnectionPool(url, min_size=1, max_size=connections, open=False)
        self._opened = False
        self._closed = False

    async def open(self) -> PostgresInbox:
        """Open the pool and create the inbox table if it is missing."""
        try:
            await self._pool.open(wait=True)
            async with self._pool.connection() as conn:
                await conn.execute(_SCHEMA)
        except psycopg.Error as exc:
            raise StoreFailed(f"cannot open the PostgreSQL inbox at {self.url}: {exc}") from exc
        self._opened = True
        return self

    async def handle(self, event: CloudEvent, effect: PostgresEffect) -> bool:
        """Run ``effect`` and record the event in one transaction; False when already handled."""
        self._check_open()
        async with self._pool.connection() as conn, conn.transaction():
            cursor = await conn.execute(
                "INSERT INTO riverbed_inbox (consumer, source, id) VALUES (%s, %s, %s) "
                "ON CONFLICT DO NOTHING",
                (self.consumer, event.source, event.id),
            )
            if cursor.rowcount == 0:
                return False
            await effect(conn)
        return True

    async def seen(self, event: CloudEvent) -> bool:
        """Whether the event was handled by this consumer."""
        self._check_open()
        async with self._pool.connection() as conn:
            cursor = await conn.execute(
                "SELECT 1 FROM riverbed_inbox WHERE consumer = %s AND source = %s AND id = %s",
                (self.consumer, event.source, event.id),
            )
            return await cursor.fetchone() is not None

    async def close(self) -> None:
        """Close the pool."""
        self._closed = True
        await self._pool.close()

    def _check_open(self) -> None:
        if self._closed or not self._opened:
            raise StoreClosed(f"the PostgreSQL inbox at {self.url} is not open; call await inbox.open()")
