"""A subscriber waiting on a short timeout must stop when cancelled, whatever the timing.

``asyncio.wait_for`` in Python 3.11 loses a cancellation that lands as its own timeout fires; a
subscription cancelled that way kept polling forever and the runner stopping it hung.
"""

from __future__ import annotations

import asyncio

from riverbed.adapters.postgres.listener import Wakeup


async def test_cancelling_a_task_that_polls_with_short_waits_always_stops_it() -> None:
    wakeup = Wakeup()

    async def poll() -> None:
        while True:
            await wakeup.wait(wakeup.generation, 0.0005)

    async def notify() -> None:  # NOTIFYs arriving all the time, as under load
        while True:
            wakeup.wake()
            await asyncio.sleep(0)

    waker = asyncio.create_task(notify())
    try:
        for attempt in range(300):
            task = asyncio.create_task(poll())
            for _ in range(attempt % 5):
                await asyncio.sleep(0)
            task.cancel()
            done, _ = await asyncio.wait({task}, timeout=2)
            assert task in done, f"attempt {attempt}: the cancelled poller kept running"
            assert task.cancelled()
    finally:
        waker.cancel()
