"""Deadlines for upstream calls, checked by one sweeper task."""

from __future__ import annotations

import asyncio

import pytest

from riverbed.gateway.deadlines import Deadlines


async def test_an_overrunning_call_gets_timeout_error_and_the_task_is_not_left_cancelled() -> None:
    deadlines = Deadlines(tick=0.005)
    with pytest.raises(TimeoutError, match=r"within 0\.02 s"):
        async with deadlines.within(0.02):
            await asyncio.sleep(10)
    task = asyncio.current_task()
    assert task is not None
    assert task.cancelling() == 0
    await asyncio.sleep(0)  # still usable: no pending cancellation
    await deadlines.stop()


async def test_a_call_within_its_deadline_is_untouched() -> None:
    deadlines = Deadlines(tick=0.005)
    async with deadlines.within(5):
        await asyncio.sleep(0.02)
    assert deadlines._due == {}
    await deadlines.stop()


async def test_an_outside_cancellation_stays_a_cancellation() -> None:
    deadlines = Deadlines(tick=0.005)
    started = asyncio.Event()

    async def call() -> None:
        async with deadlines.within(5):
            started.set()
            await asyncio.sleep(10)

    task = asyncio.create_task(call())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await deadlines.stop()
