"""LISTEN/NOTIFY as a wake-up call for subscribers, never as a source of events.

One connection per store listens on the store's channel and bumps a generation counter on every
notification; subscribers compare generations to avoid lost wake-ups. When the connection drops the
listener reconnects with backoff and wakes everybody (notifications may have been missed), and
subscribers fall back to polling meanwhile. Correctness never depends on a notification arriving: a
subscriber always re-reads the table.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from psycopg import AsyncConnection, sql

log = logging.getLogger(__name__)


class Wakeup:
    """A generation counter with an awaitable change, shared by a store's subscribers."""

    def __init__(self) -> None:
        self.generation = 0
        self.listening = False
        self._changed = asyncio.Event()

    def wake(self) -> None:
        """Tell every waiter that something may have changed."""
        self.generation += 1
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait(self, seen: int, seconds: float) -> None:
        """Return when the generation differs from ``seen``, or after ``seconds`` seconds."""
        if self.generation != seen:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._changed.wait()


class Listener:
    """The background task that LISTENs on a channel and wakes a :class:`Wakeup`."""

    def __init__(self, conninfo: str, channel: str, wakeup: Wakeup, connect_kwargs: dict[str, Any]) -> None:
        self._conninfo = conninfo
        self._channel = channel
        self._wakeup = wakeup
        self._kwargs = connect_kwargs
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start listening (once)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"riverbed-listen-{self._channel}")

    async def stop(self) -> None:
        """Stop listening and close the connection."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        delay = 0.05
        while True:
            try:
                conn = await AsyncConnection.connect(self._conninfo, autocommit=True, **self._kwargs)
                try:
                    await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._channel)))
                    self._wakeup.listening = True
                    delay = 0.05
                    self._wakeup.wake()  # anything committed while we were not listening
                    async for _ in conn.notifies():
                        self._wakeup.wake()
                finally:
                    self._wakeup.listening = False
                    await conn.close()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the connection dropped: subscribers poll until we are back
                log.warning("riverbed: LISTEN connection lost (%s); retrying in %.2fs", exc, delay)
                self._wakeup.wake()
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)


class Notifier:
    """Sends the store's NOTIFY after appends commit, coalesced, off the appends' critical path.

    A NOTIFY inside the appending transaction would take PostgreSQL's database-wide notify lock at commit
    and hold it through the WAL flush, serialising all appends. Here one connection of its own (with
    ``synchronous_commit = off``: a wake-up is not precious) sends at most one NOTIFY at a time, and
    appends that happen meanwhile share the next one. If the process dies between a commit and its
    NOTIFY, subscribers elsewhere still find the events at their next safety poll.
    """

    def __init__(self, conninfo: str, channel: str, *, min_interval: float = 0.002) -> None:
        self._conninfo = conninfo
        self._channel = channel
        self._min_interval = min_interval
        self._pending = False
        self._task: asyncio.Task[None] | None = None
        self._conn: AsyncConnection[Any] | None = None

    def poke(self) -> None:
        """Ask for a NOTIFY soon (cheap; call after every successful append)."""
        self._pending = True
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._send(), name=f"riverbed-notify-{self._channel}")

    async def _send(self) -> None:
        while self._pending:
            self._pending = False
            try:
                if self._conn is None or self._conn.closed:
                    self._conn = await AsyncConnection.connect(self._conninfo, autocommit=True)
                    await self._conn.execute("SET synchronous_commit = off")
                await self._conn.execute("SELECT pg_notify(%s, '')", [self._channel])
            except Exception as exc:  # a lost wake-up only delays subscribers until their next poll
                log.warning("riverbed: NOTIFY on %s failed (%s)", self._channel, exc)
                await self._drop()
                return
            await asyncio.sleep(self._min_interval)

    async def stop(self) -> None:
        """Send the last wake-up still due (waiting at most a second), then close the connection."""
        task, self._task = self._task, None
        if task is not None and not task.done():
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(task), 1.0)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._drop()

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()
