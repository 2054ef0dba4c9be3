"""Supervise one OS process per role: start them in plan order, restart a crashed one with backoff.

``riverbed run --distributed`` is this supervisor. Each child is ``riverbed run --only ROLE`` (the same
command an external orchestrator would run), its output prefixed with the role name. A child that exits
while the system runs is restarted after a delay that doubles with every quick crash (from
``initial_delay`` up to ``max_delay``) and resets once the child has stayed up for ``stable_after``
seconds. On SIGINT/SIGTERM the supervisor stops the gateway first, then every other child (each drains),
and kills what has not exited after the grace period.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from riverbed.runtime.system.plan import Plan, Role, RoleKind

Announce = Callable[[str], None]


@dataclass(slots=True)
class Child:
    """One supervised role: its process, how often it was started and when it last started."""

    role: Role
    process: asyncio.subprocess.Process | None = None
    starts: int = 0
    started_at: float = 0.0
    delay: float = 0.0
    pumps: list[asyncio.Task[None]] = field(default_factory=list)


class Supervisor:
    """Start, watch and restart the children of a distributed system."""

    def __init__(
        self,
        plan: Plan,
        argv: Callable[[Role], Sequence[str]],
        *,
        env: Mapping[str, str] | None = None,
        initial_delay: float = 0.2,
        max_delay: float = 10.0,
        stable_after: float = 10.0,
        grace: float = 10.0,
        announce: Announce | None = None,
    ) -> None:
        self.plan = plan
        self.argv = argv
        self.env = dict(env) if env is not None else None
        self.initial_delay = initial_delay
        self.max_delay = max_delay
        self.stable_after = stable_after
        self.grace = grace
        self.announce = announce or (lambda line: print(line, flush=True))
        self.children = {role.name: Child(role) for role in plan.roles}
        self.restarts = 0

    async def run(self, stop: asyncio.Event) -> None:
        """Run the children until ``stop`` is set, then stop them all."""
        try:
            for child in self.children.values():
                await self._start(child)
            watchers = [asyncio.create_task(self._watch(child, stop)) for child in self.children.values()]
            await stop.wait()
            for watcher in watchers:
                watcher.cancel()
            await asyncio.gather(*watchers, return_exceptions=True)
        finally:
            await self._stop_all()

    def pid(self, role: str) -> int | None:
        """The process id of a running role (for operators and tests)."""
        process = self.children[role].process
        return process.pid if process is not None and process.returncode is None else None

    async def _start(self, child: Child) -> None:
        process = await asyncio.create_subprocess_exec(
            *self.argv(child.role),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=self.env,
            start_new_session=True,
        )
        child.process = process
        child.starts += 1
        child.started_at = time.monotonic()
        assert process.stdout is not None
        child.pumps = [asyncio.create_task(self._pump(child.role.name, process.stdout))]
        what = "started" if child.starts == 1 else f"restarted (start {child.starts})"
        self.announce(f"[supervisor] {child.role.name} {what}, pid {process.pid}")

    async def _watch(self, child: Child, stop: asyncio.Event) -> None:
        while not stop.is_set():
            assert child.process is not None
            code = await child.process.wait()
            await asyncio.gather(*child.pumps, return_exceptions=True)
            if stop.is_set():
                return
            up_for = time.monotonic() - child.started_at
            child.delay = (
                self.initial_delay
                if up_for >= self.stable_after or child.delay == 0
                else min(self.max_delay, child.delay * 2)
            )
            self.announce(
                f"[supervisor] {child.role.name} exited with code {code} after {up_for:.1f}s; "
                f"restarting in {child.delay:.1f}s"
            )
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), child.delay)
            if stop.is_set():
                return
            self.restarts += 1
            await self._start(child)

    async def _pump(self, name: str, stream: asyncio.StreamReader) -> None:
        while line := await stream.readline():
            sys.stdout.write(f"[{name}] {line.decode('utf-8', 'replace')}")
            sys.stdout.flush()

    async def _stop_all(self) -> None:
        front = [c for c in self.children.values() if c.role.kind is RoleKind.GATEWAY]
        rest = [c for c in self.children.values() if c.role.kind is not RoleKind.GATEWAY]
        for group in (front, rest):
            running = [c for c in group if c.process is not None and c.process.returncode is None]
            for child in running:
                assert child.process is not None
                with contextlib.suppress(ProcessLookupError):
                    child.process.send_signal(signal.SIGTERM)
            for child in running:
                assert child.process is not None
                try:
                    await asyncio.wait_for(child.process.wait(), self.grace + 5)
                except TimeoutError:
                    self.announce(f"[supervisor] {child.role.name} did not stop in time; killing it")
                    with contextlib.suppress(ProcessLookupError):
                        child.process.kill()
                    await child.process.wait()
                await asyncio.gather(*child.pumps, return_exceptions=True)
