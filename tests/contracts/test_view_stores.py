"""The view store contract, run against the memory, SQLite and PostgreSQL adapters."""

from __future__ import annotations

import pytest

from riverbed.bootstrap import open_view_store
from riverbed.ports.views import ViewStore
from riverbed.testing.contracts import ViewStoreContract


class TestMemoryViewStore(ViewStoreContract):
    async def open_views(self) -> ViewStore:
        return await open_view_store("memory://")


class TestSQLiteViewStore(ViewStoreContract):
    async def open_views(self) -> ViewStore:
        return await open_view_store(f"sqlite:///{self.tmp_path / 'views.db'}")


@pytest.mark.postgres
class TestPostgresViewStore(ViewStoreContract):
    @pytest.fixture(autouse=True)
    def _schema(self, pg_schema_url: str) -> None:
        self.url = pg_schema_url

    async def open_views(self) -> ViewStore:
        return await open_view_store(self.url)


@pytest.mark.parametrize(
    "url",
    [
        "sqlite://",
        "sqlite:///",
        "sqlite://host/x.db",
        "sqlite:///x.db?mode=ro",
        "sqlite:///:memory:",
        "ftp://x",
    ],
)
def test_a_view_store_url_that_names_no_file_is_refused(url: str) -> None:
    from riverbed.bootstrap import create_view_store
    from riverbed.errors import InvalidStoreUrl

    with pytest.raises(InvalidStoreUrl):
        create_view_store(url)


@pytest.mark.postgres
@pytest.mark.parametrize(("synchronous", "expected"), [(False, "off"), (True, "on")])
async def test_postgres_view_commits_skip_the_wal_flush_unless_asked(
    pg_schema_url: str, synchronous: bool, expected: str
) -> None:
    """A view is rebuilt from events, so by default its commits do not wait for the WAL flush."""
    from riverbed.adapters.postgres.view_store import PostgresViewStore

    views = await PostgresViewStore(pg_schema_url, min_size=2, synchronous_commit=synchronous).open()
    try:
        async with views._p().connection() as one, views._p().connection() as two:  # each pooled one
            for conn in (one, two):
                assert (await (await conn.execute("SHOW synchronous_commit")).fetchone()) == (expected,)
    finally:
        await views.close()
