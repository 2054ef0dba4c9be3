"""Exactly-once effect under crashes: a projection worker killed with SIGKILL at random, many times.

A worker process projects a SQLite event store into a SQLite view store while the test kills it at random
moments (during catch-up, during live batches, mid-commit) and keeps appending events between kills. The
view rows and the checkpoint commit together, so after the last restart the view must equal a view built
from scratch (hash equal) and the counter projection must equal the number of events exactly: nothing was
applied twice, nothing was skipped.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from riverbed.application.projections import build_view
from riverbed.bootstrap import open_store, open_view_store
from riverbed.ports.event_store import EventStore
from riverbed.ports.views import ViewStore
from tests.integration.views.samples import DEPOSITED, Balances, active_slot, event, fill, view_hash

pytestmark = [pytest.mark.reliability, pytest.mark.slow]
ROOT = Path(__file__).parents[2]
SOAK = os.environ.get("RIVERBED_SOAK") == "1"
EVENTS = 200_000 if SOAK else 20_000
KILLS = 200 if SOAK else 24
PREFILLED = EVENTS * 3 // 4


def _start(store_url: str, views_url: str, batch: int) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.reliability.view_worker", store_url, views_url, "--batch", str(batch)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if line.strip() != "working":
        proc.kill()
        _, err = proc.communicate()
        raise AssertionError(f"the worker did not start: {line!r} {err}")
    return proc


async def _count(views: ViewStore) -> int:
    active = [s for s in await views.slots("counter") if s.active]
    if not active:
        return 0
    row = await views.get(active[0].slot, "all")
    return int(row["count"]) if row else 0


@pytest.mark.timeout(300)
async def test_sigkill_at_random_never_double_applies_nor_skips(tmp_path: Path) -> None:
    seed = int(os.environ.get("RIVERBED_SEED", time.time_ns() % 1_000_000))
    rng = random.Random(seed)
    store_url, views_url = f"sqlite:///{tmp_path}/events.db", f"sqlite:///{tmp_path}/views.db"
    async with open_store(store_url) as store, open_view_store(views_url) as views:
        await fill(store, accounts=100, events=PREFILLED, batch=50)
        written, kills, counts = PREFILLED, 0, []
        while kills < KILLS:
            proc = await asyncio.to_thread(_start, store_url, views_url, rng.choice((17, 50, 100, 250)))
            if kills < KILLS // 2:
                # First half: kill within milliseconds, in the middle of catching up.
                await asyncio.sleep(rng.uniform(0.0, 0.04))
            else:
                # Second half: append while the worker follows live, and kill it in the middle.
                await asyncio.sleep(rng.uniform(0.0, 0.2))
                written += await _append(store, min(EVENTS - written, rng.randint(50, 800)), rng)
                await asyncio.sleep(rng.uniform(0.0, 0.05))
            proc.send_signal(signal.SIGKILL)
            _, err = await asyncio.to_thread(proc.communicate)
            assert "failed:" not in err, err
            kills += 1
            counts.append(max((s.checkpoint.position for s in await views.slots("counter")), default=0))
        written += await _append(store, EVENTS - written, rng)
        assert (await store.stats()).events == EVENTS
        proc = await asyncio.to_thread(_start, store_url, views_url, 100)
        try:
            async with asyncio.timeout(120):
                while await _count(views) < EVENTS:
                    failed = [(s.slot, s.error) for s in await views.slots() if s.failed_at is not None]
                    assert failed == [], f"seed {seed}: a projection stopped: {failed}"
                    await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)
        finally:
            proc.send_signal(signal.SIGKILL)
            _, err = await asyncio.to_thread(proc.communicate)
        assert "failed:" not in err, err
        print(f"seed {seed}: counter checkpoint after each kill: {counts}")
        assert kills >= 20
        assert len(set(counts)) > KILLS // 3, (
            f"kills landed while the worker made progress: {counts} (seed {seed})"
        )
        assert await _count(views) == EVENTS, f"seed {seed}"
        (counter,) = [s for s in await views.slots("counter") if s.active]
        assert counter.events == EVENTS
        async with open_view_store("memory://") as fresh:
            rebuilt = await build_view(store, fresh, Balances())
            assert await view_hash(views, await active_slot(views, "balances")) == await view_hash(
                fresh, rebuilt.slot
            ), f"seed {seed}"


async def _append(store: EventStore, count: int, rng: random.Random) -> int:
    """Append ``count`` deposits to random accounts, 25 per append; returns ``count``."""
    for i in range(0, count, 25):
        account = f"a{rng.randrange(100)}"
        deposits = [event(DEPOSITED, account, amount=j % 9 + 1) for j in range(min(25, count - i))]
        await store.append(f"account-{account}", deposits)
    return count
