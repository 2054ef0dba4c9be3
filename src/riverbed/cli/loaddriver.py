"""The HTTP half of ``riverbed load``: send a system's commands through its gateway and count what came back.

Commands go over one ``httpx.AsyncClient`` (keep-alive, ``concurrency`` connections), either closed loop
(``concurrency`` workers, each sending its next command as soon as the last is answered) or at a fixed
rate (a command every ``1/rate`` s, at most ``concurrency`` in flight). A 503 (a service replaying or down)
or 429 (flooding) is retried after its ``Retry-After`` and counted, never reported as a result; the
latency recorded is the one of the attempt that got the final answer, from sending to the whole response.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from riverbed.runtime.system import CommandSource, LoadCommand

RETRY_FOR_SECONDS = 60.0
"""How long one command is retried on 503/429 before it counts as failed (a service that never returns)."""
MAX_RETRY_AFTER = 5.0
"""The longest wait honoured from a ``Retry-After`` header."""
KEPT_ERRORS = 10
"""Distinct error messages kept for the report (the counts cover them all)."""


class NoAnswer(Exception):
    """No set-up command got an answer: nothing listens at the gateway URL (internal to ``riverbed load``)."""


@dataclass
class Tally:
    """What came back: counts per outcome and per kind, the latencies, and a few error messages."""

    ok: int = 0
    refused: int = 0
    failed: int = 0
    retries_503: int = 0
    retries_429: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    kinds: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def sent(self) -> int:
        """Commands with a final answer (or a final failure)."""
        return self.ok + self.refused + self.failed

    def note_error(self, message: str) -> None:
        """Keep ``message`` (up to :data:`KEPT_ERRORS` distinct ones; the rest are only counted)."""
        if message in self.errors or len(self.errors) < KEPT_ERRORS:
            self.errors[message] += 1


def percentile(samples: Sequence[float], pct: float) -> float:
    """The ``pct`` percentile of ``samples`` by nearest rank (0.0 for no samples)."""
    if not samples:
        return 0.0
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))]


class _Rate(ProgressColumn):
    """Commands per second over the last few seconds (rich's own sliding window)."""

    def render(self, task: Task) -> Text:
        speed = task.speed or 0.0
        return Text(f"{speed:,.0f} cmd/s", style="progress.data.speed")


class Driver:
    """Sends :class:`LoadCommand` s as their tenants' keys and keeps the :class:`Tally`."""

    def __init__(
        self, client: httpx.AsyncClient, keys: Mapping[str, str], *, console: Console | None = None
    ) -> None:
        self.client = client
        self.keys = dict(keys)
        self.tally = Tally()
        self.console = console or Console(stderr=True)

    async def send(self, command: LoadCommand) -> int:
        """POST ``command``, retrying 503/429 after Retry-After; returns the final status (0: no answer)."""
        path = f"/commands/{command.service}/{command.command}"
        headers = {"X-Api-Key": self.keys[command.tenant]}
        give_up = time.monotonic() + RETRY_FOR_SECONDS
        tally = self.tally
        while True:
            started = time.perf_counter()
            try:
                response = await self.client.post(path, json=dict(command.body), headers=headers)
            except httpx.HTTPError as exc:
                tally.failed += 1
                tally.note_error(f"{command.command}: no answer ({type(exc).__name__}: {exc})")
                return 0
            elapsed_ms = (time.perf_counter() - started) * 1000
            status = response.status_code
            if status in (429, 503) and time.monotonic() < give_up:
                if status == 503:
                    tally.retries_503 += 1
                else:
                    tally.retries_429 += 1
                await asyncio.sleep(_retry_after(response))
                continue
            tally.latencies_ms.append(elapsed_ms)
            tally.kinds[command.kind] += 1
            if 200 <= status < 300:
                tally.ok += 1
            elif 400 <= status < 500:
                tally.refused += 1
                tally.note_error(f"{command.command} refused {status}: {_detail(response)}")
            else:
                tally.failed += 1
                tally.note_error(f"{command.command} failed {status}: {_detail(response)}")
            return status

    async def run(
        self,
        source: CommandSource,
        next_kind: Callable[[], str],
        *,
        commands: int | None,
        duration: float | None,
        concurrency: int,
        rate: float | None,
    ) -> None:
        """Set-up first (every command answered), then the mix until ``commands`` or ``duration`` is done.

        Raises :class:`NoAnswer` when no set-up command got any answer (the gateway is not there).
        """
        started = time.perf_counter()
        setup = list(source.setup())
        progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            _Rate(),
            TimeElapsedColumn(),
            console=self.console,
        )
        with progress:
            task = progress.add_task("set-up", total=len(setup))
            pending = iter(setup)
            await self._closed_loop(
                source, lambda: next(pending, None), concurrency, lambda: progress.advance(task)
            )
            if setup and self.tally.failed == self.tally.sent:
                raise NoAnswer(next(iter(self.tally.errors), "no answer"))
            mix = progress.add_task("load", total=commands)
            deadline = time.perf_counter() + duration if duration is not None else None
            issued = 0

            def take() -> LoadCommand | None:
                nonlocal issued
                if (commands is not None and issued >= commands) or (
                    deadline is not None and time.perf_counter() >= deadline
                ):
                    return None
                issued += 1
                return source.next(next_kind())

            def advance() -> None:
                progress.advance(mix)

            if rate is None:
                await self._closed_loop(source, take, concurrency, advance)
            else:
                await self._fixed_rate(source, take, concurrency, rate, advance)
        self.tally.seconds = time.perf_counter() - started

    async def _one(self, source: CommandSource, command: LoadCommand, advance: Callable[[], None]) -> None:
        status = await self.send(command)
        source.answered(command, status)
        advance()

    async def _closed_loop(
        self,
        source: CommandSource,
        take: Callable[[], LoadCommand | None],
        concurrency: int,
        advance: Callable[[], None],
    ) -> None:
        async def worker() -> None:
            while (command := take()) is not None:
                await self._one(source, command, advance)

        await asyncio.gather(*(worker() for _ in range(concurrency)))

    async def _fixed_rate(
        self,
        source: CommandSource,
        take: Callable[[], LoadCommand | None],
        concurrency: int,
        rate: float,
        advance: Callable[[], None],
    ) -> None:
        slots = asyncio.Semaphore(concurrency)
        running: set[asyncio.Task[None]] = set()
        start = time.perf_counter()
        n = 0
        while True:
            delay = start + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            await slots.acquire()
            command = take()
            if command is None:
                slots.release()
                break
            n += 1
            job = asyncio.create_task(self._one(source, command, advance))
            running.add(job)

            def done(finished: asyncio.Task[None]) -> None:
                running.discard(finished)
                slots.release()

            job.add_done_callback(done)
        await asyncio.gather(*running)


def weighted_kinds(weights: Mapping[str, int], rng: random.Random) -> Callable[[], str]:
    """A picker of mix kinds by weight (kinds of weight 0 are never picked)."""
    kinds = [kind for kind, weight in weights.items() if weight > 0]
    cumulative = [weights[kind] for kind in kinds]
    return lambda: rng.choices(kinds, weights=cumulative)[0]


def _retry_after(response: httpx.Response) -> float:
    try:
        seconds = float(response.headers.get("retry-after", "1"))
    except ValueError:
        seconds = 1.0
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def _detail(response: httpx.Response) -> str:
    try:
        body: Any = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict):
        return str(body.get("detail") or body.get("title") or body)[:300]
    return str(body)[:300]
