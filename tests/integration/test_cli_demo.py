"""``riverbed demo`` (what ``make run`` starts) really appends and reads a SQLite file under ./.riverbed/."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from riverbed import open_store

RIVERBED = str(Path(sys.executable).with_name("riverbed"))


async def _streams_and_types(url: str) -> tuple[set[str], list[str]]:
    async with open_store(url) as store:
        records = [rec async for rec in store.read_all()]
    return {rec.stream for rec in records}, [rec.event.type for rec in records]


def test_demo_appends_and_reads_events_in_a_sqlite_file_and_can_run_again(tmp_path: Path) -> None:
    first = subprocess.run([RIVERBED, "demo"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert first.returncode == 0, first.stderr
    assert first.stderr == ""
    database = tmp_path / ".riverbed" / "demo.db"
    assert database.is_file()
    out = first.stdout
    assert "refused" in out
    assert "idempotent" in out
    assert "balance: 69.50" in out
    assert "holds 3 event(s) in 1 stream(s)" in out

    streams, types = asyncio.run(_streams_and_types(f"sqlite:///{database}"))
    assert len(streams) == 1
    assert types == [
        "demo.account.opened.v1",
        "demo.account.money-deposited.v1",
        "demo.account.money-withdrawn.v1",
    ]

    second = subprocess.run([RIVERBED, "demo"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert second.returncode == 0, second.stderr
    assert "holds 6 event(s) in 2 stream(s)" in second.stdout
    streams, _ = asyncio.run(_streams_and_types(f"sqlite:///{database}"))
    assert len(streams) == 2


def test_demo_runs_against_another_url(tmp_path: Path) -> None:
    done = subprocess.run(
        [RIVERBED, "demo", "--url", "memory://"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "balance: 69.50" in done.stdout
    assert not (tmp_path / ".riverbed").exists()
