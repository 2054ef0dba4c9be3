"""The bank's load profile: what ``riverbed load`` sends to the bank, and how it audits what happened.

Set-up, per tenant: accounts opened in both branch cities (Manchester, pre-loaded view; Leeds, on demand)
and stock added for a few SKUs. Then the mix, by weight (``--mix open=1,deposit=5,withdraw=3,checkout=2``):

* ``open``: a new account in a random city;
* ``deposit``: money into a random open account;
* ``withdraw``: money out of one, sometimes more than it holds (refused as an event, still a 200);
* ``checkout``: buy a random SKU from a random account, sometimes for more than it holds (the payment is
  declined and the stock released) or more units than are left (the reservation fails).

Commands go only to accounts whose opening was answered 200, so a refusal (4xx) means the system refused
something a caller could have sent, not that the load generator raced itself.

The audit decodes one tenant's stored CloudEvents with the bank's registry (process records and unknown
types are skipped), runs :func:`examples.bank.audit.audit` on them and, given the gateway's rows, checks
that every account's Manchester or Leeds row equals the fold of its events.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from examples.bank.audit import audit
from examples.bank.bank.messages import AccountOpened
from examples.bank.kernel import registry
from examples.bank.views.balances import LEEDS, MANCHESTER, Row
from riverbed.cloudevents import CloudEvent
from riverbed.cloudevents.mapping import from_cloudevent
from riverbed.domain import Event
from riverbed.runtime.system import SETUP, AuditOutcome, LoadCommand, LoadProfile, RowReader

CITIES = (MANCHESTER, LEEDS)
VIEWS = {MANCHESTER: "balances-manchester", LEEDS: "balances-leeds"}
"""The view serving each city's rows (the names the bank's SystemSpec gives them)."""
ACCOUNTS_PER_CITY = 4
"""Accounts each tenant opens per city before the mix."""
SKUS = 3
STOCK = 60
"""Units of each SKU each tenant adds before the mix (enough for some checkouts to ship, not all)."""
MIX = {"open": 1, "deposit": 5, "withdraw": 3, "checkout": 2}


class BankCommands:
    """The bank's :class:`~riverbed.runtime.system.CommandSource` for one load run."""

    def __init__(self, tenants: Sequence[str], rng: random.Random, run: str) -> None:
        self.tenants = list(tenants)
        self.rng = rng
        self.run = run
        self._count = 0
        self.accounts: dict[str, list[str]] = {tenant: [] for tenant in self.tenants}
        self.skus = [f"sku-{run}-{n}" for n in range(SKUS)]

    def _id(self, prefix: str) -> str:
        self._count += 1
        return f"{prefix}-{self.run}-{self._count}"

    def setup(self) -> list[LoadCommand]:
        """Open accounts in both cities, add stock, for every tenant."""
        commands = [
            self._open(tenant, city)
            for tenant in self.tenants
            for city in CITIES
            for _ in range(ACCOUNTS_PER_CITY)
        ]
        for tenant in self.tenants:
            for sku in self.skus:
                body = {"sku": sku, "quantity": STOCK}
                commands.append(
                    LoadCommand(kind=SETUP, tenant=tenant, service="stock", command="AddStock", body=body)
                )
        return commands

    def next(self, kind: str) -> LoadCommand:
        """One command of ``kind`` for a random tenant."""
        tenant = self.rng.choice(self.tenants)
        accounts = self.accounts[tenant]
        if kind == "open" or not accounts:
            return self._open(tenant, self.rng.choice(CITIES), kind=kind)
        account_id = self.rng.choice(accounts)
        if kind == "deposit":
            body: dict[str, Any] = {"account_id": account_id, "amount": self.rng.randint(100, 5_000)}
            return LoadCommand(kind=kind, tenant=tenant, service="deposits", command="Deposit", body=body)
        if kind == "withdraw":
            body = {"account_id": account_id, "amount": self.rng.randint(50, 3_000)}
            return LoadCommand(kind=kind, tenant=tenant, service="withdrawals", command="Withdraw", body=body)
        if kind == "checkout":
            body = {
                "order_id": self._id("o"),
                "account_id": account_id,
                "sku": self.rng.choice(self.skus),
                "quantity": self.rng.randint(1, 3),
                "amount": self.rng.randint(100, 4_000),
            }
            return LoadCommand(
                kind=kind, tenant=tenant, service="checkout", command="StartCheckout", body=body
            )
        raise ValueError(f"the bank's load has no mix kind {kind!r}; use one of {sorted(MIX)}")

    def answered(self, command: LoadCommand, status: int) -> None:
        """Remember an account once its opening is answered 200: only then do commands go to it."""
        if command.command == "OpenAccount" and status == 200:
            self.accounts[command.tenant].append(str(command.body["account_id"]))

    def _open(self, tenant: str, city: str, *, kind: str = SETUP) -> LoadCommand:
        account_id = self._id("acct")
        body = {"account_id": account_id, "owner": f"owner {account_id}", "branch_city": city}
        return LoadCommand(kind=kind, tenant=tenant, service="accounts", command="OpenAccount", body=body)


def domain_events(events: Sequence[CloudEvent]) -> list[Event]:
    """The bank's domain events among ``events`` (process records and unknown types are skipped)."""
    return [from_cloudevent(e, registry=registry) for e in events if e.type in registry]


async def audit_tenant(events: Sequence[CloudEvent], rows: RowReader | None, *, final: bool) -> AuditOutcome:
    """Audit one tenant's stored events and, when ``rows`` is given, its Manchester and Leeds rows."""
    log = domain_events(events)
    views: dict[str, dict[str, Row]] | None = None
    if rows is not None:
        views = {city: {} for city in CITIES}
        for event in log:
            if isinstance(event, AccountOpened) and event.branch_city in views:
                row = await rows(VIEWS[event.branch_city], event.account_id)
                if row is not None:
                    views[event.branch_city][event.account_id] = dict(row)
    report = audit(log, views=views, final=final)
    counts = {
        "accounts": report.accounts,
        "checkouts": report.checkouts,
        "shipped": report.shipped,
        "compensated": report.compensated,
        "unfinished": report.unfinished,
    }
    return AuditOutcome(counts=counts, problems=report.problems)


profile = LoadProfile(
    mix=MIX,
    source=BankCommands,
    audit=audit_tenant,
    description="accounts in Manchester and Leeds, deposits, withdrawals and checkouts over two tenants",
)
"""The bank's :class:`~riverbed.runtime.system.LoadProfile` (``SystemSpec.load``)."""
