"""Shared pieces of the process tests: a movable clock, a small process of our own, and the bank checkout.

The checkout is wired to real command services over real stores, with a hand-driven bus between them.

The toy process (a support *ticket*) exercises the generic behaviour: it sends ``Notify`` to a deliberately
NON-idempotent notifications service (every Notify appends an event), so any command that is run twice shows.

The checkout world runs ``examples.bank.shop.checkout`` for real: a stock service on the shop's store, payment
and account services on the bank's store, a ProcessHost + ProcessDispatcher on the shop's store, and a bus
that reads both stores and delivers every event (optionally in a random order and more than once).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from examples.bank import kernel
from examples.bank.bank import account
from examples.bank.bank.messages import (
    AccountOpened,
    Deposit,
    OpenAccount,
    RefundPayment,
    TakePayment,
    account_stream,
)
from examples.bank.compliance import monitoring
from examples.bank.compliance.messages import monitoring_stream
from examples.bank.shop import checkout, stock
from examples.bank.shop.messages import AddStock, StartCheckout, checkout_stream, stock_stream

from riverbed.adapters.memory.inbox import MemoryRelayCheckpoints
from riverbed.adapters.sqlite.inbox import SQLiteRelayCheckpoints
from riverbed.application.command_service import CommandService
from riverbed.application.endpoints import CommandOutcome
from riverbed.application.processes import (
    CommandRouter,
    ProcessHost,
    ProcessManager,
    Reaction,
    ReactionHandler,
)
from riverbed.bootstrap import create_store
from riverbed.cloudevents.event import CloudEvent
from riverbed.domain import (
    CancelTimer,
    Command,
    Decider,
    Event,
    EventTypeRegistry,
    SetTimer,
    TimerFired,
    Transition,
)
from riverbed.ports.event_store import Checkpoint, EventStore
from riverbed.ports.outbox import RelayCheckpoints
from riverbed.runtime.endpoints import RunnerEndpoint
from riverbed.runtime.lifecycle import ServiceRunner
from riverbed.runtime.process_dispatcher import ProcessDispatcher

T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


# -- the toy process: a support ticket that reminds twice, then escalates ------------------------------------

ticket_events = EventTypeRegistry()


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenTicket(Command):
    ticket_id: str
    title: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Notify(Command):
    ticket_id: str
    text: str


@ticket_events.event("test.ticket.answered.v1")
@dataclass(frozen=True, slots=True, kw_only=True)
class TicketAnswered(Event):
    ticket_id: str


@ticket_events.event("test.ticket.notified.v1")
@dataclass(frozen=True, slots=True, kw_only=True)
class Notified(Event):
    ticket_id: str
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Ticket:
    phase: str = "new"
    ticket_id: str = ""
    title: str = ""
    reminders: int = 0


REMINDER = "reminder"
REMIND_AFTER = timedelta(minutes=10)


def ticket_start(state: Ticket, command: OpenTicket) -> Transition[Ticket]:
    if state.phase != "new":
        return Transition(state=state)
    opened = Ticket(phase="open", ticket_id=command.ticket_id, title=command.title)
    return Transition(
        state=opened,
        commands=(Notify(ticket_id=command.ticket_id, text=f"opened: {command.title}"),),
        timers=(SetTimer(name=REMINDER, after=REMIND_AFTER),),
    )


def ticket_react(state: Ticket, message: Event | TimerFired) -> Transition[Ticket]:
    match state.phase, message:
        case "open", TicketAnswered():
            return Transition(
                state=replace(state, phase="answered"),
                commands=(Notify(ticket_id=state.ticket_id, text="answered"),),
                timers=(CancelTimer(name=REMINDER),),
            )
        case "open", TimerFired(name=name) if name == REMINDER:
            reminders = state.reminders + 1
            notify = Notify(ticket_id=state.ticket_id, text=f"reminder {reminders}")
            if reminders >= 2:
                return Transition(
                    state=replace(state, phase="escalated", reminders=reminders), commands=(notify,)
                )
            again = SetTimer(name=REMINDER, after=REMIND_AFTER)
            return Transition(state=replace(state, reminders=reminders), commands=(notify,), timers=(again,))
    return Transition(state=state)


def ticket_key(message: Any) -> str | None:
    if isinstance(message, TimerFired):
        return message.key
    key = getattr(message, "ticket_id", None)
    return key if isinstance(key, str) else None


def ticket_manager(**changes: Any) -> ProcessManager[Ticket]:
    fields: dict[str, Any] = {
        "name": "test.ticket",
        "stream": lambda key: f"ticket-{key}",
        "state_type": Ticket,
        "initial_state": Ticket,
        "start": ticket_start,
        "react": ticket_react,
        "starts": (OpenTicket,),
        "consumes": (TicketAnswered,),
        "key_of": ticket_key,
        "registry": ticket_events,
        "sends": (Notify,),
    }
    fields.update(changes)
    return ProcessManager(**fields)


def _notify_decide(state: int, command: Command) -> list[Event]:
    assert isinstance(command, Notify)
    return [Notified(ticket_id=command.ticket_id, text=command.text)]  # never idempotent on purpose


notifications: Decider[int] = Decider(
    name="test.notifications",
    initial_state=lambda: 0,
    decide=_notify_decide,
    evolve=lambda state, event: state + 1,
    commands=(Notify,),
)


async def notifications_endpoint(store: EventStore) -> RunnerEndpoint:
    """A ready notifications service: every Notify appends one Notified to ``notes-<ticket>``."""
    service: CommandService[int] = CommandService(
        name="test.notifications",
        aggregate=notifications,
        commands=(Notify,),
        stream=lambda c: f"notes-{c.ticket_id}",
        store=store,
        registry=ticket_events,
    )
    runner = ServiceRunner(service)
    await runner.start()
    return RunnerEndpoint(runner)


async def notes(store: EventStore, ticket_id: str, tenant: str | None = None) -> list[str]:
    stream = f"notes-{ticket_id}" if tenant is None else f"{tenant}:notes-{ticket_id}"
    return [str(r.event.data["text"]) async for r in store.read(stream)]


def answered(ticket_id: str, *, event_id: str = "answer-1", tenant: str | None = None) -> CloudEvent:
    extensions = {"tenant": tenant} if tenant is not None else {}
    return CloudEvent(
        id=event_id,
        source="urn:test:support",
        type="test.ticket.answered.v1",
        subject=f"support-{ticket_id}",
        data={"ticket_id": ticket_id},
        extensions=extensions,
    )


class RecordingSender:
    """Wraps a sender and records every send and its outcome (``duplicate`` tells a repeat apart)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls: list[tuple[str, str, bool]] = []

    async def send(
        self,
        command: Command,
        *,
        command_id: str,
        tenant: str | None,
        correlation_id: str,
        causation_id: str | None = None,
    ) -> CommandOutcome:
        outcome: CommandOutcome = await self.inner.send(
            command,
            command_id=command_id,
            tenant=tenant,
            correlation_id=correlation_id,
            causation_id=causation_id,
        )
        self.calls.append((type(command).__name__, command_id, outcome.duplicate))
        return outcome

    def first_sends(self) -> list[str]:
        """Command ids the owners ran (not answered as duplicates)."""
        return [command_id for _, command_id, duplicate in self.calls if not duplicate]


