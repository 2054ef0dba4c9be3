"""The bank checkout as a durable process over real command services, on memory and on SQLite stores.

Stock lives in the shop's store, accounts and payments in the bank's, monitoring rules in compliance's; the
checkout process and its dispatcher run on the shop's store. A hand-driven bus delivers every event.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from examples.bank.compliance.messages import MonitoringRuleSetUp
from examples.bank.shop.checkout import Phase
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.process_support import Clock, World, given_stock_and_account, open_world, start_checkout

KINDS = ["memory", "sqlite"]


@pytest.fixture(params=KINDS)
async def world(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[World]:
    opened = await open_world(request.param, tmp_path, Clock())
    yield opened
    await opened.close()


async def test_the_happy_path_ships(world: World) -> None:
    await given_stock_and_account(world)
    await start_checkout(world, "o1", quantity=2, amount=300)
    await world.settle()
    order = await world.order("o1")
    assert order.phase is Phase.SHIPPED
    stock = await world.stock_of("mug")
    assert (stock.available, stock.reserved, stock.shipped) == (3, {}, frozenset({"o1"}))
    assert (await world.account_of("acc-1")).balance == 700
    assert world.dispatcher.pending_timers == 0


async def test_a_declined_payment_releases_the_stock(world: World) -> None:
    await given_stock_and_account(world, balance=100)
    await start_checkout(world, "o1", quantity=2, amount=300)
    await world.settle()
    order = await world.order("o1")
    assert order.phase is Phase.CANCELLED
    assert order.reason == "payment declined: insufficient funds"
    stock = await world.stock_of("mug")
    assert (stock.available, stock.reserved, stock.released) == (5, {}, frozenset({"o1"}))
    assert (await world.account_of("acc-1")).balance == 100
    assert world.dispatcher.pending_timers == 0


async def test_a_payment_timeout_releases_the_stock_and_a_late_payment_is_refunded(world: World) -> None:
    await given_stock_and_account(world)
    await start_checkout(world, "o1", quantity=2, amount=300)
    await world.settle(bank_replies=False)  # the bank's answer is lost on the way
    assert (await world.order("o1")).phase is Phase.TAKING_PAYMENT
    world.clock.advance(seconds=31)
    await world.settle(bank_replies=False)
    order = await world.order("o1")
    assert order.phase is Phase.CANCELLED
    assert order.reason == "payment timed out"
    assert (await world.stock_of("mug")).available == 5
    assert world.dispatcher.fired == 1
    await world.settle()  # the late PaymentTaken arrives: the money goes back
    assert (await world.account_of("acc-1")).balance == 1000
    assert (await world.order("o1")).refund_requested


async def test_every_message_delivered_again_in_any_order_changes_nothing(world: World) -> None:
    await given_stock_and_account(world, units=10, balance=500)
    await start_checkout(world, "ok", quantity=2, amount=300)
    await start_checkout(world, "poor", quantity=1, amount=900)
    await start_checkout(world, "greedy", quantity=50, amount=100)
    await world.settle(rng=random.Random(7))
    phases = {o: (await world.order(o)).phase for o in ("ok", "poor", "greedy")}
    assert phases == {"ok": Phase.SHIPPED, "poor": Phase.CANCELLED, "greedy": Phase.CANCELLED}
    before = await world.counts()
    sent = len(world.sender.first_sends())
    await world.redeliver_all(random.Random(8))
    await world.redeliver_all(random.Random(9))
    await world.settle()
    assert await world.counts() == before
    assert len(world.sender.first_sends()) == sent
    for order_id in ("ok", "poor", "greedy"):  # and the start commands again
        assert (await start_checkout(world, order_id)).duplicate
    assert await world.counts() == before


async def test_a_crash_between_append_and_dispatch_sends_each_command_once(world: World) -> None:
    await given_stock_and_account(world)
    await start_checkout(world, "o1")  # recorded; the dispatcher never ran
    fresh = await open_world(
        "memory",
        Path(),
        world.clock,
        stores=(world.shop, world.bank, world.compliance),
        checkpoints=world.checkpoints,
    )
    await fresh.dispatcher.run_until_caught_up()
    assert fresh.dispatcher.sent == 1
    await fresh.settle()
    assert (await fresh.order("o1")).phase is Phase.SHIPPED
    calls = [call for call in fresh.sender.calls if call[0] != "SetUpMonitoringRule"]
    assert [name for name, _, _ in calls] == ["ReserveStock", "TakePayment", "Ship"]
    assert len({command_id for _, command_id, _ in calls}) == 3
    assert not any(duplicate for _, _, duplicate in calls), "each command ran at its owner on its first send"


async def test_a_redelivered_account_opened_sets_up_one_monitoring_rule(world: World) -> None:
    await given_stock_and_account(world)
    await world.settle()
    await world.redeliver_all(random.Random(1))
    rules = await world.rules_of("acc-1")
    assert rules == [MonitoringRuleSetUp(account_id="acc-1", rule="large-movements", threshold=1_000_000)]
    reaction_sends = [c for c in world.sender.calls if c[0] == "SetUpMonitoringRule"]
    assert len(reaction_sends) == 2
    assert reaction_sends[0][1] == reaction_sends[1][1]
    assert [c[2] for c in reaction_sends] == [False, True]


async def test_a_durable_timer_fires_exactly_once_after_a_restart(tmp_path: Path) -> None:
    clock = Clock()
    first = await open_world("sqlite", tmp_path, clock)
    await given_stock_and_account(first)
    await start_checkout(first, "o1", quantity=2)
    await first.settle(bank_replies=False)
    assert first.dispatcher.pending_timers == 1
    assert (await first.stock_of("mug")).available == 3
    await first.close()  # the whole system stops before the payment timeout

    clock.advance(seconds=45)
    second = await open_world("sqlite", tmp_path, clock)
    await second.dispatcher.run_until_caught_up(fire_due=False)
    assert second.dispatcher.pending_timers == 1, "rebuilt from the store"
    assert second.dispatcher.sent == 0
    await second.settle(bank_replies=False)
    assert second.dispatcher.fired == 1
    order = await second.order("o1")
    assert order.phase is Phase.CANCELLED
    assert order.reason == "payment timed out"
    assert (await second.stock_of("mug")).available == 5
    await second.close()

    clock.advance(minutes=10)
    third = await open_world("sqlite", tmp_path, clock)
    await third.settle(bank_replies=False)
    assert (third.dispatcher.fired, third.dispatcher.pending_timers, third.dispatcher.sent) == (0, 0, 0)
    assert [c for c in third.sender.calls if c[0] == "ReleaseStock"] == []
    await third.close()


async def test_a_cancelled_timer_never_fires_after_a_restart(tmp_path: Path) -> None:
    clock = Clock()
    first = await open_world("sqlite", tmp_path, clock)
    await given_stock_and_account(first)
    await start_checkout(first, "o1")
    await first.settle()
    assert (await first.order("o1")).phase is Phase.SHIPPED
    await first.close()

    clock.advance(hours=1)
    second = await open_world("sqlite", tmp_path, clock)
    await second.settle()
    assert (second.dispatcher.fired, second.dispatcher.pending_timers) == (0, 0)
    assert (await second.order("o1")).phase is Phase.SHIPPED
    # the bus starts over (its cursors were not kept), so compliance sees AccountOpened again: a duplicate
    assert second.sender.first_sends() == []
    assert second.dispatcher.sent == 0
    await second.close()


async def test_the_live_dispatcher_fires_the_timeout_after_a_restart(tmp_path: Path) -> None:
    clock = Clock()
    first = await open_world("sqlite", tmp_path, clock)
    await given_stock_and_account(first)
    await start_checkout(first, "o1")
    await first.settle(bank_replies=False)
    await first.close()

    clock.advance(seconds=31)
    second = await open_world("sqlite", tmp_path, clock)
    stop = asyncio.Event()
    second.dispatcher.timer_tick = 0.01
    task = asyncio.create_task(second.dispatcher.run(stop=stop))
    while second.dispatcher.sent < 1:  # noqa: ASYNC110 - waiting for the live dispatcher is the point
        await asyncio.sleep(0.01)
    stop.set()
    await task
    assert second.dispatcher.fired == 1
    assert [c[0] for c in second.sender.calls] == ["ReleaseStock"]
    await second.close()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1))
def test_any_duplication_and_reordering_of_deliveries_ends_where_in_order_delivery_does(seed: int) -> None:
    async def final(rng: random.Random | None) -> tuple[object, ...]:
        world = await open_world("memory", Path(), Clock())
        await given_stock_and_account(world, units=10, balance=500)
        for order_id, quantity, amount in (("ok", 2, 300), ("poor", 1, 900), ("greedy", 50, 100)):
            await start_checkout(world, order_id, quantity=quantity, amount=amount)
        await world.settle(rng=rng)
        if rng is not None:
            await world.redeliver_all(rng)
            await world.settle(rng=rng)
        result = (
            [await world.order(o) for o in ("ok", "poor", "greedy")],
            await world.stock_of("mug"),
            await world.account_of("acc-1"),
            await world.counts(),
        )
        await world.close()
        return result

    assert asyncio.run(final(random.Random(seed))) == asyncio.run(final(None))
