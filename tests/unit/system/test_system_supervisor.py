"""The supervisor: one OS process per role, a crashed one restarted with backoff, all stopped on request."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable
from pathlib import Path

from riverbed.runtime.system import Plan, Role, RoleKind, Supervisor

# A child that crashes on its first two starts (counted in a file), then stays up until SIGTERM.
CHILD = """
import pathlib, signal, sys, time
count = pathlib.Path(sys.argv[1])
starts = int(count.read_text() or 0) + 1 if count.exists() else 1
count.write_text(str(starts))
print(f"start {starts}", flush=True)
if starts <= 2:
    sys.exit(3)
stopped = []
signal.signal(signal.SIGTERM, lambda *_: stopped.append(1))
while not stopped:
    time.sleep(0.01)
print("drained", flush=True)
"""


async def test_a_crashing_child_restarts_with_backoff_and_all_stop_on_request(tmp_path: Path) -> None:
    roles = (
        Role(name="flaky", kind=RoleKind.SERVICE, target="flaky", port=1),
        Role(name="steady", kind=RoleKind.SERVICE, target="steady", port=2),
    )
    counts = {role.name: tmp_path / f"{role.name}.count" for role in roles}
    counts["steady"].write_text("2")  # steady starts as if it had crashed twice already: it stays up
    lines: list[str] = []
    supervisor = Supervisor(
        Plan(roles),
        lambda role: [sys.executable, "-c", CHILD, str(counts[role.name])],
        initial_delay=0.05,
        max_delay=0.2,
        stable_after=60,
        grace=5,
        announce=lines.append,
    )
    stop = asyncio.Event()
    running = asyncio.create_task(supervisor.run(stop))
    await _until(
        lambda: (
            supervisor.pid("flaky") is not None
            and counts["flaky"].exists()
            and counts["flaky"].read_text() == "3"
        )
    )
    await asyncio.sleep(0.1)
    pids = [supervisor.pid("flaky"), supervisor.pid("steady")]
    assert all(pid is not None for pid in pids)
    stop.set()
    await asyncio.wait_for(running, 20)

    assert supervisor.restarts == 2
    assert supervisor.children["flaky"].starts == 3
    assert supervisor.children["steady"].starts == 1
    exits = [line for line in lines if "exited with code 3" in line]
    assert len(exits) == 2
    assert "restarting in 0.1s" in exits[1]  # the second quick crash waits twice as long
    for pid in pids:
        assert pid is not None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            continue
        raise AssertionError(f"child {pid} is still running after the supervisor stopped")


async def _until(condition: Callable[[], bool]) -> None:
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the supervisor did not get there in 20 s")
