"""The whole bank, wired by hand in one synchronous world, under random order, duplicates and timeouts.

Not the runtime (that is riverbed's job): a test bench that routes commands to the pure deciders, delivers
events to the checkout and compliance in a random order and sometimes twice, fires timers early or late
(including cancelled ones), and then lets everything settle. The audit must then find nothing wrong.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from examples.bank.audit import audit
from examples.bank.bank import account
from examples.bank.bank.messages import AccountOpened, Deposit, OpenAccount, Withdraw, account_stream
from examples.bank.compliance import monitoring
from examples.bank.compliance.messages import monitoring_stream
from examples.bank.kernel import RuleBroken
from examples.bank.shop import checkout, stock
from examples.bank.shop.messages import AddStock, OrderShipped, StartCheckout, StockAdded, stock_stream
from examples.bank.views.balances import LEEDS, MANCHESTER, Row, balance_changes
from hypothesis import given, settings
from hypothesis import strategies as st

from riverbed.domain import CancelTimer, Command, Event, SetTimer, TimerFired, Transition

ACCOUNTS = ["a", "b", "c"]
SKUS = ["mug", "hat"]
CITIES = [MANCHESTER, LEEDS]


@dataclass
class World:
    rng: random.Random
    streams: dict[str, list[Event]] = field(default_factory=dict)
    log: list[Event] = field(default_factory=list)
    to_checkout: list[Event | TimerFired] = field(default_factory=list)
    to_compliance: list[AccountOpened] = field(default_factory=list)
    commands: list[Command] = field(default_factory=list)
    checkouts: dict[str, checkout.Checkout] = field(default_factory=dict)
    timers: set[tuple[str, str]] = field(default_factory=set)
    ever_set: set[tuple[str, str]] = field(default_factory=set)
    views: dict[str, dict[str, Row]] = field(default_factory=lambda: {city: {} for city in CITIES})
    started: int = 0

    def execute(self, command: Command) -> None:
        if isinstance(command, StartCheckout):
            self.started += 1
            self.apply(command.order_id, checkout.start(checkout.initial_state(), command))
            return
        module: Any
        if isinstance(command, account.COMMANDS):
            module, stream = account, account_stream(command.account_id)
        elif isinstance(command, stock.COMMANDS):
            module, stream = stock, stock_stream(command.sku)
        else:
            module, stream = monitoring, monitoring_stream(getattr(command, "account_id", ""))
        state = module.initial_state()
        for event in self.streams.get(stream, []):
            state = module.evolve(state, event)
        try:
            events = module.decide(state, command)
        except RuleBroken:
            return  # refused before any effect, as the caller would be told
        for event in events:
            self.streams.setdefault(stream, []).append(event)
            self.log.append(event)
            self.publish(event)

    def publish(self, event: Event) -> None:
        if isinstance(event, checkout.CONSUMES):
            self.to_checkout.append(event)
        if isinstance(event, AccountOpened):
            self.to_compliance.append(event)
        for _ in range(self.rng.choice([1, 1, 2])):  # the views see some events twice
            for city, rows in self.views.items():
                rows.update(balance_changes(city, rows, event))

    def apply(self, order_id: str, step: Transition[checkout.Checkout]) -> None:
        self.checkouts[order_id] = step.state
        self.commands.extend(step.commands)
        for timer in step.timers:
            if isinstance(timer, SetTimer):
                self.timers.add((order_id, timer.name))
                self.ever_set.add((order_id, timer.name))
            elif isinstance(timer, CancelTimer):
                self.timers.discard((order_id, timer.name))

    def deliver(self, *, duplicates: bool) -> bool:
        queues: list[list[Any]] = [q for q in (self.to_checkout, self.to_compliance, self.commands) if q]
        if not queues:
            return False
        queue = self.rng.choice(queues)
        index = self.rng.randrange(len(queue))
        message = queue[index] if duplicates and self.rng.random() < 0.2 else queue.pop(index)
        if isinstance(message, AccountOpened) and queue is self.to_compliance:
            self.execute(monitoring.on_account_opened(message))
        elif isinstance(message, Command):
            self.execute(message)
        else:
            self.react(message)
        return True

    def react(self, message: Event | TimerFired) -> None:
        order_id = checkout.order_of(message)
        if order_id is not None and order_id in self.checkouts:
            self.apply(order_id, checkout.react(self.checkouts[order_id], message))

    def fire_a_timer(self, *, stale: bool) -> None:
        pool = sorted(self.ever_set if stale else self.timers)
        if pool:
            order_id, name = self.rng.choice(pool)
            self.timers.discard((order_id, name))
            self.react(TimerFired(key=order_id, name=name))

    def user_command(self, n: int) -> Command:
        rng = self.rng
        who = rng.choice(ACCOUNTS)
        match rng.randrange(5):
            case 0:
                return OpenAccount(
                    account_id=who, owner=who.upper(), branch_city=rng.choice([*CITIES, "York"])
                )
            case 1:
                return Deposit(account_id=who, amount=rng.randint(1, 500))
            case 2:
                return Withdraw(account_id=who, amount=rng.randint(1, 300))
            case 3:
                return AddStock(sku=rng.choice(SKUS), quantity=rng.randint(1, 3))
        quantity = rng.randint(1, 3)
        return StartCheckout(
            order_id=f"o{n}", account_id=who, sku=rng.choice(SKUS), quantity=quantity, amount=100 * quantity
        )

    def settle(self) -> None:
        while self.to_checkout or self.to_compliance or self.commands or self.timers:
            while self.deliver(duplicates=False):
                pass
            self.fire_a_timer(stale=False)


@settings(max_examples=60, deadline=None)
@given(st.randoms(use_true_random=False), st.integers(10, 80))
def test_under_any_delivery_order_everything_settles_consistent(rng: random.Random, steps: int) -> None:
    world = World(rng=rng)
    for n in range(steps):
        roll = rng.random()
        if roll < 0.4:
            world.execute(world.user_command(n))
        elif roll < 0.9:
            world.deliver(duplicates=True)
        else:
            world.fire_a_timer(stale=rng.random() < 0.3)
    world.settle()

    report = audit(world.log, views=world.views)
    assert report.problems == ()
    assert report.unfinished == 0
    assert report.checkouts == report.shipped + report.compensated == world.started
    assert all(state.finished for state in world.checkouts.values())
    for sku in SKUS:
        events = world.streams.get(stock_stream(sku), [])
        state = stock.initial_state()
        for event in events:
            state = stock.evolve(state, event)
        added = sum(e.quantity for e in events if isinstance(e, StockAdded))
        shipped = sum(e.quantity for e in events if isinstance(e, OrderShipped))
        assert state.reserved == {}
        assert state.available + shipped == added
