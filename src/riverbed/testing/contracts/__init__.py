"""Contract test suites, one per port, that every adapter must pass.

Use one by subclassing it in a test module (see :class:`EventStoreContract` for the two things to
provide, and :class:`BusContract` for the bus: fixtures ``bus`` and ``names``)::

    from riverbed.testing.contracts import EventStoreContract

    class TestSQLiteEventStore(EventStoreContract):
        durable = True

        async def open_store(self) -> EventStore:
            return await SQLiteEventStore(f"sqlite:///{self.tmp_path}/store.db").open()
"""

import pytest

# Rewrite the suites' asserts (as pytest does for test modules) so a failing contract shows its values.
pytest.register_assert_rewrite(
    *(
        f"riverbed.testing.contracts.{name}"
        for name in ("event_store", "event_store_base", "event_store_lifecycle", "event_store_model")
    ),
    "riverbed.testing.contracts.event_store_reads",
    "riverbed.testing.contracts.event_store_writes",
    "riverbed.testing.contracts.bus",
    "riverbed.testing.contracts.view_store",
)

from riverbed.testing.contracts.bus import BusContract  # noqa: E402
from riverbed.testing.contracts.event_store import EventStoreContract, make_event  # noqa: E402
from riverbed.testing.contracts.event_store_model import EventStoreModelMachine  # noqa: E402
from riverbed.testing.contracts.view_store import ViewStoreContract  # noqa: E402

__all__ = ["BusContract", "EventStoreContract", "EventStoreModelMachine", "ViewStoreContract", "make_event"]
