"""What only the PostgreSQL store has: migrations, the xid8 global order, its guards and its diagnostics."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import psycopg  # noqa: TID251 - the tests look at the server directly
import pytest

from riverbed.adapters.postgres.codec import Columns
from riverbed.adapters.postgres.driver import refuse_append
from riverbed.adapters.postgres.event_store import PostgresEventStore
from riverbed.adapters.postgres.statements import append_params, statements
from riverbed.bootstrap import init_store, open_store
from riverbed.cloudevents.event import CloudEvent
from riverbed.errors import (
    ConfigurationError,
    InvalidPosition,
    SchemaVersionMismatch,
    StoreClosed,
    WrongExpectedVersion,
)
from riverbed.ports.event_store import Checkpoint, ExpectedVersion, RecordedEvent

pytestmark = pytest.mark.postgres


def ev(n: int = 0) -> CloudEvent:
    return CloudEvent(source="/test", type="test.happened.v1", data={"n": n})


def schema_of(url: str) -> str:
    return url.rsplit("%3D", 1)[1]


@pytest.fixture
async def store(pg_schema_url: str) -> AsyncIterator[PostgresEventStore]:
    async with PostgresEventStore(pg_schema_url, max_size=4) as opened:
        yield opened


async def test_open_store_picks_postgres_and_init_store_creates_the_schema(pg_schema_url: str) -> None:
    await init_store(pg_schema_url)
    async with open_store(pg_schema_url, migrate=False) as opened:
        assert isinstance(opened, PostgresEventStore)
        result = await opened.append("s", [ev()])
        assert result.first_version == 0
    with psycopg.connect(pg_schema_url) as conn:
        rows = conn.execute("SELECT version FROM riverbed_migrations").fetchall()
    assert rows == [(1,)]


async def test_without_migrate_an_empty_schema_is_refused_with_advice(pg_schema_url: str) -> None:
    with pytest.raises(ConfigurationError, match="riverbed store init"):
        await PostgresEventStore(pg_schema_url, migrate=False).open()


async def test_a_schema_from_a_newer_riverbed_is_refused(pg_schema_url: str) -> None:
    await init_store(pg_schema_url)
    with psycopg.connect(pg_schema_url, autocommit=True) as conn:
        conn.execute("INSERT INTO riverbed_migrations (version, description) VALUES (99, 'from the future')")
    with pytest.raises(SchemaVersionMismatch, match="version 99"):
        await PostgresEventStore(pg_schema_url).open()


async def test_the_schema_option_creates_and_uses_that_schema(pg_url: str, unique_name: str) -> None:
    try:
        async with PostgresEventStore(pg_url, schema=unique_name) as opened:
            await opened.append("s", [ev()])
            assert [r.version async for r in opened.read("s")] == [0]
            assert opened.schema == unique_name
    finally:
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{unique_name}" CASCADE')


def append_in(
    conn: psycopg.Connection[tuple[Any, ...]], url: str, stream: str, *events: CloudEvent
) -> tuple[Any, ...]:
    """Run the store's own append statement on ``conn`` (in whatever transaction it has open)."""
    row = conn.execute(
        statements(schema_of(url))["append_one" if len(events) == 1 else "append"],
        append_params(stream, -1, Columns(list(events))),
    ).fetchone()
    assert row is not None
    return row


async def test_the_append_refuses_to_write_after_another_write(
    store: PostgresEventStore, pg_schema_url: str
) -> None:
    with psycopg.connect(pg_schema_url) as conn:
        conn.execute("CREATE TEMP TABLE other (x int)")
        conn.execute("INSERT INTO other VALUES (1)")
        _, first_write, durable, position, *_ = append_in(conn, pg_schema_url, "s", ev())
        conn.commit()
    assert (first_write, durable, position) == (False, True, None)
    assert await store.stream_version("s") is None
    with pytest.raises(ConfigurationError, match="first write of its transaction"):
        refuse_append(first_write=False, durable=True)


async def test_the_append_refuses_synchronous_commit_off(
    store: PostgresEventStore, pg_schema_url: str
) -> None:
    with psycopg.connect(pg_schema_url, autocommit=True) as conn:
        conn.execute("SET synchronous_commit = off")
        _, first_write, durable, position, *_ = append_in(conn, pg_schema_url, "s", ev(), ev())
    assert (first_write, durable, position) == (True, False, None)
    assert await store.stream_version("s") is None
    with pytest.raises(ConfigurationError, match="synchronous_commit is off"):
        refuse_append(first_write=True, durable=False)


async def test_checkpoints_are_transaction_id_and_position(store: PostgresEventStore) -> None:
    first = await store.append("a", [ev(1), ev(2)])
    second = await store.append("b", [ev(3)])
    assert first.checkpoint.commit > 0
    assert second.checkpoint > first.checkpoint
    records = [r async for r in store.read_all()]
    assert [r.checkpoint for r in records][-1] == second.checkpoint
    assert records[0].commit == records[1].commit == first.checkpoint.commit
    again = [r.position async for r in store.read_all(after=str(first.checkpoint))]
    assert again == [second.first_position]


