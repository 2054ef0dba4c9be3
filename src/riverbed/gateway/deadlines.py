"""Deadlines for upstream calls, enforced by one sweeper instead of a timer per call.

``asyncio.timeout`` schedules and cancels a timer handle for every call, which costs more than the rest
of a fast command's trip through the gateway. Deadlines here are registered in a dict and checked by one
task every ``tick`` seconds: a call that overruns is cancelled at most ``tick`` late and its caller gets
:class:`TimeoutError`, exactly as with ``asyncio.timeout`` (the cancellation is undone with
``Task.uncancel`` so it does not leak).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import TypeVar

Clock = Callable[[], float]
T = TypeVar("T")


class Deadlines:
    """Registry of running calls and their deadlines; :meth:`within` guards one call."""

    def __init__(self, *, tick: float = 0.02, clock: Clock = time.monotonic) -> None:
        self.tick = tick
        self.clock = clock
        self._due: dict[asyncio.Task[object], float] = {}
        self._expired: set[asyncio.Task[object]] = set()
        self._sweeper: asyncio.Task[None] | None = None

    def within(self, seconds: float) -> _Deadline:
        """``async with deadlines.within(2.0): await call()`` raises TimeoutError after about 2 s."""
        return _Deadline(self, seconds)

    async def run(self, seconds: float, call: Awaitable[T]) -> T:
        """``await deadlines.run(2.0, call())``: :meth:`within` in one frame, for the gateway's hot path."""
        task = self._enter(seconds)
        if self._sweeper is None:
            await self.start()
        try:
            result = await call
        except asyncio.CancelledError as exc:
            if self._leave(task):
                raise TimeoutError(f"the call did not finish within {seconds:g} s") from exc
            raise
        except BaseException:
            self._leave(task)
            raise
        self._leave(task)
        return result

    def _enter(self, seconds: float) -> asyncio.Task[object]:
        task = asyncio.current_task()
        assert task is not None, "deadlines guard calls made from a task"
        self._due[task] = self.clock() + seconds
        return task

    def _leave(self, task: asyncio.Task[object]) -> bool:
        """Forget the task's deadline; True when the sweeper cancelled it and no other cancel is pending."""
        self._due.pop(task, None)
        if task in self._expired:
            self._expired.discard(task)
            return task.uncancel() == 0
        return False

    async def start(self) -> None:
        """Start sweeping (done by the app's lifespan; without it, deadlines start the sweeper lazily)."""
        if self._sweeper is None or self._sweeper.done():
            self._sweeper = asyncio.create_task(self._sweep(), name="riverbed-gateway-deadlines")

    async def stop(self) -> None:
        """Stop sweeping."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(self.tick)
            if not self._due:
                continue
            now = self.clock()
            for task, due in list(self._due.items()):
                if now >= due and task not in self._expired:
                    self._expired.add(task)
                    task.cancel()


class _Deadline:
    __slots__ = ("_owner", "_seconds", "_task")

    def __init__(self, owner: Deadlines, seconds: float) -> None:
        self._owner = owner
        self._seconds = seconds

    async def __aenter__(self) -> None:
        owner = self._owner
        self._task = owner._enter(self._seconds)
        if owner._sweeper is None:
            await owner.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._owner._leave(self._task) and exc_type is asyncio.CancelledError:
            raise TimeoutError(f"the call did not finish within {self._seconds:g} s") from exc