# -- the bank checkout, wired for real ---------------------------------------------------------------------

checkout_manager: ProcessManager[checkout.Checkout] = ProcessManager(
    name="shop.checkout",
    stream=checkout_stream,
    state_type=checkout.Checkout,
    initial_state=checkout.initial_state,
    start=checkout.start,
    react=checkout.react,
    starts=(StartCheckout,),
    consumes=checkout.CONSUMES,
    key_of=checkout.order_of,
    registry=kernel.registry,
    sends=checkout.SENDS,
)

monitoring_reaction = Reaction(
    name="compliance.on-account-opened",
    consumes=(AccountOpened,),
    react=monitoring.on_account_opened,
    registry=kernel.registry,
)


def _service(
    name: str,
    decider: Decider[Any],
    commands: Sequence[type[Any]],
    stream: Callable[[Any], str],
    store: EventStore,
) -> CommandService[Any]:
    return CommandService(
        name=name, aggregate=decider, commands=commands, stream=stream, store=store, registry=kernel.registry
    )


@dataclass
class World:
    """One run of the shop, the bank and compliance; ``reopen`` gives a fresh one on the same stores."""

    clock: Clock
    shop: EventStore
    bank: EventStore
    compliance: EventStore
    checkpoints: RelayCheckpoints
    router: CommandRouter
    sender: RecordingSender
    host: ProcessHost[checkout.Checkout]
    dispatcher: ProcessDispatcher
    reaction: ReactionHandler
    paths: dict[str, str] = field(default_factory=dict)
    cursors: dict[str, Checkpoint | None] = field(default_factory=dict)
    delivered: list[CloudEvent] = field(default_factory=list)

    async def settle(self, *, bank_replies: bool = True, rng: random.Random | None = None) -> None:
        """Dispatch and deliver until nothing moves (bank replies withheld when ``bank_replies`` is False).

        With ``rng``, each round's deliveries are shuffled and some are delivered twice.
        """
        while True:
            await self.dispatcher.run_until_caught_up()
            batch: list[CloudEvent] = []
            for name, store in (("shop", self.shop), ("bank", self.bank)):
                if name == "bank" and not bank_replies:
                    continue
                async for record in store.read_all(after=self.cursors.get(name)):
                    batch.append(record.event)
                    self.cursors[name] = record.checkpoint
            if not batch:
                return
            if rng is not None:
                batch += [e for e in batch if rng.random() < 0.3]
                rng.shuffle(batch)
            for event in batch:
                await self.deliver(event)

    async def deliver(self, event: CloudEvent) -> None:
        """What the ponds would do with one event: the checkout and the compliance reaction see it."""
        self.delivered.append(event)
        await self.host.handle_event(event)
        await self.reaction(event)

    async def redeliver_all(self, rng: random.Random) -> None:
        """Every event delivered so far, again, in a random order."""
        again = list(self.delivered)
        rng.shuffle(again)
        for event in again:
            await self.deliver(event)

    async def stock_of(self, sku: str) -> stock.Stock:
        state = stock.initial_state()
        async for record in self.shop.read(stock_stream(sku)):
            state = stock.evolve(
                state, kernel.registry.decode(record.event) if False else _decode(record.event)
            )
        return state

    async def account_of(self, account_id: str) -> account.Account:
        state = account.initial_state()
        async for record in self.bank.read(account_stream(account_id)):
            state = account.evolve(state, _decode(record.event))
        return state

    async def rules_of(self, account_id: str) -> list[Event]:
        return [_decode(r.event) async for r in self.compliance.read(monitoring_stream(account_id))]

    async def order(self, order_id: str) -> checkout.Checkout:
        return await self.host.state(order_id)

    async def counts(self) -> tuple[int, int, int]:
        """Events in each store (a redelivery that changed anything shows here)."""
        return (
            (await self.shop.stats()).events,
            (await self.bank.stats()).events,
            (await self.compliance.stats()).events,
        )

    async def close(self) -> None:
        await self.checkpoints.close()
        for store in (self.shop, self.bank, self.compliance):
            await store.close()


