"""Kill -9 proof: a SQLite writer killed at random moments never loses or duplicates an acknowledged event.

A writer subprocess (``sqlite_writer.py``, 4 concurrent tasks, so group commits are in flight) appends
and acknowledges each append on stdout only after ``append`` returned. It is killed with SIGKILL at a
random moment, at least 20 times (200 under ``RIVERBED_SOAK=1``). After every kill: ``integrity_check``
is ok, every acknowledged event is stored exactly once at the acknowledged stream, version and position,
each stream's versions are contiguous from 0, and positions are contiguous from 1.

A kill leaves the OS page cache intact, so this proves crash consistency and ack-after-commit, not power
loss durability; the strace audit (test_sqlite_fsync_audit.py) proves the fsync before each ack.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from riverbed.adapters.sqlite import SQLiteEventStore
from riverbed.cloudevents import CloudEvent

pytestmark = [pytest.mark.reliability, pytest.mark.slow]

WRITER = Path(__file__).with_name("sqlite_writer.py")
KILLS = 200 if os.environ.get("RIVERBED_SOAK") == "1" else 20


def run_and_kill(url: str, seed: int, delay: float) -> list[tuple[str, str, int, int]]:
    """Start the writer, let it acknowledge for ``delay`` seconds after its first ack, SIGKILL it."""
    proc = subprocess.Popen(
        [sys.executable, str(WRITER), url, "--ack", "-", "--tasks", "4", "--seed", str(seed)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    lines: list[bytes] = []
    first_ack = threading.Event()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            first_ack.set()

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        if not first_ack.wait(60):
            proc.kill()
            raise AssertionError(
                f"the writer acknowledged nothing in 60 s: {proc.stderr.read() if proc.stderr else ''!r}"
            )
        time.sleep(delay)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        reader.join(30)
    assert proc.returncode == -signal.SIGKILL, (proc.returncode, proc.stderr.read() if proc.stderr else b"")
    proc.stdout.close()
    if proc.stderr is not None:
        proc.stderr.close()
    acks = []
    for raw in lines:
        if not raw.endswith(b"\n"):
            continue  # a line cut by the kill was never a complete acknowledgement
        event_id, stream, version, position = raw.decode().split()
        acks.append((event_id, stream, int(version), int(position)))
    return acks


def check_store(path: Path, acknowledged: dict[str, tuple[str, int, int]]) -> int:
    """Verify the file after a crash; returns the number of stored events."""
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        rows = conn.execute("SELECT id, stream, version, position FROM events ORDER BY position").fetchall()
    stored = {event_id: (stream, version, position) for event_id, stream, version, position in rows}
    assert len(stored) == len(rows), "an event id is stored twice"
    missing = [event_id for event_id in acknowledged if event_id not in stored]
    assert not missing, f"{len(missing)} acknowledged events are missing, e.g. {missing[:3]}"
    moved = {i: (acknowledged[i], stored[i]) for i in acknowledged if stored[i] != acknowledged[i]}
    assert not moved, f"acknowledged events stored elsewhere than acknowledged: {list(moved.items())[:3]}"
    assert [position for *_, position in rows] == list(range(1, len(rows) + 1)), "positions have a gap"
    versions: dict[str, list[int]] = {}
    for _, stream, version, _ in rows:
        versions.setdefault(stream, []).append(version)
    for stream, seen in versions.items():
        assert seen == list(range(len(seen))), f"{stream} versions are not contiguous: {seen[:20]}"
    return len(rows)


@pytest.mark.timeout(300)
def test_sigkill_at_random_moments_loses_no_acknowledged_event(tmp_path: Path) -> None:
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    path = tmp_path / "killed.db"
    url = f"sqlite:///{path}"
    acknowledged: dict[str, tuple[str, int, int]] = {}
    stored = 0
    for kill in range(KILLS):
        acks = run_and_kill(url, rng.randrange(1 << 30), rng.uniform(0.0, 0.25))
        assert acks, f"kill {kill} (seed {seed}): no acknowledgement at all"
        for event_id, stream, version, position in acks:
            assert event_id not in acknowledged, f"{event_id} acknowledged twice"
            acknowledged[event_id] = (stream, version, position)
        now = check_store(path, acknowledged)
        assert now >= stored, f"kill {kill} (seed {seed}): the store shrank from {stored} to {now}"
        stored = now
    assert len(acknowledged) > KILLS
    asyncio.run(reopen_after_last_kill(url, stored))


async def reopen_after_last_kill(url: str, stored: int) -> None:
    """The store itself opens the killed file (quick_check, schema) and carries on from where it was."""
    async with SQLiteEventStore(url) as store:
        records = [rec async for rec in store.read_all()]
        assert len(records) == stored
        result = await store.append("after-the-kills", [CloudEvent(source="/kill", type="t.v1")])
        assert result.first_position == stored + 1
