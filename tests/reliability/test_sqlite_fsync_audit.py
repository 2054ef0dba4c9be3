"""strace audit: every acknowledgement of a SQLite append comes after an fsync of what the append wrote.

The writer runs under ``strace -f -y`` with one task appending one event at a time, and writes each
acknowledgement to a marker file, so the trace shows, in order, the writes to the store's files
(``.db-wal``/``.db``), the ``fsync``/``fdatasync`` calls on them, and the ack writes. The audit walks the
trace: a write to a store file makes it dirty, a completed sync of that file makes it clean, and an ack
while any store file is dirty is a violation.

The negative control runs the same audit against ``synchronous=NORMAL`` (which does not sync the WAL on
commit): the audit must report violations there, or it is not able to see one and proves nothing.
Without strace the test is skipped on a laptop and fails under ``CI=true`` (``.ci/run`` installs it).
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

pytestmark = pytest.mark.reliability

WRITER = Path(__file__).with_name("sqlite_writer.py")
APPENDS = 60
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
SYSCALLS = "write,pwrite64,writev,pwritev,pwritev2,fsync,fdatasync,sync_file_range,sync,syncfs"
WRITES = {"write", "pwrite64", "writev", "pwritev", "pwritev2"}
SYNCS = {"fsync", "fdatasync", "sync_file_range"}

_CALL = re.compile(r"^(?:\[pid\s+)?(\d+)\]?\s+(\w+)\((\d+)<([^>]*)>")
_UNFINISHED = re.compile(r"<unfinished \.\.\.>\s*$")
_RESUMED = re.compile(r"^(?:\[pid\s+)?(\d+)\]?\s+<\.\.\. (\w+) resumed>.*=\s*(-?\d+)")
_RESULT = re.compile(r"=\s*(-?\d+)(?:\s+\w+.*)?$")


@dataclass
class Audit:
    """What the trace showed."""

    acks: int = 0
    store_writes: int = 0
    syncs: int = 0
    violations: list[str] = field(default_factory=list)


def need_strace() -> str:
    path = shutil.which("strace")
    if path is None:
        if IN_CI:
            pytest.fail(
                "strace is not installed; under CI=true the fsync audit must run (.ci/run installs it)"
            )
        pytest.skip("strace is not installed")
    return path


def audit_trace(trace: str, store: Path, marker: Path) -> Audit:
    """Walk the trace in order; see the module docstring.

    Writes and acks count when they start (an ack issued before a sync has finished is already too
    early); syncs count when they complete successfully.
    """
    audit = Audit()
    dirty: set[str] = set()
    pending: dict[str, tuple[str, str]] = {}
    store_files = {str(store), f"{store}-wal"}

    def started(name: str, path: str, result: int | None) -> None:
        if name in WRITES and path in store_files and (result is None or result >= 0):
            audit.store_writes += 1
            dirty.add(path)
        elif name in WRITES and path == str(marker):
            audit.acks += 1
            if dirty:
                audit.violations.append(f"ack {audit.acks} written while {sorted(dirty)} had unsynced writes")

    def completed(name: str, path: str, result: int) -> None:
        if name in SYNCS and path in store_files and result >= 0:
            audit.syncs += 1
            dirty.discard(path)

    for line in trace.splitlines():
        resumed = _RESUMED.match(line)
        if resumed:
            pid, name, result = resumed.groups()
            call = pending.pop(pid, None)
            if call is not None and call[0] == name:
                completed(name, call[1], int(result))
            continue
        match = _CALL.match(line)
        if not match:
            continue
        pid, name, _fd, path = match.groups()
        if _UNFINISHED.search(line):
            pending[pid] = (name, path)
            started(name, path, None)
            continue
        outcome = _RESULT.search(line)
        code = int(outcome.group(1)) if outcome else -1
        started(name, path, code)
        completed(name, path, code)
    return audit


def run_audit(tmp_path: Path, synchronous: str) -> Audit:
    strace = need_strace()
    store = (tmp_path / f"audit-{synchronous.lower()}.db").resolve()
    marker = (tmp_path / f"acks-{synchronous.lower()}.log").resolve()
    trace = tmp_path / f"trace-{synchronous.lower()}.txt"
    command = [
        strace, "-f", "-y", "-qq", "-s", "0", "-e", f"trace={SYSCALLS}", "-e", "signal=none",
        "-o", str(trace), sys.executable, str(WRITER), f"sqlite:///{store}", "--ack", str(marker),
        "--tasks", "1", "--appends", str(APPENDS), "--batch", "1", "--synchronous", synchronous,
        "--seed", "7",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if done.returncode != 0 and "ptrace" in done.stderr:
        if IN_CI:
            pytest.fail(f"strace cannot trace here: {done.stderr.strip()}")
        pytest.skip(f"strace cannot trace here: {done.stderr.strip()}")
    assert done.returncode == 0, done.stderr
    assert len(marker.read_text().splitlines()) == APPENDS
    with sqlite3.connect(store) as conn:
        assert conn.execute("SELECT count(*) FROM events").fetchone() == (APPENDS,)
    return audit_trace(trace.read_text(), store, marker)


@pytest.mark.timeout(240)
def test_every_acknowledgement_follows_an_fsync_of_the_stores_writes(tmp_path: Path) -> None:
    audit = run_audit(tmp_path, "FULL")
    # The audit saw the whole story, so a clean result means something.
    assert audit.acks == APPENDS, audit
    assert audit.store_writes >= APPENDS, audit
    assert audit.syncs >= APPENDS, audit
    assert audit.violations == [], audit.violations[:5]


@pytest.mark.timeout(240)
def test_negative_control_the_audit_reports_unsynced_acknowledgements(tmp_path: Path) -> None:
    audit = run_audit(tmp_path, "NORMAL")
    assert audit.acks == APPENDS, audit
    assert audit.store_writes >= APPENDS, audit
    assert len(audit.violations) >= APPENDS // 2, (
        f"with synchronous=NORMAL the WAL is not synced on commit, so the audit must see unsynced acks; "
        f"it saw {len(audit.violations)} of {APPENDS}: {audit}"
    )


def test_the_audit_parser_understands_interleaved_threads(tmp_path: Path) -> None:
    store, marker = tmp_path / "s.db", tmp_path / "acks.log"
    trace = "\n".join(
        [
            f"101 pwrite64(5<{store}-wal>, ..., 4120, 0) = 4120",
            f"101 fdatasync(5<{store}-wal> <unfinished ...>",
            f"100 write(7<{marker}>, ..., 40 <unfinished ...>",  # ack races the sync: violation
            "101 <... fdatasync resumed>) = 0",
            "100 <... write resumed>) = 40",
            f"101 pwrite64(5<{store}-wal>, ..., 4120, 4120) = 4120",
            f"101 fdatasync(5<{store}-wal>) = 0",
            f"100 write(7<{marker}>, ..., 40) = 40",  # synced first: fine
            f"101 pwrite64(5<{store}-wal>, ..., 4120, 8240) = -1 EIO (Input/output error)",
            f"100 write(7<{marker}>, ..., 40) = 40",  # a failed write dirties nothing
        ]
    )
    audit = audit_trace(trace, store, marker)
    assert (audit.acks, audit.store_writes, audit.syncs) == (3, 2, 2)
    assert len(audit.violations) == 1
    assert "ack 1" in audit.violations[0]
