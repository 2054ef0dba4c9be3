"""PostgresRelayCheckpoints keeps the relay contract, and a process timer survives a restart on PostgreSQL."""

from __future__ import annotations

import pytest
from tests.process_support import Clock, OpenTicket, notes, notifications_endpoint, ticket_manager

from riverbed.adapters.postgres.checkpoints import PostgresRelayCheckpoints
from riverbed.application.processes import CommandRouter, ProcessHost
from riverbed.bootstrap import open_store
from riverbed.errors import StoreClosed
from riverbed.ports.event_store import Checkpoint
from riverbed.ports.outbox import RelayCheckpoints
from riverbed.runtime.process_dispatcher import ProcessDispatcher

pytestmark = pytest.mark.postgres


async def test_checkpoints_are_saved_upserted_and_read_back_by_a_new_connection(pg_schema_url: str) -> None:
    checkpoints = await PostgresRelayCheckpoints(pg_schema_url).open()
    assert isinstance(checkpoints, RelayCheckpoints)
    assert await checkpoints.load("relay") is None
    await checkpoints.save("relay", Checkpoint(748, 42))
    await checkpoints.save("relay", Checkpoint(750, 43))
    await checkpoints.save("other", Checkpoint(0, 7))
    await checkpoints.close()
    with pytest.raises(StoreClosed, match="open"):
        await checkpoints.load("relay")

    reopened = await PostgresRelayCheckpoints(pg_schema_url).open()  # the table exists: open is idempotent
    assert await reopened.load("relay") == Checkpoint(750, 43)
    assert await reopened.load("other") == Checkpoint(0, 7)
    await reopened.close()


async def test_a_process_timer_survives_a_restart_on_postgres(pg_schema_url: str) -> None:
    clock = Clock()
    async with open_store(pg_schema_url) as store:
        router = CommandRouter([await notifications_endpoint(store)])
        checkpoints = await PostgresRelayCheckpoints(pg_schema_url).open()
        host = ProcessHost(ticket_manager(), store, clock=clock)
        await host.start_command(OpenTicket(ticket_id="t1", title="x"), command_id="open-t1", tenant="acme")
        first = ProcessDispatcher(host, router, checkpoints)
        await first.run_until_caught_up()
        assert first.pending_timers == 1
        await checkpoints.close()

    clock.advance(minutes=11)
    async with open_store(pg_schema_url) as store:
        router = CommandRouter([await notifications_endpoint(store)])
        checkpoints = await PostgresRelayCheckpoints(pg_schema_url).open()
        host = ProcessHost(ticket_manager(), store, clock=clock)
        second = ProcessDispatcher(host, router, checkpoints)
        await second.run_until_caught_up()
        assert (second.fired, second.sent) == (1, 1)
        assert await notes(store, "t1", tenant="acme") == ["opened: x", "reminder 1"]
        await checkpoints.close()
