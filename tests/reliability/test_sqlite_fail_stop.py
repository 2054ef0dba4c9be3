"""Fail-stop: after a real write error the SQLite store refuses every write until it is reopened.

The error is real, not simulated: a subprocess lowers its own file-size limit (RLIMIT_FSIZE, with SIGXFSZ
ignored) so that the kernel refuses to grow the WAL with EFBIG in the middle of an append.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.reliability

SCRIPT = r"""
import asyncio, json, os, resource, signal, sys
from riverbed.adapters.sqlite import SQLiteEventStore
from riverbed.cloudevents import CloudEvent
from riverbed.errors import StoreFailed

def event(n, size):
    return CloudEvent(source="/fail-stop", type="t.v1", data={"n": n, "pad": "x" * size})

async def main(path):
    report = {}
    store = await SQLiteEventStore("sqlite:///" + path).open()
    await store.append("s", [event(0, 10)])
    acked = 1
    used = sum(os.path.getsize(path + suffix) for suffix in ("", "-wal") if os.path.exists(path + suffix))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (used + 256 * 1024, hard))
    failure = None
    for n in range(1, 1000):
        try:
            await store.append("s", [event(n, 20_000)])
            acked += 1
        except StoreFailed as exc:
            failure = exc
            break
    report["failed_with"] = type(failure).__name__ if failure else None
    report["cause"] = repr(failure.__cause__) if failure else None
    resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    # The disk has room again, yet the store must keep refusing writes until reopened.
    try:
        await store.append("s", [event(-1, 10)])
        report["write_after_failure"] = "accepted"
    except StoreFailed:
        report["write_after_failure"] = "refused"
    report["readable_after_failure"] = len([r async for r in store.read("s")])
    report["stats_failed"] = (await store.stats()).details["failed"]
    await store.close()
    store = await SQLiteEventStore("sqlite:///" + path).open()
    records = [r async for r in store.read("s")]
    report["acked"] = acked
    report["after_reopen"] = [r.event.data["n"] for r in records]
    report["append_after_reopen"] = (await store.append("s", [event(-2, 10)])).last_version
    await store.close()
    print(json.dumps(report))

asyncio.run(main(sys.argv[1]))
"""


def test_a_write_error_stops_writes_until_reopen_and_loses_nothing_acknowledged(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "s.db")], capture_output=True, text=True, timeout=100
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["failed_with"] == "StoreFailed", report
    assert "Error" in report["cause"], report  # the sqlite3 error that caused it is chained
    assert report["write_after_failure"] == "refused"
    assert report["stats_failed"] is True
    assert report["readable_after_failure"] == report["acked"]
    assert report["after_reopen"] == list(range(report["acked"]))
    assert report["append_after_reopen"] == report["acked"]
