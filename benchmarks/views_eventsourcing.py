"""The peer for ``bench_views``: the same balance view built with the ``eventsourcing`` library.

The library's :class:`ProjectionRunner` needs a recorder with subscriptions, which its SQLite recorder does
not have; on SQLite we therefore drive its :class:`Projection` with the loop its runner uses (select
notifications, map to domain events, ``process_event`` with a ``Tracking``). On PostgreSQL we run the real
``ProjectionRunner``. Either way the view writes its row and its tracking record in one transaction per
event, as the library's documentation shows.
"""

from __future__ import annotations

import time
from functools import singledispatchmethod
from typing import Any

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import InfrastructureFactory, Tracking
from eventsourcing.postgres import PostgresTrackingRecorder
from eventsourcing.projection import Projection, ProjectionRunner
from eventsourcing.sqlite import SQLiteTrackingRecorder
from psycopg.sql import SQL, Identifier  # noqa: TID251 - the peer library's own driver

PAGE = 1000


class Account(Aggregate):
    @event("Opened")
    def __init__(self, number: str) -> None:
        self.number = number
        self.balance = 0

    @event("Deposited")
    def deposit(self, account: str, amount: int) -> None:
        self.balance += amount


class Bank(Application[Any]):
    """The application whose events are projected."""


class SQLiteBalances(SQLiteTrackingRecorder):
    def construct_create_table_statements(self) -> list[str]:
        statements: list[str] = super().construct_create_table_statements()
        statements.append(
            "CREATE TABLE IF NOT EXISTS balances (account TEXT PRIMARY KEY, balance INTEGER) WITHOUT ROWID"
        )
        return statements

    def deposit(self, account: str, amount: int, tracking: Tracking) -> None:
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                "INSERT INTO balances VALUES (?, ?) "
                "ON CONFLICT (account) DO UPDATE SET balance = balance + excluded.balance",
                (account, amount),
            )
            self._insert_tracking(c, tracking)


class PostgresBalances(PostgresTrackingRecorder):
    def __init__(self, datastore: Any, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        self.sql_create_statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS {0}.balances (account text PRIMARY KEY, balance bigint NOT NULL)"
            ).format(Identifier(datastore.schema))
        )

    def deposit(self, account: str, amount: int, tracking: Tracking) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                SQL(
                    "INSERT INTO {0}.balances VALUES (%s, %s) "
                    "ON CONFLICT (account) DO UPDATE SET balance = balances.balance + excluded.balance"
                ).format(Identifier(self.datastore.schema)),
                (account, amount),
            )
            self._insert_tracking(curs, tracking)


DEPOSITED: Any = Account.Deposited  # type: ignore[attr-defined]


class BalanceProjection(Projection[Any]):
    name = "balances"

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        self.view.insert_tracking(tracking)

    @process_event.register(DEPOSITED)
    def _(self, domain_event: Any, tracking: Tracking) -> None:
        self.view.deposit(domain_event.account, domain_event.amount, tracking)


def fill(env: dict[str, str], *, accounts: int, events: int, batch: int = 100) -> int:
    """Record ``events`` events (opens, then ``batch`` deposits per save); returns the last id."""
    app = Bank(env=env)
    owned = [Account(f"a{i}") for i in range(accounts)]
    app.save(*owned)
    written, i = accounts, 0
    while written < events:
        account = owned[i % accounts]
        for j in range(min(batch, events - written)):
            account.deposit(account.number, (i + j) % 7 + 1)
            written += 1
        app.save(account)
        i += 1
    last = int(app.recorder.max_notification_id() or 0)
    app.close()
    return last


def project_sqlite(env: dict[str, str]) -> float:
    """Project every event of the SQLite ``Bank`` into ``SQLiteBalances``; returns events per second."""
    app = Bank(env=env)
    view = InfrastructureFactory.construct(env=env).tracking_recorder(SQLiteBalances)
    projection = BalanceProjection(view=view)
    started, done, start = time.perf_counter(), 0, 1
    while True:
        notes = app.recorder.select_notifications(start=start, limit=PAGE)
        for note in notes:
            projection.process_event(app.mapper.to_domain_event(note), Tracking(app.name, note.id))
        done += len(notes)
        if len(notes) < PAGE:
            break
        start = notes[-1].id + 1
    seconds = time.perf_counter() - started
    app.close()
    return done / seconds


def project_postgres(env: dict[str, str], last: int, timeout: float) -> float:
    """Run the library's ``ProjectionRunner`` until it has tracked ``last``; returns events per second."""
    started = time.perf_counter()
    with ProjectionRunner(
        application_class=Bank, projection_class=BalanceProjection, view_class=PostgresBalances, env=env
    ) as runner:
        runner.wait(last, timeout=timeout)
    return last / (time.perf_counter() - started)