def _decode(event: CloudEvent) -> Any:
    from riverbed.cloudevents.mapping import from_cloudevent

    return from_cloudevent(event, registry=kernel.registry)


async def open_world(
    kind: str,
    tmp_path: Path,
    clock: Clock,
    *,
    stores: tuple[EventStore, EventStore, EventStore] | None = None,
    checkpoints: RelayCheckpoints | None = None,
) -> World:
    """Open (or, given ``stores``/``checkpoints`` for memory, re-wire) the shop, the bank and compliance."""
    if stores is None:
        opened: list[EventStore] = []
        for name in ("shop", "bank", "compliance"):
            url = "memory://" if kind == "memory" else f"sqlite:///{tmp_path / f'{name}.db'}"
            store = create_store(url)
            await store.open()
            opened.append(store)
        shop, bank, compliance = opened
    else:
        shop, bank, compliance = stores
    if checkpoints is None:
        checkpoints = (
            MemoryRelayCheckpoints()
            if kind == "memory"
            else SQLiteRelayCheckpoints(tmp_path / "checkpoints.db")
        )
    services = [
        _service("shop.stock", stock.decider, stock.COMMANDS, lambda c: stock_stream(c.sku), shop),
        _service(
            "bank.accounts",
            account.decider,
            (OpenAccount, Deposit),
            lambda c: account_stream(c.account_id),
            bank,
        ),
        _service(
            "bank.payments",
            account.decider,
            (TakePayment, RefundPayment),
            lambda c: account_stream(c.account_id),
            bank,
        ),
        _service(
            "compliance.monitoring",
            monitoring.decider,
            monitoring.COMMANDS,
            lambda c: monitoring_stream(c.account_id),
            compliance,
        ),
    ]
    endpoints = []
    for service in services:
        runner = ServiceRunner(service)
        await runner.start()
        endpoints.append(RunnerEndpoint(runner))
    router = CommandRouter(endpoints, require=checkout.SENDS)
    sender = RecordingSender(router)
    host = ProcessHost(checkout_manager, shop, clock=clock)
    dispatcher = ProcessDispatcher(host, sender, checkpoints, retry_initial=0.001, retry_max=0.01)
    return World(
        clock=clock,
        shop=shop,
        bank=bank,
        compliance=compliance,
        checkpoints=checkpoints,
        router=router,
        sender=sender,
        host=host,
        dispatcher=dispatcher,
        reaction=ReactionHandler(monitoring_reaction, sender),
    )


async def given_stock_and_account(
    world: World, *, sku: str = "mug", units: int = 5, account_id: str = "acc-1", balance: int = 1000
) -> None:
    """Stock on the shelf and an account (opened through the router, as a user would)."""
    await world.router.send(
        AddStock(sku=sku, quantity=units), command_id=f"add-{sku}", tenant=None, correlation_id="setup"
    )
    await world.router.send(
        OpenAccount(account_id=account_id, owner="Ann", branch_city="Leeds"),
        command_id=f"open-{account_id}",
        tenant=None,
        correlation_id="setup",
    )
    if balance:
        await world.router.send(
            Deposit(account_id=account_id, amount=balance),
            command_id=f"dep-{account_id}",
            tenant=None,
            correlation_id="setup",
        )


async def start_checkout(
    world: World,
    order_id: str,
    *,
    sku: str = "mug",
    quantity: int = 2,
    account_id: str = "acc-1",
    amount: int = 300,
) -> CommandOutcome:
    command = StartCheckout(
        order_id=order_id, account_id=account_id, sku=sku, quantity=quantity, amount=amount
    )
    return await world.host.start_command(command, command_id=f"start-{order_id}", tenant=None)
