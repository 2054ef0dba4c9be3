"""Rebuilds: side by side while the old version serves, progress, automatic cut-over, old slot dropped."""

from __future__ import annotations

import pytest

from riverbed.application.projections import BuildProgress, ProjectionRunner, ProjectionState, RunnerOptions
from riverbed.application.queries import ViewQueries
from riverbed.errors import ViewReplaying
from riverbed.ports.event_store import EventStore, RecordedEvent
from riverbed.ports.views import Row, ViewBatch, ViewStore
from tests.integration.views.samples import (
    Balance,
    Balances,
    GatedViews,
    active_slot,
    deposit,
    eventually,
    fill,
    view_hash,
)

Pair = tuple[EventStore, ViewStore]
FAST = RunnerOptions(batch_size=50, batch_ms=20, poll_interval=0.02, lag_interval=0.02)


class BalancesV2(Balances):
    """Version 2 counts movements ten at a time: a visibly different fold."""

    version = 2

    def moved(self, row: Row | None, record: RecordedEvent) -> Row | None:
        row = super().moved(row, record)
        assert row is not None
        row["movements"] += 9
        return row


async def _movements(queries: ViewQueries, key: str) -> int:
    answer = await queries.get("balances", key)
    assert isinstance(answer, Balance)
    return answer.movements


async def test_a_new_version_rebuilds_beside_the_old_one_and_cuts_over(stores: Pair) -> None:
    store, inner = stores
    await fill(store, accounts=2, events=302)
    queries = ViewQueries(inner)
    queries.add(Balances())
    async with ProjectionRunner(store, inner, [Balances()], options=FAST) as runner:
        await runner.wait_until_ready()
    v1_slot = await active_slot(inner, "balances")
    v1 = await _movements(queries, "a0")
    assert v1 == 150
    gated = GatedViews(inner, "balances.v2")
    async with ProjectionRunner(store, gated.as_store(), [BalancesV2()], options=FAST) as runner:
        await gated.held.wait()
        status = runner.status("balances")
        assert status.state is ProjectionState.REBUILDING
        assert status.ready, "the old version keeps serving, so the view is ready"
        assert await _movements(queries, "a0") == v1
        assert await active_slot(inner, "balances") == v1_slot
        gated.gate.set()
        await eventually(lambda: _live(runner))
        await deposit(store, "a0", 1)
        await eventually(lambda: _has_movements(queries, "a0", 1510))
    slots = await inner.slots("balances")
    assert [(s.version, s.active) for s in slots] == [(2, True)]
    assert slots[0].slot != v1_slot


async def test_an_explicit_rebuild_reports_progress_and_keeps_following(stores: Pair) -> None:
    store, views = stores
    await fill(store, accounts=4, events=400)
    seen: list[BuildProgress] = []
    async with ProjectionRunner(store, views, [Balances()], options=FAST, progress=seen.append) as runner:
        await runner.wait_until_ready()
        old = await active_slot(views, "balances")
        before = await view_hash(views, old)
        await runner.rebuild("balances")
        new = await active_slot(views, "balances")
        assert new != old
        assert [s.slot for s in await views.slots("balances")] == [new]
        assert await view_hash(views, new) == before
        assert seen[-1].done == 400
        assert seen[-1].position == seen[-1].head == 400
        assert seen[-1].eta_seconds == 0
        assert all(p.slot == new for p in seen)
        assert [p.done for p in seen] == sorted(p.done for p in seen)
        await deposit(store, "a1", 7)
        await eventually(lambda: _balance_changed(views, "a1", before, new))
        assert runner.status("balances").slot == new


async def test_a_preloaded_view_is_replaying_until_its_first_build_catches_up(stores: Pair) -> None:
    store, inner = stores
    await fill(store, accounts=2, events=200)
    gated = GatedViews(inner, "balances.v1")
    queries = ViewQueries(inner)
    queries.add(Balances())
    async with ProjectionRunner(store, gated.as_store(), [Balances()], options=FAST) as runner:
        await gated.held.wait()
        assert not runner.ready
        assert runner.status("balances").state is ProjectionState.REPLAYING
        with pytest.raises(ViewReplaying, match="replaying") as caught:
            await queries.get("balances", "a0")
        assert caught.value.retry_after > 0
        gated.gate.set()
        await runner.wait_until_ready()
        assert (await _movements(queries, "a0")) == 100


async def _live(runner: ProjectionRunner) -> bool:
    return runner.status("balances").state is ProjectionState.LIVE


async def _has_movements(queries: ViewQueries, key: str, expected: int) -> bool:
    return await _movements(queries, key) == expected


async def _balance_changed(views: ViewStore, key: str, before: str, slot: str) -> bool:
    return await view_hash(views, slot) != before


async def test_a_build_interrupted_half_way_resumes_its_own_slot(stores: Pair) -> None:
    store, inner = stores
    await fill(store, accounts=2, events=302)
    async with ProjectionRunner(store, inner, [Balances()], options=FAST) as runner:
        await runner.wait_until_ready()
    commits = 0

    class _Stopping(GatedViews):
        async def commit(self, slot: str, batch: ViewBatch) -> None:
            nonlocal commits
            await super().commit(slot, batch)
            commits += 1
            if commits == 2:
                self.gate.clear()

    stopping = _Stopping(inner, "balances.v2")
    stopping.gate.set()
    async with ProjectionRunner(store, stopping.as_store(), [BalancesV2()], options=FAST):
        await stopping.held.wait()
    (pending,) = [s for s in await inner.slots("balances") if s.version == 2]
    assert not pending.active
    assert 0 < pending.checkpoint.position < 302
    async with ProjectionRunner(store, inner, [BalancesV2()], options=FAST) as runner:
        await eventually(lambda: _live(runner))
        assert runner.status("balances").slot == pending.slot
    (state,) = await inner.slots("balances")
    assert (state.slot, state.version, state.active, state.events) == (pending.slot, 2, True, 302)