async def test_a_plain_position_is_resolved_and_an_unknown_one_refused(store: PostgresEventStore) -> None:
    first = await store.append("a", [ev(1), ev(2)])
    await store.append("a", [ev(3)])
    after_first = [r.version async for r in store.read_all(after=first.first_position)]
    assert after_first == [1, 2]
    assert [r.version async for r in store.read_all(after=0)] == [0, 1, 2]
    with pytest.raises(InvalidPosition, match="no committed event at global position 999"):
        [r async for r in store.read_all(after=999)]


async def test_a_late_committing_transaction_is_not_skipped(
    store: PostgresEventStore, pg_schema_url: str
) -> None:
    """The skip the xid8 order exists for: a lower position that commits after a higher one."""
    with psycopg.connect(pg_schema_url) as slow:
        assert append_in(slow, pg_schema_url, "slow", ev())[3] == 1
        fast = await store.append("fast", [ev()])
        stats = await store.stats()
        assert stats.details["held_back_events"] == 1
        assert stats.details["oldest_writer"] is not None
        seen: list[str] = []

        async def follow() -> None:
            async for record in store.subscribe():
                seen.append(record.stream)
                if len(seen) == 2:
                    return

        follower = asyncio.create_task(follow())
        await asyncio.sleep(0.3)
        assert seen == []  # the fast event waits behind the open transaction, it does not jump ahead
        slow.commit()
    await asyncio.wait_for(follower, 10)
    assert seen == ["slow", "fast"]
    positions = [r.position async for r in store.read_all()]
    assert positions == [1, fast.first_position]


async def test_read_all_waits_for_an_older_open_transaction_instead_of_skipping(
    store: PostgresEventStore, pg_schema_url: str
) -> None:
    with psycopg.connect(pg_schema_url) as slow:
        slow.execute("SELECT pg_current_xact_id()")  # an open writer older than the next append
        await store.append("s", [ev()])
        reader = asyncio.create_task(_collect(store))
        await asyncio.sleep(0.2)
        assert not reader.done()
        slow.rollback()
    assert [r.stream for r in await asyncio.wait_for(reader, 10)] == ["s"]


async def _collect(store: PostgresEventStore) -> list[RecordedEvent]:
    return [r async for r in store.read_all()]


async def test_rolled_back_rows_never_appear_and_gaps_are_harmless(
    store: PostgresEventStore, pg_schema_url: str
) -> None:
    with psycopg.connect(pg_schema_url) as conn:
        assert append_in(conn, pg_schema_url, "gone", ev())[3] == 1
        conn.rollback()
    result = await store.append("kept", [ev()])
    assert result.first_position == 2  # position 1 was burnt by the rollback
    assert [r.stream async for r in store.read_all()] == ["kept"]


async def test_concurrent_any_appends_to_one_stream_all_land_contiguously(store: PostgresEventStore) -> None:
    await asyncio.gather(*(store.append("hot", [ev(i)]) for i in range(40)))
    assert [r.version async for r in store.read("hot")] == list(range(40))


async def test_a_version_clash_names_the_actual_version(store: PostgresEventStore) -> None:
    await store.append("s", [ev(), ev()])
    with pytest.raises(WrongExpectedVersion) as caught:
        await store.append("s", [ev()], expected_version=5)
    assert caught.value.actual == 1
    with pytest.raises(WrongExpectedVersion) as caught:
        await store.append("s", [ev()], expected_version=ExpectedVersion.NO_STREAM)
    assert caught.value.actual == 1
    assert await store.stream_version("s") == 1


async def test_a_subscription_wakes_on_notify_and_ends_with_store_closed(pg_schema_url: str) -> None:
    store = await PostgresEventStore(pg_schema_url, poll_interval=60).open()
    writer = await PostgresEventStore(pg_schema_url).open()  # another store object: only NOTIFY links them
    got: list[int] = []

    async def follow() -> None:
        async for record in store.subscribe(after=Checkpoint(0, 0)):
            got.append(record.version)

    task = asyncio.create_task(follow())
    for _ in range(500):
        if store.listening:
            break
        await asyncio.sleep(0.02)
    assert store.listening, "the LISTEN connection never came up"
    await asyncio.sleep(0.2)  # the subscriber has caught up and waits (60 s) for a wake-up
    await writer.append("s", [ev()])
    await writer.close()
    for _ in range(500):
        if got:
            break
        await asyncio.sleep(0.02)
    assert got == [0]  # with a 60 s poll interval only the NOTIFY can have woken it within 10 s
    await store.close()
    with pytest.raises(StoreClosed):
        await asyncio.wait_for(task, 10)
