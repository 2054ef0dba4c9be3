"""How the bank's services are wired: the declaration ``riverbed topology check`` and the runtime load.

Events flow one way: bank -> compliance (AccountOpened) and bank -> shop (the payment answers). The
checkout calls the bank's public command API (TakePayment, RefundPayment) instead of the bank subscribing
to shop events, which would make the flow between the two contexts a circle; :func:`cyclic_variant` is that
mistake, kept to show the refusal.
"""

from __future__ import annotations

from examples.bank.bank import account
from examples.bank.bank.messages import (
    AccountOpened,
    Deposit,
    MoneyDeposited,
    MoneyWithdrawn,
    OpenAccount,
    PaymentDeclined,
    PaymentRefunded,
    PaymentTaken,
    RefundPayment,
    TakePayment,
    Withdraw,
    WithdrawalRefused,
)
from examples.bank.compliance.messages import MonitoringRuleSetUp, SetUpMonitoringRule
from examples.bank.shop import checkout, stock
from examples.bank.shop.messages import (
    OrderShipped,
    StartCheckout,
    StockAdded,
    StockReleased,
    StockReservationFailed,
    StockReserved,
)
from examples.bank.views import balances
from riverbed.runtime.flow import ServiceDeclaration, service

BANK, SHOP, COMPLIANCE = "bank", "shop", "compliance"

services: list[ServiceDeclaration] = [
    service(
        "accounts",
        context=BANK,
        handles=[OpenAccount],
        produces=[AccountOpened],
        description="opens accounts (the account aggregate)",
    ),
    service(
        "deposits",
        context=BANK,
        handles=[Deposit],
        produces=[MoneyDeposited],
        description="deposits, on the account aggregate, with their own SLA",
    ),
    service(
        "withdrawals",
        context=BANK,
        handles=[Withdraw],
        produces=[MoneyWithdrawn, WithdrawalRefused],
        description="withdrawals, on the account aggregate, with their own SLA",
    ),
    service(
        "payments",
        context=BANK,
        handles=[TakePayment, RefundPayment],
        produces=[PaymentTaken, PaymentDeclined, PaymentRefunded],
        description="payments for shop checkouts, on the account aggregate",
    ),
    service(
        "balances-manchester",
        context=BANK,
        consumes=balances.HANDLES,
        description="balances of Manchester accounts (pre-loaded view)",
    ),
    service(
        "balances-leeds",
        context=BANK,
        consumes=balances.HANDLES,
        description="balances of Leeds accounts (on-demand view)",
    ),
    service(
        "stock",
        context=SHOP,
        handles=stock.COMMANDS,
        produces=[StockAdded, StockReserved, StockReservationFailed, StockReleased, OrderShipped],
        description="stock per SKU",
    ),
    service(
        "checkout",
        context=SHOP,
        handles=[StartCheckout],
        consumes=checkout.CONSUMES,
        sends=checkout.SENDS,
        description="the checkout process manager: reserve stock -> take payment -> ship",
    ),
    service(
        "monitoring",
        context=COMPLIANCE,
        consumes=[AccountOpened],
        handles=[SetUpMonitoringRule],
        sends=[SetUpMonitoringRule],
        produces=[MonitoringRuleSetUp],
        description="sets up a monitoring rule for every opened account (a reaction)",
    ),
]
"""The declaration: ``riverbed topology check --app examples.bank.topology:services``."""

ACCOUNT_COMMANDS = account.COMMANDS
"""The commands the account aggregate decides, split over four services above."""


def cyclic_variant() -> list[ServiceDeclaration]:
    """The bank with payments *subscribing* to StockReserved instead of being called: bank <-> shop cycle."""
    return [
        service(
            "payments",
            context=BANK,
            handles=[RefundPayment],
            consumes=[StockReserved],
            produces=[PaymentTaken, PaymentDeclined, PaymentRefunded],
            description="takes the payment when it sees stock reserved (the mistake)",
        )
        if declared.name == "payments"
        else declared
        for declared in services
    ]
