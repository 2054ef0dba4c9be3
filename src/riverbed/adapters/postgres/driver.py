"""The store's side of the driver: connection set-up, and driver errors translated to riverbed's.

Nothing here decides anything about events; it keeps :mod:`.event_store` about the store's rules.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import AsyncConnection, sql
from psycopg_pool import PoolTimeout

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
    """The expected version as the append statement takes it: a version ≥ 0, or a negative code."""
    if expected is ExpectedVersion.ANY:
        return -1
    if expected is ExpectedVersion.NO_STREAM:
        return -2
    if expected is ExpectedVersion.EXISTS:
        return -3
    return int(expected)


def refuse_append(*, first_write: bool, durable: bool) -> None:
    """Raise for an append the statement refused before writing, unless the expected version was why."""
    if not first_write:
        raise ConfigurationError(
            "riverbed: the event INSERT must be the first write of its transaction (or a stream's order "
            "could invert in the global order); append in a transaction of its own, or before any other write"
        )
    if not durable:
        raise ConfigurationError(
            "riverbed: synchronous_commit is off, so a commit is not durable when it returns; "
            "SET synchronous_commit = on for the event store's role"
        )


async def configure(conn: AsyncConnection[Row]) -> None:
    """Every pooled connection commits durably: ``synchronous_commit`` is never ``off`` for the store."""
    cur = await conn.execute("SELECT current_setting('synchronous_commit')")
    row = await cur.fetchone()
    if row is None or row[0] == "off":
        await conn.execute("SET synchronous_commit = on")


def mask_password(url: str) -> str:
    """``url`` with its password replaced by ``***``, for messages and stats."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@")))


def consume_outcome(future: asyncio.Future[list[Row]]) -> None:
    """Mark a dropped prefetch's outcome as seen, so asyncio does not log it as lost."""
    if not future.cancelled():
        future.exception()


async def ensure_schema(url: str, schema: str) -> None:
    """Create ``schema`` if it does not exist (what a system's per-context and per-replica stores need)."""
    try:
        async with await AsyncConnection.connect(url, autocommit=True) as conn:
            await conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
    except psycopg.OperationalError as exc:
        raise StoreUnavailable(
            f"cannot reach PostgreSQL at {mask_password(url)} to create {schema!r}: {exc}"
        ) from exc
    except psycopg.errors.UniqueViolation:
        pass  # another process created it at the same moment
