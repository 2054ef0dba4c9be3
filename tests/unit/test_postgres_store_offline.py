"""The PostgreSQL store's refusals that need no server: bad options, no server, a closed store."""

from __future__ import annotations

import pytest

from riverbed.adapters.postgres.event_store import PostgresEventStore
from riverbed.cloudevents.event import CloudEvent
from riverbed.errors import ConfigurationError, ServiceUnavailable, StoreClosed, StoreUnavailable
from riverbed.testing.ports import free_port


def test_options_are_checked_when_the_store_is_built() -> None:
    with pytest.raises(ConfigurationError, match="postgresql://"):
        PostgresEventStore("sqlite:///x.db")
    with pytest.raises(ConfigurationError, match="page_size"):
        PostgresEventStore("postgresql://u@127.0.0.1/db", page_size=0)


async def test_no_server_is_store_unavailable_and_retryable() -> None:
    store = PostgresEventStore(f"postgresql://u@127.0.0.1:{free_port()}/db", pool_timeout=0.5)
    with pytest.raises(StoreUnavailable, match="cannot connect") as caught:
        await store.open()
    assert isinstance(caught.value, ServiceUnavailable)


async def test_a_store_never_opened_refuses_work_with_store_closed() -> None:
    store = PostgresEventStore("postgresql://u@127.0.0.1/db")
    with pytest.raises(StoreClosed, match="closed"):
        await store.append("s", [CloudEvent(source="/s", type="t")])
    with pytest.raises(StoreClosed):
        [r async for r in store.read_all()]
    await store.close()  # closing twice (or before opening) is harmless


def test_the_password_never_shows_in_messages() -> None:
    store = PostgresEventStore("postgresql://app:s3cret@db.internal:5432/bank")
    assert "s3cret" not in store.safe_url
    assert store.safe_url == "postgresql://app:***@db.internal:5432/bank"
