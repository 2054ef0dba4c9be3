"""The reference system: a small bank and shop in three bounded contexts.

- :mod:`examples.bank.bank`: accounts (open, deposit, withdraw) and payments for checkouts;
- :mod:`examples.bank.shop`: stock and the checkout process (reserve stock -> take payment -> ship);
- :mod:`examples.bank.compliance`: a monitoring rule for every opened account.

Everything here is pure Python over :mod:`riverbed.domain`: deciders, a process state machine, reactions
and view folds. :mod:`examples.bank.topology` declares how the services are wired; the runtime that runs
them lives in riverbed. Money is an ``int`` of pence; nothing here reads a clock or makes an id.
"""
