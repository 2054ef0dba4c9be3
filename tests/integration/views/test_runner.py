"""The projection runner: catch-up then live, batches, resume, failure isolation, skip, lag."""

from __future__ import annotations

import asyncio

from riverbed.application.projections import (
    ProjectionRunner,
    ProjectionState,
    RunnerOptions,
    build_view,
)
from riverbed.bootstrap import open_store, open_view_store
from riverbed.errors import StoreFailed
from riverbed.ports.event_store import EventStore, RecordedEvent
from riverbed.ports.views import Row, ViewBatch, ViewStore
from tests.integration.views.samples import (
    Balances,
    Counter,
    CountingViews,
    GatedViews,
    active_slot,
    deposit,
    eventually,
    fill,
    open_account,
    view_hash,
)

Pair = tuple[EventStore, ViewStore]
FAST = RunnerOptions(batch_size=100, batch_ms=20, poll_interval=0.02, lag_interval=0.02)


async def _count(views: ViewStore) -> int:
    slots = [s for s in await views.slots("counter") if s.active]
    if not slots:
        return -1
    row = await views.get(slots[0].slot, "all")
    return int(row["count"]) if row else 0


async def test_catch_up_then_live_in_batches_never_one_commit_per_event(stores: Pair) -> None:
    store, inner = stores
    views = CountingViews(inner)
    await fill(store, accounts=5, events=600)
    async with ProjectionRunner(store, views.as_store(), [Balances(), Counter()], options=FAST) as runner:
        await runner.wait_until_ready()
        assert await _count(inner) == 600
        catch_up_commits = views.commits
        assert catch_up_commits <= 2 * (600 // 100 + 1)
        for i in range(200):
            await deposit(store, f"a{i % 5}", 1)
        await eventually(lambda: _counted(inner, 800))
        await eventually(lambda: _caught_up(runner, store))
        assert views.commits - catch_up_commits < 200
        status = runner.status("counter")
        assert status.state is ProjectionState.LIVE
        assert status.ready
        assert status.events_applied == 800
    async with open_store("memory://") as fresh_store, open_view_store("memory://") as fresh:
        async for record in store.read_all():
            await fresh_store.append(record.stream, [record.event])
        state = await build_view(fresh_store, fresh, Balances())
        assert await view_hash(fresh, state.slot) == await view_hash(
            inner, await active_slot(inner, "balances")
        )


async def _caught_up(runner: ProjectionRunner, store: EventStore) -> bool:
    head = (await store.stats()).last_position
    return all(status.checkpoint.position == head for status in runner.statuses())


async def _counted(views: ViewStore, expected: int) -> bool:
    return await _count(views) == expected


async def test_stop_and_resume_from_the_checkpoint(stores: Pair) -> None:
    store, views = stores
    await fill(store, accounts=3, events=300)
    async with ProjectionRunner(store, views, [Counter()], options=FAST) as runner:
        await runner.wait_until_ready()
    first = (await views.slots("counter"))[0]
    await fill(store, accounts=3, events=150)
    async with ProjectionRunner(store, views, [Counter()], options=FAST) as runner:
        await runner.wait_until_ready()
        assert runner.status("counter").slot == first.slot
    assert await _count(views) == 450
    (state,) = await views.slots("counter")
    assert state.events == 450


class _Picky(Balances):
    """Raises on the account 'bad': stops, while the other projections go on."""

    name = "picky"

    def moved(self, row: Row | None, record: RecordedEvent) -> Row | None:
        if record.event.data["account"] == "bad":
            raise ValueError("cannot handle the bad account")
        return super().moved(row, record)


async def test_a_failing_projection_stops_alone_until_an_operator_skips_the_event(stores: Pair) -> None:
    store, views = stores
    await open_account(store, "good")
    await open_account(store, "bad")
    async with ProjectionRunner(store, views, [_Picky(), Counter()], options=FAST) as runner:
        await runner.wait_until_ready()
        await deposit(store, "good", 1)
        bad = await deposit(store, "bad", 5)
        await deposit(store, "good", 2)
        await eventually(lambda: _state_is(runner, "picky", ProjectionState.FAILED))
        status = runner.status("picky")
        assert status.failed_at == str(bad.checkpoint)
        assert status.error is not None
        assert "cannot handle the bad account" in status.error
        await eventually(lambda: _counted(views, 5))
        await eventually(lambda: _lag(runner, "picky", 1))
        slot = await active_slot(views, "picky")
        (stored,) = list(await views.slots("picky"))
        assert stored.failed_at == bad.checkpoint
        assert (await views.get(slot, "good") or {})["balance"] == 1
        # The operator's command, possibly from another process, goes through the view store.
        await views.request_skip(slot, at=bad.checkpoint)
        await eventually(lambda: _state_is(runner, "picky", ProjectionState.LIVE))
        await eventually(lambda: _balance(views, slot, "good", 3))
        assert runner.status("picky").failed_at is None
        (stored,) = list(await views.slots("picky"))
        assert (stored.failed_at, stored.error, stored.skip) == (None, None, None)
        assert (await views.get(slot, "bad") or {})["balance"] == 0


async def test_a_restart_retries_the_failed_event_and_skips_are_in_process_too(stores: Pair) -> None:
    store, views = stores
    await open_account(store, "bad")
    first = await deposit(store, "bad", 5)
    second = await deposit(store, "bad", 1)
    async with ProjectionRunner(store, views, [_Picky()], options=FAST) as runner:
        await eventually(lambda: _state_is(runner, "picky", ProjectionState.FAILED))
        assert not runner.ready
    async with ProjectionRunner(store, views, [_Picky()], options=FAST) as runner:
        await eventually(lambda: _state_is(runner, "picky", ProjectionState.FAILED))
        assert runner.status("picky").failed_at == str(first.checkpoint)
        await runner.skip("picky", str(first.checkpoint))
        await eventually(lambda: _failed_at(runner, "picky", str(second.checkpoint)))
        runner.retry("picky")
        await asyncio.sleep(0.1)
        assert runner.status("picky").failed_at == str(second.checkpoint)
        await runner.skip("picky", second.checkpoint.position)
        await runner.wait_until_ready()
        assert runner.status("picky").state is ProjectionState.LIVE
    slot = await active_slot(views, "picky")
    assert await views.get(slot, "bad") == {"account": "bad", "city": "Leeds", "balance": 0, "movements": 0}


async def _state_is(runner: ProjectionRunner, name: str, state: ProjectionState) -> bool:
    return runner.status(name).state is state


async def _failed_at(runner: ProjectionRunner, name: str, position: str) -> bool:
    return runner.status(name).failed_at == position


async def _lag(runner: ProjectionRunner, name: str, at_least: int) -> bool:
    status = runner.status(name)
    return status.lag_events >= at_least and status.lag_seconds > 0


async def _balance(views: ViewStore, slot: str, key: str, expected: int) -> bool:
    row = await views.get(slot, key)
    return row is not None and row["balance"] == expected


async def test_lag_is_reported_in_events_and_seconds_while_a_live_projection_is_behind(stores: Pair) -> None:
    store, inner = stores
    await open_account(store, "a")
    gated = GatedViews(inner, "balances")
    gated.gate.set()
    async with ProjectionRunner(store, gated.as_store(), [Balances()], options=FAST) as runner:
        await runner.wait_until_ready()
        assert (runner.status("balances").lag_events, runner.status("balances").lag_seconds) == (0, 0.0)
        gated.gate.clear()
        for amount in (1, 2, 3):
            await deposit(store, "a", amount)
        await eventually(lambda: _lag(runner, "balances", 2))
        assert runner.status("balances").state is ProjectionState.LIVE
        gated.gate.set()
        await eventually(lambda: _caught_up(runner, store))
        assert runner.status("balances").lag_events == 0
        assert runner.status("balances").lag_seconds == 0.0


async def test_two_runners_writing_one_view_store_by_mistake_still_count_every_event_once(
    stores: Pair,
) -> None:
    store, views = stores
    await fill(store, accounts=4, events=400)
    small = RunnerOptions(batch_size=7, batch_ms=5, poll_interval=0.02, lag_interval=0.02)
    async with (
        ProjectionRunner(store, views, [Counter()], options=small) as one,
        ProjectionRunner(store, views, [Counter()], options=small) as two,
    ):
        await one.wait_until_ready()
        await two.wait_until_ready()
        for i in range(100):
            await deposit(store, f"a{i % 4}", 1)
        await eventually(lambda: _counted(views, 500))
        await asyncio.sleep(0.1)
    assert await _count(views) == 500
    assert [s.events for s in await views.slots("counter") if s.active] == [500]


class _Flaky(CountingViews):
    """Fails the first ``failures`` commits as a lost connection would."""

    def __init__(self, inner: ViewStore, failures: int) -> None:
        super().__init__(inner)
        self.failures = failures

    async def commit(self, slot: str, batch: ViewBatch) -> None:
        if self.failures:
            self.failures -= 1
            raise StoreFailed("the view store lost its connection (injected)")
        await super().commit(slot, batch)


async def test_a_failing_view_store_is_reported_and_retried_from_the_last_commit(stores: Pair) -> None:
    store, inner = stores
    await fill(store, accounts=3, events=120)
    flaky = _Flaky(inner, failures=3)
    seen: set[str] = set()
    async with ProjectionRunner(store, flaky.as_store(), [Counter()], options=FAST) as runner:
        while not runner.ready:
            status = runner.status("counter")
            if status.error:
                seen.add(status.error)
            await asyncio.sleep(0.001)
        await runner.wait_until_ready()
    assert any("lost its connection (injected)" in e and "retrying" in e for e in seen), seen
    assert await _count(inner) == 120
