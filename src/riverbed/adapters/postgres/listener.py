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
            await asyncio.wait_for(self._changed.wait(), seconds)


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
