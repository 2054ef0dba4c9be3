"""The bank as a runnable system: what ``riverbed run`` (and ``make run``) starts.

Three bounded contexts, each with its own store: **bank** (the account aggregate behind four services with
their own SLAs, and the balance views), **shop** (stock, and the checkout process manager) and
**compliance** (monitoring rules, set up by a reaction to every opened account). The pure domain lives in
the context packages; this module only says how riverbed hosts it.

Views: balances per branch city. Manchester is pre-loaded (a projection keeps it current, two replicas when
distributed); Leeds is computed on demand from the account's stream when asked. Rows are tenant-scoped.

Two demo tenants, ``acme`` and ``globex``, with demo API keys, are used when ``riverbed.toml`` configures no
credentials. ``BANK_PAYMENT_TIMEOUT_SECONDS`` sets how long a checkout waits for the bank (default 30).
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

from examples.bank import load, topology
from examples.bank.bank import account
from examples.bank.bank.messages import (
    AccountOpened,
    Deposit,
    OpenAccount,
    RefundPayment,
    TakePayment,
    Withdraw,
    account_stream,
)
from examples.bank.compliance import monitoring
from examples.bank.compliance.messages import SetUpMonitoringRule, monitoring_stream
from examples.bank.kernel import registry
from examples.bank.shop import checkout, stock
from examples.bank.shop.messages import StartCheckout, checkout_stream, stock_stream
from examples.bank.views.balances import HANDLES, LEEDS, MANCHESTER, Row, balance_changes
from riverbed.application.processes import ProcessManager, Reaction
from riverbed.application.projections.projection import Projection, handles
from riverbed.cloudevents.mapping import from_cloudevent
from riverbed.domain import Command, TimerFired
from riverbed.ports.event_store import RecordedEvent
from riverbed.runtime.system import ProcessSpec, ServiceSpec, SystemSpec, ViewSpec

BANK, SHOP, COMPLIANCE = topology.BANK, topology.SHOP, topology.COMPLIANCE
MANCHESTER_VIEW = "balances-manchester"
LEEDS_VIEW = "balances-leeds"
DEMO_API_KEYS = {"acme": "acme-demo-key-0123456789", "globex": "globex-demo-key-0123456789"}
"""Demo credentials (tenant -> API key), used only when no credentials are configured."""

_HANDLED_TYPES = tuple(registry.name_for(cls) for cls in HANDLES)


class CityBalances(Projection):
    """Balances of one branch city's accounts, one row per account, keyed ``tenant:account_id``."""

    city: str

    def key(self, record: RecordedEvent) -> str | None:
        """The account the event is about, scoped to the tenant it belongs to."""
        account_id = record.event.data.get("account_id") if isinstance(record.event.data, dict) else None
        if not isinstance(account_id, str):
            return None
        tenant = record.event.extensions.get("tenant")
        return f"{tenant}:{account_id}" if isinstance(tenant, str) and tenant else account_id

    @handles(*_HANDLED_TYPES)
    def fold(self, row: Row | None, record: RecordedEvent) -> Row | None:
        """Fold one event with the pure :func:`balance_changes`."""
        event = from_cloudevent(record.event, registry=registry)
        account_id = getattr(event, "account_id", "")
        changes = balance_changes(self.city, {account_id: row} if row is not None else {}, event)
        return changes.get(account_id, row)


class ManchesterBalances(CityBalances):
    """Pre-loaded: kept current by a projection, ready before the first query."""

    name = MANCHESTER_VIEW
    version = 1
    city = MANCHESTER


class LeedsBalances(CityBalances):
    """On demand: folded from the account's stream when asked, then cached."""

    name = LEEDS_VIEW
    version = 1
    city = LEEDS


def leeds_streams(key: str) -> list[str]:
    """The stream a Leeds row is folded from: the account's (``tenant:account_id`` -> its scoped stream)."""
    tenant, sep, account_id = key.rpartition(":")
    stream = account_stream(account_id)
    return [f"{tenant}:{stream}" if sep else stream]


def _order_key(message: Any) -> str | None:
    order_id = getattr(message, "order_id", None)
    if isinstance(message, TimerFired):
        return message.key
    return order_id if isinstance(order_id, str) else None


def payment_timeout() -> timedelta:
    """How long a checkout waits for the bank's answer (``BANK_PAYMENT_TIMEOUT_SECONDS``, default 30)."""
    raw = os.environ.get("BANK_PAYMENT_TIMEOUT_SECONDS", "")
    return timedelta(seconds=float(raw)) if raw else checkout.DEFAULT_PAYMENT_TIMEOUT


def account_service(name: str, *commands: type[Command]) -> ServiceSpec:
    """One of the bank's services on the account aggregate: its own commands, the account's stream."""
    return ServiceSpec(
        name=name,
        context=BANK,
        aggregate=account.decider,
        commands=commands,
        stream=lambda command: account_stream(command.account_id),
    )


def build_system(*, timeout: timedelta | None = None) -> SystemSpec:
    """The bank's SystemSpec (``timeout``: the checkout's payment timeout)."""
    wait = timeout if timeout is not None else payment_timeout()

    def start(state: checkout.Checkout, command: Any) -> Any:
        return checkout.start(state, command, payment_timeout=wait)

    manager: ProcessManager[checkout.Checkout] = ProcessManager(
        name="checkout",
        stream=checkout_stream,
        state_type=checkout.Checkout,
        initial_state=checkout.initial_state,
        start=start,
        react=checkout.react,
        starts=(StartCheckout,),
        consumes=checkout.CONSUMES,
        key_of=_order_key,
        registry=registry,
    )
    rule = Reaction(
        name="monitor-new-accounts",
        consumes=(AccountOpened,),
        react=monitoring.on_account_opened,
        registry=registry,
    )
    return SystemSpec(
        name="bank",
        registry=registry,
        services=(
            account_service("accounts", OpenAccount),
            account_service("deposits", Deposit),
            account_service("withdrawals", Withdraw),
            account_service("payments", TakePayment, RefundPayment),
            ServiceSpec(
                name="stock",
                context=SHOP,
                aggregate=stock.decider,
                commands=stock.COMMANDS,
                stream=lambda command: stock_stream(command.sku),
            ),
            ServiceSpec(
                name="monitoring",
                context=COMPLIANCE,
                aggregate=monitoring.decider,
                commands=(SetUpMonitoringRule,),
                stream=lambda command: monitoring_stream(command.account_id),
                reactions=(rule,),
            ),
        ),
        processes=(ProcessSpec(name="checkout", context=SHOP, manager=manager),),
        views=(
            ViewSpec(name=MANCHESTER_VIEW, context=BANK, projection=ManchesterBalances, replicas=2),
            ViewSpec(name=LEEDS_VIEW, context=BANK, projection=LeedsBalances, on_demand=leeds_streams),
        ),
        flow=tuple(topology.services),
        demo_api_keys=DEMO_API_KEYS,
        load=load.profile,
        description="a small bank and shop in three bounded contexts",
    )


system = build_system()
"""What ``riverbed run --app examples.bank.system:system`` runs."""
