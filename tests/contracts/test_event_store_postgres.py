"""The event store contract, run against the PostgreSQL adapter: each store in a schema of its own."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg  # noqa: TID251 - the fixture creates and drops schemas
import pytest

from riverbed.adapters.postgres.event_store import PostgresEventStore
from riverbed.ports.event_store import EventStore
from riverbed.testing.contracts import EventStoreContract

pytestmark = pytest.mark.postgres


class TestPostgresEventStore(EventStoreContract):
    durable = True
    model_examples = 30

    pg_base_url: str
    schemas: list[str]

    @pytest.fixture(autouse=True)
    def _pg_schemas(self, pg_url: str) -> Iterator[None]:
        self.pg_base_url = pg_url
        self.schemas = []
        self._new_schema()
        yield
        with psycopg.connect(pg_url, autocommit=True) as conn:
            for schema in self.schemas:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')

    def _new_schema(self) -> None:
        self.schemas.append(f"rb_contract_{uuid.uuid4().hex[:12]}")

    async def open_store(self) -> EventStore:
        return await PostgresEventStore(self.pg_base_url, schema=self.schemas[-1], max_size=4).open()

    async def fresh_store(self) -> EventStore:
        self._new_schema()
        return await self.open_store()


class TestPostgresEventStoreSmallPages(TestPostgresEventStore):
    """Tiny pages, so every paging edge of reads and subscriptions is crossed."""

    model_examples = 10

    async def open_store(self) -> EventStore:
        return await PostgresEventStore(
            self.pg_base_url, schema=self.schemas[-1], max_size=2, page_size=3
        ).open()
