"""The store's side of the driver: connection set-up, and driver errors translated to riverbed's.

Nothing here decides anything about events; it keeps :mod:`.event_store` about the store's rules.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import AsyncConnection
from psycopg_pool import PoolTimeout

from riverbed.adapters.postgres import migrations
from riverbed.errors import ConfigurationError, EventStoreError, StoreUnavailable, ValidationError
from riverbed.ports.event_store import Expected, ExpectedVersion

Row = tuple[Any, ...]
CONNECTION_ERRORS = (psycopg.OperationalError, PoolTimeout)
"""Failures after which the outcome of a statement is unknown and a retry on a fresh connection is due."""


class Clash(Exception):
    """The append hit the version check or a unique key: decide on the error path."""

    def __init__(self, *, version_clash: bool, actual: int | None, known: bool) -> None:
        self.version_clash = version_clash
        self.actual = actual
        self.known = known


def translate(exc: psycopg.Error) -> Exception:
    """Map a server error raised by riverbed's SQL to riverbed's error tree."""
    state = exc.sqlstate
    if state == migrations.EXPECTED_VERSION_CLASH:
        detail = exc.diag.message_detail or ""
        return Clash(version_clash=True, actual=int(detail) if detail else None, known=True)
    if state in (migrations.NOT_FIRST_WRITE, migrations.NOT_DURABLE):
        return ConfigurationError(f"{exc.diag.message_primary}: {exc.diag.message_hint}")
    if isinstance(exc, psycopg.DataError):
        return ValidationError(f"PostgreSQL refused a value of the append: {exc.diag.message_primary}")
    if isinstance(exc, (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedFunction)):
        return ConfigurationError(
            f"the event store's tables are missing ({exc.diag.message_primary}); "
            "create them with `riverbed store init --url ...`"
        )
    if isinstance(exc, psycopg.errors.InsufficientPrivilege):
        return ConfigurationError(
            f"the database role may not use the event store ({exc.diag.message_primary}); grant it access"
        )
    if isinstance(exc, psycopg.OperationalError):
        return StoreUnavailable(f"PostgreSQL error {state}: {exc}")
    return EventStoreError(f"PostgreSQL error {state}: {exc}")


def expected_code(expected: Expected) -> int:
    """The expected version as ``riverbed_append`` takes it: a version ≥ 0, or a negative code."""
    if expected is ExpectedVersion.ANY:
        return migrations.EXPECT_ANY
    if expected is ExpectedVersion.NO_STREAM:
        return migrations.EXPECT_NO_STREAM
    if expected is ExpectedVersion.EXISTS:
        return migrations.EXPECT_EXISTS
    return int(expected)


async def configure(conn: AsyncConnection[Row]) -> None:
    """Every pooled connection commits durably: ``synchronous_commit`` is never ``off`` for the store."""
    cur = await conn.execute("SELECT current_setting('synchronous_commit')")
    row = await cur.fetchone()
    if row is None or row[0] == "off":
        await conn.execute("SET synchronous_commit = on")
