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
