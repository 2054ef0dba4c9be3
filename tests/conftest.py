"""Shared fixtures: real services on 127.0.0.1, unique names per run, and the CI rule.

Tests that need PostgreSQL or NATS take the ``pg_url``/``pg_schema_url`` or ``nats_url`` fixtures. When the
service is not reachable the test is skipped on a laptop, but under ``CI=true`` it fails: CI must never pass
by skipping.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from riverbed.testing.ports import reachable

PG_URL = os.environ.get("RIVERBED_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
NATS_URL = os.environ.get("RIVERBED_TEST_NATS_URL", "nats://127.0.0.1:4222")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
RUN_ID = uuid.uuid4().hex[:8]


def _need(service: str, url: str, default_port: int) -> None:
    if reachable(url, default_port):
        return
    message = f"{service} is not reachable at {url}"
    if IN_CI:
        pytest.fail(f"{message}; under CI=true a missing service is a failure, not a skip")
    pytest.skip(message)


@pytest.fixture(scope="session")
def pg_url() -> str:
    """The PostgreSQL server URL (the shared ``test`` database)."""
    _need("PostgreSQL", PG_URL, 5432)
    return PG_URL


@pytest.fixture
def pg_schema_url(pg_url: str) -> Iterator[str]:
    """A PostgreSQL URL whose ``search_path`` is a fresh schema, dropped after the test."""
    import psycopg  # noqa: TID251 - tests may talk to the server directly

    schema = f"rb_{RUN_ID}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in pg_url else "?"
    try:
        yield f"{pg_url}{sep}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(scope="session")
def nats_url() -> str:
    """The NATS JetStream server URL."""
    _need("NATS", NATS_URL, 4222)
    return NATS_URL


@pytest.fixture
def unique_name() -> str:
    """A name unique to this test in this run, for streams, consumers and schemas."""
    return f"t{RUN_ID}{uuid.uuid4().hex[:8]}"


@pytest.fixture
def system_prefix(pg_url: str, nats_url: str) -> Iterator[str]:
    """A ``[run] prefix`` for a distributed system under test; its schemas and streams are dropped after."""
    import asyncio

    import psycopg  # noqa: TID251 - the test drops the schemas the system created

    from tests.nats_cleanup import delete_streams

    name = f"t{uuid.uuid4().hex[:10]}"
    yield name
    with psycopg.connect(pg_url, autocommit=True) as conn:
        rows = conn.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE %s", (f"{name}_%",))
        for (schema,) in rows.fetchall():
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    asyncio.run(delete_streams(nats_url, name.upper()))
