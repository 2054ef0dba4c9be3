"""The event store contract suite: every adapter of :class:`~riverbed.ports.event_store.EventStore` runs it.

Subclass :class:`EventStoreContract` in a test module whose name pytest collects, give the subclass a
``Test`` name, and implement ``open_store`` (see
:class:`~riverbed.testing.contracts.event_store_base.EventStoreContractBase` for every hook)::

    class TestMemoryEventStore(EventStoreContract):
        async def open_store(self) -> EventStore:
            return await MemoryEventStore().open()

    class TestSQLiteEventStore(EventStoreContract):
        durable = True

        async def open_store(self) -> EventStore:
            return await SQLiteEventStore(f"sqlite:///{self.tmp_path / 'store.db'}").open()

Every test gets a fresh store through the ``store`` fixture and is closed after it. The suite covers
versions and positions, expected versions (each success and each clash, and that a clash stores nothing),
idempotent retries and duplicate ids, input validation, stream and log reads, subscriptions, racing
writers, CloudEvent fidelity, closing, durability across reopen, and a hypothesis state machine that
compares the store with a model.
"""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from riverbed.testing.contracts.event_store_base import EventStoreContractBase, make_event, make_events
from riverbed.testing.contracts.event_store_lifecycle import LifecycleContract
from riverbed.testing.contracts.event_store_model import EventStoreModelMachine
from riverbed.testing.contracts.event_store_reads import ReadContract
from riverbed.testing.contracts.event_store_writes import AppendContract

__all__ = ["EventStoreContract", "EventStoreContractBase", "make_event", "make_events"]


@pytest.mark.asyncio
class EventStoreContract(AppendContract, ReadContract, LifecycleContract):
    """The whole event store contract. Subclass it and implement ``open_store`` (and ``durable``).

    Every test is a coroutine marked for pytest-asyncio, so the suite runs whether or not the project sets
    ``asyncio_mode = "auto"``.
    """

    async def test_the_store_behaves_like_the_model(self) -> None:
        """Hypothesis drives random operations; the store must agree with a plain Python model.

        The machine runs its own event loop, so it runs on a worker thread (this test's loop just waits).
        """
        contract = self

        class Machine(EventStoreModelMachine):
            factory = contract

        await asyncio.to_thread(
            run_state_machine_as_test,
            Machine,
            settings=settings(
                max_examples=self.model_examples,
                stateful_step_count=self.model_steps,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
                derandomize=False,
            ),
        )
