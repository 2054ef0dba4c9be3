"""Fixtures for the view tests: one event store + view store pair per back-end."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from riverbed.ports.event_store import EventStore
from riverbed.ports.views import ViewStore
from tests.integration.views.samples import backend

BACKENDS = ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
async def stores(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[EventStore, ViewStore]]:
    """(event store, view store) on memory, SQLite and PostgreSQL."""
    pg = request.getfixturevalue("pg_schema_url") if request.param == "postgres" else None
    async with backend(request.param, tmp=str(tmp_path), pg_url=pg) as pair:
        yield pair
